/* ready_echo.c — lesson 18's readiness echo server, counting its own system calls; see
 * ready_echo.h. Readable → recv → send: the three steps a reactor takes per message. */
#include "loop/net/ready_echo.h"

#include <errno.h>
#include <unistd.h>

#include "loop/net/net.h"
#include "sched/container_of.h"
#include "sched/task/sched.h"

static void conn_close(struct ready_echo_conn *c) {
    loop_unwatch(c->server->loop, &c->watcher);
    close(c->fd);
    list_remove(&c->node);
    c->server->open_connections--;
    sched_dealloc(loop_sched(c->server->loop)->alloc, c);
}

static void on_readable(struct loop_watcher *w, unsigned ready) {
    struct ready_echo_conn *c = w->arg;
    struct ready_echo *s = c->server;
    (void)ready;
    unsigned char buf[4096];
    s->recvs++;
    ssize_t n = net_recv(c->fd, buf, sizeof buf);
    if (n == -EAGAIN)
        return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    s->round_trips++;
    /* Echo messages are small and the peer reads them: the socket buffer takes them whole.
     * A short send would need the write-side state lesson 12's stream keeps. */
    for (ssize_t off = 0; off < n;) {
        s->sends++;
        ssize_t w2 = net_send(c->fd, buf + off, (size_t)(n - off));
        if (w2 < 0) {
            conn_close(c);
            return;
        }
        off += w2;
        s->bytes_echoed += (unsigned long)w2;
    }
}

static void on_listener(struct loop_watcher *w, unsigned ready) {
    struct ready_echo *s = w->arg;
    (void)ready;
    for (int i = 0; i < 64; i++) {
        int fd;
        s->accepts++;
        if (net_accept(s->listen_fd, &fd) < 0)
            return;
        struct ready_echo_conn *c = sched_alloc(loop_sched(s->loop)->alloc, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->server = s, c->fd = fd;
        loop_watcher_init(&c->watcher, "ready_echo conn");
        if (loop_watch_fd(s->loop, &c->watcher, fd, LOOP_READABLE, on_readable, c) < 0) {
            close(fd);
            sched_dealloc(loop_sched(s->loop)->alloc, c);
            continue;
        }
        list_push_back(&s->conns, &c->node);
        s->open_connections++;
    }
}

int ready_echo_open(struct ready_echo *s, struct loop *loop, const char *host, uint16_t port) {
    if (!s || !loop)
        return -EINVAL;
    *s = (struct ready_echo){.loop = loop, .listen_fd = -1};
    list_init(&s->conns);
    int rc = net_listen_tcp(host ? host : NET_LOOPBACK, port, 0, &s->listen_fd, &s->port);
    if (rc < 0)
        return rc;
    loop_watcher_init(&s->listener, "ready_echo listener");
    rc = loop_watch_fd(loop, &s->listener, s->listen_fd, LOOP_READABLE, on_listener, s);
    if (rc < 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    return rc;
}

void ready_echo_close(struct ready_echo *s) {
    list_for_each(n, &s->conns) conn_close(container_of(n, struct ready_echo_conn, node));
    if (s->listen_fd >= 0) {
        loop_unwatch(s->loop, &s->listener);
        close(s->listen_fd);
        s->listen_fd = -1;
    }
}

void ready_echo_dump(const struct ready_echo *s, FILE *out) {
    fprintf(out,
            "ready_echo port %u: %zu open, %lu round trips, %lu bytes; %lu recv, %lu send, "
            "%lu accept calls\n",
            s->port, s->open_connections, s->round_trips, s->bytes_echoed, s->recvs, s->sends,
            s->accepts);
    fflush(out);
}
