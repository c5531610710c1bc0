/* join_cancel_test.c — a cancel of a joiner travels into the task it joins, as in asyncio's
 * `await task`, and TASK_SHIELD is the explicit way to stop it (lesson 11). Virtual clock. */
#include <criterion/criterion.h>
#include <errno.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "tests/support/tasks.h"

#define MS 1000000LL

TestSuite(join_cancel, .description = "Does cancelling a joiner cancel the task it joins, and "
                                      "does a shield stop that?");

/* A joiner (plain or catching), a sleeper it joins, and a canceller of the joiner at 10 ms. */
struct scene {
    struct loop_clock clock;
    struct loop *loop;
    struct test_sleeper worker;
    struct test_joiner boss;
    struct test_canceller super;
};

static void scene_start(struct scene *s, bool worker_catches, bool boss_catches) {
    s->loop = test_virtual_loop(&s->clock, NULL);
    test_spawn_sleeper(s->loop, &s->worker, "worker", 50 * MS, 0);
    s->worker.catches = worker_catches;
    s->worker.linger_ns = 5 * MS;
    s->boss = (struct test_joiner){.other = &s->worker.task, .catches = boss_catches, .seen = 1};
    cr_assert_eq(loop_spawn(s->loop, &s->boss.task, test_joiner_step, "boss", NULL), 0);
    s->super = (struct test_canceller){.ns = 10 * MS, .target = &s->boss.task};
    cr_assert_eq(loop_spawn(s->loop, &s->super.task, test_canceller_step, "super", NULL), 0);
}

Test(join_cancel, cancel_travels_into_the_joined_task,
     .description = "Q: when a task blocked in TASK_JOIN is cancelled, is the joined task "
                    "cancelled first, and the joiner only after it ended?") {
    struct scene s;
    scene_start(&s, false, false);
    while (!task_done(&s.super.task))
        cr_assert_eq(loop_run_once(s.loop), 0);
    cr_assert_eq(s.super.returned, 0, "the cancel of the joiner is accepted: 0");
    cr_assert_eq(s.boss.task.state, TASK_WAITING,
                 "the joiner still waits: its cancel went into the joined task");
    cr_assert_eq(s.worker.task.state, TASK_READY, "the joined task was woken by the cancel");
    cr_assert_eq(loop_run(s.loop), 0);
    cr_assert_eq(s.worker.task.state, TASK_CANCELLED, "the joined task ended cancelled");
    cr_assert_eq(s.worker.ended_at, 10 * MS, "at 10 ms, not after its 50 ms of work");
    cr_assert_eq(s.boss.task.state, TASK_CANCELLED, "then the joiner ended cancelled");
    cr_assert_eq(s.boss.seen, 1, "the joiner's body after the join never ran");
    cr_assert_eq(s.boss.cleanups, 1, "its cleanup ran once");
    loop_free(s.loop);
}

Test(join_cancel, joined_task_that_catches_lets_the_joiner_go_on,
     .description = "Q: if the joined task catches the cancel and returns, does the joiner get "
                    "its result and carry on, as `await task` does in asyncio?") {
    struct scene s;
    scene_start(&s, true, false);
    cr_assert_eq(loop_run(s.loop), 0);
    cr_assert_eq(s.worker.task.state, TASK_DONE, "the worker caught the cancel and returned");
    cr_assert_eq(s.worker.ended_at, 15 * MS, "after lingering 5 ms past the cancel at 10 ms");
    cr_assert_eq(s.boss.task.state, TASK_DONE,
                 "the joiner was not cancelled: its cancel was spent in the joined task");
    cr_assert_eq(s.boss.seen, 0, "the join returned the worker's result, 0");
    loop_free(s.loop);
}

Test(join_cancel, catching_joiner_sees_the_joined_cancel,
     .description = "Q: does TASK_JOIN_CATCH hand -ECANCELED to the joiner after the joined "
                    "task ended cancelled?") {
    struct scene s;
    scene_start(&s, false, true);
    cr_assert_eq(loop_run(s.loop), 0);
    cr_assert_eq(s.worker.task.state, TASK_CANCELLED, "the joined task was cancelled");
    cr_assert_eq(s.boss.seen, -ECANCELED, "the catching joiner is handed -ECANCELED");
    cr_assert_eq(s.boss.task.state, TASK_DONE, "and, having caught it, ends done");
    loop_free(s.loop);
}

/* A shielder: TASK_SHIELD instead of TASK_JOIN. */
struct shielder {
    struct task task;
    struct task *other;
    int seen;
};

static enum coro_status shielder_step(struct task *t) {
    struct shielder *f = TASK_FRAME(t, struct shielder, task);
    CORO_BEGIN(&t->co);
    TASK_SHIELD(t, f->other);
    f->seen = task_result(t);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(join_cancel, shield_keeps_the_task_running,
     .description = "Q: when a task blocked in TASK_SHIELD is cancelled, does it leave at once "
                    "while the shielded task runs on, as asyncio.shield does?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct test_sleeper worker;
    test_spawn_sleeper(loop, &worker, "worker", 50 * MS, 0);
    struct shielder boss = {.other = &worker.task, .seen = 1};
    cr_assert_eq(loop_spawn(loop, &boss.task, shielder_step, "boss", NULL), 0);
    struct test_canceller super = {.ns = 10 * MS, .target = &boss.task};
    cr_assert_eq(loop_spawn(loop, &super.task, test_canceller_step, "super", NULL), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(boss.task.state, TASK_CANCELLED, "the shielder ended cancelled");
    cr_assert_eq(boss.seen, 1, "its body after the shield never ran");
    cr_assert_eq(worker.task.state, TASK_DONE, "the shielded task ran to its end");
    cr_assert_eq(worker.ended_at, 50 * MS, "at 50 ms: the cancel never reached it");
    loop_free(loop);
}

Test(join_cancel, shield_misuse,
     .description = "Q: does a shield of yourself or of NULL fail at once instead of waiting?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct shielder self = {.seen = 1};
    self.other = &self.task;
    cr_assert_eq(loop_spawn(loop, &self.task, shielder_step, "self", NULL), 0);
    struct shielder none = {.seen = 1};
    cr_assert_eq(loop_spawn(loop, &none.task, shielder_step, "none", NULL), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(self.seen, -EDEADLK, "shielding yourself is -EDEADLK: it would never end");
    cr_assert_eq(none.seen, -EINVAL, "shielding NULL is -EINVAL");
    loop_free(loop);
}
