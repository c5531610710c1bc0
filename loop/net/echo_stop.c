/* echo_stop.c — how the echo server stops (lesson 12): the graceful shutdown that lets output
 * drain up to a deadline, the immediate close, and the two things a running server says about
 * itself: its rate-limited log lines and its dump. See echo.h. */
#include "loop/net/echo.h"

#include <errno.h>
#include <stdarg.h>
#include <unistd.h>

#include "loop/net/echo_internal.h"
#include "sched/task/sched.h"

/* A repeating log line is printed at most this often: a flood of refusals must not become a
 * flood of output (which would cost more than the refusals). */
static const int64_t ECHO_LOG_EVERY_NS = 1000000000;
/* The dump lists this many connections, then counts the rest. */
enum { ECHO_DUMP_CONNS = 8 };

void echo_log(struct echo_server *s, struct echo_log_limit *limit, const char *fmt, ...) {
    if (!s->config.log)
        return;
    int64_t now = loop_now(s->loop);
    if (limit->printed_once && now - limit->last_ns < ECHO_LOG_EVERY_NS) {
        limit->unprinted++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fputs("echo: ", s->config.log);
    vfprintf(s->config.log, fmt, ap);
    va_end(ap);
    if (limit->unprinted)
        fprintf(s->config.log, " (and %llu more like it since the last such line)",
                (unsigned long long)limit->unprinted);
    fputc('\n', s->config.log);
    fflush(s->config.log);
    *limit = (struct echo_log_limit){.last_ns = now, .printed_once = true};
}

void echo_deliver_drained(void *arg) {
    struct echo_server *s = arg;
    sched_release(loop_sched(s->loop)); /* the place echo_server_shutdown reserved: used */
    if (s->config.on_drained)
        s->config.on_drained(s);
}

void echo_check_drained(struct echo_server *s) {
    if (!s->draining || s->open_connections > 0)
        return;
    loop_timer_stop(s->loop, &s->deadline);
    /* From the loop, always; into the place echo_server_shutdown reserved, so it cannot fail
     * (this runs from a stream's on_close, with nobody to hand -ENOMEM to). */
    sched_push_ready(loop_sched(s->loop), &s->drained_run);
}

static void echo_close_listener(struct echo_server *s) {
    loop_timer_stop(s->loop, &s->retry);
    if (s->listen_fd < 0)
        return;
    loop_unwatch(s->loop, &s->listener); /* before close: never watch a closed fd */
    close(s->listen_fd);
    s->listen_fd = -1;
    s->accepting = false;
}

/* The drain deadline: whatever still has output waiting is cut. */
static void echo_on_deadline(struct loop_timer *t) {
    struct echo_server *s = t->arg;
    list_for_each(it, &s->conns) {
        struct echo_conn *c = container_of(it, struct echo_conn, node);
        if (stream_is_open(&c->stream))
            s->cut++;
        else
            s->drained++; /* it had finished; only its on_close was still queued */
        stream_close_now(&c->stream);
        echo_conn_free(s, c); /* the last one queues on_drained */
    }
}

int echo_server_shutdown(struct echo_server *s, int64_t drain_ns) {
    if (!s || drain_ns < 0)
        return -EINVAL;
    if (!s->loop || s->draining)
        return -EALREADY;
    /* on_drained's place on the ready queue, and the deadline, are asked for now, while the
     * caller can still hear -ENOMEM; nothing has changed if either is refused. */
    int err = sched_reserve(loop_sched(s->loop));
    if (err)
        return err;
    if (s->open_connections > 0 &&
        (err = loop_timer_start(s->loop, &s->deadline, drain_ns, echo_on_deadline, s)) != 0) {
        sched_release(loop_sched(s->loop));
        return err;
    }
    s->draining = true;
    echo_close_listener(s);
    list_for_each(it, &s->conns) {
        struct echo_conn *c = container_of(it, struct echo_conn, node);
        loop_timer_stop(s->loop, &c->idle);
        stream_close(&c->stream); /* reads no more, sends what it holds, then on_close */
    }
    echo_check_drained(s); /* queues on_drained at once if nothing was open */
    return 0;
}

void echo_server_close(struct echo_server *s) {
    if (!s || !s->loop)
        return;
    echo_close_listener(s);
    loop_timer_stop(s->loop, &s->deadline);
    /* on_drained will never come now: give back its place if it was queued or still awaited. */
    bool awaited = s->draining && s->open_connections > 0;
    if (loop_unqueue(s->loop, &s->drained_run) == 0 || awaited)
        sched_release(loop_sched(s->loop));
    list_for_each(it, &s->conns) {
        struct echo_conn *c = container_of(it, struct echo_conn, node);
        stream_close_now(&c->stream); /* also drops an on_close not yet delivered */
        loop_timer_stop(s->loop, &c->idle);
        list_remove(&c->node);
        s->open_connections--;
        sched_dealloc(loop_sched(s->loop)->alloc, c);
    }
    outbuf_pool_release(&s->buffers);
}

void echo_server_dump(const struct echo_server *s, FILE *out) {
    if (!s || !s->loop) {
        fprintf(out, "echo_server: %s\n", s ? "not open" : "NULL");
        fflush(out);
        return;
    }
    fprintf(out,
            "echo_server on port %u: listener fd %d (%s%s); %zu open (peak %zu, max %zu); "
            "accepted %llu, refused %llu, closed idle %llu, out of fds %llu time(s); echoed %llu "
            "bytes; last error %d\n",
            s->port, s->listen_fd, s->accepting ? "accepting" : "not accepting",
            s->draining ? ", draining" : "", s->open_connections, s->peak_connections,
            s->config.max_conns, (unsigned long long)s->accepted, (unsigned long long)s->refused,
            (unsigned long long)s->closed_idle, (unsigned long long)s->out_of_fds_pauses,
            (unsigned long long)s->bytes_echoed, s->last_error);
    size_t i = 0;
    for (const struct list_node *n = s->conns.next; n != &s->conns; n = n->next, i++) {
        if (i == ECHO_DUMP_CONNS) {
            fprintf(out, "  ... and %zu more\n", s->open_connections - i);
            break;
        }
        fprintf(out, "  connection %zu: ", i);
        fflush(out);
        stream_dump(&container_of(n, struct echo_conn, node)->stream, out);
    }
    fputs("  ", out);
    outbuf_pool_dump(&s->buffers, out);
}
