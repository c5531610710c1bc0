/* uring_echo.c — the completion-style echo server of lesson 18; see uring_echo.h. Every step is
 * a done callback: accepted → submit recv; received n → submit send of those n (and a recv into
 * the other buffer); sent → submit the rest, or recv again. */
#include "loop/net/uring_echo.h"

#include <errno.h>
#include <unistd.h>

#include "loop/net/net.h"
#include "sched/container_of.h"
#include "sched/task/sched.h"

static void on_accept(struct uring_op *op);

static bool conn_busy(const struct uring_echo_conn *c) {
    return c->recv.in_flight || c->send.in_flight || c->cancel_recv.in_flight ||
           c->cancel_send.in_flight;
}

static void check_stopped(struct uring_echo *s) {
    if (s->stopping && !s->stopped && s->ring.in_flight == 0) {
        s->stopped = true;
        if (s->on_stopped)
            s->on_stopped(s);
    }
}

/* Frees the connection once the kernel owns none of its ops: never earlier. */
static void conn_finish(struct uring_echo_conn *c) {
    struct uring_echo *s = c->server;
    if (conn_busy(c))
        return;
    if (!s->stopping && !(c->peer_done && c->held_buf < 0))
        return;
    list_remove(&c->node);
    close(c->fd);
    s->open_connections--;
    sched_dealloc(loop_sched(s->loop)->alloc, c);
}

/* Starts whatever can start: a send of held bytes, a recv into a free buffer. */
static void conn_progress(struct uring_echo_conn *c) {
    struct uring *ring = &c->server->ring;
    if (!c->server->stopping) {
        if (c->send_buf < 0 && c->held_buf >= 0) {
            c->send_buf = c->held_buf, c->send_off = 0, c->send_len = c->held_len;
            c->held_buf = -1;
            if (uring_prep_send(ring, &c->send, c->fd, c->buf[c->send_buf], c->send_len) < 0)
                c->peer_done = true, c->send_buf = -1;
        }
        if (c->recv_buf < 0 && !c->peer_done) {
            int b = (c->send_buf != 0 && c->held_buf != 0) ? 0 : 1;
            if (b != c->send_buf && b != c->held_buf) {
                c->recv_buf = b;
                if (uring_prep_recv(ring, &c->recv, c->fd, c->buf[b], URING_ECHO_BUF) < 0)
                    c->peer_done = true, c->recv_buf = -1;
            }
        }
    }
    conn_finish(c);
}

static void on_recv(struct uring_op *op) {
    struct uring_echo_conn *c = op->arg;
    struct uring_echo *s = c->server;
    if (op->result == -ECANCELED)
        s->ops_cancelled++;
    if (op->result > 0) {
        c->held_buf = c->recv_buf, c->held_len = (size_t)op->result;
        s->round_trips++;
    } else {
        c->peer_done = true; /* 0: end-of-file; negative: an error or a cancellation */
    }
    c->recv_buf = -1;
    conn_progress(c);
    check_stopped(s);
}

static void on_send(struct uring_op *op) {
    struct uring_echo_conn *c = op->arg;
    struct uring_echo *s = c->server;
    if (op->result == -ECANCELED)
        s->ops_cancelled++;
    if (op->result < 0) {
        c->peer_done = true, c->held_buf = -1, c->send_buf = -1;
    } else {
        s->bytes_echoed += (unsigned long)op->result;
        c->send_off += (size_t)op->result;
        if (c->send_off < c->send_len && !s->stopping) {
            /* A short send: the rest of the same buffer, which stays the kernel's meanwhile. */
            if (uring_prep_send(&s->ring, op, c->fd, c->buf[c->send_buf] + c->send_off,
                                c->send_len - c->send_off) == 0)
                return;
            c->peer_done = true;
        }
        c->send_buf = -1;
    }
    conn_progress(c);
    check_stopped(s);
}

static void on_conn_cancel(struct uring_op *op) {
    struct uring_echo_conn *c = op->arg;
    struct uring_echo *s = c->server;
    s->cancels_completed++;
    conn_finish(c);
    check_stopped(s);
}

static void arm_accept(struct uring_echo *s) {
    if (!s->stopping)
        uring_prep_accept(&s->ring, &s->accept, s->listen_fd);
}

static void on_retry(struct uring_op *op) {
    struct uring_echo *s = op->arg;
    if (op->result == -ECANCELED)
        s->ops_cancelled++;
    arm_accept(s);
    check_stopped(s);
}

static void on_accept(struct uring_op *op) {
    struct uring_echo *s = op->arg;
    if (op->result >= 0) {
        struct uring_echo_conn *c =
            s->stopping ? NULL : sched_alloc(loop_sched(s->loop)->alloc, sizeof *c);
        if (!c) {
            close(op->result); /* too late, or out of memory: this one client is refused */
        } else {
            c->server = s, c->fd = op->result;
            c->recv_buf = c->send_buf = c->held_buf = -1;
            c->send_off = c->send_len = c->held_len = 0;
            c->peer_done = false;
            uring_op_init(&c->recv, "recv", on_recv, c);
            uring_op_init(&c->send, "send", on_send, c);
            uring_op_init(&c->cancel_recv, "cancel recv", on_conn_cancel, c);
            uring_op_init(&c->cancel_send, "cancel send", on_conn_cancel, c);
            list_push_back(&s->conns, &c->node);
            s->open_connections++;
            s->accepted++;
            conn_progress(c);
        }
        arm_accept(s);
    } else if (op->result == -ECANCELED) {
        s->ops_cancelled++;
    } else if (op->result == -EMFILE || op->result == -ENFILE) {
        /* Out of descriptors: accepting again at once would fail at once, forever. */
        if (!s->stopping)
            uring_prep_timeout(&s->ring, &s->retry, 100 * 1000 * 1000);
    } else {
        arm_accept(s);
    }
    check_stopped(s);
}

static void on_server_cancel(struct uring_op *op) {
    struct uring_echo *s = op->arg;
    s->cancels_completed++;
    check_stopped(s);
}

int uring_echo_open(struct uring_echo *s, struct loop *loop, const char *host, uint16_t port,
                    bool poison) {
    if (!s || !loop)
        return -EINVAL;
    *s = (struct uring_echo){.loop = loop, .listen_fd = -1};
    list_init(&s->conns);
    int rc = uring_open(&s->ring, loop, 1024);
    if (rc < 0)
        return rc;
    s->ring.poison = poison;
    if ((rc = net_listen_tcp(host ? host : NET_LOOPBACK, port, 0, &s->listen_fd, &s->port)) < 0) {
        uring_close(&s->ring);
        return rc;
    }
    uring_op_init(&s->accept, "accept", on_accept, s);
    uring_op_init(&s->cancel_accept, "cancel accept", on_server_cancel, s);
    uring_op_init(&s->retry, "accept retry", on_retry, s);
    arm_accept(s);
    rc = uring_submit(&s->ring);
    return rc < 0 ? rc : 0;
}

static void cancel_op(struct uring_echo *s, struct uring_op *cancel, struct uring_op *target) {
    if (target->in_flight && uring_prep_cancel(&s->ring, cancel, target) == 0)
        s->cancels_submitted++;
}

int uring_echo_shutdown(struct uring_echo *s) {
    if (!s)
        return -EINVAL;
    if (s->stopping)
        return -EALREADY;
    s->stopping = true;
    unsigned long before = s->cancels_submitted;
    cancel_op(s, &s->cancel_accept, &s->accept);
    if (s->retry.in_flight)
        cancel_op(s, &s->cancel_accept, &s->retry);
    list_for_each(n, &s->conns) {
        struct uring_echo_conn *c = container_of(n, struct uring_echo_conn, node);
        cancel_op(s, &c->cancel_recv, &c->recv);
        cancel_op(s, &c->cancel_send, &c->send);
        conn_finish(c); /* one with nothing in flight goes now */
    }
    int rc = uring_submit(&s->ring);
    if (rc < 0)
        return rc;
    check_stopped(s);
    return (int)(s->cancels_submitted - before);
}

int uring_echo_close(struct uring_echo *s) {
    if (!s)
        return -EINVAL;
    if (s->ring.in_flight > 0)
        return -EBUSY;
    list_for_each(n, &s->conns) {
        struct uring_echo_conn *c = container_of(n, struct uring_echo_conn, node);
        list_remove(&c->node);
        close(c->fd);
        sched_dealloc(loop_sched(s->loop)->alloc, c);
    }
    s->open_connections = 0;
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    s->listen_fd = -1;
    return uring_close(&s->ring);
}

void uring_echo_dump(const struct uring_echo *s, FILE *out) {
    fprintf(out,
            "uring_echo port %u: %zu open, %lu accepted, %lu round trips, %lu bytes; %s; "
            "%lu/%lu cancels completed, %lu ops cancelled\n",
            s->port, s->open_connections, s->accepted, s->round_trips, s->bytes_echoed,
            s->stopped    ? "stopped"
            : s->stopping ? "stopping"
                          : "serving",
            s->cancels_completed, s->cancels_submitted, s->ops_cancelled);
    uring_dump(&s->ring, out);
}
