/* epoll_bench.c — lesson 16 measured. First, the cost of one wait with K idle descriptors and one
 * ready one, select and poll each beside epoll at the same K in the same run. Then the echo
 * server's CPU per round trip at 100, 1,000 and 10,000 busy connections, and at 100 busy among
 * 9,900 idle, on epoll beside poll; each server in a forked child so its CPU time is its own. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop/backend/backend.h"
#include "tests/bench/lib/bench.h"
#include "tests/bench/lib/echo_servers.h"
#include "tests/bench/lib/loadclient.h"

#ifdef __linux__

enum { MOST_IDLE = 10000 };

/* ---- the tick: one wait with K idle fds and one ready ------------------------------------- */

struct tick_bench {
    struct backend *b;
    struct backend_ready out[4];
};

static void waits(void *ctx, long iterations) {
    struct tick_bench *t = ctx;
    for (long i = 0; i < iterations; i++)
        bench_sink((uint64_t)t->b->ops->wait(t->b, 0, t->out, 4));
}

/* ns per wait(0) on ops with `idle` copies of an empty pipe's read end and one pipe holding a
 * byte (level-triggered: ready on every wait). A negative errno if the backend refused. */
static double tick_ns(const struct backend_ops *ops, int idle) {
    int quiet[2], busy[2];
    if (pipe(quiet) != 0 || pipe(busy) != 0 || write(busy[1], "x", 1) != 1)
        return -errno;
    int *fds = malloc((size_t)idle * sizeof *fds);
    struct tick_bench t = {0};
    double result = fds && ops->new (&t.b, NULL) == 0 ? 0 : -ENOMEM;
    int opened = 0;
    for (; result == 0 && opened < idle; opened++) {
        fds[opened] = fcntl(quiet[0], F_DUPFD_CLOEXEC, 0);
        int rc = fds[opened] < 0 ? -errno : t.b->ops->watch(t.b, fds[opened], BACKEND_READABLE);
        if (rc < 0) {
            result = rc;
            if (fds[opened] < 0)
                opened--;
        }
    }
    if (result == 0 && (result = t.b->ops->watch(t.b, busy[0], BACKEND_READABLE)) == 0) {
        long iterations = idle >= 1000 ? 300 : 20000;
        result = bench_median_ns(waits, &t, iterations, 7);
    }
    if (t.b)
        t.b->ops->free(t.b);
    for (int i = 0; i < opened; i++)
        close(fds[i]);
    free(fds);
    close(quiet[0]);
    close(quiet[1]);
    close(busy[0]);
    close(busy[1]);
    return result;
}

/* Each row: select or poll beside epoll on the same fds; select stops at FD_SETSIZE. */
static int tick_rows(void) {
    static const int sizes[] = {10, 100, 1000, MOST_IDLE};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int k = sizes[i];
        double by_epoll = tick_ns(&backend_epoll, k);
        double by_poll = tick_ns(&backend_poll, k);
        double by_select = k + 16 < 1024 ? tick_ns(&backend_select, k) : -ERANGE;
        if (by_poll < 0 || by_epoll < 0 || (by_select < 0 && by_select != -ERANGE)) {
            fprintf(stderr, "epoll_bench: a tick at K = %d failed\n", k);
            return 1;
        }
        char name[80];
        snprintf(name, sizeof name, "poll wait, %d idle fds + 1 ready", k);
        bench_row(name, by_poll, "ns/tick", "epoll, same fds", by_epoll);
        if (by_select >= 0) {
            snprintf(name, sizeof name, "select wait, %d idle fds + 1 ready", k);
            bench_row(name, by_select, "ns/tick", "epoll, same fds", by_epoll);
        }
    }
    return 0;
}

/* ---- the echo server's CPU per round trip -------------------------------------------------- */

/* A child's user + system seconds so far, from /proc/PID/stat (fields 14 and 15, in clock
 * ticks): read while it runs, so setting up the idle connections is left out. -1 if unreadable. */
static double cpu_seconds_of(pid_t pid) {
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *in = fopen(path, "r");
    size_t len = in ? fread(text, 1, sizeof text - 1, in) : 0;
    if (in)
        fclose(in);
    text[len] = '\0';
    char *after_name = strrchr(text, ')'); /* the name may hold spaces: fields count from here */
    unsigned long long user = 0, sys = 0;
    if (!after_name ||
        sscanf(after_name + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &user,
               &sys) != 2)
        return -1;
    return (double)(user + sys) / (double)sysconf(_SC_CLK_TCK);
}

/* Server CPU ns per round trip: the echo server forked on backend (echo_servers.h), `idle`
 * connections that only said hello, and `connections` busy ones from this process. */
static double cpu_per_round_trip(const struct backend_ops *backend, int connections, int idle,
                                 long round_trips) {
    struct echo_server_child child;
    int rc = echo_servers_start(backend, &child);
    if (rc < 0)
        return rc;
    int *idle_fds = calloc((size_t)idle + 1, sizeof *idle_fds);
    rc = !idle_fds ? -ENOMEM : idle ? loadclient_open(child.port, idle, 10000, idle_fds) : 0;
    struct loadclient_result result = {0};
    double before = cpu_seconds_of(child.pid), cpu = 0;
    if (rc == 0) {
        struct loadclient_config config = {.port = child.port,
                                           .connections = connections,
                                           .round_trips = round_trips,
                                           .message_size = 64};
        rc = loadclient_run(&config, &result);
        cpu = cpu_seconds_of(child.pid) - before;
    }
    if (idle_fds && idle)
        loadclient_close(idle_fds, idle);
    free(idle_fds);
    kill(child.pid, SIGTERM);
    int status;
    waitpid(child.pid, &status, 0);
    if (rc == 0 && before < 0)
        rc = -ENOENT; /* no /proc: nothing to measure with */
    if (rc < 0)
        return rc;
    return result.round_trips ? cpu * 1e9 / (double)result.round_trips : -EIO;
}

/* Busy connections only (each keeps one message in flight: many fds ready per tick), then 100
 * busy among 9,900 idle (one or two ready per tick: the case epoll is for). */
static int cpu_rows(void) {
    static const struct {
        int busy, idle;
        long round_trips;
    } runs[] = {{100, 0, 40000}, {1000, 0, 40000}, {MOST_IDLE, 0, 40000}, {100, 9900, 40000}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        int n = runs[i].busy, idle = runs[i].idle;
        double by_poll = cpu_per_round_trip(&backend_poll, n, idle, runs[i].round_trips);
        double by_epoll = cpu_per_round_trip(&backend_epoll, n, idle, runs[i].round_trips);
        if (by_poll < 0 || by_epoll < 0) {
            fprintf(stderr, "epoll_bench: the echo runs at %d + %d connections failed: %s\n", n,
                    idle, strerror((int)-(by_poll < 0 ? by_poll : by_epoll)));
            return 1;
        }
        char name[80];
        if (idle)
            snprintf(name, sizeof name, "echo epoll, %d busy + %d idle: server CPU", n, idle);
        else
            snprintf(name, sizeof name, "echo epoll loop, %d conn: server CPU", n);
        bench_row(name, by_epoll, "ns/rt", "poll loop, same run", by_poll);
    }
    return 0;
}

int main(void) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 2 * MOST_IDLE + 64) {
        lim.rlim_cur = lim.rlim_max != RLIM_INFINITY && lim.rlim_max < 2 * MOST_IDLE + 64
                           ? lim.rlim_max
                           : 2 * MOST_IDLE + 64;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    return tick_rows() || cpu_rows();
}

#else
int main(void) {
    puts("epoll_bench: epoll exists only on Linux; nothing to measure here");
    return 0;
}
#endif
