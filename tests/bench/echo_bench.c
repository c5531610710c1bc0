/* echo_bench.c — lessons 02 and 03 measured: echo round trips per second through one loop
 * thread (poll at 1, 100 and 1000 connections, select at 1 and 100), each beside a
 * thread-per-connection blocking echo server at the same concurrency, in the same run. Also the
 * server's CPU time per round trip (getrusage of the server process), which stays meaningful
 * when the load client, not the server, is what saturates a core. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop/net/echo.h"
#include "loop/loop.h"
#include "loop/net/net.h"
#include "loop/signal.h"
#include "tests/bench/lib/bench.h"
#include "tests/bench/lib/echo_servers.h"
#include "tests/bench/lib/loadclient.h"

enum { MAX_CONNECTIONS = 1000 };

/* ---- one measurement ------------------------------------------------------------------------ */

struct measurement {
    double round_trips_per_sec;
    double cpu_ns_per_round_trip; /* the server's user + system time */
};

static int measure(const struct backend_ops *backend, int connections, long round_trips,
                   struct measurement *m) {
    struct echo_server_child child;
    double cpu_before = echo_servers_children_cpu();
    int rc = echo_servers_start(backend, &child);
    if (rc < 0)
        return rc;
    struct loadclient_config config = {
        .port = child.port,
        .connections = connections,
        .round_trips = round_trips,
        .message_size = 64,
    };
    struct loadclient_result result;
    rc = loadclient_run(&config, &result);
    kill(child.pid, SIGTERM);
    int status;
    waitpid(child.pid, &status, 0); /* only now does its CPU time count as a child's */
    double cpu = echo_servers_children_cpu() - cpu_before;
    m->round_trips_per_sec = result.round_trips_per_sec;
    m->cpu_ns_per_round_trip = result.round_trips ? cpu * 1e9 / (double)result.round_trips : 0;
    return rc;
}

/* 1000 clients and 1000 server connections need more fds than the usual soft limit of 1024. */
static void raise_fd_limit(void) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 4 * MAX_CONNECTIONS) {
        lim.rlim_cur = lim.rlim_max == RLIM_INFINITY || lim.rlim_max > 4 * MAX_CONNECTIONS
                           ? 4 * MAX_CONNECTIONS
                           : lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

int main(void) {
    raise_fd_limit();
    static const struct {
        int connections;
        long round_trips; /* about a second a run: the whole benchmark stays near 10 s */
    } sizes[] = {{1, 10000}, {100, 60000}, {MAX_CONNECTIONS, 100000}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int n = sizes[i].connections;
        struct measurement threads, loop;
        if (measure(NULL, n, sizes[i].round_trips, &threads) < 0) {
            fprintf(stderr, "echo_bench: the thread-per-connection run at %d failed\n", n);
            return 1;
        }
        const struct backend_ops *backends[] = {&backend_poll, &backend_select};
        for (size_t b = 0; b < 2; b++) {
            if (backends[b] == &backend_select && n > 100)
                continue; /* 2000 fds: far past select's FD_SETSIZE */
            int rc = measure(backends[b], n, sizes[i].round_trips, &loop);
            if (rc < 0) {
                fprintf(stderr, "echo_bench: the %s loop run at %d failed: %s\n", backends[b]->name,
                        n, strerror(-rc));
                return 1;
            }
            char name[64];
            snprintf(name, sizeof name, "echo %s loop, %d conn: round trips", backends[b]->name, n);
            bench_row(name, loop.round_trips_per_sec, "rt/s", "thread-per-connection",
                      threads.round_trips_per_sec);
            snprintf(name, sizeof name, "echo %s loop, %d conn: server CPU", backends[b]->name, n);
            bench_row(name, loop.cpu_ns_per_round_trip, "ns/rt", "thread-per-connection",
                      threads.cpu_ns_per_round_trip);
        }
    }
    return 0;
}
