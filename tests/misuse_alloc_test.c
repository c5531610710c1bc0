/* misuse_alloc_test.c — waking is infallible (DESIGN.md; lessons 08 and 09): the heap policies
 * grow their arrays when something registers (a spawn, a watch, a timer start), where -ENOMEM
 * has a caller to go to, so a wake-up, a yield or a due timer never needs memory. Run under an
 * allocator that refuses everything once the work is registered: no task is ever lost. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "tests/support/tasks.h"

TestSuite(misuse_alloc, .description = "When the allocator refuses, is a wake-up ever lost, and "
                                       "does every registration say -ENOMEM clearly?");

enum { CROWD = 40, WAKE_AT = 1000000 };

/* Sleeps until a deadline all of them share, so that they all wake in one tick (more than the
 * heap policies' first 16 places), then yields three times and joins the one before it. */
struct crowd_member {
    struct task task;
    struct task *before;
    int i;
    int yields;
    int join_result;
};
static enum coro_status crowd_step(struct task *t) {
    struct crowd_member *m = TASK_FRAME(t, struct crowd_member, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP_UNTIL(t, WAKE_AT);
    for (m->i = 0; m->i < 3; m->i++) {
        TASK_YIELD(t);
        m->yields++;
    }
    if (m->before)
        TASK_JOIN(t, m->before);
    m->join_result = task_result(t);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static int timer_fires;
static void timer_fired(struct loop_timer *t) {
    (void)t;
    timer_fires++;
}

static void crowd_under_refusal(const struct policy_ops *policy) {
    struct loop_clock clock;
    struct test_alloc alloc;
    test_alloc_init(&alloc, 0);
    /* poll, not the script backend, which logs every wait's timeout in a growing array */
    struct loop *loop = test_virtual_loop(
        &clock,
        &(struct loop_config){.backend = &backend_poll, .policy = policy, .alloc = &alloc.base});
    static struct crowd_member crowd[CROWD];
    memset(crowd, 0, sizeof crowd);
    /* Registered one at a time, each going to sleep before the next: the ready queue never
     * holds more than one of them until they all wake together. */
    for (int i = 0; i < CROWD; i++) {
        crowd[i].before = i ? &crowd[i - 1].task : NULL;
        cr_assert_eq(loop_spawn(loop, &crowd[i].task, crowd_step, "member", NULL), 0);
        cr_assert_eq(loop_run_once(loop), 0);
    }
    struct loop_timer timers[CROWD];
    timer_fires = 0;
    for (int i = 0; i < CROWD; i++) {
        loop_timer_init(&timers[i], "timer");
        cr_assert_eq(loop_timer_start_at(loop, &timers[i], WAKE_AT, timer_fired, NULL), 0);
    }

    alloc.refuse = true; /* from here on, every request for memory fails */
    static struct task late[200];
    memset(late, 0, sizeof late);
    int spawn_err = 0;
    for (int tries = 0; tries < 200 && spawn_err == 0; tries++) {
        spawn_err = loop_spawn(loop, &late[tries], crowd_step, "late", NULL);
        if (spawn_err == 0)
            task_cancel(&late[tries]); /* it fit in room already there: use the room up */
        else
            cr_assert_eq(spawn_err, -ENOMEM, "%s: a spawn that needs memory is -ENOMEM",
                         policy->name);
    }
    if (policy->reserve) {
        cr_assert_eq(spawn_err, -ENOMEM,
                     "%s: with the allocator refusing, a spawn is "
                     "eventually refused with -ENOMEM",
                     policy->name);
        cr_assert(strstr(loop_last_error(loop), "out of memory"),
                  "%s: the error says out of memory: \"%s\"", policy->name, loop_last_error(loop));
    }

    int run_err = loop_run(loop);
    cr_assert_eq(run_err, 0, "%s: loop_run returns 0 (%d: %s)", policy->name, run_err,
                 loop_last_error(loop));
    for (int i = 0; i < CROWD; i++) {
        cr_assert_eq(crowd[i].task.state, TASK_DONE,
                     "%s: member %d ran to its end: no wake-up was lost (it is %s)", policy->name,
                     i, task_state_name((enum task_state)crowd[i].task.state));
        cr_assert_eq(crowd[i].yields, 3, "%s: every yield came back", policy->name);
        cr_assert_eq(crowd[i].join_result, 0, "%s: and its join woke it", policy->name);
    }
    cr_assert_eq(timer_fires, CROWD, "%s: every armed timer fired", policy->name);
    cr_assert_eq(loop_ready_count(loop), 0u, "%s: nothing is left on the ready queue",
                 policy->name);
    if (policy->reserve) /* the list policies never ask for memory after the loop is made */
        cr_assert_gt(alloc.refusals, 0, "%s: the allocator did refuse", policy->name);

    alloc.refuse = false; /* the loop works afterwards */
    struct test_sleeper after;
    test_spawn_sleeper(loop, &after, "after", 1000, 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(after.task.state, TASK_DONE, "%s: a task spawned afterwards runs", policy->name);
    loop_free(loop);
}

Test(misuse_alloc, no_wake_lost_under_any_policy,
     .description = "Q: under each of the seven policies, with the allocator refusing once the "
                    "work is registered, does every task still run to its end?") {
    for (size_t i = 0; policy_by_index(i); i++)
        crowd_under_refusal(policy_by_index(i));
}

static void nothing(void *arg) {
    (void)arg;
}

Test(misuse_alloc, call_soon_refused_clearly,
     .description = "Q: what does loop_call_soon say when a heap policy cannot grow?") {
    struct loop_clock clock;
    struct test_alloc alloc;
    test_alloc_init(&alloc, 0);
    struct loop *loop = test_virtual_loop(
        &clock, &(struct loop_config){.policy = &policy_priority, .alloc = &alloc.base});
    enum { MANY = 100 };
    struct runnable rs[MANY];
    alloc.refuse = true;
    int err = 0, queued = 0;
    for (int i = 0; i < MANY && err == 0; i++) {
        runnable_init(&rs[i], nothing, NULL, "r");
        err = loop_call_soon(loop, &rs[i], nothing, NULL);
        queued += err == 0;
    }
    cr_assert_eq(err, -ENOMEM, "once the heap must grow, loop_call_soon is -ENOMEM");
    cr_assert(strstr(loop_last_error(loop), "out of memory"),
              "the error says out of memory: "
              "\"%s\"",
              loop_last_error(loop));
    cr_assert_eq(loop_ready_count(loop), (size_t)queued, "the ones accepted are all queued");
    alloc.refuse = false;
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(loop_ready_count(loop), 0u, "and they all ran");
    loop_free(loop);
}
