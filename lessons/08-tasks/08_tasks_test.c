/* 08_tasks_test.c — lesson 08's question, answered by observation on a virtual clock: sleeping
 * tasks wake in deadline order at their deadline; a task parked on a pipe is not resumed until
 * the other end writes; a join hands back the child's result (from its frame) and its error;
 * 100,000 tasks wait at once and each ends exactly once; and a task costs what the README says,
 * field by field. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "tests/support/tasks.h" /* test_virtual_loop, test_random */
#include "tests/support/twin.h"

/* The lesson's slug; the library's own suite in tests/task_test.c is `task_layer`. */
TestSuite(tasks,
          .description = "Can 100,000 tasks wait at once in one thread, and what does each cost?");

#define MS INT64_C(1000000)

/* ---- wake-up order --------------------------------------------------------------------------- */
struct wake {
    char name;
    int64_t at;
};
struct wake_log {
    struct wake wakes[16];
    int count;
    int64_t waits[16]; /* every positive timeout the loop computed: how long it would sleep */
    int wait_count;
};

struct napper {
    struct task task;
    struct wake_log *log;
    char name;
    int64_t ms;
    int times, round;
};

/* Sleeps ms, `times` times over, noting the moment of each wake. */
static enum coro_status napper_step(struct task *t) {
    struct napper *f = TASK_FRAME(t, struct napper, task);
    CORO_BEGIN(&t->co);
    for (f->round = 0; f->round < f->times; f->round++) {
        LOOP_SLEEP(t, f->ms * MS);
        f->log->wakes[f->log->count++] = (struct wake){f->name, loop_now(task_loop(t))};
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static void note_wait(void *ctx, struct loop *loop, int64_t timeout) {
    (void)loop;
    struct wake_log *log = ctx;
    if (timeout > 0)
        log->waits[log->wait_count++] = timeout;
}

Test(tasks, sleep_wake_order,
     .description = "Q: in what order, and at what moment, do sleeping tasks wake?") {
    struct wake_log log = {0};
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(
        &clock, &(struct loop_config){.hooks = {.ctx = &log, .before_wait = note_wait}});
    /* a: 30 ms; b: 10 ms, three times; c: 0 ms; d: 20 ms; e: 30 ms (armed after a). */
    struct napper n[] = {{.name = 'a', .ms = 30, .times = 1},
                         {.name = 'b', .ms = 10, .times = 3},
                         {.name = 'c', .ms = 0, .times = 1},
                         {.name = 'd', .ms = 20, .times = 1},
                         {.name = 'e', .ms = 30, .times = 1}};
    for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) {
        n[i].log = &log;
        cr_assert_eq(loop_spawn(loop, &n[i].task, napper_step, "napper", NULL), 0);
    }
    cr_assert_eq(loop_run(loop), 0);
    /* Deadline order; equal deadlines in the order the sleeps began: at 20 ms d (armed at 0)
     * before b (armed at 10); at 30 ms a, e (armed at 0) before b (armed at 20). */
    const struct wake expect[] = {{'c', 0},       {'b', 10 * MS}, {'d', 20 * MS}, {'b', 20 * MS},
                                  {'a', 30 * MS}, {'e', 30 * MS}, {'b', 30 * MS}};
    cr_assert_eq(log.count, 7, "7 wakes: b's three and one each for the others (got %d)",
                 log.count);
    for (int i = 0; i < 7; i++) {
        cr_assert_eq(log.wakes[i].name, expect[i].name,
                     "wake %d is %c's, not %c's: deadline "
                     "order, ties in the order the sleeps began",
                     i, expect[i].name, log.wakes[i].name);
        cr_assert_eq(log.wakes[i].at, expect[i].at,
                     "%c woke at exactly its deadline, %lld ns "
                     "(got %lld)",
                     expect[i].name, (long long)expect[i].at, (long long)log.wakes[i].at);
    }
    cr_assert_eq(log.wait_count, 3, "the loop slept 3 times: once per distinct deadline ahead");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(log.waits[i], 10 * MS,
                     "each sleep of the loop was exactly the 10 ms to the "
                     "next deadline: it never woke early and never polled in between");
    loop_free(loop);
}

/* ---- a pipe ---------------------------------------------------------------------------------- */
struct pipe_reader {
    struct task task;
    struct loop_fd_wait wait;
    int fd;
    int steps; /* how many times the loop ran its step */
    int result;
    int64_t woke_at;
    char byte;
};

static enum coro_status pipe_reader_step(struct task *t) {
    struct pipe_reader *f = TASK_FRAME(t, struct pipe_reader, task);
    f->steps++;
    CORO_BEGIN(&t->co);
    LOOP_WAIT_READABLE(t, &f->wait, f->fd);
    f->result = task_result(t);
    f->woke_at = loop_now(task_loop(t));
    if (f->result > 0 && read(f->fd, &f->byte, 1) != 1)
        CORO_FAIL(&t->co, -EIO);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

struct pipe_writer {
    struct task task;
    int fd;
    uint64_t wrote_in_tick;
};

static enum coro_status pipe_writer_step(struct task *t) {
    struct pipe_writer *f = TASK_FRAME(t, struct pipe_writer, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP(t, 50 * MS);
    if (write(f->fd, "!", 1) != 1)
        CORO_FAIL(&t->co, -EIO);
    f->wrote_in_tick = loop_tick(task_loop(t));
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(tasks, pipe_wakes_on_write,
     .description = "Q: does a task waiting on a pipe wake when the other end writes, and not "
                    "before?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.backend = &backend_poll});
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct pipe_reader r = {.fd = p[0]};
    struct pipe_writer w = {.fd = p[1]};
    cr_assert_eq(loop_spawn(loop, &r.task, pipe_reader_step, "reader", NULL), 0);
    cr_assert_eq(loop_spawn(loop, &w.task, pipe_writer_step, "writer", NULL), 0);
    while (!task_done(&r.task)) {
        cr_assert_lt(loop_tick(loop), 20, "the reader ends within a few ticks");
        cr_assert_eq(loop_run_once(loop), 0);
        if (!task_done(&w.task))
            cr_assert_eq(r.task.state, TASK_WAITING,
                         "at %lld ns nothing was written: the reader "
                         "still waits",
                         (long long)loop_now(loop));
    }
    cr_assert_eq(r.steps, 2,
                 "the loop ran the reader's step twice, to park and after the "
                 "write: it was never resumed for nothing (ran %d times)",
                 r.steps);
    cr_assert_eq(r.result, LOOP_READABLE, "it woke because the pipe became readable");
    cr_assert_eq(r.byte, '!', "and read what the writer wrote");
    cr_assert_eq(r.woke_at, 50 * MS, "it woke at the moment of the write, 50 ms, not before");
    cr_assert_eq(loop_tick(loop), w.wrote_in_tick + 2,
                 "it ran two ticks after the write: the "
                 "next tick's poll() saw the fd readable and its watcher woke the task, which "
                 "runs in the tick after that");
    cr_assert_eq(loop_watch_count(loop), 0, "the wake stopped watching the fd");
    loop_free(loop);
    close(p[0]);
    close(p[1]);
}

Test(tasks, wait_on_bad_fd,
     .description = "Q: what does a task get when it waits on an fd that cannot be watched?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.backend = &backend_poll});
    struct pipe_reader r = {.fd = -1};
    cr_assert_eq(loop_spawn(loop, &r.task, pipe_reader_step, "reader", NULL), 0);
    cr_assert_eq(loop_run_until_complete(loop, &r.task), 0);
    cr_assert_eq(r.result, -EBADF, "the wait's result is -EBADF at once, got %d", r.result);
    cr_assert_eq(r.steps, 1, "it never parked: one step ran the whole task");
    cr_assert_eq(loop_watch_count(loop), 0, "nothing is left watched");
    loop_free(loop);
}

/* ---- join ------------------------------------------------------------------------------------ */
/* Sleeps, then returns value * value, or fails with `fail`. */
struct square {
    struct task task;
    int value, fail, result;
};

static enum coro_status square_step(struct task *t) {
    struct square *f = TASK_FRAME(t, struct square, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP(t, 5 * MS);
    if (f->fail)
        CORO_FAIL(&t->co, f->fail);
    f->result = f->value * f->value;
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* Joins `child`; a failure is passed up unchanged (Python: the exception propagates). */
struct relay {
    struct task task;
    struct task *child;
};

static enum coro_status relay_step(struct task *t) {
    struct relay *f = TASK_FRAME(t, struct relay, task);
    CORO_BEGIN(&t->co);
    TASK_JOIN(t, f->child);
    if (task_result(t) != 0)
        CORO_FAIL(&t->co, task_result(t));
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* Joins the square (reads its result from its frame), then the relay (sees its error). */
struct top {
    struct task task;
    struct square *square;
    struct relay *relay;
    int square_error, squared, relay_error;
};

static enum coro_status top_step(struct task *t) {
    struct top *f = TASK_FRAME(t, struct top, task);
    CORO_BEGIN(&t->co);
    TASK_JOIN(t, &f->square->task);
    f->square_error = task_result(t);
    f->squared = f->square->result;
    TASK_JOIN(t, &f->relay->task);
    f->relay_error = task_result(t);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(tasks, join_result_and_error,
     .description = "Q: does join hand back the child's result, and does the child's error "
                    "travel up through every joiner?") {
    char report[512] = "";
    FILE *out = fmemopen(report, sizeof report, "w");
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.report = out});
    struct square seven = {.value = 7}, broken = {.value = 3, .fail = -EPROTO};
    struct relay relay = {.child = &broken.task};
    struct top top = {.square = &seven, .relay = &relay};
    cr_assert_eq(loop_spawn(loop, &top.task, top_step, "top", NULL), 0);
    cr_assert_eq(loop_spawn(loop, &relay.task, relay_step, "relay", NULL), 0);
    cr_assert_eq(loop_spawn(loop, &seven.task, square_step, "seven", NULL), 0);
    cr_assert_eq(loop_spawn(loop, &broken.task, square_step, "broken", NULL), 0);
    cr_assert_eq(loop_run_until_complete(loop, &top.task), 0, "top handled what it was given");
    cr_assert_eq(top.square_error, 0, "joining a task that succeeded gives 0");
    cr_assert_eq(top.squared, 49, "the child's result is read from its frame: 7 * 7 = 49");
    cr_assert_eq(relay.task.error, -EPROTO, "relay failed with the child's error, unchanged");
    cr_assert_eq(top.relay_error, -EPROTO,
                 "and top, joining relay, sees the same -EPROTO "
                 "(got %d): the error travelled up two joins",
                 top.relay_error);

    /* A late join: broken has long ended; joining it now completes at once with its error. */
    struct relay late = {.child = &broken.task};
    cr_assert_eq(loop_spawn(loop, &late.task, relay_step, "late", NULL), 0);
    cr_assert_eq(loop_run_until_complete(loop, &late.task), -EPROTO,
                 "a join after the end still gets the error");
    loop_free(loop);
    fclose(out);
    /* late failed and nobody joined it: that one, and only that one, is reported. */
    cr_assert(strstr(report, "'late'"), "the failure nobody joined is reported: %s", report);
    cr_assert_null(strstr(report, "'broken'"), "a failure somebody joined is not: %s", report);
    cr_assert_null(strstr(report, "'relay'"), "a failure somebody joined is not: %s", report);
}

struct self_joiner {
    struct task task;
    int on_self, on_null;
};

static enum coro_status self_joiner_step(struct task *t) {
    struct self_joiner *f = TASK_FRAME(t, struct self_joiner, task);
    CORO_BEGIN(&t->co);
    TASK_JOIN(t, t);
    f->on_self = task_result(t);
    TASK_JOIN(t, NULL);
    f->on_null = task_result(t);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(tasks, join_misuse, .description = "Q: what does a task get if it joins itself, or NULL?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct self_joiner s = {0};
    cr_assert_eq(loop_spawn(loop, &s.task, self_joiner_step, "narcissus", NULL), 0);
    cr_assert_eq(loop_run_until_complete(loop, &s.task), 0, "neither join hangs the task");
    cr_assert_eq(s.on_self, -EDEADLK, "joining itself gives -EDEADLK: it would wait forever");
    cr_assert_eq(s.on_null, -EINVAL, "joining NULL gives -EINVAL");
    loop_free(loop);
}

/* An await in the cleanup section: the coroutine may not suspend there. */
struct cleanup_awaiter {
    struct task task;
    struct loop_fd_wait wait;
    struct task *other;
    int kind, fd; /* 0: sleep, 1: yield, 2: fd, 3: join */
    int *ended;
};

static enum coro_status cleanup_awaiter_step(struct task *t) {
    struct cleanup_awaiter *f = TASK_FRAME(t, struct cleanup_awaiter, task);
    CORO_BEGIN(&t->co);
    CORO_CLEANUP(&t->co);
    if (f->kind == 0)
        LOOP_SLEEP(t, 10 * MS);
    else if (f->kind == 1)
        TASK_YIELD(t);
    else if (f->kind == 2)
        LOOP_WAIT_READABLE(t, &f->wait, f->fd);
    else
        TASK_JOIN(t, f->other);
    CORO_END(&t->co);
}

static void cleanup_awaiter_ended(struct task *t) {
    struct cleanup_awaiter *f = TASK_FRAME(t, struct cleanup_awaiter, task);
    cr_assert_eq(t->error, -EDEADLK,
                 "a task that awaits in its cleanup ends with -EDEADLK "
                 "(got %d)",
                 t->error);
    (*f->ended)++;
    free(f); /* the owner frees the frame: nothing in the loop may point into it any more */
}

Test(tasks, await_in_cleanup,
     .description = "Q: what becomes of a task that awaits (sleep, yield, fd, join) in its "
                    "cleanup section, where it may not suspend?") {
    char report[1024] = "";
    FILE *out = fmemopen(report, sizeof report, "w");
    struct loop_clock clock;
    struct loop *loop =
        test_virtual_loop(&clock, &(struct loop_config){.backend = &backend_poll, .report = out});
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct wake_log log = {.count = 0};
    struct napper forever = {.ms = 1000, .times = 1, .log = &log};
    cr_assert_eq(loop_spawn(loop, &forever.task, napper_step, "forever", NULL), 0);
    int ended = 0;
    for (int kind = 0; kind < 4; kind++) {
        struct cleanup_awaiter *f = calloc(1, sizeof *f);
        cr_assert_not_null(f);
        *f = (struct cleanup_awaiter){
            .kind = kind, .fd = p[0], .other = &forever.task, .ended = &ended};
        cr_assert_eq(loop_spawn(loop, &f->task, cleanup_awaiter_step, "cleanup-awaiter",
                                cleanup_awaiter_ended),
                     0);
    }
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(ended, 4, "all four ended in their first step");
    cr_assert_eq(loop_ready_count(loop), 0, "none is left on the ready queue");
    cr_assert_eq(loop_timer_count(loop), 1,
                 "only forever's own timer is armed: the refused "
                 "sleep left none behind");
    cr_assert_eq(loop_watch_count(loop), 0, "the refused fd wait left no fd watched");
    cr_assert(waitq_empty(&forever.task.joiners), "the refused join left no joiner behind");
    cr_assert_eq(loop_run(loop), 0, "the loop runs on, touching no freed frame");
    cr_assert_eq(forever.task.state, TASK_DONE, "and the task whose join was refused ends DONE");
    loop_free(loop);
    fclose(out);
    cr_assert(strstr(report, "cleanup-awaiter") && strstr(report, "-35"),
              "and each failure, "
              "joined by nobody, is reported: %s",
              report);
    close(p[0]);
    close(p[1]);
}

/* ---- 100,000 at once ------------------------------------------------------------------------- */
enum { CROWD = 100000 };

struct crowd_member {
    struct task task;
    int64_t deadline;
    int64_t woke_at;
    int wakes, ends;
};

static enum coro_status crowd_step(struct task *t) {
    struct crowd_member *f = TASK_FRAME(t, struct crowd_member, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP_UNTIL(t, f->deadline);
    f->wakes++;
    f->woke_at = loop_now(task_loop(t));
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static void crowd_member_ended(struct task *t) {
    TASK_FRAME(t, struct crowd_member, task)->ends++;
}

Test(tasks, hundred_thousand_sleepers, .timeout = 240,
     .description = "Q: can 100,000 tasks sleep at once in one thread, and does each wake and "
                    "end exactly once, at its deadline?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct crowd_member *crowd = calloc(CROWD, sizeof *crowd); /* one array: one allocation */
    cr_assert_not_null(crowd);
    uint64_t seed = 88172645463325252u; /* the same "random" sleeps every run */
    for (int i = 0; i < CROWD; i++) {
        /* a whole number of ms, 0-100 */
        crowd[i].deadline = (int64_t)(test_random(&seed) % 101) * MS;
        cr_assert_eq(loop_spawn(loop, &crowd[i].task, crowd_step, "crowd", crowd_member_ended), 0);
    }
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(loop_sched(loop)->task_count, CROWD, "after one tick all %d are alive", CROWD);
    cr_assert_eq(loop_timer_count(loop), CROWD, "and all %d wait on a timer at once", CROWD);
    cr_assert_eq(loop_run(loop), 0);
    for (int i = 0; i < CROWD; i++) {
        if (crowd[i].wakes != 1 || crowd[i].ends != 1 || crowd[i].task.state != TASK_DONE)
            cr_assert_fail("task %d woke %d times and ended %d times (state %s): each must do "
                           "both exactly once",
                           i, crowd[i].wakes, crowd[i].ends,
                           task_state_name((enum task_state)crowd[i].task.state));
        if (crowd[i].woke_at != crowd[i].deadline)
            cr_assert_fail("task %d woke at %lld ns, its deadline was %lld ns", i,
                           (long long)crowd[i].woke_at, (long long)crowd[i].deadline);
    }
    cr_assert_eq(loop_sched(loop)->task_count, 0, "none is left alive");
    cr_assert_leq(loop_now(loop), 100 * MS,
                  "the whole crowd took 100 ms of (virtual) time: the "
                  "longest sleep, not the sum");
    cr_assert_leq(loop_tick(loop), 103,
                  "%llu ticks for 100,000 tasks: every timer due at the "
                  "same moment fires in one tick (101 distinct deadlines)",
                  (unsigned long long)loop_tick(loop));
    loop_free(loop);
    free(crowd);
}

/* ---- the bytes per task, as the README lists them -------------------------------------------- */
/* The README's tables, in declaration order. Each field must sit right after the one before it
 * (no hidden padding but the padding listed), and its size must be the README's. */
struct field {
    const char *name;
    size_t offset, size, readme_size;
};
#define FIELD(type, member, readme)                                                                \
    { #member, offsetof(struct type, member), sizeof(((struct type *)0)->member), (readme) }
#define PADDING(bytes)                                                                             \
    { "padding", 0, (bytes), (bytes) } /* offset: right after the field before */

#ifdef CORO_USE_LABELS
enum { README_CORO = 24, README_TASK_BYTES = 248 }; /* the labels build saves a label address */
#else
enum { README_CORO = 16, README_TASK_BYTES = 240 };
#endif

/* Checks one struct's table: sizes, offsets, and that the fields listed are all of it. */
static void check_table(const char *type, const struct field *fields, size_t count,
                        size_t struct_size, size_t readme_size) {
    size_t expected_offset = 0;
    for (size_t i = 0; i < count; i++) {
        cr_assert_eq(fields[i].size, fields[i].readme_size,
                     "struct %s's %s is %zu bytes, as the README says (it is %zu)", type,
                     fields[i].name, fields[i].readme_size, fields[i].size);
        if (strcmp(fields[i].name, "padding") != 0)
            cr_assert_eq(fields[i].offset, expected_offset,
                         "struct %s's %s follows the field before it at offset %zu (it is at "
                         "%zu)",
                         type, fields[i].name, expected_offset, fields[i].offset);
        expected_offset += fields[i].size;
    }
    cr_assert_eq(expected_offset, struct_size,
                 "the fields listed, with their padding, are all of struct %s: %zu bytes (it is "
                 "%zu)",
                 type, expected_offset, struct_size);
    cr_assert_eq(struct_size, readme_size, "struct %s is %zu bytes, as the README says (it is %zu)",
                 type, readme_size, struct_size);
}

Test(tasks, bytes_per_task,
     .description = "Q: how many bytes does the library add to each task, field by field?") {
    /* The ready-queue link is a list node or a heap slot (a union: one policy is active); the
     * account is stride's pass or MLFQ's used_ns (a union: only the active policy keeps one). */
    static const struct field runnable[] = {
        FIELD(runnable, node, 16),    FIELD(runnable, fn, 8),
        FIELD(runnable, arg, 8),      FIELD(runnable, name, 8),
        FIELD(runnable, seq, 8),      FIELD(runnable, tick, 8),
        FIELD(runnable, deadline, 8), FIELD(runnable, pass, 8),
        FIELD(runnable, tickets, 4),  FIELD(runnable, boost_epoch, 4),
        FIELD(runnable, priority, 2), FIELD(runnable, level, 1),
        FIELD(runnable, account, 1),  FIELD(runnable, has_deadline, 1),
        FIELD(runnable, queued, 1),   PADDING(2),
    };
    cr_assert_eq(offsetof(struct runnable, heap), offsetof(struct runnable, node),
                 "the heap slot shares the list link's bytes");
    cr_assert_eq(offsetof(struct runnable, used_ns), offsetof(struct runnable, pass),
                 "MLFQ's used_ns shares stride's pass's bytes");
    check_table("runnable", runnable, sizeof runnable / sizeof runnable[0], sizeof(struct runnable),
                88);

    static const struct field waiter[] = {
        FIELD(waiter, timer, 32),   FIELD(waiter, undo, 8),
        FIELD(waiter, undo_arg, 8), FIELD(waiter, what, 8),
        FIELD(waiter, result, 4),   FIELD(waiter, waiting, 1),
        FIELD(waiter, joining, 1),  PADDING(2),
    };
    check_table("waiter", waiter, sizeof waiter / sizeof waiter[0], sizeof(struct waiter), 64);

    static const struct field task[] = {
        FIELD(task, run, 88),
        FIELD(task, co, README_CORO),
        FIELD(task, waiter, 64),
        FIELD(task, joiners, 16),
        FIELD(task, live, 16),
        FIELD(task, sched, 8),
        FIELD(task, done_hook, 8),
        FIELD(task, step, 8),
        FIELD(task, on_done, 8),
        FIELD(task, error, 4),
        FIELD(task, magic, 2),
        FIELD(task, state, 1),
        PADDING(1),
    };
    check_table("task", task, sizeof task / sizeof task[0], sizeof(struct task), README_TASK_BYTES);
}

/* ---- what gdb sees --------------------------------------------------------------------------- */
struct idler {
    struct task task;
    struct loop_fd_wait wait;
    struct task *join;
    int fd;
    int kind; /* 0: sleep, 1: fd, 2: join, 3: end at once */
};

static enum coro_status idler_step(struct task *t) {
    struct idler *f = TASK_FRAME(t, struct idler, task);
    CORO_BEGIN(&t->co);
    if (f->kind == 0) {
        LOOP_SLEEP(t, 1000 * MS);
    } else if (f->kind == 1) {
        LOOP_WAIT_READABLE(t, &f->wait, f->fd);
    } else if (f->kind == 2) {
        TASK_JOIN(t, f->join);
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(tasks, loop_dump_lists_live_tasks,
     .description = "Q: does loop_dump show every live task and what each one waits for?") {
    char buf[4096] = "";
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.backend = &backend_poll});
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct idler sleepy = {.kind = 0}, listener = {.kind = 1, .fd = p[0]},
                 patient = {.kind = 2, .join = &sleepy.task}, quick = {.kind = 3};
    loop_spawn(loop, &sleepy.task, idler_step, "sleepy", NULL);
    loop_spawn(loop, &listener.task, idler_step, "listener", NULL);
    loop_spawn(loop, &patient.task, idler_step, "patient", NULL);
    loop_spawn(loop, &quick.task, idler_step, "quick", NULL);
    cr_assert_eq(loop_run_once(loop), 0);
    FILE *out = fmemopen(buf, sizeof buf, "w");
    loop_dump(loop, out);
    fclose(out);
    cr_assert(strstr(buf, "live tasks: 3"), "3 tasks are alive; quick has ended:\n%s", buf);
    cr_assert(strstr(buf, "sleepy") && strstr(buf, "on sleep"), "sleepy waits on sleep:\n%s", buf);
    cr_assert(strstr(buf, "listener") && strstr(buf, "on fd readable"),
              "listener waits for its fd:\n%s", buf);
    cr_assert(strstr(buf, "patient") && strstr(buf, "on join"), "patient waits on a join:\n%s",
              buf);
    cr_assert_null(strstr(buf, "quick"), "an ended task is not listed:\n%s", buf);
    task_cancel(&sleepy.task);
    task_cancel(&listener.task);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert(task_done(&patient.task), "cancelling sleepy ended patient's join too");
    loop_free(loop);
    close(p[0]);
    close(p[1]);
}

/* ---- the asyncio twin ------------------------------------------------------------------------ */
Test(tasks, asyncio_twin_timer_wake_one_iteration_later,
     .description = "Q: does asyncio run the same five tasks in the same order, and where does it "
                    "wake a task later than loopschool?",
     .timeout = 30) {
    struct test_twin_output *c, *py;
    test_twin_pair("08-tasks", &c, &py);
    cr_assert_eq(c->count, py->count, "both print the same number of events (%zu, %zu)", c->count,
                 py->count);
    /* The one difference on purpose: loopschool runs a task in the tick its timer fires; asyncio's
     * timer callback only sets the sleep's future, whose done-callback (the task's wake-up) goes
     * through call_soon, so the task runs one iteration later. A join and an fd wake take one
     * iteration in both. */
    static const char timer_c[] = "runs, 0 iteration(s) after its timer fired";
    static const char timer_py[] = "runs, 1 iteration(s) after its timer fired";
    int timer_wakes = 0;
    for (size_t i = 0; i < c->count; i++) {
        if (strcmp(c->lines[i], py->lines[i]) == 0)
            continue;
        char *at = strstr(c->lines[i], timer_c);
        cr_assert_not_null(at,
                           "line %zu differs only where a timer woke the task: loopschool \"%s\", "
                           "asyncio \"%s\"",
                           i + 1, c->lines[i], py->lines[i]);
        char expected[TEST_TWIN_LINE];
        snprintf(expected, sizeof expected, "%.*s%s", (int)(at - c->lines[i]), c->lines[i],
                 timer_py);
        cr_assert_str_eq(py->lines[i], expected,
                         "line %zu: asyncio runs the timer-woken task one iteration later", i + 1);
        timer_wakes++;
    }
    cr_assert_eq(timer_wakes, 3,
                 "the three timer wakes (writer, fetch-user, fetch-prefs) are the only lines that "
                 "differ, not %d",
                 timer_wakes);
    free(c);
    free(py);
}
