/* cancel_combinators_test.c — the library's own tests of the task-set combinators (lesson 11's
 * layer): gather, task groups (nested too), wait-first and wait_for; a cancel of their waiter,
 * before and while they cancel their members; a deadline timer that cannot be armed; empty sets
 * and misuse. Virtual clock, script backend. Cancellation itself: cancel_test.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/sync/event.h"
#include "sched/sync/semaphore.h"
#include "sched/task/taskset.h"
#include "tests/support/tasks.h"

#define MS     1000000LL
#define SECOND (1000 * MS)

enum set_mode { SET_GATHER, SET_GROUP, SET_FIRST, SET_WAIT_FOR };

static size_t members_done(const struct task_set *s) {
    size_t n = 0;
    for (size_t i = 0; i < s->count; i++)
        n += task_done(s->members[i]);
    return n;
}

/* Waits on a set the way `mode` says, and records what it saw. */
struct set_waiter {
    struct task task;
    struct loop *loop;
    struct task_set *set;
    enum set_mode mode;
    int64_t timeout_ns;
    bool returned;
    int result;
    int64_t resumed_at;
    size_t done_at_resume;
    int cleanups;
    size_t done_at_cleanup;
};

static enum coro_status set_waiter_step(struct task *t) {
    struct set_waiter *f = TASK_FRAME(t, struct set_waiter, task);
    CORO_BEGIN(&t->co);
    if (f->mode == SET_GATHER)
        TASK_GATHER(t, f->set);
    else if (f->mode == SET_GROUP)
        TASK_GROUP_WAIT(t, f->set);
    else if (f->mode == SET_FIRST)
        TASK_WAIT_FIRST(t, f->set);
    else
        LOOP_WAIT_FOR(t, f->set, f->timeout_ns);
    f->returned = true;
    f->result = task_result(t);
    f->resumed_at = loop_now(f->loop);
    f->done_at_resume = members_done(f->set);
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    f->done_at_cleanup = members_done(f->set);
    CORO_END(&t->co);
}

static void spawn_waiter(struct loop *loop, struct set_waiter *w, struct task_set *s,
                         enum set_mode mode, int64_t timeout_ns) {
    *w = (struct set_waiter){.loop = loop, .set = s, .mode = mode, .timeout_ns = timeout_ns};
    cr_assert_eq(loop_spawn(loop, &w->task, set_waiter_step, "waiter", NULL), 0);
}

/* Spawns n sleepers as members of s: member i works ns[i] and fails with fail[i]. */
static void spawn_members(struct loop *loop, struct task_set *s, struct test_sleeper *m, int n,
                          const int64_t *ns, const int *fail) {
    static const char *const names[] = {"m0", "m1", "m2", "m3", "m4", "m5"};
    for (int i = 0; i < n; i++) {
        m[i] = (struct test_sleeper){.ns = ns[i], .fail_with = fail[i]};
        cr_assert_eq(
            task_set_spawn(s, loop_sched(loop), &m[i].task, test_sleeper_step, names[i], NULL), 0);
    }
}

/* Where most tests below start: a loop, a set (a group or not) of n members spawned with
 * spawn_members, and, spawned after them, the task `w` that waits on the set as `mode` says. */
struct scene {
    struct loop_clock clock;
    struct loop *loop;
    struct task_set set;
    struct task *storage[4];
    struct test_sleeper m[4];
    struct set_waiter w;
};

static void scene_start(struct scene *sc, bool group, enum set_mode mode, int n, const int64_t *ns,
                        const int *fail) {
    sc->loop = test_virtual_loop(&sc->clock, NULL);
    cr_assert_eq(task_set_init(&sc->set, sc->storage, (size_t)n, group), 0);
    spawn_members(sc->loop, &sc->set, sc->m, n, ns, fail);
    spawn_waiter(sc->loop, &sc->w, &sc->set, mode, 0);
}

/* wait_for waits on a set: this one holds only t. */
static void set_of_one(struct task_set *s, struct task **storage, struct task *t) {
    cr_assert_eq(task_set_init(s, storage, 1, false), 0);
    cr_assert_eq(task_set_add(s, t), 0);
}

TestSuite(
    combinators,
    .description =
        "Do gather, task groups, wait-first and wait_for end, report and cancel as asyncio's do?");

Test(combinators, gather_siblings_keep_running,
     .description = "Q: does gather let the siblings of a failed member run on, and collect every "
                    "result in member order?") {
    struct scene sc;
    scene_start(&sc, false, SET_GATHER, 3, (int64_t[]){30 * MS, 10 * MS, 20 * MS},
                (int[]){0, -EIO, 0});
    struct test_sleeper *m = sc.m;
    cr_assert_eq(loop_run(sc.loop), 0);
    cr_assert_eq(sc.w.result, 0, "gather itself succeeds: the errors are in the members");
    cr_assert_eq(sc.w.resumed_at, 30 * MS, "gather returned when the last member ended, at 30 ms");
    cr_assert_eq(sc.w.done_at_resume, 3, "every member had ended");
    cr_assert_eq(m[0].task.error, 0, "member 0 (ended last): 0");
    cr_assert_eq(m[1].task.error, -EIO, "member 1 (ended first): -EIO");
    cr_assert_eq(m[2].task.error, 0, "member 2: 0");
    cr_assert_eq(m[0].ended_at, 30 * MS, "the failure at 10 ms did not cut member 0 short");
    cr_assert_eq(m[2].ended_at, 20 * MS, "nor member 2");
    cr_assert_eq(sc.set.first_ended, &m[1].task, "the set remembers which member ended first");
    cr_assert_eq(sc.set.first_failure, -EIO);
    loop_free(sc.loop);
}

Test(combinators, group_first_failure_cancels_rest,
     .description = "Q: does a task group cancel the rest at its first failure, await them, and "
                    "report that failure?") {
    struct scene sc;
    scene_start(&sc, true, SET_GROUP, 4, (int64_t[]){30 * MS, 10 * MS, 20 * MS, 5 * MS},
                (int[]){0, -EIO, -EPIPE, 0});
    struct test_sleeper *m = sc.m;
    cr_assert_eq(loop_run(sc.loop), 0);
    cr_assert_eq(sc.w.result, -EIO, "the group reports its first failure, -EIO");
    cr_assert_eq(sc.w.resumed_at, 10 * MS, "at 10 ms, when it happened");
    cr_assert_eq(sc.w.done_at_resume, 4, "no member outlived the group wait");
    cr_assert_eq(m[3].task.state, TASK_DONE, "the member that had already succeeded stays done");
    cr_assert_eq(m[0].task.state, TASK_CANCELLED, "the slow member was cancelled");
    cr_assert_eq(m[2].task.state, TASK_CANCELLED,
                 "the member that would have failed later was cancelled first");
    cr_assert(m[0].cleanups == 1 && m[2].cleanups == 1, "the cancelled members' cleanups ran once");
    cr_assert(m[0].ended_at == 10 * MS && m[2].ended_at == 10 * MS, "they ended at 10 ms");
    loop_free(sc.loop);
}

Test(combinators, wait_first_returns_first,
     .description =
         "Q: does wait-first return when the first member ends, leaving the others running?") {
    struct scene sc;
    scene_start(&sc, false, SET_FIRST, 3, (int64_t[]){30 * MS, 10 * MS, 20 * MS}, (int[]){0, 0, 0});
    struct test_sleeper *m = sc.m;
    cr_assert_eq(loop_run_until_complete(sc.loop, &sc.w.task), 0);
    cr_assert_eq(sc.w.result, 0);
    cr_assert_eq(sc.w.resumed_at, 10 * MS, "it returned at 10 ms, when the first member ended");
    cr_assert_eq(sc.set.first_ended, &m[1].task, "the winner is member 1");
    cr_assert_eq(sc.w.done_at_resume, 1, "only the winner had ended");
    cr_assert(m[0].task.state == TASK_WAITING && m[2].task.state == TASK_WAITING,
              "the others were not cancelled: they still run");
    cr_assert_eq(loop_run(sc.loop), 0);
    cr_assert(m[0].task.state == TASK_DONE && m[2].task.state == TASK_DONE,
              "and they end normally");
    loop_free(sc.loop);
}

Test(combinators, wait_for_fast_task,
     .description =
         "Q: does wait_for on a task that ends in time return 0 and leave no timer behind?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct test_sleeper fast;
    test_spawn_sleeper(loop, &fast, "fast", 10 * MS, 0);
    struct task_set s;
    struct task *storage[1];
    set_of_one(&s, storage, &fast.task);
    struct set_waiter w;
    spawn_waiter(loop, &w, &s, SET_WAIT_FOR, 50 * MS);
    cr_assert_eq(loop_run_until_complete(loop, &w.task), 0);
    cr_assert_eq(w.result, 0, "in time: 0");
    cr_assert_eq(w.resumed_at, 10 * MS, "it returned when the task ended");
    cr_assert_eq(fast.task.state, TASK_DONE, "the task was not cancelled");
    cr_assert_eq(loop_timer_count(loop), 0, "the deadline's timer was disarmed");
    loop_free(loop);
}

Test(combinators, wait_for_awaits_the_cancelled_task,
     .description = "Q: when wait_for times out on a task that takes its time to stop, does it "
                    "wait for that task to end?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    /* Catches the cancel, stops for 5 ms, then ends cancelled after all (re-raises). */
    struct test_sleeper slow = {
        .ns = SECOND, .catches = true, .linger_ns = 5 * MS, .fail_with = -ECANCELED};
    loop_spawn(loop, &slow.task, test_sleeper_step, "slow", NULL);
    struct task_set s;
    struct task *storage[1];
    set_of_one(&s, storage, &slow.task);
    struct set_waiter w;
    spawn_waiter(loop, &w, &s, SET_WAIT_FOR, 50 * MS);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(w.result, -ETIMEDOUT, "the deadline passed: -ETIMEDOUT, not -ECANCELED");
    cr_assert_eq(slow.task.state, TASK_CANCELLED, "the task ended cancelled");
    cr_assert_eq(slow.result, -ECANCELED, "at the deadline the task was cancelled");
    cr_assert_eq(w.resumed_at, 55 * MS,
                 "wait_for returned at 55 ms, after the task's 5 ms of stopping");
    cr_assert_eq(w.done_at_resume, 1, "the awaited task had ended");
    cr_assert_eq(w.task.state, TASK_DONE, "the waiter itself was not cancelled");
    loop_free(loop);
}

static void cancel_waiter_cancels_members(bool group) {
    struct scene sc;
    scene_start(&sc, group, group ? SET_GROUP : SET_GATHER, 2, (int64_t[]){100 * MS, 200 * MS},
                (int[]){0, 0});
    struct test_sleeper *m = sc.m;
    struct test_canceller c = {.ns = 10 * MS, .target = &sc.w.task};
    loop_spawn(sc.loop, &c.task, test_canceller_step, "canceller", NULL);
    cr_assert_eq(loop_run(sc.loop), 0);
    cr_assert_eq(c.returned, 0);
    cr_assert_eq(sc.w.task.state, TASK_CANCELLED, "the waiter ended cancelled");
    cr_assert_not(sc.w.returned, "its body after the wait never ran");
    cr_assert_eq(sc.w.cleanups, 1);
    cr_assert_eq(sc.w.done_at_cleanup, 2, "both members had ended before the waiter's cleanup");
    cr_assert(m[0].task.state == TASK_CANCELLED && m[1].task.state == TASK_CANCELLED,
              "both members were cancelled");
    cr_assert(m[0].ended_at == 10 * MS && m[1].ended_at == 10 * MS, "at 10 ms, with the waiter");
    cr_assert(m[0].cleanups == 1 && m[1].cleanups == 1);
    loop_free(sc.loop);
}

Test(combinators, cancel_gather_waiter,
     .description = "Q: does cancelling the task that gathers cancel and await the members?") {
    cancel_waiter_cancels_members(false);
}
Test(combinators, cancel_group_waiter,
     .description =
         "Q: does cancelling the task that waits on a group cancel and await the members?") {
    cancel_waiter_cancels_members(true);
}

Test(combinators, nested_groups_cancel_innermost_first,
     .description = "Q: when an outer group cancels a member that itself waits on a group, do the "
                    "inner members end before it?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct task_set outer, inner;
    struct task *outer_storage[2], *inner_storage[2];
    task_set_init(&outer, outer_storage, 2, true);
    task_set_init(&inner, inner_storage, 2, true);
    struct set_waiter middle = {.loop = loop, .set = &inner, .mode = SET_GROUP};
    cr_assert_eq(
        task_set_spawn(&outer, loop_sched(loop), &middle.task, set_waiter_step, "middle", NULL), 0);
    struct test_sleeper failing = {.ns = 10 * MS, .fail_with = -EIO};
    cr_assert_eq(
        task_set_spawn(&outer, loop_sched(loop), &failing.task, test_sleeper_step, "failing", NULL),
        0);
    struct test_sleeper m[2];
    spawn_members(loop, &inner, m, 2, (int64_t[]){100 * MS, 200 * MS}, (int[]){0, 0});
    struct set_waiter top;
    spawn_waiter(loop, &top, &outer, SET_GROUP, 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(top.result, -EIO, "the outer group reports the failure");
    cr_assert_eq(top.resumed_at, 10 * MS);
    cr_assert_eq(middle.task.state, TASK_CANCELLED,
                 "the member waiting on the inner group was cancelled");
    cr_assert_eq(middle.done_at_cleanup, 2,
                 "its inner members had both ended before its own cleanup ran");
    cr_assert(m[0].task.state == TASK_CANCELLED && m[1].task.state == TASK_CANCELLED,
              "the cancel went down to the innermost tasks");
    cr_assert_eq(top.done_at_resume, 2);
    loop_free(loop);
}

Test(combinators, waiter_cancel_while_cancelling,
     .description = "Q: is a cancel of a group's waiter delivered even when the group is already "
                    "cancelling its members?") {
    struct scene sc;
    scene_start(&sc, true, SET_GROUP, 2, (int64_t[]){100 * MS, 10 * MS}, (int[]){0, -EIO});
    sc.m[0].catches = true; /* cancelled at 10 ms, it takes 20 ms to stop */
    sc.m[0].linger_ns = 20 * MS;
    struct test_canceller c = {.ns = 15 * MS, .target = &sc.w.task};
    loop_spawn(sc.loop, &c.task, test_canceller_step, "canceller", NULL);
    cr_assert_eq(loop_run(sc.loop), 0);
    cr_assert_eq(sc.m[0].result, -ECANCELED);
    cr_assert_eq(sc.w.task.state, TASK_CANCELLED, "the waiter's own cancel at 15 ms was not lost");
    cr_assert_not(sc.w.returned, "so the body after the wait never ran");
    cr_assert_eq(sc.w.done_at_cleanup, 2, "but it still awaited the member that was stopping");
    cr_assert_eq(loop_now(sc.loop), 30 * MS);
    cr_assert_eq(sc.set.first_failure, -EIO, "the group's failure stays readable in the set");
    loop_free(sc.loop);
}

Test(combinators, wait_for_timeout_then_cancel,
     .description =
         "Q: is a cancel of wait_for's waiter delivered after the timeout already fired?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct test_sleeper slow = {.ns = SECOND, .catches = true, .linger_ns = 20 * MS};
    loop_spawn(loop, &slow.task, test_sleeper_step, "slow", NULL);
    struct task_set s;
    struct task *storage[1];
    set_of_one(&s, storage, &slow.task);
    struct set_waiter w;
    spawn_waiter(loop, &w, &s, SET_WAIT_FOR, 10 * MS);
    struct test_canceller c = {.ns = 15 * MS, .target = &w.task};
    loop_spawn(loop, &c.task, test_canceller_step, "canceller", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(w.task.state, TASK_CANCELLED,
                 "the cancel at 15 ms, after the 10 ms timeout, was not lost");
    cr_assert_eq(w.done_at_cleanup, 1, "the awaited task had ended first");
    loop_free(loop);
}

Test(combinators, wait_for_without_memory, .timeout = 30,
     .description = "Q: if wait_for cannot arm its deadline (no memory), does it fail with -ENOMEM "
                    "instead of spinning?") {
    struct test_alloc fa; /* told to refuse, the timer heap cannot grow */
    test_alloc_init(&fa, 0);
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.alloc = &fa.base});
    struct event never;
    event_init(&never, "never-set");
    /* The member waits on an event that is never set: it needs no timer. */
    struct test_event_waiter member = {.event = &never};
    loop_spawn(loop, &member.task, test_event_waiter_step, "member", NULL);
    cr_assert_eq(loop_run_once(loop), 0,
                 "one tick first: the script backend's own record of "
                 "timeouts gets its room while memory is plenty");
    struct task_set s;
    struct task *storage[1];
    set_of_one(&s, storage, &member.task);
    struct set_waiter waiter;
    spawn_waiter(loop, &waiter, &s, SET_WAIT_FOR, 10 * MS);
    fa.refuse = true;
    int run = loop_run(loop);
    cr_assert_eq(run, 0, "the loop ran to its end (got %d: %s)", run, loop_last_error(loop));
    fa.refuse = false;
    cr_assert_eq(waiter.result, -ENOMEM, "wait_for reports -ENOMEM");
    cr_assert_eq(member.task.state, TASK_CANCELLED,
                 "and, as on a timeout, cancelled and awaited the member");
    cr_assert_eq(member.cleanups, 1);
    cr_assert_eq(waiter.done_at_resume, 1);
    loop_free(loop);
}

Test(combinators, empty_and_already_ended,
     .description =
         "Q: what do waits on an empty set, or on a set whose member already ended, do?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct task_set empty, ended;
    struct task *storage[1];
    task_set_init(&empty, NULL, 0, true);
    task_set_init(&ended, storage, 1, false);
    struct test_sleeper done;
    test_spawn_sleeper(loop, &done, "done", MS, 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(task_set_add(&ended, &done.task), 0, "a task that already ended can be added");
    cr_assert_eq(ended.ended, 1, "and counts as ended");
    struct set_waiter a, b, c;
    spawn_waiter(loop, &a, &empty, SET_GROUP, 0);
    spawn_waiter(loop, &b, &ended, SET_WAIT_FOR, 10 * MS);
    spawn_waiter(loop, &c, &empty, SET_FIRST, 0);
    int64_t start = loop_now(loop);
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert(a.returned && b.returned && c.returned, "all three returned in their first step");
    cr_assert(a.result == 0 && b.result == 0 && c.result == 0, "with 0");
    cr_assert_eq(loop_now(loop), start);
    cr_assert_eq(loop_timer_count(loop), 0, "wait_for armed no timer it did not need");
    loop_free(loop);
}

Test(combinators, misuse,
     .description = "Q: what do NULL sets, full sets and tasks already in a set return?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct task_set s, other;
    struct task *storage[1], *other_storage[1];
    cr_assert_eq(task_set_init(NULL, storage, 1, false), -EINVAL, "a NULL set is -EINVAL");
    cr_assert_eq(task_set_init(&s, NULL, 1, false), -EINVAL,
                 "no storage for a capacity of 1 is -EINVAL");
    task_set_init(&s, storage, 1, false);
    task_set_init(&other, other_storage, 1, false);
    struct test_sleeper a = {.ns = MS}, b = {.ns = MS};
    cr_assert_eq(task_set_spawn(&s, loop_sched(loop), &a.task, test_sleeper_step, "a", NULL), 0);
    size_t live = loop_sched(loop)->task_count;
    cr_assert_eq(task_set_spawn(&s, loop_sched(loop), &b.task, test_sleeper_step, "b", NULL),
                 -ENOSPC, "spawning into a full set is -ENOSPC");
    cr_assert_eq(loop_sched(loop)->task_count, live, "and nothing was spawned");
    cr_assert_eq(task_set_add(&other, &a.task), -EBUSY, "a task already in a set is -EBUSY");
    cr_assert_eq(task_set_add(&other, NULL), -EINVAL, "adding NULL is -EINVAL");
    cr_assert_eq(task_set_add(NULL, &a.task), -EINVAL, "adding to a NULL set is -EINVAL");
    cr_assert_eq(task_set_spawn(NULL, loop_sched(loop), &b.task, test_sleeper_step, "b", NULL),
                 -EINVAL, "spawning into a NULL set is -EINVAL");
    cr_assert_eq(task_set_spawn(&other, loop_sched(loop), &b.task, NULL, "b", NULL), -EINVAL,
                 "a NULL step is -EINVAL");
    cr_assert_eq(other.count, 0, "the refused spawn added no member");
    cr_assert_eq(loop_run(loop), 0);
    loop_free(loop);
}

Test(combinators, dump_names_members,
     .description = "Q: does task_set_dump list the members by name and state?") {
    struct scene sc;
    scene_start(&sc, true, SET_GROUP, 2, (int64_t[]){10 * MS, 20 * MS}, (int[]){0, 0});
    loop_run_once(sc.loop);
    char buf[1024];
    TEST_DUMP_INTO(buf, task_set_dump(&sc.set, out));
    cr_assert(strstr(buf, "2 members") && strstr(buf, "a group"), "the header says what it is: %s",
              buf);
    cr_assert(strstr(buf, "waiter"), "the waiting task is named: %s", buf);
    cr_assert(strstr(buf, "m0") && strstr(buf, "m1") && strstr(buf, "waiting"),
              "each member is listed with its state: %s", buf);
    cr_assert_eq(loop_run(sc.loop), 0);
    loop_free(sc.loop);
}
