/* demo.c — lesson 12 (echo-server): can one thread hold 10,000 connections? The echo server
 * runs on one loop; a client in another process (crowd.c) opens 10,000 connections, leaves them
 * idle, then runs round trips on a few hundred while the rest stay connected. The demo narrates
 * what each connection costs, what one tick costs with all of them watched, the idle timeout
 * closing the silent ones, and the graceful stop. `--trace` plays a three-client scene that
 * asyncio_twin.py plays too; `--serve PORT` runs the bare server (see echo.h). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "crowd.h"
#include "loop/loop.h"
#include "loop/net/echo.h"
#include "loop/net/net.h"
#include "loop/observe/narrate.h"
#include "loop/signal.h"
#include "trace.h"

enum { WANTED = 10000, ACTIVE = 300, ROUNDS = 5, SPARE_FDS = 64 };
static const int64_t IDLE_TIMEOUT_NS = 1500000000; /* the demo's; the library's default is off */
static const int64_t CHECK_EVERY_NS = 50000000;
/* The talkers start this long after the timeout is on, so that the silent ones reach it well
 * before the talkers could: the check between the two sees exactly the talkers left. */
static const int64_t TALK_AFTER_NS = 1000000000;

struct demo {
    struct loop *loop;
    struct echo_server server;
    struct crowd crowd;
    struct loop_watcher reports;
    struct loop_timer check, guard;
    struct loop_signal sig;
    struct crowd_config crowd_config;
    struct crowd_report connected, echoed, done;
    double start;
    long empty_rss;
    uint64_t ticks_before;
    bool idle_as_told, stopped, failed;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void say(struct demo *d, const char *fmt, ...) {
    printf("%5.2f s  ", now_s() - d->start);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* What step 2 of a tick costs with every connection watched: the backend's wait over all the
 * fds with timeout 0, timed directly. (This runs inside a callback, where the loop refuses to
 * run a nested tick, so the wait is asked of the backend itself.) */
static double wait_cost_us(struct loop *loop, size_t watched) {
    struct backend *b = loop_backend(loop);
    struct backend_ready *out = malloc((watched + 1) * sizeof *out);
    if (!out)
        return -1;
    enum { WAITS = 50 };
    double t0 = now_s();
    for (int i = 0; i < WAITS; i++)
        (void)b->ops->wait(b, 0, out, (int)watched + 1);
    double us = (now_s() - t0) / WAITS * 1e6;
    free(out);
    return us;
}

static void on_talk(struct loop_timer *t) {
    struct demo *d = t->arg;
    say(d, "now %d of them send, %d round trips each; the other %zu stay silent", ACTIVE, ROUNDS,
        d->server.open_connections - ACTIVE);
    d->ticks_before = loop_tick(d->loop);
    crowd_go(&d->crowd);
}

static void on_connected(struct demo *d, const struct crowd_report *r) {
    size_t open = d->server.open_connections;
    say(d, "the client opened %d connections in %.2f s; the server holds %zu", r->connected,
        r->seconds, open);
    long per = open ? (crowd_resident_bytes() - d->empty_rss) / (long)open : 0;
    say(d, "server memory: %ld bytes resident per connection (the struct is %zu; no", per,
        echo_server_conn_bytes());
    printf("         buffer is held while nothing waits; the kernel's socket buffers are apart)\n");
    say(d, "one wait over %zu watched fds on %s: %.0f us (poll reads all of them)", open,
        loop_backend(d->loop)->ops->name, wait_cost_us(d->loop, open));
    echo_server_set_idle_timeout(&d->server, IDLE_TIMEOUT_NS);
    say(d, "idle timeout on: a connection silent for %.1f s is closed",
        (double)IDLE_TIMEOUT_NS / 1e9);
    loop_timer_start(d->loop, &d->check, TALK_AFTER_NS, on_talk, d);
}

static void on_echoed(struct demo *d, const struct crowd_report *r) {
    uint64_t ticks = loop_tick(d->loop) - d->ticks_before;
    say(d, "%ld round trips in %.2f s, %lld bytes, every one checked by the client", r->round_trips,
        r->seconds, r->bytes_verified);
    say(d, "the loop ran %llu ticks meanwhile (%.0f a second)", (unsigned long long)ticks,
        r->seconds > 0 ? (double)ticks / r->seconds : 0.0);
}

static void on_check(struct loop_timer *t) {
    struct demo *d = t->arg;
    if (d->server.open_connections > ACTIVE) {
        loop_timer_start(d->loop, &d->check, CHECK_EVERY_NS, on_check, d);
        return;
    }
    say(d, "the idle timeout closed %llu silent connections; the %zu that talked remain",
        (unsigned long long)d->server.closed_idle, d->server.open_connections);
    d->idle_as_told = d->server.open_connections == ACTIVE &&
                      d->server.closed_idle + ACTIVE == d->server.accepted;
    say(d, "SIGTERM: stop accepting, let pending output drain (up to 1 s), close the rest");
    raise(SIGTERM); /* the self-pipe hands it to on_signal, an ordinary callback */
}

static void on_drained(struct echo_server *s) {
    struct demo *d = s->config.arg;
    say(d, "stopped: served %llu, echoed %llu bytes, closed %llu idle, refused %llu",
        (unsigned long long)s->accepted, (unsigned long long)s->bytes_echoed,
        (unsigned long long)s->closed_idle, (unsigned long long)s->refused);
    printf("         at the stop: %llu drained, %llu cut at the deadline\n",
           (unsigned long long)s->drained, (unsigned long long)s->cut);
    d->stopped = true;
    crowd_go(&d->crowd); /* the client counts what the server closed, then leaves */
}

static void on_signal(struct loop_signal *sig, int signo) {
    struct demo *d = sig->arg;
    (void)signo;
    echo_server_shutdown(&d->server, 1000000000);
}

static void on_guard(struct loop_timer *t) {
    struct demo *d = t->arg;
    say(d, "the scene did not finish in 60 s: giving up");
    d->failed = true;
    loop_stop(d->loop);
}

static void on_report(struct loop_watcher *w, unsigned ready) {
    struct demo *d = w->arg;
    (void)ready;
    struct crowd_report r;
    if (crowd_read(&d->crowd, &r, 0) < 0 || r.error) {
        say(d, "the client failed: %s", r.error ? strerror(-r.error) : "it died");
        d->failed = true;
        loop_stop(d->loop);
        return;
    }
    if (r.step == CROWD_CONNECTED) {
        d->connected = r;
        on_connected(d, &r);
    } else if (r.step == CROWD_ECHOED) {
        d->echoed = r;
        on_echoed(d, &r);
        loop_timer_start(d->loop, &d->check, CHECK_EVERY_NS, on_check, d);
    } else {
        d->done = r;
        say(d, "the client saw %d of its connections closed by the server", r.closed_by_server);
        loop_stop(d->loop);
    }
}

/* How many connections this machine allows, after raising the soft limit to the hard one. */
static int connections_allowed(void) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0)
        return 100;
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    long usable = lim.rlim_cur == RLIM_INFINITY ? WANTED : (long)lim.rlim_cur - SPARE_FDS;
    if (usable < WANTED)
        printf("the descriptor limit is %llu here, so %ld connections instead of %d "
               "(raise it with ulimit -Hn to see all)\n",
               (unsigned long long)lim.rlim_cur, usable, WANTED);
    return usable < WANTED ? (int)usable : WANTED;
}

static int scene(const struct backend_ops *backend) {
    struct demo d = {.start = now_s()};
    int n = connections_allowed();
    if (backend == &backend_select && n > FD_SETSIZE - SPARE_FDS) {
        n = FD_SETSIZE - SPARE_FDS; /* each fd must fit in an fd_set */
        printf("select watches fds below FD_SETSIZE (%d) only: %d connections on it\n", FD_SETSIZE,
               n);
    }
    if (n <= ACTIVE) {
        printf("too few descriptors (%d) for this scene\n", n);
        return 1;
    }
    struct loop_config lc = {.backend = backend};
    struct echo_config config = {.on_drained = on_drained, .arg = &d};
    if (loop_new(&d.loop, &lc) < 0 ||
        echo_server_open(&d.server, d.loop, NET_LOOPBACK, 0, &config) < 0) {
        printf("cannot start the server\n");
        return 1;
    }
    d.empty_rss = crowd_resident_bytes();
    say(&d, "echo server on 127.0.0.1:%u, one thread, %s backend", d.server.port, backend->name);
    d.crowd_config = (struct crowd_config){
        .port = d.server.port, .connections = n, .active = ACTIVE, .rounds = ROUNDS};
    loop_watcher_init(&d.reports, "crowd reports");
    loop_timer_init(&d.check, "idle check");
    loop_timer_init(&d.guard, "guard");
    if (crowd_start(&d.crowd, &d.crowd_config) < 0 ||
        loop_watch_fd(d.loop, &d.reports, d.crowd.reports, LOOP_READABLE, on_report, &d) < 0 ||
        loop_signal_open(d.loop, &d.sig, on_signal, &d) < 0) {
        printf("cannot start the client\n");
        return 1;
    }
    say(&d, "a client process opens %d connections (%d at a time)...", n, 256);
    loop_timer_start(d.loop, &d.guard, 60 * (int64_t)1000000000, on_guard, &d);
    int rc = loop_run(d.loop);
    loop_signal_close(&d.sig);
    loop_unwatch(d.loop, &d.reports);
    int status = crowd_finish(&d.crowd);
    echo_server_close(&d.server);
    loop_free(d.loop);
    bool ok = rc == 0 && !d.failed && d.stopped && d.idle_as_told && status == 0 &&
              d.connected.connected == n && d.echoed.round_trips == (long)ACTIVE * ROUNDS &&
              d.done.closed_by_server == n;
    printf("%s\n", ok ? "one thread held every connection, and let them go in order."
                      : "the scene did not go as narrated.");
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    struct narrator narrator;
    narrate_parse(&narrator, &argc,
                  argv); /* --trace is this demo's own; the rest is echo_serve's */
    struct echo_serve_args args;
    int status = echo_serve_main(&args, argc, argv, &backend_poll);
    if (status != ECHO_SERVE_SCENE)
        return status;
    return narrator.trace ? trace_scene(args.backend) : scene(args.backend);
}
