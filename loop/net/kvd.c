/* kvd.c — the lesson-13 key-value server's connections (see kvd.h): accept into a slot, parse
 * RESP commands as bytes arrive, run each one (kvd_commands.c), and hold a connection's later
 * commands while its DEBUG SLEEP runs on a loop timer, so one slow query delays only its own
 * connection — as a database with one worker per connection would. */
#include "loop/net/kvd.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "loop/net/net.h"

enum { KVD_ACCEPTS_PER_WAKEUP = 64 };

static const struct resp_limits kvd_limits = {.max_line = 1024,
                                              .max_bulk = KVD_VALUE_MAX,
                                              .max_elements = 64,
                                              .max_depth = 1,
                                              .max_nodes = 65,
                                              .max_bytes = 64 * 1024};

/* A reply that breaks the connection: say why, then close once it is sent. */
static void kvd_refuse(struct kvd_conn *c, const char *why) {
    char line[RESP_ERROR_TEXT + 40], buf[sizeof line + 8];
    snprintf(line, sizeof line, "ERR Protocol error: %s", why);
    for (char *p = line; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    struct resp_out o;
    resp_out_init(&o, buf, sizeof buf);
    resp_put_error(&o, line);
    c->server->protocol_errors++;
    if (resp_out_result(&o) == 0)
        stream_write(&c->stream, o.buf, o.len);
    stream_close(&c->stream);
}

static bool kvd_conn_usable(const struct kvd_conn *c) {
    return c->stream.fd >= 0 && !c->stream.closing;
}

/* An inline command: a line of words separated by spaces, as Redis also accepts. Takes bytes up
 * to and including its LF and runs it as if it had come as an array of bulk strings. Returns the
 * bytes taken, or -EPROTO after refusing a line that is too long. */
static ssize_t kvd_take_inline(struct kvd_conn *c, const char *data, size_t len) {
    const char *nl = memchr(data, '\n', len);
    size_t chunk = nl ? (size_t)(nl - data) : len;
    if (chunk > KVD_INLINE_MAX - c->inline_len) {
        kvd_refuse(c, "an inline command longer than 1024 bytes");
        return -EPROTO;
    }
    memcpy(c->inline_line + c->inline_len, data, chunk);
    c->inline_len += chunk;
    c->in_inline = true;
    if (!nl)
        return (ssize_t)len;
    char *line = c->inline_line;
    size_t n = c->inline_len;
    if (n > 0 && line[n - 1] == '\r')
        n--;
    line[n] = '\0';
    c->in_inline = false;
    c->inline_len = 0;
    struct resp_value command[KVD_INLINE_WORDS + 1] = {{.type = RESP_ARRAY}};
    size_t argc = 0;
    char *rest;
    for (char *word = strtok_r(line, " \t", &rest); word && argc < KVD_INLINE_WORDS;
         word = strtok_r(NULL, " \t", &rest))
        command[++argc] =
            (struct resp_value){.type = RESP_BULK, .str = word, .len = strlen(word), .span = 1};
    command[0].integer = (int64_t)argc;
    command[0].span = argc + 1;
    if (argc > 0 && kvd__execute(c, command) < 0)
        stream_close(&c->stream);
    return (ssize_t)chunk + 1;
}

/* Parses and runs commands from data until it runs out, the connection breaks, or a DEBUG SLEEP
 * starts: then the rest waits in `pending` (data may point into pending itself). */
static void kvd_take(struct kvd_conn *c, const char *data, size_t len) {
    while (len > 0 && kvd_conn_usable(c) && !c->sleeping) {
        if (c->in_inline || (resp_parser_at_start(&c->parser) && data[0] != '*')) {
            ssize_t n = kvd_take_inline(c, data, len);
            if (n < 0)
                return;
            data += n;
            len -= (size_t)n;
            continue;
        }
        ssize_t n = resp_parser_feed(&c->parser, data, len);
        if (n < 0) {
            kvd_refuse(c, n == -EPROTO ? resp_parser_error(&c->parser) : "out of memory");
            return;
        }
        data += n;
        len -= (size_t)n;
        if (!resp_parser_done(&c->parser))
            return; /* the rest of the command is still on its way */
        int rc = kvd__execute(c, resp_parser_value(&c->parser));
        resp_parser_next(&c->parser);
        if (rc == -EPROTO) {
            kvd_refuse(c, "a command is an array of bulk strings");
            return;
        }
        if (rc < 0) {
            stream_close(&c->stream); /* its reply did not fit: give up on this client */
            return;
        }
    }
    if (c->sleeping && len > 0 && kvd_conn_usable(c)) {
        if (len > KVD_PENDING_MAX - c->pending_len) {
            kvd_refuse(c, "too many bytes sent during DEBUG SLEEP");
            return;
        }
        memmove(c->pending + c->pending_len, data, len);
        c->pending_len += len;
    }
}

static void kvd_on_data(struct stream *st, const char *data, size_t len) {
    kvd_take(st->arg, data, len);
}

static void kvd_sleep_over(struct loop_timer *t) {
    struct kvd_conn *c = t->arg;
    c->sleeping = false;
    c->server->in_progress--;
    if (kvd_conn_usable(c) && stream_write(&c->stream, "+OK\r\n", 5) < 0)
        stream_close(&c->stream);
    size_t len = c->pending_len;
    c->pending_len = 0;
    kvd_take(c, c->pending, len); /* what arrived meanwhile, in order */
}

static int kvd_watch_listener(struct kvd_server *s);

/* The slot is free again, whoever closed it. */
static void kvd_conn_release(struct kvd_conn *c) {
    struct kvd_server *s = c->server;
    if (c->sleeping) {
        loop_timer_stop(s->loop, &c->sleep_timer);
        c->sleeping = false;
        s->in_progress--;
    }
    resp_parser_free(&c->parser);
    c->in_use = false;
    list_push_front(&s->free_slots, &c->free_node);
    s->open_connections--;
}

static void kvd_on_close(struct stream *st, int error) {
    struct kvd_conn *c = st->arg;
    (void)error; /* a client that vanished ends only its own connection */
    kvd_conn_release(c);
    if (!c->server->accepting && c->server->listen_fd >= 0)
        kvd_watch_listener(c->server);
}

static void kvd_on_listener(struct loop_watcher *w, unsigned ready) {
    struct kvd_server *s = w->arg;
    (void)ready;
    for (int i = 0; i < KVD_ACCEPTS_PER_WAKEUP; i++) {
        if (list_empty(&s->free_slots)) {
            loop_unwatch(s->loop, &s->listener); /* full: newcomers wait in the backlog */
            s->accepting = false;
            return;
        }
        int fd;
        int rc = net_accept(s->listen_fd, &fd);
        if (rc == -EAGAIN)
            return;
        if (rc == -ECONNABORTED)
            continue;
        if (rc < 0) {
            s->last_error = rc;
            return;
        }
        struct kvd_conn *c = container_of(list_first(&s->free_slots), struct kvd_conn, free_node);
        resp_parser_init(&c->parser, &kvd_limits);
        loop_timer_init(&c->sleep_timer, "kvd sleep");
        c->pending_len = c->inline_len = 0;
        c->sleeping = c->in_inline = false;
        rc = stream_open(&c->stream, s->loop, fd, "kvd connection", kvd_on_data, kvd_on_close, c);
        if (rc < 0) {
            s->last_error = rc;
            close(fd);
            continue;
        }
        list_remove(&c->free_node);
        c->in_use = true;
        s->accepted++;
        s->open_connections++;
    }
}

static int kvd_watch_listener(struct kvd_server *s) {
    int rc = loop_watch_fd(s->loop, &s->listener, s->listen_fd, LOOP_READABLE, kvd_on_listener, s);
    s->accepting = rc == 0;
    if (rc < 0)
        s->last_error = rc;
    return rc;
}

/* For kvd_commands.c's DEBUG SLEEP: the connection answers once ns have passed. */
int kvd__sleep(struct kvd_conn *c, int64_t ns) {
    int rc = loop_timer_start(c->server->loop, &c->sleep_timer, ns, kvd_sleep_over, c);
    if (rc < 0)
        return rc;
    c->sleeping = true;
    if (++c->server->in_progress > c->server->max_in_progress)
        c->server->max_in_progress = c->server->in_progress;
    return 0;
}

int kvd_server_open(struct kvd_server *s, struct loop *loop, const char *host, uint16_t port,
                    struct kvd_conn *conns, size_t capacity) {
    if (!s || !loop || !host || !conns || capacity == 0)
        return -EINVAL;
    *s = (struct kvd_server){.loop = loop, .listen_fd = -1, .conns = conns, .capacity = capacity};
    list_init(&s->free_slots);
    for (size_t i = 0; i < capacity; i++) {
        conns[i].server = s;
        conns[i].in_use = false;
        list_push_back(&s->free_slots, &conns[i].free_node);
    }
    loop_watcher_init(&s->listener, "kvd listener");
    int rc = net_listen_tcp(host, port, 0, &s->listen_fd, &s->port);
    if (rc < 0)
        return rc;
    rc = kvd_watch_listener(s);
    if (rc < 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    return rc;
}

void kvd_server_close(struct kvd_server *s) {
    if (!s || !s->conns)
        return;
    if (s->listen_fd >= 0) {
        loop_unwatch(s->loop, &s->listener);
        close(s->listen_fd);
        s->listen_fd = -1;
        s->accepting = false;
    }
    for (size_t i = 0; i < s->capacity; i++) {
        if (s->conns[i].in_use) {
            stream_close_now(&s->conns[i].stream); /* also cancels a queued on_close */
            kvd_conn_release(&s->conns[i]);
        }
    }
    kvd__store_clear(s);
}

void kvd_server_reset_peak(struct kvd_server *s) {
    s->max_in_progress = s->in_progress;
}

void kvd_server_dump(const struct kvd_server *s, FILE *out) {
    fprintf(out,
            "kvd on port %u: %s; %zu of %zu slots open; %zu keys; accepted %llu, "
            "commands %llu, protocol errors %llu; in progress %u (peak %u); last error %d\n",
            s->port, s->accepting ? "accepting" : "not accepting", s->open_connections, s->capacity,
            s->keys, (unsigned long long)s->accepted, (unsigned long long)s->commands,
            (unsigned long long)s->protocol_errors, s->in_progress, s->max_in_progress,
            s->last_error);
    for (size_t i = 0; i < s->capacity; i++) {
        if (s->conns[i].in_use) {
            fprintf(out, "  slot %zu%s: ", i, s->conns[i].sleeping ? " (in DEBUG SLEEP)" : "");
            stream_dump(&s->conns[i].stream, out);
        }
    }
    fflush(out);
}
