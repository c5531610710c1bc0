/* task_alloc_test.c — the proof behind lesson 08's "spawning allocates nothing": the loop takes
 * its allocator from its config, this file gives it one that counts every call, and once the
 * loop's arrays have grown, spawning, running, waking (timer and fd) and joining tasks must not
 * call it at all. Arrays that must grow further do, once per doubling, never once per task. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "tests/support/tasks.h"

TestSuite(task_alloc, .description = "Does running tasks allocate nothing once the loop's arrays "
                                     "are large enough?");

/* A loop on the virtual clock with poll, FIFO and `counter` as its allocator (test_alloc counts
 * every call and, while told to, refuses every one that asks for memory). */
static struct loop *counted_loop(struct loop_clock *clock, struct test_alloc *counter) {
    test_alloc_init(counter, 0);
    return test_virtual_loop(
        clock, &(struct loop_config){.backend = &backend_poll, .alloc = &counter->base});
}

enum { WORKERS = 32 };

/* A worker sleeps (i+1) ms, then waits until its pipe is readable and reads one byte. */
struct worker {
    struct task task;
    struct loop_fd_wait wait;
    int id, fd;
    int slept, fd_result;
    char byte;
};

static enum coro_status worker_step(struct task *t) {
    struct worker *f = TASK_FRAME(t, struct worker, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP(t, (f->id + 1) * INT64_C(1000000));
    f->slept = task_result(t) == 0;
    LOOP_WAIT_READABLE(t, &f->wait, f->fd);
    f->fd_result = task_result(t);
    if (read(f->fd, &f->byte, 1) != 1)
        CORO_FAIL(&t->co, -EIO);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* The writer sleeps past half the workers' sleeps, then writes one byte into every pipe: the
 * early workers are already parked on their fd, the late ones find it readable. */
struct writer {
    struct task task;
    int *fds;
};

static enum coro_status writer_step(struct task *t) {
    struct writer *f = TASK_FRAME(t, struct writer, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP(t, (WORKERS / 2) * INT64_C(1000000));
    for (int i = 0; i < WORKERS; i++)
        if (write(f->fds[i], "x", 1) != 1)
            CORO_FAIL(&t->co, -EIO);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* The boss spawns the workers and the writer from inside the loop, then joins every one. */
struct boss {
    struct task task;
    struct worker *workers;
    struct writer *writer;
    int i;
    int joined_ok;
};

static enum coro_status boss_step(struct task *t) {
    struct boss *f = TASK_FRAME(t, struct boss, task);
    CORO_BEGIN(&t->co);
    for (f->i = 0; f->i < WORKERS; f->i++)
        if (task_spawn(t->sched, &f->workers[f->i].task, worker_step, "worker", NULL) != 0)
            CORO_FAIL(&t->co, -EIO);
    if (task_spawn(t->sched, &f->writer->task, writer_step, "writer", NULL) != 0)
        CORO_FAIL(&t->co, -EIO);
    TASK_JOIN(t, &f->writer->task);
    for (f->i = 0; f->i < WORKERS; f->i++) {
        TASK_JOIN(t, &f->workers[f->i].task);
        f->joined_ok += task_result(t) == 0;
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

struct round {
    struct boss boss;
    struct worker workers[WORKERS];
    struct writer writer;
};

/* One round: a boss, WORKERS workers and a writer, run until the boss has joined them all. */
static void play_round(struct loop *loop, struct round *r, int read_fds[], int write_fds[]) {
    *r = (struct round){.boss = {.workers = r->workers, .writer = &r->writer},
                        .writer = {.fds = write_fds}};
    for (int i = 0; i < WORKERS; i++) {
        r->workers[i].id = i;
        r->workers[i].fd = read_fds[i];
    }
    cr_assert_eq(loop_spawn(loop, &r->boss.task, boss_step, "boss", NULL), 0);
    cr_assert_eq(loop_run_until_complete(loop, &r->boss.task), 0, "the round ran to its end");
}

static void check_round(const struct round *r) {
    cr_assert_eq(r->boss.joined_ok, WORKERS, "the boss joined %d workers that succeeded, not %d",
                 r->boss.joined_ok, WORKERS);
    for (int i = 0; i < WORKERS; i++) {
        cr_assert(r->workers[i].slept, "worker %d woke from its sleep with result 0", i);
        cr_assert_eq(r->workers[i].fd_result, LOOP_READABLE,
                     "worker %d woke because its pipe "
                     "was readable",
                     i);
        cr_assert_eq(r->workers[i].byte, 'x');
    }
}

Test(task_alloc, warm_loop_allocates_nothing,
     .description = "Q: once the loop's arrays are large enough, do spawning, running, waking "
                    "(sleep and fd) and joining tasks call the allocator at all?") {
    struct test_alloc counter;
    struct loop_clock clock;
    struct loop *loop = counted_loop(&clock, &counter);
    int read_fds[WORKERS], write_fds[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        int p[2];
        cr_assert_eq(pipe(p), 0);
        read_fds[i] = p[0];
        write_fds[i] = p[1];
    }
    static struct round warm, counted; /* static: big, and zeroed before each round anyway */

    long before_warm = counter.calls;
    play_round(loop, &warm, read_fds, write_fds);
    check_round(&warm);
    cr_assert_gt(counter.calls, before_warm,
                 "the counter works: warming up grew the loop's "
                 "arrays through it (%ld calls)",
                 counter.calls - before_warm);

    /* The same work again, on the same fds: every array is already large enough. */
    counter.calls = 0;
    play_round(loop, &counted, read_fds, write_fds);
    cr_assert_eq(counter.calls, 0,
                 "no: spawning, running, waking and joining %d tasks called "
                 "the allocator %ld times (it must be 0)",
                 WORKERS + 2, counter.calls);
    check_round(&counted);

    loop_free(loop);
    for (int i = 0; i < WORKERS; i++) {
        close(read_fds[i]);
        close(write_fds[i]);
    }
}

Test(task_alloc, growth_is_per_doubling,
     .description = "Q: when more tasks sleep than the timer heap has room for, does the loop "
                    "allocate once per doubling of the array, or once per task?") {
    struct test_alloc counter;
    struct loop_clock clock;
    struct loop *loop = counted_loop(&clock, &counter);
    enum { N = 4096 };
    struct test_sleeper *nappers = calloc(N, sizeof *nappers);
    cr_assert_not_null(nappers);
    counter.calls = 0;
    for (int i = 0; i < N; i++) {
        nappers[i] = (struct test_sleeper){.ns = (N - i) * INT64_C(1000), .result = 1};
        cr_assert_eq(loop_spawn(loop, &nappers[i].task, test_sleeper_step, "napper", NULL), 0);
    }
    cr_assert_eq(loop_run_once(loop), 0, "one tick: every napper runs and arms its timer");
    cr_assert_eq(loop_timer_count(loop), N);
    /* The timer heap starts with room for 16 and doubles: 16, 32, ..., 4096 is 9 sizes. Even
     * at two arrays per size that is 18 calls; once per task would be 4096. */
    cr_assert_leq(counter.calls, 20,
                  "per doubling, not per task: %d tasks going to sleep made "
                  "%ld allocator calls",
                  N, counter.calls);
    cr_assert_eq(loop_run(loop), 0);
    for (int i = 0; i < N; i++)
        cr_assert_eq(nappers[i].result, 0, "napper %d slept and woke with 0", i);
    loop_free(loop);
    free(nappers);
}

Test(task_alloc, refused_growth_is_an_error,
     .description = "Q: when the timer heap must grow and the allocator refuses, what does the "
                    "sleeping task see?") {
    struct test_alloc counter;
    struct loop_clock clock;
    struct loop *loop = counted_loop(&clock, &counter);
    struct test_sleeper n = {.ns = 1000000, .result = 1};
    counter.refuse = true; /* the empty heap has no array yet: arming the timer must grow it */
    cr_assert_eq(loop_spawn(loop, &n.task, test_sleeper_step, "napper", NULL), 0,
                 "spawning needs no memory, so it succeeds even with every allocation refused");
    cr_assert_eq(loop_run_until_complete(loop, &n.task), 0);
    counter.refuse = false;
    cr_assert_eq(n.result, -ENOMEM,
                 "the sleep's result is -ENOMEM: it did not sleep, and the "
                 "task carried on and could handle it (got %d)",
                 n.result);
    cr_assert_eq(loop_timer_count(loop), 0, "no timer was left armed");
    loop_free(loop);
}
