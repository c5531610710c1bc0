/* uring_echo.h — the echo server in completion style (lesson 18): it never asks "may I read?";
 * it hands the kernel a buffer and a socket ("recv into this") and is told "done, n bytes".
 * Each connection has two buffers: while one is being sent back, the kernel may fill the other.
 * Shutdown cancels every operation in flight and waits until each cancellation, and each
 * cancelled operation, has completed: only then may a buffer be freed. */
#ifndef LOOPSCHOOL_URING_ECHO_H
#define LOOPSCHOOL_URING_ECHO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop/net/uring.h"

enum { URING_ECHO_BUF = 4096 };

struct uring_echo;

struct uring_echo_conn {
    struct list_node node; /* in the server's connections */
    struct uring_echo *server;
    int fd;
    struct uring_op recv, send, cancel_recv, cancel_send;
    int recv_buf, send_buf, held_buf; /* which of buf[] each holds, or -1 */
    size_t send_off, send_len, held_len;
    bool peer_done; /* end-of-file or an error: send what is held, then close */
    unsigned char buf[2][URING_ECHO_BUF];
};

struct uring_echo {
    struct uring ring;
    struct loop *loop;
    int listen_fd;
    uint16_t port;
    struct uring_op accept, cancel_accept, retry; /* retry: a timeout after EMFILE */
    struct list_node conns;
    size_t open_connections;
    unsigned long accepted, bytes_echoed, round_trips; /* round_trips: recvs answered */
    bool stopping, stopped;
    unsigned long cancels_submitted, cancels_completed, ops_cancelled;
    void (*on_stopped)(struct uring_echo *s); /* once every op has completed after shutdown */
    void *arg;
};

/* Listens on host:port (0: any), sets up the ring and submits the first accept. poison: the
 * debug check that the program never touches a buffer the kernel owns. 0, or a negative errno:
 * -ENOSYS/-EPERM when io_uring is not available (uring_unavailable says why). */
int uring_echo_open(struct uring_echo *s, struct loop *loop, const char *host, uint16_t port,
                    bool poison);
/* Stops accepting and cancels every op in flight; on_stopped runs when the last completion
 * (cancellations included) has been harvested. The number of cancels submitted, or -EALREADY. */
int uring_echo_shutdown(struct uring_echo *s);
/* Frees what is left. -EBUSY while the kernel still owns any op (shut down and wait first). */
int uring_echo_close(struct uring_echo *s);
/* Counters, the ring and the first connections. Flushes. */
void uring_echo_dump(const struct uring_echo *s, FILE *out);

#endif
