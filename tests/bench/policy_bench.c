/* policy_bench.c — what choosing "who runs next" costs (lesson 09): a task switch with 10,000
 * tasks ready, under strict priority, stride and EDF, each beside FIFO measured in the same run.
 * FIFO's pick is an O(1) list pop; the three heap policies pay O(log n) sifts on the generic heap,
 * and stride also reads the clock after every run, because it charges each run's time. */
#include "loop/await.h"
#include "loop/loop.h"
#include "tests/bench/lib/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    TASKS = 10000,
    TICKS_PER_REPEAT = 40, /* each tick is a batch of TASKS picks: 400,000 switches a repeat */
    REPEATS = 7,
};

static void die(const char *what, int err) {
    fprintf(stderr, "policy_bench: %s failed (%d: %s)\n", what, err,
            strerror(err < 0 ? -err : err));
    exit(1);
}

/* A task that does nothing but give the CPU back, until the bench says stop. */
struct yielder {
    struct task task;
    const bool *stop;
    uint64_t switches;
};

static enum coro_status yielder_step(struct task *t) {
    struct yielder *f = TASK_FRAME(t, struct yielder, task);
    CORO_BEGIN(&t->co);
    while (!*f->stop) {
        f->switches++;
        TASK_YIELD(t);
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

struct switch_bench {
    struct loop *loop;
    struct yielder *tasks;
};

/* n switches: n / TASKS ticks. Every tick runs a batch of exactly TASKS picks (all of them are
 * ready when it begins, and each re-queues itself), whichever task each pick chooses. */
static void switches(void *ctx, long n) {
    struct switch_bench *b = ctx;
    for (long done = 0; done < n; done += TASKS) {
        int err = loop_run_once(b->loop);
        if (err)
            die("loop_run_once", err);
    }
    bench_sink(b->tasks[TASKS - 1].switches);
}

/* The median ns per switch with TASKS yielders under `policy` (real clock, poll backend). */
static double measure(const struct policy_ops *policy) {
    bool stop = false;
    struct switch_bench b = {0};
    b.tasks = calloc(TASKS, sizeof *b.tasks);
    if (!b.tasks)
        die("calloc", -ENOMEM);
    struct loop_config config = {.policy = policy};
    int err = loop_new(&b.loop, &config);
    if (err)
        die("loop_new", err);
    for (int i = 0; i < TASKS; i++) {
        b.tasks[i].stop = &stop;
        if ((err = loop_spawn(b.loop, &b.tasks[i].task, yielder_step, "yielder", NULL)) != 0)
            die("loop_spawn", err);
    }
    if ((err = loop_run_once(b.loop)) != 0) /* every task has started, and is warm */
        die("loop_run_once", err);
    double ns = bench_median_ns(switches, &b, (long)TASKS * TICKS_PER_REPEAT, REPEATS);
    stop = true; /* each task ends at its next step */
    if ((err = loop_run(b.loop)) != 0)
        die("loop_run", err);
    if (loop_sched(b.loop)->task_count != 0)
        die("ending every task", -EBUSY);
    loop_free(b.loop);
    free(b.tasks);
    return ns;
}

int main(void) {
    static const struct {
        const struct policy_ops *policy;
        const char *row;
    } heaps[] = {
        {&policy_priority, "policy: switch, priority, 10k tasks ready"},
        {&policy_stride, "policy: switch, stride, 10k tasks ready"},
        {&policy_edf, "policy: switch, EDF, 10k tasks ready"},
    };
    /* FIFO is measured again before each row: the baseline stays beside its figure in time. */
    for (size_t i = 0; i < sizeof heaps / sizeof heaps[0]; i++) {
        double fifo = measure(&policy_fifo);
        double ns = measure(heaps[i].policy);
        bench_row(heaps[i].row, ns, "ns/switch", "FIFO, the same 10k tasks", fifo);
    }
    return 0;
}
