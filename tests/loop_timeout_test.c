/* loop_timeout_test.c — the timeout scope, asyncio.timeout() (lesson 11): one deadline on a
 * block of awaits, delivered once as -ETIMEDOUT to the await in progress (or the next one),
 * withdrawn at the block's exit, and never in the way of a real cancel. Virtual clock. */
#include <criterion/criterion.h>
#include <errno.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/sync/lock.h"
#include "sched/task/taskset.h"
#include "tests/support/tasks.h"

#define MS 1000000LL

TestSuite(loop_timeout, .description = "Does a timeout scope put one deadline on a whole block "
                                       "of awaits, and only on that block?");

/* Sleeps `steps` times `step_ns` inside a scope of budget_ns; leaves the block at the first
 * await that does not return 0. Then, outside the block, sleeps `after_ns`. */
struct blocky {
    struct task task;
    struct loop_timeout budget;
    int64_t budget_ns, step_ns, after_ns;
    int steps, i, done_steps;
    int cut_by;   /* the first non-zero await result in the block */
    int exit;     /* loop_timeout_exit's answer */
    int after;    /* the result of the sleep after the block */
    int64_t exit_at, end_at;
    int cleanup_exit;
    int cleanups;
};

static enum coro_status blocky_step(struct task *t) {
    struct blocky *f = TASK_FRAME(t, struct blocky, task);
    CORO_BEGIN(&t->co);
    cr_assert_eq(loop_timeout_enter(t, &f->budget, f->budget_ns), 0);
    for (f->i = 0; f->i < f->steps; f->i++) {
        LOOP_SLEEP(t, f->step_ns);
        if (task_result(t) != 0) {
            f->cut_by = task_result(t);
            break;
        }
        f->done_steps++;
    }
    f->exit = loop_timeout_exit(&f->budget);
    f->exit_at = loop_now(task_loop(t));
    LOOP_SLEEP(t, f->after_ns);
    f->after = task_result(t);
    f->end_at = loop_now(task_loop(t));
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    f->cleanup_exit = loop_timeout_exit(&f->budget); /* harmless after the exit above */
    CORO_END(&t->co);
}

static struct loop *start(struct loop_clock *clock, struct blocky *b, int64_t budget_ns,
                          int steps, int64_t step_ns) {
    struct loop *loop = test_virtual_loop(clock, NULL);
    *b = (struct blocky){.budget_ns = budget_ns, .steps = steps, .step_ns = step_ns,
                         .after_ns = 10 * MS};
    cr_assert_eq(loop_spawn(loop, &b->task, blocky_step, "blocky", NULL), 0);
    return loop;
}

Test(loop_timeout, deadline_covers_the_whole_block,
     .description = "Q: with a 50 ms budget on a block of three 20 ms sleeps, is the third "
                    "sleep cut at 50 ms with -ETIMEDOUT, and does exit report -ETIMEDOUT?") {
    struct loop_clock clock;
    struct blocky b;
    struct loop *loop = start(&clock, &b, 50 * MS, 3, 20 * MS);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(b.done_steps, 2, "two sleeps fit in the budget, each shorter than it");
    cr_assert_eq(b.cut_by, -ETIMEDOUT, "the third was cut with -ETIMEDOUT (got %d)", b.cut_by);
    cr_assert_eq(b.exit, -ETIMEDOUT, "exit reports that the deadline passed");
    cr_assert_eq(b.exit_at, 50 * MS, "at 50 ms, the deadline, not 60 ms");
    cr_assert_eq(b.after, 0, "the await after the block is not touched by the deadline");
    cr_assert_eq(b.end_at, 60 * MS, "it slept its full 10 ms");
    cr_assert_eq(b.task.state, TASK_DONE, "the task ends normally: a timeout is not a cancel");
    cr_assert_eq(b.cleanup_exit, -ETIMEDOUT, "a second exit answers the same");
    cr_assert_eq(loop_timer_count(loop), 0, "nothing is left armed");
    loop_free(loop);
}

Test(loop_timeout, block_in_time_exits_with_zero,
     .description = "Q: does a block that ends before its deadline exit with 0 and disarm it?") {
    struct loop_clock clock;
    struct blocky b;
    struct loop *loop = start(&clock, &b, 100 * MS, 3, 20 * MS);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(b.done_steps, 3, "all three sleeps ran");
    cr_assert_eq(b.exit, 0, "in time: 0");
    cr_assert_eq(b.exit_at, 60 * MS);
    cr_assert_eq(b.end_at, 70 * MS, "and the loop did not wait on for the disarmed deadline");
    loop_free(loop);
}

Test(loop_timeout, zero_budget_times_out_at_the_first_await,
     .description = "Q: does a scope with a budget of 0 cut the block's first await?") {
    struct loop_clock clock;
    struct blocky b;
    struct loop *loop = start(&clock, &b, 0, 3, 20 * MS);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(b.done_steps, 0, "no step completed");
    cr_assert_eq(b.cut_by, -ETIMEDOUT, "the first sleep was cut (got %d)", b.cut_by);
    cr_assert_eq(b.exit_at, 0, "at 0 ms");
    loop_free(loop);
}

Test(loop_timeout, cancel_inside_the_block_wins,
     .description = "Q: when the task is cancelled inside the block, does it leave cancelled "
                    "through its cleanup, where the exit disarms the deadline?") {
    struct loop_clock clock;
    struct blocky b;
    struct loop *loop = start(&clock, &b, 50 * MS, 3, 20 * MS);
    struct test_canceller c = {.ns = 30 * MS, .target = &b.task};
    cr_assert_eq(loop_spawn(loop, &c.task, test_canceller_step, "canceller", NULL), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(b.task.state, TASK_CANCELLED, "a cancel is a cancel, deadline or not");
    cr_assert_eq(b.cleanups, 1, "its cleanup ran once");
    cr_assert_eq(b.cleanup_exit, 0, "its deadline had not passed at 30 ms: exit says 0");
    cr_assert_eq(loop_now(loop), 30 * MS, "the disarmed deadline did not keep the loop alive");
    loop_free(loop);
}

/* A ready task when its deadline passes: the deadline is left pending for its next await, and
 * withdrawn if the block ends before one. */
struct late {
    struct task task;
    struct loop_timeout budget;
    int awaited; /* the result of the await after the pending deadline, or 1 */
    int exit;
    int slept; /* the sleep's own result */
    bool await_inside;
};

static enum coro_status late_step(struct task *t) {
    struct late *f = TASK_FRAME(t, struct late, task);
    CORO_BEGIN(&t->co);
    cr_assert_eq(loop_timeout_enter(t, &f->budget, 10 * MS), 0);
    cr_assert_eq(loop_timeout_enter(t, &f->budget, 10 * MS), -EBUSY,
                 "a scope entered twice: -EBUSY");
    LOOP_SLEEP(t, 10 * MS); /* its wake and the deadline are due at the same instant */
    f->slept = task_result(t);
    if (f->await_inside) {
        TASK_YIELD(t);
        f->awaited = task_result(t);
    }
    f->exit = loop_timeout_exit(&f->budget);
    if (!f->await_inside) {
        TASK_YIELD(t);
        f->awaited = task_result(t);
    }
    CORO_CLEANUP(&t->co);
    loop_timeout_exit(&f->budget);
    CORO_END(&t->co);
}

static void late_case(bool await_inside) {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct late l = {.awaited = 1, .await_inside = await_inside};
    cr_assert_eq(loop_spawn(loop, &l.task, late_step, "late", NULL), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(l.slept, 0,
                 "the sleep ended first (its wake fires as the timer queue is read, the scope's "
                 "callback after it, on the ready queue): the task was ready, not waiting");
    cr_assert_eq(l.exit, -ETIMEDOUT, "the deadline passed while the block ran");
    if (await_inside)
        cr_assert_eq(l.awaited, -ETIMEDOUT,
                     "the ready task's next await in the block met the deadline (got %d)",
                     l.awaited);
    else
        cr_assert_eq(l.awaited, 0,
                     "withdrawn at the exit: the await after the block was not cut (got %d)",
                     l.awaited);
    cr_assert_eq(l.task.state, TASK_DONE);
    loop_free(loop);
}

Test(loop_timeout, deadline_met_by_a_ready_task,
     .description = "Q: when the deadline passes while the task is ready, does its next await "
                    "in the block end with -ETIMEDOUT without waiting?") {
    late_case(true);
}

Test(loop_timeout, deadline_withdrawn_at_exit,
     .description = "Q: when the block ends before any await met a pending deadline, is the "
                    "deadline withdrawn, so that the next await after the block runs normally?") {
    late_case(false);
}

/* A block that waits on a gather: the deadline cancels and awaits the members. */
struct gatherer {
    struct task task;
    struct loop_timeout budget;
    struct task_set *set;
    int result, exit;
    int64_t returned_at;
};

static enum coro_status gatherer_step(struct task *t) {
    struct gatherer *f = TASK_FRAME(t, struct gatherer, task);
    CORO_BEGIN(&t->co);
    cr_assert_eq(loop_timeout_enter(t, &f->budget, 20 * MS), 0);
    TASK_GATHER(t, f->set);
    f->result = task_result(t);
    f->exit = loop_timeout_exit(&f->budget);
    f->returned_at = loop_now(task_loop(t));
    CORO_CLEANUP(&t->co);
    loop_timeout_exit(&f->budget);
    CORO_END(&t->co);
}

Test(loop_timeout, gather_in_the_block_cancels_its_members,
     .description = "Q: when the deadline cuts a gather inside the block, are its members "
                    "cancelled and awaited before the block goes on?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct task_set set;
    struct task *storage[2];
    cr_assert_eq(task_set_init(&set, storage, 2, false), 0);
    struct gatherer g = {.set = &set};
    cr_assert_eq(loop_spawn(loop, &g.task, gatherer_step, "gatherer", NULL), 0);
    struct test_sleeper m[2];
    m[0] = (struct test_sleeper){.ns = 10 * MS};
    m[1] = (struct test_sleeper){.ns = 50 * MS, .catches = true, .linger_ns = 5 * MS,
                                 .fail_with = -ECANCELED};
    cr_assert_eq(task_set_spawn(&set, loop_sched(loop), &m[0].task, test_sleeper_step, "m0",
                                NULL), 0);
    cr_assert_eq(task_set_spawn(&set, loop_sched(loop), &m[1].task, test_sleeper_step, "m1",
                                NULL), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(g.result, -ETIMEDOUT, "the gather reports the deadline (got %d)", g.result);
    cr_assert_eq(g.exit, -ETIMEDOUT, "and so does the scope");
    cr_assert_eq(m[0].task.state, TASK_DONE, "m0 had ended in time");
    cr_assert_eq(m[1].task.state, TASK_CANCELLED, "m1 was cancelled at the deadline");
    cr_assert_eq(g.returned_at, 25 * MS, "after m1's 5 ms of stopping: no member outlives it");
    loop_free(loop);
}

Test(loop_timeout, misuse, .description = "Q: are NULL arguments refused with -EINVAL?") {
    struct loop_timeout scope = {0};
    cr_assert_eq(loop_timeout_enter(NULL, &scope, MS), -EINVAL, "no task: -EINVAL");
    cr_assert_eq(loop_timeout_exit(&scope), 0, "a scope never entered exits with 0");
}
