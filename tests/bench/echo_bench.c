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
#include "tests/bench/lib/loadclient.h"

enum { MAX_CONNECTIONS = 1000 };

/* A server in a forked child, so its CPU time is its own (RUSAGE_CHILDREN after wait). */
struct server_child {
    pid_t pid;
    uint16_t port;
};

/* ---- the two servers ------------------------------------------------------------------------ */

static void stop_loop(struct loop_signal *s, int signo) {
    (void)signo;
    loop_stop(s->arg);
}

/* The loop server: loop/net/echo.c on one thread, until SIGTERM arrives through the self-pipe. */
static int run_loop_server(const struct backend_ops *backend, int report_fd) {
    struct loop *loop;
    struct loop_config config = {.backend = backend};
    struct echo_server server;
    struct loop_signal sig;
    if (loop_new(&loop, &config) < 0 || echo_server_open(&server, loop, NET_LOOPBACK, 0, NULL) < 0 ||
        loop_signal_open(loop, &sig, stop_loop, loop) < 0)
        return 1;
    if (write(report_fd, &server.port, sizeof server.port) != sizeof server.port)
        return 1;
    int rc = loop_run(loop);
    loop_signal_close(&sig);
    echo_server_close(&server);
    loop_free(loop);
    return rc == 0 ? 0 : 1;
}

/* One blocking thread per connection: read, write it all back, until end-of-file. */
static void *echo_thread(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (w <= 0)
                goto done;
            off += w;
        }
    }
done:
    close(fd);
    return NULL;
}

/* The baseline: the main thread accepts, each connection gets a detached thread with a small
 * stack (1000 threads x 8 MiB default stacks would be 8 GB of address space). SIGTERM's
 * default action ends it. */
static int run_thread_server(int report_fd) {
    int lfd;
    uint16_t port;
    if (net_listen_tcp(NET_LOOPBACK, 0, 0, &lfd, &port) < 0)
        return 1;
    fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) & ~O_NONBLOCK); /* this server blocks, on purpose */
    if (write(report_fd, &port, sizeof port) != sizeof port)
        return 1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return 1;
        }
        pthread_t t;
        if (pthread_create(&t, &attr, echo_thread, (void *)(intptr_t)fd) != 0)
            close(fd);
    }
}

/* Forks a server (backend NULL: the thread-per-connection one) and learns its port. */
static int start_server(const struct backend_ops *backend, struct server_child *child) {
    int report[2];
    if (pipe(report) < 0)
        return -errno;
    fflush(stdout);
    child->pid = fork();
    if (child->pid < 0)
        return -errno;
    if (child->pid == 0) {
        close(report[0]);
        _exit(backend ? run_loop_server(backend, report[1]) : run_thread_server(report[1]));
    }
    close(report[1]);
    struct pollfd p = {.fd = report[0], .events = POLLIN};
    int rc = poll(&p, 1, 10000) == 1 &&
                     read(report[0], &child->port, sizeof child->port) == sizeof child->port
                 ? 0
                 : -ETIMEDOUT;
    close(report[0]);
    return rc;
}

static double children_cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- one measurement ------------------------------------------------------------------------ */

struct measurement {
    double round_trips_per_sec;
    double cpu_ns_per_round_trip; /* the server's user + system time */
};

static int measure(const struct backend_ops *backend, int connections, long round_trips,
                   struct measurement *m) {
    struct server_child child;
    double cpu_before = children_cpu_seconds();
    int rc = start_server(backend, &child);
    if (rc < 0)
        return rc;
    struct loadclient_config config = {
        .port = child.port, .connections = connections, .round_trips = round_trips,
        .message_size = 64,
    };
    struct loadclient_result result;
    rc = loadclient_run(&config, &result);
    kill(child.pid, SIGTERM);
    int status;
    waitpid(child.pid, &status, 0); /* only now does its CPU time count as a child's */
    double cpu = children_cpu_seconds() - cpu_before;
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
                fprintf(stderr, "echo_bench: the %s loop run at %d failed: %s\n",
                        backends[b]->name, n, strerror(-rc));
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
