/* edge.c — lesson 16's edge-versus-level scene (see edge.h): the same bytes, the same reader, a
 * level- or an edge-triggered backend, on a virtual clock so a stall ends by itself. */
#include "lessons/16-epoll-and-scale/edge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/net/net.h"
#include "loop/net/stream.h"

struct edge_scene {
    struct loop_clock clock;
    struct loop *loop;
    struct loop_timer stop;
    int pair[2];
    size_t chunk;
    struct edge_result result;
};

static void edge_stop(struct loop_timer *t) {
    loop_stop(((struct edge_scene *)t->arg)->loop);
}

/* A loop on a virtual clock (waits only look; time jumps to the next timer), a timer that stops
 * it one second in, and a socket pair whose far end has sent `sent` bytes. */
static int edge_open(struct edge_scene *s, const struct backend_ops *ops, size_t sent) {
    memset(s, 0, sizeof *s);
    s->pair[0] = s->pair[1] = -1;
    loop_clock_init_virtual(&s->clock, 0);
    struct loop_config config = {.backend = ops, .clock = &s->clock};
    int err = loop_new(&s->loop, &config);
    if (err)
        return err;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s->pair) != 0 || net_set_nonblocking(s->pair[0]) < 0)
        return -errno;
    char *bytes = calloc(1, sent ? sent : 1);
    if (!bytes)
        return -ENOMEM;
    ssize_t n = send(s->pair[1], bytes, sent, MSG_NOSIGNAL);
    free(bytes);
    if (n != (ssize_t)sent)
        return n < 0 ? -errno : -EIO;
    loop_timer_init(&s->stop, "stop");
    return loop_timer_start(s->loop, &s->stop, 1000000000, edge_stop, s);
}

static void edge_close(struct edge_scene *s) {
    loop_free(s->loop);
    for (int i = 0; i < 2; i++)
        if (s->pair[i] >= 0)
            close(s->pair[i]);
}

/* Takes one chunk and returns: the mistake the lesson is about. */
static void edge_on_readable(struct loop_watcher *w, unsigned ready) {
    struct edge_scene *s = w->arg;
    char buf[4096];
    size_t want = s->chunk < sizeof buf ? s->chunk : sizeof buf;
    s->result.wakeups++;
    ssize_t n = (ready & LOOP_READABLE) ? recv(w->fd, buf, want, 0) : -1;
    if (n > 0)
        s->result.bytes_read += (size_t)n;
}

int edge_run_chunk_reader(const struct backend_ops *ops, size_t sent, size_t chunk,
                          struct edge_result *out) {
    if (!ops || !out || chunk == 0)
        return -EINVAL;
    struct edge_scene s;
    struct loop_watcher w;
    int err = edge_open(&s, ops, sent);
    s.chunk = chunk;
    loop_watcher_init(&w, "chunk reader");
    if (err == 0)
        err = loop_watch_fd(s.loop, &w, s.pair[0], LOOP_READABLE, edge_on_readable, &s);
    if (err == 0)
        err = loop_run(s.loop);
    *out = s.result;
    edge_close(&s);
    return err;
}

static void edge_on_data(struct stream *st, const char *data, size_t len) {
    (void)data;
    struct edge_scene *s = st->arg;
    s->result.wakeups++;
    s->result.bytes_read += len;
}

static void edge_on_close(struct stream *st, int error) {
    (void)st;
    (void)error;
}

int edge_run_stream_reader(const struct backend_ops *ops, size_t sent, struct edge_result *out) {
    if (!ops || !out)
        return -EINVAL;
    struct edge_scene s;
    struct stream st;
    int err = edge_open(&s, ops, sent);
    if (err == 0)
        err = stream_open(&st, s.loop, s.pair[0], "stream reader", edge_on_data, edge_on_close, &s);
    if (err == 0) {
        s.pair[0] = -1; /* the stream owns it now */
        err = loop_run(s.loop);
        stream_close_now(&st);
    }
    *out = s.result;
    edge_close(&s);
    return err;
}
