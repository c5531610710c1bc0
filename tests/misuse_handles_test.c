/* misuse_handles_test.c — handles know their state and their loop (DESIGN.md, "Misuse gets a
 * clear error"; lessons 02, 05 and 08): a timer or watcher used without its init, a timer armed
 * on two loops, a live task spawned again, a task joined or cancelled that was never spawned.
 * Each mistake: its errno, the gist of loop_last_error, and a loop that still runs afterwards. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "tests/support/tasks.h"

TestSuite(misuse_handles, .description = "Does a handle used the wrong way get a clear error, "
                                         "and does the loop keep working?");

/* After the mistake, the loop still runs other work: a timer fires, a task sleeps and ends. */
static void assert_loop_still_works(struct loop *loop) {
    struct test_sleeper s;
    test_spawn_sleeper(loop, &s, "after", 1000000, 0);
    cr_assert_eq(loop_run(loop), 0, "loop_run after the mistake returns 0");
    cr_assert_eq(s.task.state, TASK_DONE, "a task spawned after the mistake ran to its end");
    cr_assert_eq(s.result, 0, "and its sleep ended normally");
}

static int fired;
static void count_fire(struct loop_timer *t) {
    (void)t;
    fired++;
}

Test(misuse_handles, timer_without_init,
     .description = "Q: what does starting or stopping a "
                    "timer that was never initialised do?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct loop_timer good, never = {0};
    loop_timer_init(&good, "good");
    fired = 0;
    cr_assert_eq(loop_timer_start(loop, &good, 2000, count_fire, NULL), 0);
    cr_assert_eq(loop_timer_start(loop, &never, 1000, count_fire, NULL), -EINVAL,
                 "starting a timer never initialised is -EINVAL");
    cr_assert(strstr(loop_last_error(loop), "loop_timer_init"),
              "the error says to call loop_timer_init first: \"%s\"", loop_last_error(loop));
    cr_assert_eq(loop_timer_stop(loop, &never), -EINVAL, "stopping it is -EINVAL too");
    cr_assert_eq(loop_timer_count(loop), 1u, "only the good timer is armed");
    assert_loop_still_works(loop);
    cr_assert_eq(fired, 1, "the good timer fired once: its key was not overwritten");
    loop_free(loop);
}

static void on_ready(struct loop_watcher *w, unsigned ready) {
    (void)ready;
    loop_unwatch(w->loop, w);
}

Test(misuse_handles, watcher_without_init,
     .description = "Q: what does watching an fd with a "
                    "watcher never initialised do?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct loop_watcher never = {0};
    cr_assert_eq(loop_watch_fd(loop, &never, 5, LOOP_READABLE, on_ready, NULL), -EINVAL,
                 "watching with a watcher never initialised is -EINVAL");
    cr_assert(strstr(loop_last_error(loop), "loop_watcher_init"),
              "the error says to call loop_watcher_init first: \"%s\"", loop_last_error(loop));
    cr_assert_eq(loop_watch_count(loop), 0u, "nothing is watched");
    cr_assert_eq(loop_unwatch(loop, &never), -EINVAL, "unwatching it is -EINVAL too");
    cr_assert_eq(loop_set_interest(loop, &never, LOOP_WRITABLE), -EINVAL,
                 "and changing its interest");
    struct loop_watcher w;
    loop_watcher_init(&w, "w");
    cr_assert_eq(loop_watch_fd(loop, &w, 5, LOOP_READABLE, on_ready, NULL), 0,
                 "the same fd can then be watched by a real watcher");
    backend_script_add(loop_backend(loop), &(struct backend_ready){5, LOOP_READABLE}, 1);
    assert_loop_still_works(loop);
    cr_assert_eq(loop_watch_count(loop), 0u, "its callback ran and unwatched it");
    loop_free(loop);
}

Test(misuse_handles, timer_on_two_loops,
     .description = "Q: what does starting a timer on loop B "
                    "while it is armed on loop A do?") {
    struct loop_clock ca, cb;
    struct loop *a = test_virtual_loop(&ca, NULL), *b = test_virtual_loop(&cb, NULL);
    struct loop_timer t, other;
    loop_timer_init(&t, "t");
    loop_timer_init(&other, "other");
    fired = 0;
    cr_assert_eq(loop_timer_start(b, &other, 500, count_fire, NULL), 0);
    cr_assert_eq(loop_timer_start(a, &t, 1000, count_fire, NULL), 0);
    cr_assert_eq(loop_timer_start(b, &t, 1000, count_fire, NULL), -EBUSY,
                 "starting it on B while armed on A is -EBUSY");
    cr_assert(strstr(loop_last_error(b), "armed on another loop"),
              "the error says it is armed on another loop: \"%s\"", loop_last_error(b));
    cr_assert_eq(loop_timer_stop(b, &t), -EINVAL, "stopping it through B is -EINVAL");
    cr_assert_eq(loop_timer_count(b), 1u, "B's heap holds only its own timer");
    cr_assert_eq(loop_run(a), 0);
    cr_assert_eq(fired, 1, "t fired on A");
    cr_assert_eq(loop_timer_start(b, &t, 1000, count_fire, NULL), 0,
                 "once it fired on A, it may be started on B");
    cr_assert_eq(loop_run(b), 0);
    cr_assert_eq(fired, 3, "then both of B's timers fired");
    assert_loop_still_works(a);
    assert_loop_still_works(b);
    loop_free(a);
    loop_free(b);
}

/* A task that sleeps, then yields forever-ish: its owner tries to spawn it again meanwhile. */
static enum coro_status respawn_self_step(struct task *t);
static int respawn_result;
static enum coro_status respawn_self_step(struct task *t) {
    CORO_BEGIN(&t->co);
    respawn_result = task_spawn(t->sched, t, respawn_self_step, "again", NULL);
    CORO_END(&t->co);
}

Test(misuse_handles, spawn_live_task,
     .description = "Q: what does spawning a task that is still "
                    "queued, sleeping or running do?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct test_sleeper queued, sleeping, other;
    test_spawn_sleeper(loop, &queued, "queued", 1000, 0);
    test_spawn_sleeper(loop, &other, "other", 3000, 0);
    cr_assert_eq(loop_spawn(loop, &queued.task, test_sleeper_step, "queued", NULL), -EBUSY,
                 "spawning a queued task again is -EBUSY");
    cr_assert(strstr(loop_last_error(loop), "still ready"),
              "the error says it is still ready: \"%s\"", loop_last_error(loop));
    test_spawn_sleeper(loop, &sleeping, "sleeping", 2000, 0);
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(loop_spawn(loop, &sleeping.task, test_sleeper_step, "sleeping", NULL), -EBUSY,
                 "spawning a sleeping task again is -EBUSY");
    cr_assert(strstr(loop_last_error(loop), "still waiting"),
              "the error says it is still waiting: \"%s\"", loop_last_error(loop));
    struct task self = {0};
    cr_assert_eq(loop_spawn(loop, &self, respawn_self_step, "self", NULL), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(respawn_result, -EBUSY, "a running task spawning itself is -EBUSY");
    cr_assert_eq(queued.task.state, TASK_DONE, "the queued task still ran to its end");
    cr_assert_eq(sleeping.task.state, TASK_DONE, "the sleeping task still ran to its end");
    cr_assert_eq(other.task.state, TASK_DONE, "and so did the other one");
    cr_assert_eq(loop_spawn(loop, &queued.task, test_sleeper_step, "queued", NULL), 0,
                 "once ended, the task may be spawned again");
    assert_loop_still_works(loop);
    cr_assert_eq(loop_free(loop), 0);
}

struct joiner {
    struct task task;
    struct task *other;
    int result;
};
static enum coro_status join_step(struct task *t) {
    struct joiner *j = TASK_FRAME(t, struct joiner, task);
    CORO_BEGIN(&t->co);
    TASK_JOIN_CATCH(t, j->other);
    j->result = task_result(t);
    CORO_END(&t->co);
}

Test(misuse_handles, join_never_spawned,
     .description = "Q: what does joining or cancelling a task "
                    "that was never spawned do?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct task never = {0};
    struct joiner j = {.other = &never, .result = 1};
    cr_assert_eq(loop_spawn(loop, &j.task, join_step, "joiner", NULL), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(j.result, -EINVAL, "the join's result is -EINVAL");
    cr_assert(strstr(loop_last_error(loop), "never spawned"),
              "the error says the task was never spawned: \"%s\"", loop_last_error(loop));
    cr_assert_eq(j.task.state, TASK_DONE, "the joiner went on and ended");
    cr_assert_eq(task_cancel(&never), -EINVAL, "cancelling a task never spawned is -EINVAL");
    assert_loop_still_works(loop);
    loop_free(loop);
}
