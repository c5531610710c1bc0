/* group_scope_test.c — a task group entered as a scope of its parent (lesson 11): however the
 * body ends, the parent does not end before its children, and what it ends with. The body
 * cancelled or failing before the group's wait: lessons/11-cancellation's tests. Virtual clock. */
#include <criterion/criterion.h>
#include <errno.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/task/taskset.h"
#include "tests/support/tasks.h"

#define MS 1000000LL

TestSuite(group_scope, .description = "Does a group entered as a scope hold its parent's end "
                                      "until every child has ended?");

/* Enters the group, spawns two sleepers (kid 1 may fail at its end), then ends its body the
 * way `how` says, never reaching TASK_GROUP_WAIT. */
enum body_end { FALL_OFF, FAIL };

struct parent {
    struct task task;
    struct loop *loop;
    struct task_set group;
    struct task *storage[2];
    struct test_sleeper kids[2];
    enum body_end how;
    int kid1_fails;
    int cleanups;
    size_t places_at_parent_end; /* ready-queue places still reserved when the parent ended */
};

static enum coro_status parent_step(struct task *t) {
    struct parent *f = TASK_FRAME(t, struct parent, task);
    CORO_BEGIN(&t->co);
    cr_assert_eq(task_group_enter(t, &f->group), 0);
    f->kids[0] = (struct test_sleeper){.ns = 30 * MS};
    f->kids[1] = (struct test_sleeper){.ns = 50 * MS, .fail_with = f->kid1_fails};
    task_set_spawn(&f->group, loop_sched(f->loop), &f->kids[0].task, test_sleeper_step, "kid0",
                   NULL);
    task_set_spawn(&f->group, loop_sched(f->loop), &f->kids[1].task, test_sleeper_step, "kid1",
                   NULL);
    LOOP_SLEEP(t, 10 * MS);
    if (f->how == FAIL)
        CORO_FAIL(&t->co, -EPROTO);
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

/* Runs the parent with a joiner, and returns when the joiner saw it end. */
static void run_parent(struct parent *p, enum body_end how, int kid1_fails,
                       int64_t *parent_ended_at) {
    struct loop_clock clock;
    p->loop = test_virtual_loop(&clock, NULL);
    p->how = how;
    p->kid1_fails = kid1_fails;
    p->cleanups = 0;
    cr_assert_eq(task_set_init(&p->group, p->storage, 2, true), 0);
    cr_assert_eq(loop_spawn(p->loop, &p->task, parent_step, "parent", NULL), 0);
    struct test_joiner j = {.other = &p->task, .catches = true, .seen = 1};
    cr_assert_eq(loop_spawn(p->loop, &j.task, test_joiner_step, "joiner", NULL), 0);
    while (!task_done(&p->task))
        cr_assert_eq(loop_run_once(p->loop), 0);
    p->places_at_parent_end = loop_sched(p->loop)->ready.reserved;
    while (!task_done(&j.task))
        cr_assert_eq(loop_run_once(p->loop), 0);
    *parent_ended_at = loop_now(p->loop);
    cr_assert_eq(j.seen, p->task.error, "the joiner saw the parent's error");
    cr_assert_eq(loop_run(p->loop), 0);
    loop_free(p->loop);
}

Test(group_scope, body_that_falls_off_waits_for_children,
     .description = "Q: when the body ends normally without TASK_GROUP_WAIT, does the parent "
                    "end only after its children, which are not cancelled?") {
    static struct parent p;
    int64_t ended_at;
    run_parent(&p, FALL_OFF, 0, &ended_at);
    cr_assert_eq(p.cleanups, 1, "the parent's cleanup ran once, at 10 ms");
    cr_assert_eq(p.kids[0].task.state, TASK_DONE, "kid 0 ran to its end");
    cr_assert_eq(p.kids[1].task.state, TASK_DONE, "kid 1 ran to its end");
    cr_assert_eq(p.task.state, TASK_DONE, "the parent ended done");
    cr_assert_eq(ended_at, 50 * MS, "at 50 ms, with its last child, not at 10 ms");
}

Test(group_scope, body_that_falls_off_reports_a_later_failure,
     .description = "Q: when the body ended normally and a child fails afterwards, does the "
                    "parent end with that failure, as asyncio's __aexit__ raises it?") {
    static struct parent p;
    int64_t ended_at;
    run_parent(&p, FALL_OFF, -EIO, &ended_at);
    cr_assert_eq(p.task.state, TASK_FAILED, "the parent failed");
    cr_assert_eq(p.task.error, -EIO, "with the child's -EIO (got %d)", p.task.error);
    cr_assert_eq(task_set_failures(&p.group), 1, "the set holds the one failure");
}

Test(group_scope, failing_body_cancels_children,
     .description = "Q: when the body fails before the group's wait, are the children "
                    "cancelled and awaited, and does the parent keep its own error?") {
    static struct parent p;
    int64_t ended_at;
    run_parent(&p, FAIL, 0, &ended_at);
    cr_assert_eq(p.kids[0].task.state, TASK_CANCELLED, "kid 0 was cancelled");
    cr_assert_eq(p.kids[1].task.state, TASK_CANCELLED, "kid 1 was cancelled");
    cr_assert_eq(p.kids[0].ended_at, 10 * MS, "at 10 ms, when the body failed");
    cr_assert_eq(p.task.error, -EPROTO, "the parent ends with its body's -EPROTO");
    cr_assert_eq(ended_at, 10 * MS, "once its children had cleaned up, in the same instant");
}

Test(group_scope, held_end_gives_back_its_place_once,
     .description = "Q: does a parent whose end the group held give back its reserved place "
                    "on the ready queue once, not once per time its body was found over?") {
    static struct parent p;
    int64_t ended_at;
    run_parent(&p, FALL_OFF, 0, &ended_at);
    cr_assert_eq(p.places_at_parent_end, 1,
                 "when the parent has ended, one place is still reserved, the live joiner's "
                 "(got %zu): giving the parent's back twice would take the joiner's",
                 p.places_at_parent_end);
}

Test(group_scope, misuse,
     .description =
         "Q: is entering a gather set, entering twice, a NULL or a task never spawned refused?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct test_sleeper owner;
    test_spawn_sleeper(loop, &owner, "owner", MS, 0);
    struct task_set gather, group;
    struct task *a[1], *b[1];
    cr_assert_eq(task_set_init(&gather, a, 1, false), 0);
    cr_assert_eq(task_set_init(&group, b, 1, true), 0);
    cr_assert_eq(task_group_enter(&owner.task, &gather), -EINVAL, "a gather set: -EINVAL");
    cr_assert_eq(task_group_enter(NULL, &group), -EINVAL, "no task: -EINVAL");
    struct task never = {0};
    cr_assert_eq(task_group_enter(&never, &group), -EINVAL,
                 "a task never spawned (it has no scheduler): -EINVAL");
    cr_assert_eq(task_group_enter(&owner.task, &group), 0);
    cr_assert_eq(task_group_enter(&owner.task, &group), -EBUSY, "entered twice: -EBUSY");
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(owner.task.state, TASK_DONE, "an empty group does not hold its owner");
    struct task_set late;
    struct task *c[1];
    cr_assert_eq(task_set_init(&late, c, 1, true), 0);
    cr_assert_eq(task_group_enter(&owner.task, &late), -EALREADY, "an ended task: -EALREADY");
    loop_free(loop);
}
