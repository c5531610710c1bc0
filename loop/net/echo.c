/* echo.c — the reference echo server on streams (lessons 02 and 03; lesson 12 grows it to 10,000
 * connections); see echo.h. Accepting is the only thing it does itself: each connection is a
 * stream whose on_data writes the bytes back. The shutdown, the log lines and the dump are in
 * echo_stop.c. */
#include "loop/net/echo.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "loop/net/echo_internal.h"
#include "loop/net/net.h"
#include "sched/task/sched.h"

/* Accepts at most this many per wakeup, so a flood of connects cannot starve the clients already
 * connected; the listener stays readable and the next tick accepts more. */
enum { ECHO_ACCEPTS_PER_WAKEUP = 64 };
/* Out of descriptors: a closing connection wakes the listener at once; this timer only covers a
 * descriptor freed elsewhere in the process. One failed accept per period costs nothing. */
static const int64_t ECHO_RETRY_NS = 250000000;
/* Free output rings kept for reuse: enough for a burst, 1 MiB at most. */
enum { ECHO_RINGS_KEPT = 64 };

static const struct sched_alloc *echo_alloc(const struct echo_server *s) {
    return loop_sched(s->loop)->alloc;
}

/* The idle timer is armed once per timeout, not once per read: a read only stamps the time, and
 * when the timer fires it either closes the connection or re-arms for the rest of the silence.
 * So activity costs a store, and the heap sees one operation per connection per timeout. */
static void echo_on_idle(struct loop_timer *t) {
    struct echo_conn *c = t->arg;
    struct echo_server *s = c->server;
    int64_t quiet_until = c->last_active_ns + s->config.idle_timeout_ns;
    if (loop_now(s->loop) < quiet_until &&
        loop_timer_start_at(s->loop, &c->idle, quiet_until, echo_on_idle, c) == 0)
        return;
    if (stream_close(&c->stream) == 0) { /* orderly: what it still holds is sent first */
        s->closed_idle++;
        echo_log(s, &s->idle_log, "closed a connection silent for %lld ms",
                 (long long)(s->config.idle_timeout_ns / 1000000));
    }
}

static void echo_on_data(struct stream *st, const char *data, size_t len) {
    struct echo_conn *c = st->arg;
    c->last_active_ns = loop_now(c->server->loop); /* the idle timer reads it when it fires */
    /* Always fits: a stream reads no more than the room under its high-water mark. */
    if (stream_write(st, data, len) == 0)
        c->server->bytes_echoed += len;
    else
        stream_close(st); /* a reset or no memory is already ending it; else give up cleanly */
}

static void echo_on_close(struct stream *st, int error) {
    struct echo_conn *c = st->arg;
    struct echo_server *s = c->server;
    (void)error; /* a reset ends one connection; the server has nothing to say about it */
    if (s->draining)
        s->drained++;
    echo_conn_free(s, c);
}

void echo_conn_free(struct echo_server *s, struct echo_conn *c) {
    loop_timer_stop(s->loop, &c->idle);
    list_remove(&c->node);
    s->open_connections--;
    sched_dealloc(echo_alloc(s), c);
    if (s->out_of_fds && s->listen_fd >= 0 && !s->draining)
        echo_watch_listener(s); /* a descriptor is free again */
    echo_check_drained(s);
}

/* Accepted, then closed at once (fd < 0: already closed), with the reason logged. */
static void echo_refuse(struct echo_server *s, int fd, const char *why) {
    if (fd >= 0)
        close(fd);
    s->refused++;
    echo_log(s, &s->refusal_log, "refused a connection: %s", why);
}

static void echo_on_retry(struct loop_timer *t) {
    struct echo_server *s = t->arg;
    if (s->out_of_fds && s->listen_fd >= 0 && !s->draining)
        echo_watch_listener(s);
}

/* Out of descriptors (or another accept failure that would repeat at once): stop watching the
 * listener, or the next wait would return at once and the loop would spin on failing accepts. */
static void echo_pause_accepting(struct echo_server *s, int err) {
    s->last_error = err;
    s->out_of_fds = true;
    s->out_of_fds_pauses++;
    loop_unwatch(s->loop, &s->listener);
    s->accepting = false;
    loop_timer_start(s->loop, &s->retry, ECHO_RETRY_NS, echo_on_retry, s);
    echo_log(s, &s->fds_log, "cannot accept (%s): waiting until a connection closes",
             strerror(-err));
}

/* Takes on one accepted fd, or refuses it. */
static void echo_take(struct echo_server *s, int fd) {
    char why[200];
    if (s->config.max_conns && s->open_connections >= s->config.max_conns) {
        snprintf(why, sizeof why, "the server holds its maximum of %zu connections",
                 s->config.max_conns);
        echo_refuse(s, fd, why);
        return;
    }
    struct echo_conn *c = sched_alloc(echo_alloc(s), sizeof *c);
    if (!c) {
        echo_refuse(s, fd, "no memory for one more connection");
        return;
    }
    c->server = s;
    c->last_active_ns = loop_now(s->loop);
    loop_timer_init(&c->idle, "echo idle timeout");
    int rc =
        stream_open(&c->stream, s->loop, fd, "echo connection", echo_on_data, echo_on_close, c);
    if (rc < 0) {
        /* -ERANGE is select's FD_SETSIZE: the loop's sentence says so and names the fix. */
        snprintf(why, sizeof why, "%s", rc == -ERANGE ? loop_last_error(s->loop) : strerror(-rc));
        s->last_error = rc;
        sched_dealloc(echo_alloc(s), c);
        echo_refuse(s, fd, why);
        return;
    }
    if (s->config.idle_timeout_ns > 0 &&
        (rc = loop_timer_start(s->loop, &c->idle, s->config.idle_timeout_ns, echo_on_idle, c)) <
            0) {
        stream_close_now(&c->stream); /* closes fd too */
        s->last_error = rc;
        sched_dealloc(echo_alloc(s), c);
        echo_refuse(s, -1, "no memory for its idle timer");
        return;
    }
    stream_use_pool(&c->stream, &s->buffers);
    list_push_back(&s->conns, &c->node);
    s->accepted++;
    if (++s->open_connections > s->peak_connections)
        s->peak_connections = s->open_connections;
}

static void echo_on_listener(struct loop_watcher *w, unsigned ready) {
    struct echo_server *s = w->arg;
    (void)ready;
    for (int i = 0; i < ECHO_ACCEPTS_PER_WAKEUP && s->accepting; i++) {
        int fd;
        int rc = net_accept(s->listen_fd, &fd);
        if (rc == -EAGAIN)
            return; /* nobody else is waiting */
        if (rc == -ECONNABORTED)
            continue; /* that client gave up before we got to it */
        if (rc < 0) {
            echo_pause_accepting(s, rc); /* -EMFILE, -ENFILE, -ENOBUFS, -ENOMEM */
            return;
        }
        echo_take(s, fd);
    }
}

int echo_watch_listener(struct echo_server *s) {
    int rc = loop_watch_fd(s->loop, &s->listener, s->listen_fd, LOOP_READABLE, echo_on_listener, s);
    s->accepting = rc == 0;
    if (rc == 0) {
        s->out_of_fds = false;
        loop_timer_stop(s->loop, &s->retry);
    } else {
        s->last_error = rc;
    }
    return rc;
}

int echo_server_open(struct echo_server *s, struct loop *loop, const char *host, uint16_t port,
                     const struct echo_config *config) {
    if (!s || !loop || !host || (config && config->idle_timeout_ns < 0))
        return -EINVAL;
    *s = (struct echo_server){.loop = loop, .listen_fd = -1};
    if (config)
        s->config = *config;
    list_init(&s->conns);
    outbuf_pool_init(&s->buffers, loop_sched(loop)->alloc, ECHO_RINGS_KEPT);
    loop_watcher_init(&s->listener, "echo listener");
    loop_timer_init(&s->retry, "echo accept retry");
    loop_timer_init(&s->deadline, "echo drain deadline");
    runnable_init(&s->drained_run, echo_deliver_drained, s, "echo drained");
    int rc = net_listen_tcp(host, port, 0, &s->listen_fd, &s->port);
    if (rc < 0)
        return rc;
    rc = echo_watch_listener(s);
    if (rc < 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    return rc;
}

int echo_server_set_idle_timeout(struct echo_server *s, int64_t timeout_ns) {
    if (!s || !s->loop || timeout_ns < 0)
        return -EINVAL;
    s->config.idle_timeout_ns = timeout_ns;
    int64_t now = loop_now(s->loop);
    for (struct list_node *n = s->conns.next; n != &s->conns; n = n->next) {
        struct echo_conn *c = container_of(n, struct echo_conn, node);
        c->last_active_ns = now;
        int rc = timeout_ns ? loop_timer_start(s->loop, &c->idle, timeout_ns, echo_on_idle, c)
                            : loop_timer_stop(s->loop, &c->idle);
        if (rc == -ENOMEM)
            return rc;
    }
    return 0;
}

/* The i-th open connection, oldest first, or NULL. */
static struct echo_conn *echo_nth(const struct echo_server *s, size_t i) {
    if (!s || !s->loop)
        return NULL;
    for (const struct list_node *n = s->conns.next; n != &s->conns; n = n->next)
        if (i-- == 0)
            return container_of(n, struct echo_conn, node);
    return NULL;
}

struct stream *echo_server_stream(struct echo_server *s, size_t i) {
    struct echo_conn *c = echo_nth(s, i);
    return c ? &c->stream : NULL;
}

size_t echo_server_buffered(const struct echo_server *s, size_t i) {
    struct echo_conn *c = echo_nth(s, i);
    return c ? stream_buffered(&c->stream) : 0;
}

size_t echo_server_conn_bytes(void) {
    return sizeof(struct echo_conn);
}
