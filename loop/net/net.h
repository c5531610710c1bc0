/* net.h — the socket helpers the loop's servers and clients share: non-blocking TCP listen,
 * accept and connect, plus send and receive that never raise SIGPIPE (lesson 02). Every socket
 * they return is non-blocking: readiness only says "try now", it never promises "this won't block".
 * IPv4 only, to keep the lessons short. Functions return 0 or a negative errno. */
#ifndef LOOPSCHOOL_NET_H
#define LOOPSCHOOL_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NET_LOOPBACK    "127.0.0.1"
#define NET_ANY_ADDRESS "0.0.0.0"

/* Sets O_NONBLOCK (and keeps the other flags). -EBADF for a negative or closed fd. */
int net_set_nonblocking(int fd);

/* A listening TCP socket on host:port (an IPv4 literal; port 0 lets the kernel choose), with
 * SO_REUSEADDR so a restarted server can bind at once. *out_fd gets the non-blocking socket and
 * *out_port (may be NULL) the port actually bound. backlog <= 0 means the system's maximum.
 * -EINVAL for a NULL host or out_fd or a host that is not an IPv4 literal. */
int net_listen_tcp(const char *host, uint16_t port, int backlog, int *out_fd, uint16_t *out_port);

/* Accepts one waiting connection as a non-blocking socket. -EAGAIN when nobody is waiting (the
 * normal end of an accept loop); -ECONNABORTED when a client gave up in the backlog (try the
 * next); -EMFILE/-ENFILE when out of fds; -EBADF/-EINVAL for a bad listening fd. */
int net_accept(int listen_fd, int *out_fd);

/* Starts a non-blocking connect to host:port. 0: connected already (possible on loopback);
 * -EINPROGRESS: *out_fd is valid, the connect finishes later: watch it for LOOP_WRITABLE, then
 * ask net_connect_result. Any other negative errno: it failed and *out_fd is -1. */
int net_connect_tcp(const char *host, uint16_t port, int *out_fd);
/* After writability: 0 if the connect succeeded, else its error (SO_ERROR), e.g. -ECONNREFUSED. */
int net_connect_result(int fd);

/* send() with MSG_NOSIGNAL, EINTR retried: bytes sent (maybe fewer than len), or a negative errno
 * (-EAGAIN when the kernel's buffer is full, -EPIPE/-ECONNRESET when the peer is gone). */
ssize_t net_send(int fd, const void *buf, size_t len);
/* recv(), EINTR retried: bytes read, 0 at end-of-file, or a negative errno (-EAGAIN: nothing yet).
 */
ssize_t net_recv(int fd, void *buf, size_t len);

/* The local port a socket is bound to. */
int net_local_port(int fd, uint16_t *out_port);
/* Makes the next close() send a reset (RST) instead of an orderly FIN: SO_LINGER with a zero
 * timeout. Tests use it to play a client that vanishes. */
int net_set_reset_on_close(int fd);

#endif
