/* misuse_loop_free_test.c — loop_free while tasks are still live (DESIGN.md, "Misuse gets a clear
 * error"; lesson 08): each one is reported on the report stream with its name and state, as
 * asyncio warns "Task was destroyed but it is pending!", and is left ended and detached, so that
 * nothing its owner does with it later reaches the freed loop. Also the deadline arithmetic
 * of a sleep on a virtual clock below zero, which must not overflow (UBSan watches it). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "tests/support/tasks.h"

TestSuite(misuse_loop_free, .description = "What happens to tasks and timers still live when their "
                                           "loop is freed?");

static void never_fires(struct loop_timer *t) {
    (void)t;
    cr_assert_fail("a timer of a freed loop must never fire");
}
static int fired;
static void count_fire(struct loop_timer *t) {
    (void)t;
    fired++;
}

Test(misuse_loop_free, live_tasks_reported_and_detached,
     .description = "Q: what does loop_free say about tasks still pending, and what may their "
                    "owner do with them afterwards?") {
    char report[2048] = {0};
    FILE *out = fmemopen(report, sizeof report - 1, "w");
    cr_assert_not_null(out);
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.report = out});
    struct test_sleeper sleeping, queued, done;
    test_spawn_sleeper(loop, &sleeping, "sleepy", 1000000, 0);
    test_spawn_sleeper(loop, &done, "quick", 0, 0);
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(done.task.state, TASK_DONE, "'quick' has ended: it is not reported");
    test_spawn_sleeper(loop, &queued, "eager", 1000, 0);
    struct loop_timer t;
    loop_timer_init(&t, "t");
    cr_assert_eq(loop_timer_start(loop, &t, 5000, never_fires, NULL), 0);

    cr_assert_eq(loop_free(loop), 0, "loop_free outside any callback returns 0");
    fclose(out);
    cr_assert(strstr(report, "task 'sleepy' was destroyed while still pending (waiting on sleep)"),
              "the sleeping task is reported by name and state: \"%s\"", report);
    cr_assert(strstr(report, "task 'eager' was destroyed while still pending (ready)"),
              "the queued task too: \"%s\"", report);
    cr_assert_null(strstr(report, "'quick'"), "an ended task is not reported: \"%s\"", report);

    cr_assert_eq(sleeping.task.state, TASK_CANCELLED, "a task left behind ended cancelled");
    cr_assert_eq(task_cancel(&sleeping.task), -EALREADY,
                 "cancelling it later says -EALREADY and never reaches the freed loop");
    cr_assert_null(sleeping.task.sched, "it points to no scheduler any more");

    /* A timer left armed may be started on a new loop: it is not taken for armed elsewhere. */
    struct loop_clock clock2;
    struct loop *loop2 = test_virtual_loop(&clock2, NULL);
    fired = 0;
    cr_assert_eq(loop_timer_start(loop2, &t, 1000, count_fire, NULL), 0,
                 "a timer of the freed loop can be started on another");
    cr_assert_eq(loop_run(loop2), 0);
    cr_assert_eq(fired, 1, "and fires there");
    struct test_sleeper again;
    test_spawn_sleeper(loop2, &again, "again", 1000, 0);
    cr_assert_eq(loop_spawn(loop2, &sleeping.task, test_sleeper_step, "sleepy", NULL), 0,
                 "the detached task may be spawned again on another loop");
    cr_assert_eq(loop_run(loop2), 0);
    cr_assert_eq(sleeping.task.state, TASK_DONE, "where it runs to its end");
    cr_assert_eq(again.task.state, TASK_DONE, "beside other work");
    loop_free(loop2);
}

Test(misuse_loop_free, sleep_deadline_below_zero,
     .description = "Q: does a sleep of INT64_MAX on a virtual clock below zero overflow?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop_at(&clock, -5000, NULL);
    /* now + ns with now < 0 cannot overflow, but INT64_MAX - now would: UBSan would say so */
    cr_assert_eq(loop_deadline_after(loop, INT64_MAX), INT64_MAX - 5000,
                 "the deadline is now + ns, exactly, below INT64_MAX");
    cr_assert_eq(loop_deadline_after(loop, -7), -5000, "a negative delay counts as 0");
    struct test_sleeper long_one, short_one;
    test_spawn_sleeper(loop, &long_one, "long", INT64_MAX, 0);
    test_spawn_sleeper(loop, &short_one, "short", 1000, 0);
    cr_assert_eq(loop_run_until_complete(loop, &short_one.task), 0);
    cr_assert_eq(loop_now(loop), -4000, "the short sleep ended at its own deadline");
    cr_assert_eq(long_one.task.state, TASK_WAITING, "the long one still sleeps");
    cr_assert_eq(task_cancel(&long_one.task), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(long_one.task.state, TASK_CANCELLED, "and ends when cancelled");
    loop_free(loop);
}
