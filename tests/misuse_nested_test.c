/* misuse_nested_test.c — running or freeing the loop from inside its own callbacks, or from
 * another thread while it runs, and stopping it while loop_run_until_complete waits (DESIGN.md,
 * "Misuse gets a clear error"; lessons 04, 08 and 14). asyncio says "This event loop is already
 * running" and "Event loop stopped before Future completed."; loopschool says -EBUSY and -EINTR,
 * with a sentence in loop_last_error. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "tests/support/tasks.h"

TestSuite(misuse_nested, .description = "Is running, freeing or stopping the loop at the wrong "
                                        "moment refused with a clear error?");

static void assert_loop_still_works(struct loop *loop) {
    struct test_sleeper s;
    test_spawn_sleeper(loop, &s, "after", 1000000, 0);
    cr_assert_eq(loop_run(loop), 0, "loop_run after the mistake returns 0");
    cr_assert_eq(s.task.state, TASK_DONE, "a task spawned after the mistake ran to its end");
}

/* A callback that calls back into the loop: which call is set per test. */
struct inner {
    struct runnable run;
    struct loop *loop;
    int (*call)(struct loop *loop);
    int result;
    char error[200];
};

static void call_inside(void *arg) {
    struct inner *in = arg;
    in->result = in->call(in->loop);
    snprintf(in->error, sizeof in->error, "%s", loop_last_error(in->loop));
}

static int call_loop_run(struct loop *loop) {
    return loop_run(loop);
}
static int call_loop_run_once(struct loop *loop) {
    return loop_run_once(loop);
}
static int call_loop_free(struct loop *loop) {
    return loop_free(loop);
}

/* Queues `call` as a callback next to two plain sleepers, runs the loop, and checks the refusal
 * and that the sleepers were untouched by it. */
static void refused_inside_callback(int (*call)(struct loop *), const char *gist) {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct test_sleeper a, b;
    test_spawn_sleeper(loop, &a, "a", 1000, 0);
    test_spawn_sleeper(loop, &b, "b", 2000, 0);
    struct inner in = {.loop = loop, .call = call, .result = 1};
    runnable_init(&in.run, call_inside, &in, "inner");
    cr_assert_eq(loop_call_soon(loop, &in.run, call_inside, &in), 0);
    cr_assert_eq(loop_run(loop), 0, "the outer loop_run goes on and returns 0");
    cr_assert_eq(in.result, -EBUSY, "called inside a callback, it is -EBUSY");
    cr_assert(strstr(in.error, gist), "the error says \"%s\": \"%s\"", gist, in.error);
    cr_assert_eq(a.task.state, TASK_DONE, "the other tasks ran to their end");
    cr_assert_eq(b.task.state, TASK_DONE, "all of them");
    cr_assert_eq(a.ended_at, 1000, "at their own times: the batch rule held");
    assert_loop_still_works(loop);
    cr_assert_eq(loop_free(loop), 0, "outside every callback, loop_free works");
}

Test(misuse_nested, loop_run_inside_callback,
     .description = "Q: what does loop_run called inside one of the loop's callbacks do?") {
    refused_inside_callback(call_loop_run, "already running");
}

Test(misuse_nested, loop_run_once_inside_callback,
     .description = "Q: what does loop_run_once called inside one of the loop's callbacks do?") {
    refused_inside_callback(call_loop_run_once, "already running");
}

Test(misuse_nested, loop_free_inside_callback,
     .description = "Q: what does loop_free called inside one of the loop's callbacks do?") {
    refused_inside_callback(call_loop_free, "loop_stop");
}

/* A task that calls loop_run_until_complete on another task from inside its own step. */
struct nester {
    struct task task;
    struct task *other;
    int result;
};
static enum coro_status nester_step(struct task *t) {
    struct nester *n = TASK_FRAME(t, struct nester, task);
    CORO_BEGIN(&t->co);
    n->result = loop_run_until_complete(task_loop(t), n->other);
    CORO_END(&t->co);
}

Test(misuse_nested, run_until_complete_inside_task,
     .description = "Q: what does loop_run_until_complete called inside a task do?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct test_sleeper s;
    test_spawn_sleeper(loop, &s, "slow", 5000, 0);
    struct nester n = {.other = &s.task, .result = 1};
    cr_assert_eq(loop_spawn(loop, &n.task, nester_step, "nester", NULL), 0);
    cr_assert_eq(loop_run_until_complete(loop, &n.task), 0, "the outer call completes");
    cr_assert_eq(n.result, -EBUSY, "the inner loop_run_until_complete is -EBUSY");
    cr_assert(strstr(loop_last_error(loop), "already running"),
              "the error says the loop is already running: \"%s\"", loop_last_error(loop));
    cr_assert_eq(loop_now(loop), 0, "no nested tick ran: the clock did not move to 5000 ns");
    cr_assert_eq(s.task.state, TASK_WAITING, "the slow task still sleeps, untouched");
    cr_assert_eq(loop_run_until_complete(loop, &s.task), 0, "and completes when its turn comes");
    cr_assert_eq(loop_now(loop), 5000, "at its own deadline");
    assert_loop_still_works(loop);
    loop_free(loop);
}

static void stop_loop(struct loop_timer *t) {
    loop_stop(t->arg);
}

Test(misuse_nested, stop_during_run_until_complete,
     .description = "Q: what does loop_stop do while loop_run_until_complete waits?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct test_sleeper s;
    test_spawn_sleeper(loop, &s, "slow", 10000, 0);
    struct loop_timer stopper;
    loop_timer_init(&stopper, "stopper");
    cr_assert_eq(loop_timer_start(loop, &stopper, 1000, stop_loop, loop), 0);
    cr_assert_eq(loop_run_until_complete(loop, &s.task), -EINTR,
                 "it returns -EINTR instead of hanging");
    cr_assert(strstr(loop_last_error(loop), "stopped"),
              "the error says the loop was stopped before the task completed: \"%s\"",
              loop_last_error(loop));
    cr_assert(strstr(loop_last_error(loop), "'slow'"), "and names the task: \"%s\"",
              loop_last_error(loop));
    cr_assert_eq(loop_now(loop), 1000, "it returned at the stop, not at the task's end");
    cr_assert_eq(s.task.state, TASK_WAITING, "the task still waits");
    /* The stop was spent: the next run is not cut short by it. */
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(s.task.state, TASK_DONE, "the next loop_run ran the task to its end");
    cr_assert_eq(loop_now(loop), 10000, "at its deadline");
    assert_loop_still_works(loop);
    loop_free(loop);
}

/* ---- from another thread, while the loop runs: the thread check comes first ----------------- */

#ifndef NDEBUG
struct foreign {
    struct runnable run;
    struct loop *loop;
    struct loop_timer timer;
    struct loop_watcher watcher;
    struct test_sleeper sleeper;
    int run_result, run_once, free_result, unqueue, timer_stop, unwatch, spawn;
    char said[200];
};

static void *foreign_calls(void *arg) {
    struct foreign *f = arg;
    f->run_result = loop_run(f->loop);
    snprintf(f->said, sizeof f->said, "%s", loop_last_error(f->loop));
    f->run_once = loop_run_once(f->loop);
    f->free_result = loop_free(f->loop);
    f->unqueue = loop_unqueue(f->loop, &f->run);
    f->timer_stop = loop_timer_stop(f->loop, &f->timer);
    f->unwatch = loop_unwatch(f->loop, &f->watcher);
    f->spawn = loop_spawn(f->loop, &f->sleeper.task, test_sleeper_step, "stranger", NULL);
    return NULL;
}

/* Runs inside the loop's tick (in_tick is set) and waits for the other thread's calls. */
static void start_foreign_and_wait(void *arg) {
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, foreign_calls, arg), 0);
    pthread_join(th, NULL);
}

Test(misuse_nested, calls_from_another_thread,
     .description = "Q: what do loop calls made from another thread while the loop runs say?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    static struct foreign f;
    f = (struct foreign){.loop = loop};
    loop_timer_init(&f.timer, "t");
    loop_watcher_init(&f.watcher, "w");
    runnable_init(&f.run, start_foreign_and_wait, &f, "starter");
    cr_assert_eq(loop_call_soon(loop, &f.run, start_foreign_and_wait, &f), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(f.run_result, -EPERM,
                 "loop_run from another thread is -EPERM (not the -EBUSY of a nested run)");
    cr_assert(strstr(f.said, "does not own the loop"), "and says whose loop it is: \"%s\"", f.said);
    cr_assert_eq(f.run_once, -EPERM, "loop_run_once: -EPERM");
    cr_assert_eq(f.free_result, -EPERM, "loop_free: -EPERM, the loop is not freed");
    cr_assert_eq(f.unqueue, -EPERM, "loop_unqueue: -EPERM");
    cr_assert_eq(f.timer_stop, -EPERM, "loop_timer_stop: -EPERM");
    cr_assert_eq(f.unwatch, -EPERM, "loop_unwatch: -EPERM");
    cr_assert_eq(f.spawn, -EPERM, "loop_spawn: -EPERM, nothing spawned");
    assert_loop_still_works(loop);
    cr_assert_eq(loop_free(loop), 0);
}
#endif
