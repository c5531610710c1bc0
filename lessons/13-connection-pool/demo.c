/* demo.c — lesson 13: with a pool of N connections, how many queries are in flight?
 * Part 1: 100 tasks each run 5 queries of DEBUG SLEEP 0.01 against kvd through pools of N = 1, 4
 * and 16: in flight over time, and the total time beside Little's law (queries x latency / N).
 * Part 2: a query cancelled while its reply is in flight: its connection is replaced, not reused.
 * kvd runs in this process on the same loop, on the virtual clock (--real: the wall clock).
 * `--serve PORT` runs kvd alone; `--trace --port PORT` prints the canonical lines of a smaller
 * scene against a running server, as asyncio_twin.py does. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "loop/net/kvd.h"
#include "loop/net/net.h"
#include "loop/net/pool.h"

#define MS INT64_C(1000000)

enum { TASKS = 100, QUERIES = 5, LATENCY_MS = 10, SAMPLES = 10, MAX_N = 16 };

static const char *const sleep_10ms[] = {"DEBUG", "SLEEP", "0.01", NULL};
static const char *const sleep_50ms[] = {"DEBUG", "SLEEP", "0.05", NULL};
static const char *const ping_mine[] = {"PING", "mine", NULL};

/* Python: for _ in range(queries): await pool.execute(*argv) */
struct client {
    struct task task;
    struct pool *pool;
    struct pool_lease lease;
    const char *const *argv;
    int queries, done, failed;
    int64_t start_ns;
    struct pool_reply reply;
    bool trace;
};

static enum coro_status client_step(struct task *t) {
    struct client *f = TASK_FRAME(t, struct client, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP(t, f->start_ns);
    for (; f->done < f->queries; f->done++) {
        POOL_QUERY(t, &f->lease, f->pool, f->argv, -1);
        if (task_result(t) < 0 || f->lease.reply.type == RESP_ERROR)
            f->failed++;
        f->reply = f->lease.reply;
    }
    CORO_CLEANUP(&t->co);
    pool_release(&f->lease); /* cancelled mid-query: the pool decides what to do with it */
    CORO_END(&t->co);
}

/* Notes the pool's in-flight count every `every` ns, SAMPLES times. */
struct sampler {
    struct task task;
    struct pool *pool;
    int64_t every;
    int i;
    size_t seen[SAMPLES], waiting[SAMPLES];
};

static enum coro_status sampler_step(struct task *t) {
    struct sampler *f = TASK_FRAME(t, struct sampler, task);
    CORO_BEGIN(&t->co);
    for (f->i = 0; f->i < SAMPLES; f->i++) {
        LOOP_SLEEP(t, f->every);
        f->seen[f->i] = f->pool->in_flight;
        f->waiting[f->i] = pool_waiting(f->pool);
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* Sleeps ns, then cancels target, saying which connection it had. */
struct canceller {
    struct task task;
    int64_t ns;
    struct client *target;
    bool trace;
};

static enum coro_status canceller_step(struct task *t) {
    struct canceller *f = TASK_FRAME(t, struct canceller, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP(t, f->ns);
    if (f->trace)
        printf("cancel slow: connection %u has its reply in flight\n", f->target->lease.conn_id);
    else
        printf("  at %lld ms, cancel slow: connection #%u is still waiting for its reply\n",
               (long long)(f->ns / MS), f->target->lease.conn_id);
    task_cancel(&f->target->task);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static int run_until_done(struct loop *loop, struct task *const *tasks, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int rc = loop_run_until_complete(loop, tasks[i]);
        if (rc < 0 && rc != -ECANCELED && !task_done(tasks[i]))
            return rc;
    }
    return 0;
}

static void open_pool(struct pool *p, struct pool_conn *conns, struct loop *loop, uint16_t port,
                      size_t n) {
    struct pool_config config = {
        .host = NET_LOOPBACK, .port = port, .conns = conns, .size = n, .name = "demo pool"};
    if (pool_open(p, loop, &config) < 0) {
        fprintf(stderr, "demo: cannot open a pool to port %u\n", port);
        exit(1);
    }
}

/* ---- part 1: N connections, Little's law ----------------------------------------------------- */

static bool through_pool(struct loop *loop, uint16_t port, size_t n, int tasks, int queries,
                         const struct kvd_server *kvd, bool trace) {
    static struct client clients[TASKS];
    static struct task *all[TASKS + 1];
    struct pool_conn conns[MAX_N];
    struct pool p;
    open_pool(&p, conns, loop, port, n);
    int64_t predicted = (int64_t)tasks * queries * LATENCY_MS * MS / (int64_t)n;
    struct sampler sampler = {.pool = &p, .every = predicted / SAMPLES};
    loop_spawn(loop, &sampler.task, sampler_step, "sampler", NULL);
    int64_t began = loop_now(loop);
    for (int i = 0; i < tasks; i++) {
        clients[i] = (struct client){.pool = &p, .argv = sleep_10ms, .queries = queries};
        loop_spawn(loop, &clients[i].task, client_step, "client", NULL);
        all[i] = &clients[i].task;
    }
    int rc = run_until_done(loop, all, (size_t)tasks);
    int64_t took = loop_now(loop) - began;
    all[0] = &sampler.task;
    run_until_done(loop, all, 1);
    int failed = 0;
    for (int i = 0; i < tasks; i++)
        failed += clients[i].failed;
    int total = tasks * queries;
    if (trace) {
        printf("pool N=%zu: %d queries, %d ok, peak in flight %zu, connections opened %llu\n", n,
               total, total - failed, p.max_in_flight, (unsigned long long)p.opened);
    } else {
        printf("\npool of N = %zu, sampled every %.3f s\n  in flight:", n,
               (double)sampler.every / 1e9);
        for (int i = 0; i < SAMPLES; i++)
            printf(" %3zu", sampler.seen[i]);
        printf("\n  waiting:  ");
        for (int i = 0; i < SAMPLES; i++)
            printf(" %3zu", sampler.waiting[i]);
        printf("\n  %d queries took %.2f s; Little's law: %d x %d ms / %zu = %.2f s\n", total,
               (double)took / 1e9, total, LATENCY_MS, n, (double)predicted / 1e9);
        printf("  peak in flight %zu (kvd counted %u at once); connections opened %llu\n",
               p.max_in_flight, kvd ? kvd->max_in_progress : 0, (unsigned long long)p.opened);
    }
    bool ok = rc == 0 && failed == 0 && p.max_in_flight == n && p.opened == n &&
              (!kvd || kvd->max_in_progress == n);
    pool_close(&p);
    return ok;
}

/* ---- part 2: the reply in flight at cancellation --------------------------------------------- */

static bool cancelled_mid_query(struct loop *loop, uint16_t port, bool trace) {
    struct pool_conn conns[1];
    struct pool p;
    open_pool(&p, conns, loop, port, 1);
    static struct client slow, next;
    slow = (struct client){.pool = &p, .argv = sleep_50ms, .queries = 1};
    next = (struct client){.pool = &p, .argv = ping_mine, .queries = 1, .start_ns = 1 * MS};
    struct canceller canceller = {.ns = 10 * MS, .target = &slow, .trace = trace};
    if (!trace)
        printf("\nA query cancelled while its reply is in flight (pool of N = 1)\n"
               "  slow sends DEBUG SLEEP 0.05; next queues behind it with PING mine\n");
    loop_spawn(loop, &slow.task, client_step, "slow", NULL);
    loop_spawn(loop, &canceller.task, canceller_step, "canceller", NULL);
    loop_spawn(loop, &next.task, client_step, "next", NULL);
    struct task *all[] = {&slow.task, &canceller.task, &next.task};
    run_until_done(loop, all, 3);
    bool own = next.failed == 0 && strcmp(next.reply.text, "mine") == 0;
    if (trace) {
        printf("pool: connection %u discarded, replaced %llu\n", slow.lease.conn_id,
               (unsigned long long)p.replaced);
        printf("next: PING mine -> %s on connection %u\n", next.reply.text, next.lease.conn_id);
    } else {
        if (p.replaced_in_flight == 1)
            printf("  the pool closed connection #%u instead of reusing it\n", slow.lease.conn_id);
        else
            printf("  the pool handed connection #%u on, its reply still in flight\n",
                   slow.lease.conn_id);
        printf("  next ran on connection #%u and read \"%s\": %s\n", next.lease.conn_id,
               next.reply.text, own ? "its own reply" : "slow's reply, taken for its own");
        if (own)
            printf("  had #%u been reused, next would have read \"+OK\", slow's reply, as its "
                   "own\n",
                   slow.lease.conn_id);
    }
    bool ok = slow.task.state == TASK_CANCELLED && own && p.replaced_in_flight == 1 &&
              next.lease.conn_id != slow.lease.conn_id;
    pool_close(&p);
    return ok;
}

/* ---- the scenes ------------------------------------------------------------------------------ */

static int scene(bool real) {
    struct loop_clock clock;
    struct loop_config config = {0};
    if (!real) {
        loop_clock_init_virtual(&clock, 0);
        config.clock = &clock;
    }
    struct loop *loop = NULL;
    static struct kvd_conn kvd_conns[MAX_N + 2];
    struct kvd_server kvd;
    if (loop_new(&loop, &config) < 0 ||
        kvd_server_open(&kvd, loop, NET_LOOPBACK, 0, kvd_conns, MAX_N + 2) < 0) {
        fprintf(stderr, "demo: cannot start kvd\n");
        return 1;
    }
    printf("%d tasks each run %d queries of DEBUG SLEEP 0.01 against kvd through a pool.\n"
           "kvd runs in this process, on the same loop, on the %s clock%s.\n",
           TASKS, QUERIES, real ? "wall" : "virtual", real ? "" : " (--real: the wall clock)");
    bool ok = true;
    const size_t sizes[] = {1, 4, 16};
    for (size_t i = 0; i < 3; i++) {
        kvd_server_reset_peak(&kvd);
        ok &= through_pool(loop, kvd.port, sizes[i], TASKS, QUERIES, &kvd, false);
    }
    ok &= cancelled_mid_query(loop, kvd.port, false);
    printf("\nIn flight never passed N, and time fell as 1/N: Little's law, L = lambda x W.\n");
    kvd_server_close(&kvd);
    loop_free(loop);
    if (!ok)
        fprintf(stderr, "demo: the pool did not behave as described\n");
    return ok ? 0 : 1;
}

/* The twin's scene against a running server, canonical lines only. */
static int trace_scene(uint16_t port) {
    struct loop *loop = NULL;
    if (loop_new(&loop, NULL) < 0)
        return 1;
    bool ok = through_pool(loop, port, 1, 10, 2, NULL, true);
    ok &= through_pool(loop, port, 4, 10, 2, NULL, true);
    ok &= cancelled_mid_query(loop, port, true);
    loop_free(loop);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    bool real = false, trace = false;
    long serve = -1, port = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--real") == 0)
            real = true;
        else if (strcmp(argv[i], "--trace") == 0)
            trace = true;
        else if (strcmp(argv[i], "--serve") == 0 && i + 1 < argc)
            serve = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = strtol(argv[++i], NULL, 10);
        else
            serve = port = -2;
    }
    if (serve == -2 || serve > 65535 || port > 65535 || (trace && port < 1)) {
        fprintf(stderr, "usage: %s [--real] | --serve PORT | --trace --port PORT\n", argv[0]);
        return 2;
    }
    if (serve >= 0)
        return kvd_serve_until_signal((uint16_t)serve, stdout, stderr) == 0 ? 0 : 1;
    if (trace)
        return trace_scene((uint16_t)port);
    return scene(real);
}
