/* pool_bench.c — lesson 13 measured: queries per second (PING) through the connection pool at
 * N = 1, 8 and 64 connections, 64 tasks asking, against kvd in a forked child, each beside one
 * connection per query (connect, query, close) at the same concurrency, in the same run. The
 * gap is what a pool saves: the handshake, the accept and the teardown of every query. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "loop/net/kvd.h"
#include "loop/net/net.h"
#include "loop/net/pool.h"
#include "loop/signal.h"
#include "tests/bench/lib/bench.h"

enum { TASKS = 64, MAX_N = 64 };

static const char *const ping[] = {"PING", NULL};

/* ---- the server: kvd in a child, until SIGTERM ----------------------------------------------- */

static void stop_loop(struct loop_signal *s, int signo) {
    (void)signo;
    loop_stop(s->arg);
}

static int run_kvd(int report_fd) {
    static struct kvd_conn conns[TASKS + 8];
    struct loop *loop;
    struct kvd_server kvd;
    struct loop_signal sig;
    if (loop_new(&loop, NULL) < 0 ||
        kvd_server_open(&kvd, loop, NET_LOOPBACK, 0, conns, TASKS + 8) < 0 ||
        loop_signal_open(loop, &sig, stop_loop, loop) < 0)
        return 1;
    if (write(report_fd, &kvd.port, sizeof kvd.port) != sizeof kvd.port)
        return 1;
    int rc = loop_run(loop);
    loop_signal_close(&sig);
    kvd_server_close(&kvd);
    loop_free(loop);
    return rc == 0 ? 0 : 1;
}

static pid_t start_kvd(uint16_t *port) {
    int report[2];
    if (pipe(report) < 0)
        return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(report[0]);
        _exit(run_kvd(report[1]));
    }
    close(report[1]);
    struct pollfd p = {.fd = report[0], .events = POLLIN};
    bool ok =
        pid > 0 && poll(&p, 1, 10000) == 1 && read(report[0], port, sizeof *port) == sizeof *port;
    close(report[0]);
    return ok ? pid : -1;
}

/* ---- the clients ----------------------------------------------------------------------------- */

/* Through the pool: POOL_QUERY until the shared budget is spent. */
struct pooled {
    struct task task;
    struct pool *pool;
    struct pool_lease lease;
    long *left;
    long failed;
};

static enum coro_status pooled_step(struct task *t) {
    struct pooled *f = TASK_FRAME(t, struct pooled, task);
    CORO_BEGIN(&t->co);
    while (*f->left > 0) {
        (*f->left)--;
        POOL_QUERY(t, &f->lease, f->pool, ping, -1);
        f->failed += task_result(t) < 0;
    }
    CORO_CLEANUP(&t->co);
    pool_release(&f->lease);
    CORO_END(&t->co);
}

/* The baseline: a new connection for every query, closed after its reply. */
struct oneshot {
    struct task task;
    struct loop_fd_wait wait;
    uint16_t port;
    long *left;
    long failed;
    int fd;
    char reply[64];
};

static enum coro_status oneshot_step(struct task *t) {
    struct oneshot *f = TASK_FRAME(t, struct oneshot, task);
    CORO_BEGIN(&t->co);
    while (*f->left > 0) {
        (*f->left)--;
        if (net_connect_tcp(NET_LOOPBACK, f->port, &f->fd) == -EINPROGRESS)
            LOOP_WAIT_WRITABLE(t, &f->wait, f->fd);
        if (f->fd < 0 || net_send(f->fd, "*1\r\n$4\r\nPING\r\n", 14) != 14) {
            f->failed++;
        } else {
            LOOP_WAIT_READABLE(t, &f->wait, f->fd);
            f->failed += net_recv(f->fd, f->reply, sizeof f->reply) != 7; /* +PONG\r\n */
        }
        if (f->fd >= 0)
            close(f->fd);
        f->fd = -1;
    }
    CORO_CLEANUP(&t->co);
    if (f->fd >= 0)
        close(f->fd);
    CORO_END(&t->co);
}

/* Queries per second: `queries` PINGs by TASKS tasks, through a pool of n (0: one connection
 * per query). */
static double measure(uint16_t port, size_t n, long queries) {
    static struct pooled pooled[TASKS];
    static struct oneshot oneshots[TASKS];
    struct pool_conn *conns = calloc(MAX_N, sizeof *conns);
    struct loop *loop;
    struct pool p;
    long left = queries, failed = 0;
    struct pool_config config = {.host = NET_LOOPBACK, .port = port, .conns = conns, .size = n};
    if (!conns || loop_new(&loop, NULL) < 0 || (n && pool_open(&p, loop, &config) < 0))
        return 0;
    int64_t began = bench_now_ns();
    for (int i = 0; i < TASKS; i++) {
        if (n) {
            pooled[i] = (struct pooled){.pool = &p, .left = &left};
            loop_spawn(loop, &pooled[i].task, pooled_step, "pooled", NULL);
        } else {
            oneshots[i] = (struct oneshot){.port = port, .left = &left, .fd = -1};
            loop_spawn(loop, &oneshots[i].task, oneshot_step, "oneshot", NULL);
        }
    }
    for (int i = 0; i < TASKS; i++) {
        struct task *t = n ? &pooled[i].task : &oneshots[i].task;
        loop_run_until_complete(loop, t);
        failed += n ? pooled[i].failed : oneshots[i].failed;
    }
    double seconds = (double)(bench_now_ns() - began) / 1e9;
    if (n)
        pool_close(&p);
    loop_free(loop);
    free(conns);
    if (failed)
        fprintf(stderr, "pool_bench: %ld of %ld queries failed\n", failed, queries);
    return (double)queries / seconds;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    uint16_t port;
    pid_t server = start_kvd(&port);
    if (server < 0) {
        fprintf(stderr, "pool_bench: cannot start kvd\n");
        return 1;
    }
    /* The baseline's connections each leave a socket in TIME_WAIT: keep its count modest. */
    double per_query = measure(port, 0, 10000);
    static const size_t sizes[] = {1, 8, MAX_N};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char name[96];
        snprintf(name, sizeof name, "pool: PING/s, N = %zu, %d tasks (kvd)", sizes[i], TASKS);
        bench_row(name, measure(port, sizes[i], 50000), "queries/s", "connection per query",
                  per_query);
    }
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    return 0;
}
