/* echo.c — the reference echo server on streams (lessons 02 and 03); see echo.h. Accepting is
 * the only thing it does itself: each connection is a stream whose on_data writes the bytes back. */
#include "loop/net/echo.h"

#include <errno.h>
#include <unistd.h>

#include "loop/net/net.h"

/* Accepts at most this many per wakeup, so a flood of connects cannot starve the clients already
 * connected; the listener stays readable and the next tick accepts more. */
enum { ECHO_ACCEPTS_PER_WAKEUP = 64 };

static void echo_on_data(struct stream *st, const char *data, size_t len) {
    struct echo_conn *c = st->arg;
    /* Always fits: a stream reads no more than the room under its high-water mark. */
    if (stream_write(st, data, len) == 0)
        c->server->bytes_echoed += len;
    else
        stream_close(st); /* a reset is already ending it; anything else: give up cleanly */
}

static int echo_watch_listener(struct echo_server *s);

static void echo_on_close(struct stream *st, int error) {
    struct echo_conn *c = st->arg;
    struct echo_server *s = c->server;
    (void)error; /* a reset ends one connection; the server has nothing to say about it */
    c->in_use = false;
    list_push_front(&s->free_slots, &c->free_node);
    s->open_connections--;
    if (!s->accepting && s->listen_fd >= 0)
        echo_watch_listener(s); /* a slot is free again */
}

static void echo_on_listener(struct loop_watcher *w, unsigned ready) {
    struct echo_server *s = w->arg;
    (void)ready;
    for (int i = 0; i < ECHO_ACCEPTS_PER_WAKEUP; i++) {
        if (list_empty(&s->free_slots)) {
            /* Full: stop accepting until a connection closes. Accepting and closing at once
             * would turn clients away; leaving them in the backlog only makes them wait. */
            loop_unwatch(s->loop, &s->listener);
            s->accepting = false;
            return;
        }
        int fd;
        int rc = net_accept(s->listen_fd, &fd);
        if (rc == -EAGAIN)
            return; /* nobody else is waiting */
        if (rc == -ECONNABORTED)
            continue; /* that client gave up before we got to it */
        if (rc < 0) {
            s->last_error = rc; /* e.g. -EMFILE: try again on a later tick */
            return;
        }
        struct echo_conn *c = container_of(list_first(&s->free_slots), struct echo_conn, free_node);
        rc = stream_open(&c->stream, s->loop, fd, "echo connection", echo_on_data, echo_on_close,
                         c);
        if (rc < 0) {
            s->last_error = rc; /* e.g. -ERANGE: select cannot watch an fd this high */
            s->refused++;
            close(fd);
            continue;
        }
        list_remove(&c->free_node);
        c->in_use = true;
        s->accepted++;
        s->open_connections++;
    }
}

static int echo_watch_listener(struct echo_server *s) {
    int rc = loop_watch_fd(s->loop, &s->listener, s->listen_fd, LOOP_READABLE, echo_on_listener, s);
    s->accepting = rc == 0;
    if (rc < 0)
        s->last_error = rc;
    return rc;
}

int echo_server_open(struct echo_server *s, struct loop *loop, const char *host, uint16_t port,
                     struct echo_conn *conns, size_t capacity) {
    if (!s || !loop || !host || !conns || capacity == 0)
        return -EINVAL;
    *s = (struct echo_server){.loop = loop, .listen_fd = -1, .conns = conns, .capacity = capacity};
    list_init(&s->free_slots);
    for (size_t i = 0; i < capacity; i++) {
        conns[i].server = s;
        conns[i].in_use = false;
        list_push_back(&s->free_slots, &conns[i].free_node);
    }
    loop_watcher_init(&s->listener, "echo listener");
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

void echo_server_close(struct echo_server *s) {
    if (!s || !s->conns)
        return;
    if (s->listen_fd >= 0) {
        loop_unwatch(s->loop, &s->listener); /* before close: never watch a closed fd */
        close(s->listen_fd);
        s->listen_fd = -1;
        s->accepting = false;
    }
    for (size_t i = 0; i < s->capacity; i++) {
        struct echo_conn *c = &s->conns[i];
        if (!c->in_use)
            continue;
        stream_close_now(&c->stream); /* also drops an on_close not yet delivered */
        c->in_use = false;
        list_push_front(&s->free_slots, &c->free_node);
        s->open_connections--;
    }
}

struct stream *echo_server_stream(struct echo_server *s, size_t slot) {
    if (!s || slot >= s->capacity || !s->conns[slot].in_use)
        return NULL;
    return &s->conns[slot].stream;
}

size_t echo_server_buffered(const struct echo_server *s, size_t slot) {
    if (!s || slot >= s->capacity || !s->conns[slot].in_use)
        return 0;
    return stream_buffered(&s->conns[slot].stream);
}

void echo_server_dump(const struct echo_server *s, FILE *out) {
    if (!s) {
        fprintf(out, "echo_server: NULL\n");
        fflush(out);
        return;
    }
    fprintf(out, "echo_server on port %u: listener fd %d (%s); %zu of %zu slots open; accepted "
            "%llu, refused %llu, echoed %llu bytes; last error %d\n",
            s->port, s->listen_fd, s->accepting ? "accepting" : "not accepting",
            s->open_connections, s->capacity, (unsigned long long)s->accepted,
            (unsigned long long)s->refused, (unsigned long long)s->bytes_echoed, s->last_error);
    for (size_t i = 0; i < s->capacity; i++) {
        if (s->conns[i].in_use) {
            fprintf(out, "  slot %zu: ", i);
            stream_dump(&s->conns[i].stream, out);
        }
    }
    fflush(out);
}
