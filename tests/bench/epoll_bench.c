/* epoll_bench.c — lesson 16 measured. First, the cost of one wait with K idle descriptors and one
 * ready one, for select, poll and epoll, each epoll row beside poll at the same K in the same
 * run. Then the echo server's CPU per round trip at 100, 1,000 and 10,000 connections, on epoll
 * beside poll, each server in a forked child so its CPU time is its own. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop/backend/backend.h"
#include "tests/bench/lib/bench.h"

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
    double result = fds && ops->new(&t.b, NULL) == 0 ? 0 : -ENOMEM;
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

int main(void) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 3 * MOST_IDLE) {
        lim.rlim_cur = lim.rlim_max != RLIM_INFINITY && lim.rlim_max < 3 * MOST_IDLE
                           ? lim.rlim_max
                           : 3 * MOST_IDLE;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    return tick_rows();
}

#else
int main(void) {
    puts("epoll_bench: epoll exists only on Linux; nothing to measure here");
    return 0;
}
#endif
