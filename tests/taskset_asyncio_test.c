/* taskset_asyncio_test.c — the task-set waits that follow asyncio 3.11 to the letter (lesson
 * 11): wait_for's result after a timeout is what the cancelled task did, a timeout of 0 cancels
 * before the task starts, and gather without return_exceptions stops at the first error while
 * the other members run on. Virtual clock. */
#include <criterion/criterion.h>
#include <errno.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/task/taskset.h"
#include "tests/support/tasks.h"

#define MS 1000000LL

TestSuite(taskset_asyncio, .description = "Do wait_for and gather answer what asyncio's answer, "
                                          "whatever the members do?");

/* Waits on its set with wait_for (timeout_ns) or gather-first-error (timeout_ns < 0), and notes
 * the result and the time. */
struct waiter_task {
    struct task task;
    struct task_set *set;
    int64_t timeout_ns;
    int result;
    int64_t returned_at;
    int cleanups;
};

static enum coro_status waiter_task_step(struct task *t) {
    struct waiter_task *f = TASK_FRAME(t, struct waiter_task, task);
    CORO_BEGIN(&t->co);
    if (f->timeout_ns >= 0)
        LOOP_WAIT_FOR(t, f->set, f->timeout_ns);
    else
        TASK_GATHER_FIRST_ERROR(t, f->set);
    f->result = task_result(t);
    f->returned_at = loop_now(task_loop(t));
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

struct one {
    struct loop_clock clock;
    struct loop *loop;
    struct task_set set;
    struct task *storage[3];
    struct test_sleeper member[3];
    struct waiter_task w;
};

/* The waiter is spawned first, so it waits before any member has had its first step. */
static void one_start(struct one *o, int64_t timeout_ns) {
    o->loop = test_virtual_loop(&o->clock, NULL);
    cr_assert_eq(task_set_init(&o->set, o->storage, 3, false), 0);
    o->w = (struct waiter_task){.set = &o->set, .timeout_ns = timeout_ns, .result = 1};
    cr_assert_eq(loop_spawn(o->loop, &o->w.task, waiter_task_step, "waiter", NULL), 0);
}

static void one_member(struct one *o, int i, int64_t ns, bool catches, int fail_with) {
    static const char *const names[] = {"m0", "m1", "m2"};
    o->member[i] = (struct test_sleeper){
        .ns = ns, .catches = catches, .linger_ns = 5 * MS, .fail_with = fail_with};
    cr_assert_eq(task_set_spawn(&o->set, loop_sched(o->loop), &o->member[i].task,
                                test_sleeper_step, names[i], NULL),
                 0);
}

Test(taskset_asyncio, wait_for_returns_what_a_catching_task_returns,
     .description = "Q: when wait_for times out on a task that catches the cancel and returns, "
                    "does wait_for return that result instead of -ETIMEDOUT?") {
    struct one o;
    one_start(&o, 10 * MS);
    one_member(&o, 0, 50 * MS, true, 0);
    cr_assert_eq(loop_run(o.loop), 0);
    cr_assert_eq(o.member[0].result, -ECANCELED, "the task was cancelled at the deadline");
    cr_assert_eq(o.member[0].task.state, TASK_DONE, "it caught the cancel and returned");
    cr_assert_eq(o.w.result, 0, "so wait_for returns its result, 0, as asyncio does (got %d)",
                 o.w.result);
    cr_assert_eq(o.w.returned_at, 15 * MS, "after the task's 5 ms of lingering");
    loop_free(o.loop);
}

Test(taskset_asyncio, wait_for_reports_an_error_raised_while_cancelled,
     .description = "Q: when the timed-out task fails while being cancelled, does wait_for "
                    "report that error rather than -ETIMEDOUT?") {
    struct one o;
    one_start(&o, 10 * MS);
    one_member(&o, 0, 50 * MS, true, -EIO);
    cr_assert_eq(loop_run(o.loop), 0);
    cr_assert_eq(o.member[0].task.state, TASK_FAILED, "the task failed while being cancelled");
    cr_assert_eq(o.w.result, -EIO, "wait_for passes its -EIO on, as asyncio does (got %d)",
                 o.w.result);
    cr_assert_eq(o.w.task.state, TASK_DONE, "the waiter itself was neither cancelled nor failed");
    loop_free(o.loop);
}

Test(taskset_asyncio, wait_for_zero_cancels_before_the_task_starts,
     .description = "Q: does wait_for with a timeout of 0 cancel a task that has not started, "
                    "so that its body never runs, and report -ETIMEDOUT?") {
    struct one o;
    one_start(&o, 0);
    one_member(&o, 0, 0, false, 0);
    cr_assert_eq(loop_run(o.loop), 0);
    cr_assert_eq(o.member[0].task.state, TASK_CANCELLED, "the task was cancelled");
    cr_assert_eq(o.member[0].cleanups, 0, "before its first step: no body, no cleanup");
    cr_assert_eq(o.w.result, -ETIMEDOUT, "wait_for reports -ETIMEDOUT (got %d)", o.w.result);
    loop_free(o.loop);
}

Test(taskset_asyncio, wait_for_zero_on_an_ended_task_returns_its_result,
     .description = "Q: does wait_for with a timeout of 0 on a task that has already ended "
                    "return its result without cancelling anything?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct test_sleeper done;
    test_spawn_sleeper(loop, &done, "done", 0, -EPIPE);
    cr_assert_eq(loop_run(loop), 0);
    struct task_set set;
    struct task *storage[1];
    cr_assert_eq(task_set_init(&set, storage, 1, false), 0);
    cr_assert_eq(task_set_add(&set, &done.task), 0);
    struct waiter_task w = {.set = &set, .timeout_ns = 0, .result = 1};
    cr_assert_eq(loop_spawn(loop, &w.task, waiter_task_step, "waiter", NULL), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(w.result, 0, "a set of ended members never times out: 0 (got %d)", w.result);
    cr_assert_eq(done.task.error, -EPIPE, "and the member's own error stands in its task");
    loop_free(loop);
}

Test(taskset_asyncio, gather_first_error_leaves_the_others_running,
     .description = "Q: does gather without return_exceptions return the first error at once, "
                    "while the other members run on to their ends?") {
    struct one o;
    one_start(&o, -1);
    one_member(&o, 0, 30 * MS, false, 0);
    one_member(&o, 1, 10 * MS, false, -EIO);
    one_member(&o, 2, 50 * MS, false, -EPIPE);
    cr_assert_eq(loop_run(o.loop), 0);
    cr_assert_eq(o.w.result, -EIO, "the first error, -EIO, is gather's result (got %d)",
                 o.w.result);
    cr_assert_eq(o.w.returned_at, 10 * MS, "returned at 10 ms, when m1 failed");
    cr_assert_eq(o.member[0].task.state, TASK_DONE, "m0 was not cancelled: it ran to its end");
    cr_assert_eq(o.member[2].task.state, TASK_FAILED, "m2 ran on and failed later, itself");
    cr_assert_eq(task_set_failures(&o.set), 2, "the set counts both failures");
    loop_free(o.loop);
}

Test(taskset_asyncio, gather_first_error_all_succeed,
     .description = "Q: when no member fails, does gather without return_exceptions wait for "
                    "all of them and return 0?") {
    struct one o;
    one_start(&o, -1);
    one_member(&o, 0, 30 * MS, false, 0);
    one_member(&o, 1, 10 * MS, false, 0);
    cr_assert_eq(loop_run(o.loop), 0);
    cr_assert_eq(o.w.result, 0, "every member succeeded: 0");
    cr_assert_eq(o.w.returned_at, 30 * MS, "after the last one, at 30 ms");
    loop_free(o.loop);
}

Test(taskset_asyncio, gather_first_error_member_cancelled_cancels_the_waiter,
     .description = "Q: when a member of a gather without return_exceptions is cancelled, is "
                    "the waiter cancelled too, as asyncio's gather raises CancelledError?") {
    struct one o;
    one_start(&o, -1);
    one_member(&o, 0, 30 * MS, false, 0);
    one_member(&o, 1, 50 * MS, false, 0);
    struct test_canceller c = {.ns = 10 * MS, .target = &o.member[1].task};
    cr_assert_eq(loop_spawn(o.loop, &c.task, test_canceller_step, "canceller", NULL), 0);
    cr_assert_eq(loop_run(o.loop), 0);
    cr_assert_eq(o.w.task.state, TASK_CANCELLED, "the waiter ended cancelled");
    cr_assert_eq(o.w.result, 1, "its body after the gather never ran");
    cr_assert_eq(o.w.cleanups, 1, "its cleanup ran once");
    cr_assert_eq(o.member[0].task.state, TASK_DONE, "the other member ran on to its end");
    loop_free(o.loop);
}
