/* net.c — non-blocking TCP helpers (lesson 02); see net.h. The streams and the echo server
 * send only through net_send, which is where SIGPIPE is dealt with. */
#include "loop/net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int net_set_nonblocking(int fd) {
    if (fd < 0)
        return -EBADF;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -errno;
    if ((flags & O_NONBLOCK) == 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

/* Non-blocking, and not inherited by a program the process may exec. */
static int net_prepare_fd(int fd) {
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return net_set_nonblocking(fd);
}

static int net_make_address(const char *host, uint16_t port, struct sockaddr_in *addr) {
    if (!host)
        return -EINVAL;
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons(port);
    if (inet_pton(AF_INET, host, &addr->sin_addr) != 1)
        return -EINVAL; /* not a dotted IPv4 literal: we do no name lookups (they block) */
    return 0;
}

/* The error paths: close the half-made socket, return the error captured before closing. */
static int net_fail(int fd, int error) {
    close(fd);
    return error;
}

/* What listening and connecting both start with: out_fd cleared, the address parsed, a TCP
 * socket made. The socket's fd, or a negative errno. */
static int net_open_socket(const char *host, uint16_t port, int *out_fd, struct sockaddr_in *addr) {
    if (!out_fd)
        return -EINVAL;
    *out_fd = -1;
    int rc = net_make_address(host, port, addr);
    if (rc < 0)
        return rc;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    return fd < 0 ? -errno : fd;
}

/* A failed send, recv or accept as a negative errno; EWOULDBLOCK is EAGAIN's other name. */
static int net_io_error(void) {
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

int net_listen_tcp(const char *host, uint16_t port, int backlog, int *out_fd, uint16_t *out_port) {
    struct sockaddr_in addr;
    int fd = net_open_socket(host, port, out_fd, &addr);
    if (fd < 0)
        return fd;
    int rc, one = 1;
    /* Without SO_REUSEADDR a restarted server waits minutes for old connections in TIME_WAIT. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        return net_fail(fd, -errno);
    if (bind(fd, (const struct sockaddr *)&addr, sizeof addr) < 0)
        return net_fail(fd, -errno);
    if (listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0)
        return net_fail(fd, -errno);
    if ((rc = net_prepare_fd(fd)) < 0)
        return net_fail(fd, rc);
    if (out_port && (rc = net_local_port(fd, out_port)) < 0)
        return net_fail(fd, rc);
    *out_fd = fd;
    return 0;
}

int net_accept(int listen_fd, int *out_fd) {
    if (!out_fd)
        return -EINVAL;
    *out_fd = -1;
    if (listen_fd < 0)
        return -EBADF;
    int fd;
    do
        fd = accept(listen_fd, NULL, NULL);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return net_io_error();
    /* The accepted socket does not inherit O_NONBLOCK from the listener on Linux: set it. */
    int rc = net_prepare_fd(fd);
    if (rc < 0)
        return net_fail(fd, rc);
    *out_fd = fd;
    return 0;
}

int net_connect_tcp(const char *host, uint16_t port, int *out_fd) {
    struct sockaddr_in addr;
    int fd = net_open_socket(host, port, out_fd, &addr);
    if (fd < 0)
        return fd;
    int rc;
    if ((rc = net_prepare_fd(fd)) < 0)
        return net_fail(fd, rc);
    /* Non-blocking, so connect() returns at once: done, or EINPROGRESS (the handshake goes on in
     * the kernel and the socket becomes writable when it ends, with the outcome in SO_ERROR). A
     * signal may interrupt it (EINTR); the connect still goes on, exactly as with EINPROGRESS. */
    if (connect(fd, (const struct sockaddr *)&addr, sizeof addr) == 0) {
        *out_fd = fd;
        return 0;
    }
    if (errno == EINPROGRESS || errno == EINTR) {
        *out_fd = fd;
        return -EINPROGRESS;
    }
    return net_fail(fd, -errno);
}

int net_connect_result(int fd) {
    if (fd < 0)
        return -EBADF;
    int error = 0;
    socklen_t len = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
        return -errno;
    return -error;
}

/* SIGPIPE: writing to a socket whose peer has gone raises SIGPIPE, and its default action kills
 * the process — one vanished client would take the whole server down. We pass MSG_NOSIGNAL to
 * every send() instead of ignoring the signal, because a library must not change process-wide
 * signal dispositions behind its caller's back (the program may rely on SIGPIPE, e.g. in a shell
 * pipeline). With MSG_NOSIGNAL the same event arrives as an ordinary -EPIPE return value. */
ssize_t net_send(int fd, const void *buf, size_t len) {
    if (fd < 0)
        return -EBADF;
    if (!buf && len)
        return -EINVAL;
    ssize_t n;
    do
        n = send(fd, buf, len, MSG_NOSIGNAL); /* never SIGPIPE: see above */
    while (n < 0 && errno == EINTR);
    return n < 0 ? net_io_error() : n;
}

ssize_t net_recv(int fd, void *buf, size_t len) {
    if (fd < 0)
        return -EBADF;
    if (!buf && len)
        return -EINVAL;
    ssize_t n;
    do
        n = recv(fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    return n < 0 ? net_io_error() : n;
}

int net_local_port(int fd, uint16_t *out_port) {
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    if (fd < 0)
        return -EBADF;
    if (!out_port)
        return -EINVAL;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        return -errno;
    if (addr.sin_family != AF_INET)
        return -EAFNOSUPPORT;
    *out_port = ntohs(addr.sin_port);
    return 0;
}

int net_set_reset_on_close(int fd) {
    if (fd < 0)
        return -EBADF;
    struct linger off = {.l_onoff = 1, .l_linger = 0};
    if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof off) < 0)
        return -errno;
    return 0;
}
