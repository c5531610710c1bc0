/* echo_scale_bench.c — lesson 12 measured: what 10,000 connections cost one loop thread. The
 * server's CPU per round trip at 10,000 connections on poll and its resident bytes per idle
 * connection, each beside thread-per-connection in the same run; one poll tick with 10,000 idle
 * fds watched beside one with 100; and what an idle timeout costs per activity: re-arming a
 * timer in a heap of 10,000, beside the stamp lesson 12's server does instead. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop/loop.h"
#include "tests/bench/lib/bench.h"
#include "tests/bench/lib/echo_servers.h"
#include "tests/bench/lib/loadclient.h"

enum { CONNS = 10000, FEW = 100 };

/* ---- the servers under 10,000 connections ---------------------------------------------------- */

struct server_figures {
    double cpu_ns_per_round_trip;
    double resident_per_conn;
    int error; /* 0, or why the run failed (threads may not reach 10,000) */
};

/* Starts a server, holds `n` idle connections (resident bytes measured), then runs round
 * trips on them (the server's CPU per round trip). */
static void measure_server(const struct backend_ops *backend, int n, long round_trips,
                           struct server_figures *f) {
    struct echo_server_child child;
    *f = (struct server_figures){0};
    double cpu_before = echo_servers_children_cpu();
    if ((f->error = echo_servers_start(backend, &child)) < 0)
        return;
    int *fds = calloc((size_t)n, sizeof *fds);
    long empty = echo_servers_resident(child.pid);
    f->error = fds ? loadclient_open(child.port, n, 10000, fds) : -ENOMEM;
    if (f->error == 0)
        f->resident_per_conn = (double)(echo_servers_resident(child.pid) - empty) / n;
    if (fds)
        loadclient_close(fds, n);
    free(fds);
    if (f->error == 0) {
        struct loadclient_config config = {
            .port = child.port, .connections = n, .round_trips = round_trips, .message_size = 64};
        struct loadclient_result result;
        f->error = loadclient_run(&config, &result);
        double cpu_after_run = 0;
        kill(child.pid, SIGTERM);
        int status;
        waitpid(child.pid, &status, 0);
        cpu_after_run = echo_servers_children_cpu() - cpu_before;
        f->cpu_ns_per_round_trip =
            result.round_trips ? cpu_after_run * 1e9 / (double)result.round_trips : 0;
        return;
    }
    kill(child.pid, SIGTERM);
    int status;
    waitpid(child.pid, &status, 0);
}

/* ---- one tick over many idle fds ----------------------------------------------------------- */

struct tick_ctx {
    struct loop *loop;
    struct runnable probe;
};

static void nothing(void *arg) {
    (void)arg;
}

static void on_ready(struct loop_watcher *w, unsigned ready) {
    (void)w;
    (void)ready;
}

/* Each iteration queues a no-op, so the tick's wait has timeout 0: one poll() over every
 * watched fd, nothing ready, one callback run. */
static void ticks(void *arg, long n) {
    struct tick_ctx *t = arg;
    for (long i = 0; i < n; i++) {
        loop_call_soon(t->loop, &t->probe, nothing, NULL);
        loop_run_once(t->loop);
    }
}

/* ns per tick with n idle UDP sockets watched for reading (nothing ever arrives on them). */
static double tick_ns(int n) {
    struct tick_ctx t;
    struct loop_config config = {.backend = &backend_poll};
    int *fds = calloc((size_t)n, sizeof *fds);
    struct loop_watcher *w = calloc((size_t)n, sizeof *w);
    if (!fds || !w || loop_new(&t.loop, &config) < 0)
        return 0;
    runnable_init(&t.probe, nothing, NULL, "probe");
    int opened = 0;
    for (; opened < n; opened++) {
        fds[opened] = socket(AF_INET, SOCK_DGRAM, 0);
        loop_watcher_init(&w[opened], "idle");
        if (fds[opened] < 0 ||
            loop_watch_fd(t.loop, &w[opened], fds[opened], LOOP_READABLE, on_ready, NULL) < 0)
            break;
    }
    double ns = opened == n ? bench_median_ns(ticks, &t, n > 1000 ? 20 : 2000, 5) : 0;
    for (int i = 0; i < opened; i++) {
        loop_unwatch(t.loop, &w[i]);
        close(fds[i]);
    }
    loop_free(t.loop);
    free(fds);
    free(w);
    return ns;
}

/* ---- the idle timeout's cost per activity ---------------------------------------------------- */

struct idle_ctx {
    struct loop *loop;
    struct loop_timer *timers;
    int64_t *stamps;
    int n;
};

static void on_idle(struct loop_timer *t) {
    (void)t;
}

/* What a server does if every read restarts the connection's timer: a heap update, O(log n). */
static void rearm(void *arg, long iterations) {
    struct idle_ctx *c = arg;
    for (long i = 0; i < iterations; i++) {
        int k = (int)((unsigned long)i * 7919u % (unsigned long)c->n);
        loop_timer_start(c->loop, &c->timers[k], 1000000000 + i, on_idle, NULL);
    }
}

/* What lesson 12's server does: a read stamps the time; the timer is looked at when it fires. */
static void stamp(void *arg, long iterations) {
    struct idle_ctx *c = arg;
    for (long i = 0; i < iterations; i++) {
        int k = (int)((unsigned long)i * 7919u % (unsigned long)c->n);
        c->stamps[k] = loop_now(c->loop);
    }
}

/* The other way production servers go: no timer per connection, one sweep a second over all
 * of them. The figure is per connection swept. */
static void sweep(void *arg, long iterations) {
    struct idle_ctx *c = arg;
    uint64_t closed = 0;
    for (long i = 0; i < iterations; i++) {
        int64_t now = loop_now(c->loop);
        for (int k = 0; k < c->n; k++)
            closed += now - c->stamps[k] > 1000000000;
    }
    bench_sink(closed);
}

static void idle_rows(void) {
    struct idle_ctx c = {.n = CONNS};
    struct loop_config config = {.backend = &backend_poll};
    c.timers = calloc(CONNS, sizeof *c.timers);
    c.stamps = calloc(CONNS, sizeof *c.stamps);
    if (!c.timers || !c.stamps || loop_new(&c.loop, &config) < 0)
        return;
    for (int k = 0; k < CONNS; k++) {
        loop_timer_init(&c.timers[k], "idle");
        loop_timer_start(c.loop, &c.timers[k], 1000000000 + k, on_idle, NULL);
    }
    double stamp_ns = bench_median_ns(stamp, &c, 1000000, 5);
    bench_row("idle timeout: re-arm a timer per read (10,000)",
              bench_median_ns(rearm, &c, 1000000, 5), "ns/read",
              "stamp per read, lazy timer (lesson 12)", stamp_ns);
    bench_row("idle timeout: sweep once a second, per conn",
              bench_median_ns(sweep, &c, 200, 5) / CONNS, "ns/conn",
              "stamp per read, lazy timer (lesson 12)", stamp_ns);
    for (int k = 0; k < CONNS; k++)
        loop_timer_stop(c.loop, &c.timers[k]);
    loop_free(c.loop);
    free(c.timers);
    free(c.stamps);
}

/* Two processes hold 10,000 fds each (the server and this client): raise the soft limit. */
static bool enough_fds(void) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0)
        return false;
    if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    return lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= CONNS + 64;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    if (!enough_fds()) {
        printf("%-46s | the descriptor limit is below %d here: raise ulimit -Hn to measure\n",
               "echo at 10,000 connections", CONNS + 64);
    } else {
        struct server_figures loop, threads;
        measure_server(&backend_poll, CONNS, 50000, &loop);
        measure_server(NULL, CONNS, 50000, &threads);
        if (loop.error < 0) {
            fprintf(stderr, "echo_scale_bench: the poll loop at %d failed: %s\n", CONNS,
                    strerror(-loop.error));
            return 1;
        }
        bool threads_ok = threads.error == 0;
        const char *base = threads_ok ? "thread-per-connection" : NULL;
        bench_row("echo poll loop, 10000 conn: server CPU", loop.cpu_ns_per_round_trip, "ns/rt",
                  base, threads.cpu_ns_per_round_trip);
        bench_row("echo poll loop, 10000 idle: resident/conn", loop.resident_per_conn, "bytes",
                  base, threads.resident_per_conn);
        if (!threads_ok)
            printf("%-46s | thread-per-connection could not hold %d here: %s\n", "", CONNS,
                   strerror(-threads.error));
    }
    if (enough_fds()) {
        double few = tick_ns(FEW);
        bench_row("poll tick, 10000 idle fds watched", tick_ns(CONNS), "ns/tick",
                  "poll tick, 100 idle fds watched", few);
    }
    idle_rows();
    return 0;
}
