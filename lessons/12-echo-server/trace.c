/* trace.c — lesson 12's `--trace` scene; see trace.h. The clients are plain non-blocking sockets
 * in this same process, and the loop is ticked until each thing a line reports has happened, so
 * the lines come out in the same order every time, as the twin's do. */
#include "trace.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/loop.h"
#include "loop/net/echo.h"
#include "loop/net/net.h"

static const int64_t TRACE_IDLE_NS = 200000000, TRACE_PAUSE_NS = 100000000;

struct trace {
    struct loop *loop;
    struct echo_server server;
    struct loop_timer pause;
    bool paused, drained, failed;
};

static void trace_on_pause(struct loop_timer *t) {
    *(bool *)t->arg = true;
}

static void trace_on_drained(struct echo_server *s) {
    *(bool *)s->config.arg = true;
}

/* Ticks until *flag, or until the 5 s guard says the scene is stuck. */
static bool trace_until(struct trace *t, bool (*done)(struct trace *, int), int fd) {
    struct loop_timer guard;
    bool stuck = false;
    loop_timer_init(&guard, "trace guard");
    loop_timer_start(t->loop, &guard, 5 * (int64_t)1000000000, trace_on_pause, &stuck);
    while (!done(t, fd) && !stuck)
        if (loop_run_once(t->loop) < 0)
            stuck = true;
    loop_timer_stop(t->loop, &guard);
    t->failed |= stuck;
    return !stuck;
}

static bool trace_open_is(struct trace *t, int n) {
    return t->server.open_connections == (size_t)n;
}

static bool trace_pause_over(struct trace *t, int fd) {
    (void)fd;
    return t->paused;
}

/* True once fd has read end-of-file (a reset counts too: the scene would then print wrong). */
static bool trace_eof(struct trace *t, int fd) {
    char b;
    ssize_t n = net_recv(fd, &b, 1);
    if (n > 0 || (n < 0 && n != -EAGAIN))
        t->failed = true;
    return n == 0 || (n < 0 && n != -EAGAIN);
}

static bool trace_drained(struct trace *t, int fd) {
    (void)fd;
    return t->drained;
}

/* Sends "hello from N" and reads it back. */
static void trace_round_trip(struct trace *t, int fd, int n) {
    char msg[32], got[32];
    int len = snprintf(msg, sizeof msg, "hello from %d", n);
    size_t have = 0;
    if (net_send(fd, msg, (size_t)len) != len)
        t->failed = true;
    while (!t->failed && have < (size_t)len) {
        ssize_t r = net_recv(fd, got + have, (size_t)len - have);
        if (r > 0)
            have += (size_t)r;
        else if (r == -EAGAIN)
            loop_run_once(t->loop);
        else
            t->failed = true;
    }
    if (!t->failed && memcmp(got, msg, (size_t)len) == 0)
        printf("client %d: sent \"%s\", got it back\n", n, msg);
    else
        t->failed = true;
}

static int trace_connect(struct trace *t, int n) {
    int fd = -1;
    int rc = net_connect_tcp(NET_LOOPBACK, t->server.port, &fd);
    if (rc < 0 && rc != -EINPROGRESS)
        t->failed = true;
    else
        printf("client %d: connected\n", n);
    return fd;
}

int trace_scene(const struct backend_ops *backend) {
    struct trace t = {0};
    struct loop_config lc = {.backend = backend};
    struct echo_config config = {
        .idle_timeout_ns = TRACE_IDLE_NS, .on_drained = trace_on_drained, .arg = &t.drained};
    if (loop_new(&t.loop, &lc) < 0 ||
        echo_server_open(&t.server, t.loop, NET_LOOPBACK, 0, &config) < 0)
        return 1;
    printf("server: listening, idle timeout 200 ms\n");
    int quiet = trace_connect(&t, 3); /* the silent one comes first, so it times out first */
    trace_until(&t, trace_open_is, 1);
    loop_timer_init(&t.pause, "trace pause");
    loop_timer_start(t.loop, &t.pause, TRACE_PAUSE_NS, trace_on_pause, &t.paused);
    trace_until(&t, trace_pause_over, 0);
    int one = trace_connect(&t, 1), two = trace_connect(&t, 2);
    trace_round_trip(&t, one, 1);
    trace_round_trip(&t, two, 2);
    printf("server: %zu connections open\n", t.server.open_connections);
    if (trace_until(&t, trace_eof, quiet))
        printf("client 3: closed by the server after 200 ms of silence\n");
    trace_until(&t, trace_open_is, 2);
    printf("server: %zu connections open, %llu closed as idle\n", t.server.open_connections,
           (unsigned long long)t.server.closed_idle);
    printf("server: stopping: no new connections, pending output drains\n");
    echo_server_shutdown(&t.server, 1000000000);
    if (trace_until(&t, trace_eof, one))
        printf("client 1: end of stream\n");
    if (trace_until(&t, trace_eof, two))
        printf("client 2: end of stream\n");
    trace_until(&t, trace_drained, 0);
    printf("server: served %llu connections, echoed %llu bytes, closed %llu idle\n",
           (unsigned long long)t.server.accepted, (unsigned long long)t.server.bytes_echoed,
           (unsigned long long)t.server.closed_idle);
    close(quiet);
    close(one);
    close(two);
    echo_server_close(&t.server);
    loop_free(t.loop);
    return t.failed ? 1 : 0;
}
