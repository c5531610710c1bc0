/* uring_bench.c — lesson 18 measured: the completion-style echo server on io_uring beside the
 * readiness one on epoll (the default backend), in the same run, at 100 and 1,000 connections: the
 * server's CPU per round trip (its own process's user + system time) and its system calls per round
 * trip (counted in the server at each call, so exact). Where io_uring is not available the rows say
 * so and the readiness figures are printed alone. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop/loop.h"
#include "loop/net/ready_echo.h"
#include "loop/net/uring_echo.h"
#include "loop/signal.h"
#include "tests/bench/lib/bench.h"
#include "tests/bench/lib/echo_servers.h"
#include "tests/bench/lib/loadclient.h"

struct counted {
    unsigned long syscalls, round_trips;
};

static void count_wait(void *ctx, struct loop *loop, int64_t timeout_ns) {
    (void)loop, (void)timeout_ns;
    (*(unsigned long *)ctx)++;
}

static void stop_loop(struct loop_signal *s, int signo) {
    (void)signo;
    loop_stop(s->arg);
}

/* The child: serves until SIGTERM, then reports its counted system calls on fd. */
static int serve(bool completion, int fd) {
    struct loop *loop;
    struct loop_signal sig;
    unsigned long waits = 0;
    struct loop_config config = {.backend = backend_default(), /* epoll on Linux */
                                 .hooks = {.ctx = &waits, .before_wait = count_wait}};
    struct ready_echo ready;
    struct uring_echo uring;
    if (loop_new(&loop, &config) < 0 || loop_signal_open(loop, &sig, stop_loop, loop) < 0)
        return 1;
    int rc = completion ? uring_echo_open(&uring, loop, NULL, 0, false)
                        : ready_echo_open(&ready, loop, NULL, 0);
    uint16_t port = rc < 0 ? 0 : completion ? uring.port : ready.port;
    if (write(fd, &port, sizeof port) != sizeof port || rc < 0)
        return 1;
    loop_run(loop);
    struct counted c;
    if (completion) {
        c.syscalls = waits + uring.ring.counts.enters;
        c.round_trips = uring.round_trips;
        uring_echo_shutdown(&uring);
        for (int i = 0; i < 1000 && !uring.stopped; i++)
            loop_run_once(loop);
        uring_echo_close(&uring);
    } else {
        c.syscalls = waits + ready.recvs + ready.sends + ready.accepts;
        c.round_trips = ready.round_trips;
        ready_echo_close(&ready);
    }
    loop_signal_close(&sig);
    loop_free(loop);
    return write(fd, &c, sizeof c) == sizeof c ? 0 : 1;
}

struct figures {
    double cpu_ns, syscalls;
    int error;
};

static void measure(bool completion, int conns, long round_trips, struct figures *f) {
    *f = (struct figures){0};
    int p[2];
    if (pipe(p) < 0) {
        f->error = -errno;
        return;
    }
    fflush(stdout);
    double cpu_before = echo_servers_children_cpu();
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        _exit(serve(completion, p[1]));
    }
    close(p[1]);
    uint16_t port = 0;
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    if (pid < 0 || poll(&pf, 1, 10000) != 1 || read(p[0], &port, sizeof port) != sizeof port ||
        port == 0)
        f->error = -ENOSYS;
    struct loadclient_result result = {0};
    if (f->error == 0) {
        struct loadclient_config config = {
            .port = port, .connections = conns, .round_trips = round_trips, .message_size = 64};
        f->error = loadclient_run(&config, &result);
    }
    struct counted c = {0};
    if (pid > 0) {
        kill(pid, SIGTERM);
        if (f->error == 0 && read(p[0], &c, sizeof c) != sizeof c)
            f->error = -EPIPE;
        int status;
        waitpid(pid, &status, 0);
    }
    close(p[0]);
    double cpu = echo_servers_children_cpu() - cpu_before;
    if (f->error == 0 && c.round_trips > 0) {
        f->cpu_ns = cpu * 1e9 / (double)result.round_trips;
        f->syscalls = (double)c.syscalls / (double)c.round_trips;
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 4096 && lim.rlim_max >= 4096) {
        lim.rlim_cur = 4096;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    const int counts[] = {100, 1000};
    for (int i = 0; i < 2; i++) {
        struct figures ready, uring;
        measure(false, counts[i], 100000, &ready);
        measure(true, counts[i], 100000, &uring);
        char name[96];
        if (ready.error < 0) {
            printf("readiness echo at %d connections failed: error %d\n", counts[i], ready.error);
            continue;
        }
        if (uring.error < 0) {
            printf("%s\n", uring_unavailable(uring.error));
            snprintf(name, sizeof name, "echo CPU/rt, %d conns, epoll", counts[i]);
            bench_row(name, ready.cpu_ns, "ns/rt", NULL, 0);
            continue;
        }
        snprintf(name, sizeof name, "echo CPU/rt, %d conns, io_uring", counts[i]);
        bench_row(name, uring.cpu_ns, "ns/rt", "epoll readiness", ready.cpu_ns);
        snprintf(name, sizeof name, "echo syscalls/rt, %d conns, io_uring", counts[i]);
        bench_row(name, uring.syscalls, "calls", "epoll readiness", ready.syscalls);
    }
    return 0;
}
