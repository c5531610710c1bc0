/* loadclient.c — the echo load generator (see loadclient.h), first used by the lesson 02/03 echo
 * benchmark. A raw poll() over every connection: each one keeps exactly one message in flight,
 * so the figure is round trips per second at that many concurrent clients. */
#define _POSIX_C_SOURCE 200809L
#include "tests/bench/lib/loadclient.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop/net/net.h"

enum { LOADCLIENT_MAX_MESSAGE = 4096 };

struct load_conn {
    size_t sent, got; /* of the message in flight */
    bool active;      /* a message is in flight */
};

static double loadclient_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Connections opened at once: a few hundred keeps the server's accept queue short, so no
 * handshake is dropped and retried a second later (lesson 12's 10,000 depend on it). */
enum { LOADCLIENT_WAVE = 256 };

/* Waits until every fd of the wave answers `events`; then runs step on it. */
static int loadclient_wave_wait(struct pollfd *p, int n, short events, int stall_ms,
                                int (*step)(int fd)) {
    for (int i = 0; i < n; i++)
        p[i].events = events;
    for (int pending = n; pending > 0;) {
        int ready = poll(p, (nfds_t)n, stall_ms);
        if (ready == 0)
            return -ETIMEDOUT;
        if (ready < 0 && errno != EINTR)
            return -errno;
        for (int i = 0; i < n && ready > 0; i++) {
            if (p[i].events == 0 || p[i].revents == 0)
                continue;
            ready--;
            int rc = step(p[i].fd);
            if (rc == -EAGAIN)
                continue;
            if (rc < 0)
                return rc;
            p[i].events = 0; /* done: poll ignores it from now on */
            pending--;
        }
    }
    return 0;
}

/* Connected: say hello, one byte the server must echo before this connection counts. */
static int loadclient_hello(int fd) {
    int rc = net_connect_result(fd);
    if (rc < 0)
        return rc;
    return net_send(fd, "h", 1) == 1 ? 0 : -EPIPE;
}

static int loadclient_hello_back(int fd) {
    char b;
    ssize_t n = net_recv(fd, &b, 1);
    if (n == -EAGAIN)
        return -EAGAIN;
    return n == 1 && b == 'h' ? 0 : -EPIPE;
}

int loadclient_open(uint16_t port, int connections, int stall_ms, int *fds) {
    if (port == 0 || connections < 1 || !fds)
        return -EINVAL;
    if (stall_ms <= 0)
        stall_ms = 10000;
    for (int i = 0; i < connections; i++)
        fds[i] = -1;
    struct pollfd p[LOADCLIENT_WAVE];
    for (int first = 0; first < connections; first += LOADCLIENT_WAVE) {
        int n = connections - first < LOADCLIENT_WAVE ? connections - first : LOADCLIENT_WAVE;
        for (int i = 0; i < n; i++) {
            int rc = net_connect_tcp(NET_LOOPBACK, port, &fds[first + i]);
            if (rc < 0 && rc != -EINPROGRESS)
                return rc;
            p[i] = (struct pollfd){.fd = fds[first + i]};
        }
        int rc = loadclient_wave_wait(p, n, POLLOUT, stall_ms, loadclient_hello);
        if (rc == 0)
            rc = loadclient_wave_wait(p, n, POLLIN, stall_ms, loadclient_hello_back);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void loadclient_close(int *fds, int connections) {
    for (int i = 0; i < connections; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* Sends what the kernel takes of the rest of conn's message: 0, or the send's error. */
static int loadclient_push(struct load_conn *conn, int fd, const char *msg, size_t size) {
    if (conn->sent < size) {
        ssize_t n = net_send(fd, msg + conn->sent, size - conn->sent);
        if (n < 0 && n != -EAGAIN)
            return (int)n;
        if (n > 0)
            conn->sent += (size_t)n;
    }
    return 0;
}

static int loadclient_loop(const struct loadclient_config *c, struct pollfd *pfds,
                           struct load_conn *conns, size_t size, int stall_ms, long *done_out) {
    char msg[LOADCLIENT_MAX_MESSAGE], buf[LOADCLIENT_MAX_MESSAGE];
    for (size_t i = 0; i < size; i++)
        msg[i] = (char)('a' + i % 26);
    long issued = 0, done = 0;
    for (int i = 0; i < c->connections && issued < c->round_trips; i++, issued++) {
        conns[i] = (struct load_conn){.active = true};
        int rc = loadclient_push(&conns[i], pfds[i].fd, msg, size);
        if (rc < 0)
            return rc;
        pfds[i].events = (short)(POLLIN | (conns[i].sent < size ? POLLOUT : 0));
    }
    while (done < c->round_trips) {
        int ready = poll(pfds, (nfds_t)c->connections, stall_ms);
        if (ready == 0)
            return -ETIMEDOUT;
        if (ready < 0 && errno != EINTR)
            return -errno;
        for (int i = 0; i < c->connections && ready > 0; i++) {
            struct load_conn *conn = &conns[i];
            if (pfds[i].revents == 0 || !conn->active)
                continue;
            ready--;
            int rc = loadclient_push(conn, pfds[i].fd, msg, size);
            if (rc < 0)
                return rc;
            if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t n = net_recv(pfds[i].fd, buf, size - conn->got);
                if (n == 0 || (n < 0 && n != -EAGAIN))
                    return -EPIPE; /* the server went away mid-run */
                if (n > 0 && memcmp(buf, msg + conn->got, (size_t)n) != 0)
                    return -EPIPE; /* not our bytes: a broken echo */
                if (n > 0)
                    conn->got += (size_t)n;
            }
            if (conn->got == size) { /* one round trip done: start the next, if any is left */
                done++;
                *conn = (struct load_conn){.active = issued < c->round_trips};
                if (conn->active) {
                    issued++;
                    if ((rc = loadclient_push(conn, pfds[i].fd, msg, size)) < 0)
                        return rc;
                }
            }
            pfds[i].events =
                !conn->active ? 0 : (short)(POLLIN | (conn->sent < size ? POLLOUT : 0));
        }
    }
    *done_out = done;
    return 0;
}

int loadclient_run(const struct loadclient_config *c, struct loadclient_result *result) {
    if (!c || !result || c->connections < 1 || c->round_trips < 1 || c->port == 0 ||
        c->message_size > LOADCLIENT_MAX_MESSAGE)
        return -EINVAL;
    size_t size = c->message_size ? c->message_size : 64;
    int stall_ms = c->stall_ms > 0 ? c->stall_ms : 10000;
    struct pollfd *pfds = calloc((size_t)c->connections, sizeof *pfds);
    struct load_conn *conns = calloc((size_t)c->connections, sizeof *conns);
    int rc = pfds && conns ? 0 : -ENOMEM;
    for (int i = 0; pfds && i < c->connections; i++)
        pfds[i].fd = -1;
    int *fds = rc == 0 ? calloc((size_t)c->connections, sizeof *fds) : NULL;
    if (rc == 0 && !fds)
        rc = -ENOMEM;
    if (rc == 0)
        rc = loadclient_open(c->port, c->connections, stall_ms, fds);
    for (int i = 0; fds && i < c->connections; i++)
        pfds[i] = (struct pollfd){.fd = fds[i]};
    free(fds);
    long done = 0;
    double start = loadclient_now();
    if (rc == 0)
        rc = loadclient_loop(c, pfds, conns, size, stall_ms, &done);
    double seconds = loadclient_now() - start;
    for (int i = 0; pfds && i < c->connections; i++)
        if (pfds[i].fd >= 0)
            close(pfds[i].fd);
    free(pfds);
    free(conns);
    result->round_trips = done;
    result->seconds = seconds;
    result->round_trips_per_sec = seconds > 0 ? (double)done / seconds : 0;
    return rc;
}
