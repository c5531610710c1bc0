/* 11_cancellation_test.c — lesson 11's question, answered by observation: a cancelled task
 * leaves through its cleanup exactly once and gives back what it held (even a lock it was handed
 * but never used); and its error is seen by whoever waits for it: a joiner, gather (every error,
 * in order), a task group (the first failure; entered as a scope, it holds its parent's end),
 * wait_for (-ETIMEDOUT), or, if nobody, the report at loop_free. Virtual clock and script
 * backend throughout. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/sync/lock.h"
#include "sched/sync/channel.h"
#include "sched/task/taskset.h"
#include "tests/support/tasks.h" /* test_virtual_loop, test_canceller */
#include "tests/support/twin.h"

#define MS 1000000LL

/* Works ns, then ends or fails; counts its cleanups and notes when and why it cleaned up. */
struct job {
    struct task task;
    struct loop *loop;
    int64_t ns;
    int fail_with;
    int cleanups;
    int cleanup_error;
    int64_t cleaned_at;
};

static enum coro_status job_step(struct task *t) {
    struct job *f = TASK_FRAME(t, struct job, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP(t, f->ns);
    if (f->fail_with)
        CORO_FAIL(&t->co, f->fail_with);
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    f->cleanup_error = coro_error(&t->co);
    f->cleaned_at = loop_now(f->loop);
    CORO_END(&t->co);
}

static void spawn_job(struct loop *loop, struct job *j, const char *name, int64_t ns, int fail_with,
                      struct task_set *set) {
    *j = (struct job){.loop = loop, .ns = ns, .fail_with = fail_with};
    if (set)
        cr_assert_eq(task_set_spawn(set, loop_sched(loop), &j->task, job_step, name, NULL), 0);
    else
        cr_assert_eq(loop_spawn(loop, &j->task, job_step, name, NULL), 0);
}

TestSuite(cancellation,
          .description = "Does a cancelled task still clean up, and who sees its error?");

/* ---- does it clean up? ----------------------------------------------------------------------- */

/* The demo's worker: takes a slot from a pool (a queue of tokens), then the lock, then works. */
struct worker {
    struct task task;
    struct loop *loop;
    struct channel *pool;
    struct lock *lock;
    int64_t work_ns;
    void *slot;
    bool has_slot;
    bool finished;
    int cleanups;
    int64_t got_lock_at;
};

static enum coro_status worker_step(struct task *t) {
    struct worker *f = TASK_FRAME(t, struct worker, task);
    CORO_BEGIN(&t->co);
    CHANNEL_GET(t, f->pool, f->slot);
    f->has_slot = true;
    LOCK_ACQUIRE(t, f->lock);
    f->got_lock_at = loop_now(f->loop);
    LOOP_SLEEP(t, f->work_ns);
    f->finished = true;
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    if (f->has_slot)
        channel_try_put(f->pool, f->slot);
    lock_release_if_held(f->lock, t);
    CORO_END(&t->co);
}

Test(cancellation, cleanup_gives_back_lock_and_slot,
     .description = "Q: when a task holding a lock and a pool slot is cancelled in its sleep, "
                    "does its cleanup give both back so the waiting task proceeds at once?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    void *storage[1];
    static char token;
    struct channel pool;
    struct lock lock;
    channel_init(&pool, storage, 1, "pool");
    channel_try_put(&pool, &token);
    lock_init(&lock, "lock");
    struct worker a = {.loop = loop, .pool = &pool, .lock = &lock, .work_ns = 100 * MS};
    struct worker b = {.loop = loop, .pool = &pool, .lock = &lock, .work_ns = 20 * MS};
    struct test_canceller c = {.ns = 30 * MS, .target = &a.task};
    loop_spawn(loop, &a.task, worker_step, "A", NULL);
    loop_spawn(loop, &b.task, worker_step, "B", NULL);
    loop_spawn(loop, &c.task, test_canceller_step, "canceller", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(a.task.state, TASK_CANCELLED, "A ended cancelled");
    cr_assert_not(a.finished, "A's work after the sleep never ran");
    cr_assert_eq(a.cleanups, 1, "A's cleanup ran exactly once");
    cr_assert_eq(b.got_lock_at, 30 * MS,
                 "B got slot and lock at 30 ms, when A was cancelled, "
                 "not at 100 ms when A would have finished");
    cr_assert_eq(b.task.state, TASK_DONE);
    cr_assert_eq(loop_now(loop), 50 * MS, "B finished its 20 ms of work at 50 ms");
    cr_assert_null(lock.owner, "the lock is free at the end");
    cr_assert_eq(channel_length(&pool), 1, "the slot is back in the pool, once");
    loop_free(loop);
}

/* Catches a first cancel (once), then sleeps again. */
struct stubborn {
    struct task task;
    bool catch_first;
    int caught;
    int cleanups;
};

static enum coro_status stubborn_step(struct task *t) {
    struct stubborn *f = TASK_FRAME(t, struct stubborn, task);
    CORO_BEGIN(&t->co);
    if (f->catch_first) {
        TASK_AWAIT_CATCH(t, loop_sleep_begin(t, 100 * MS));
        f->caught = task_result(t);
    }
    LOOP_SLEEP(t, 100 * MS);
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

Test(cancellation, cleanup_once_when_cancelled_twice,
     .description =
         "Q: does a task cancelled twice (at one await, or at two) clean up exactly once?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct stubborn same = {0}, two = {.catch_first = true};
    loop_spawn(loop, &same.task, stubborn_step, "same-await", NULL);
    loop_spawn(loop, &two.task, stubborn_step, "two-awaits", NULL);
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(task_cancel(&same.task), 0);
    cr_assert_eq(task_cancel(&same.task), 0,
                 "a second cancel of the same wait is accepted, harmless");
    cr_assert_eq(task_cancel(&two.task), 0);
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(two.caught, -ECANCELED, "the first cancel was caught in the body");
    cr_assert_eq(two.task.state, TASK_WAITING, "and the task went on to its second sleep");
    cr_assert_eq(task_cancel(&two.task), 0, "so it can be cancelled again");
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(same.cleanups, 1, "cancelled twice at one await: one cleanup");
    cr_assert_eq(two.cleanups, 1, "cancelled at two awaits: one cleanup");
    cr_assert(same.task.state == TASK_CANCELLED && two.task.state == TASK_CANCELLED);
    cr_assert_eq(task_cancel(&same.task), -EALREADY, "a third cancel, after the end: -EALREADY");
    cr_assert_eq(same.cleanups, 1, "and still one cleanup");
    loop_free(loop);
}

/* Takes the lock, holds it hold_ns, releases it, then cancels `then_cancel` (if any). */
struct locker {
    struct task task;
    struct loop *loop;
    struct lock *lock;
    int64_t hold_ns;
    struct task *then_cancel;
    int64_t got_at; /* -1 until it holds the lock */
    bool held_in_cleanup;
    int cleanups;
};

static enum coro_status locker_step(struct task *t) {
    struct locker *f = TASK_FRAME(t, struct locker, task);
    CORO_BEGIN(&t->co);
    LOCK_ACQUIRE(t, f->lock);
    f->got_at = loop_now(f->loop);
    LOOP_SLEEP(t, f->hold_ns);
    lock_release(f->lock, t);
    if (f->then_cancel)
        task_cancel(f->then_cancel);
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    f->held_in_cleanup = f->lock->owner == t;
    lock_release_if_held(f->lock, t);
    CORO_END(&t->co);
}

Test(cancellation, handed_lock_passed_on,
     .description = "Q: when a waiter is handed the lock and cancelled before it runs, does the "
                    "lock pass on to the next waiter instead of deadlocking?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct lock lock;
    lock_init(&lock, "lock");
    struct locker a = {.loop = loop, .lock = &lock, .hold_ns = 10 * MS, .got_at = -1};
    struct locker b = {.loop = loop, .lock = &lock, .hold_ns = 10 * MS, .got_at = -1};
    struct locker c = {.loop = loop, .lock = &lock, .hold_ns = 10 * MS, .got_at = -1};
    a.then_cancel = &b.task; /* release hands the lock to b; b is cancelled before it runs */
    loop_spawn(loop, &a.task, locker_step, "A", NULL);
    loop_spawn(loop, &b.task, locker_step, "B", NULL);
    loop_spawn(loop, &c.task, locker_step, "C", NULL);
    cr_assert_eq(loop_run(loop), 0, "the loop ran out of work: nothing deadlocked");
    cr_assert_eq(b.task.state, TASK_CANCELLED);
    cr_assert_eq(b.got_at, -1, "B never ran its body with the lock it was handed");
    cr_assert_not(b.held_in_cleanup, "B's cleanup found the lock already passed on");
    cr_assert_eq(b.cleanups, 1);
    cr_assert_eq(c.got_at, 10 * MS, "C got the lock at 10 ms, the moment A released it");
    cr_assert_eq(c.task.state, TASK_DONE);
    cr_assert_null(lock.owner, "the lock is free at the end");
    loop_free(loop);
}

/* ---- who sees the error? --------------------------------------------------------------------- */

struct joiner {
    struct task task;
    struct task *other;
    bool catches;
    bool went_on;
    int seen;
    int cleanups;
};

static enum coro_status joiner_step(struct task *t) {
    struct joiner *f = TASK_FRAME(t, struct joiner, task);
    CORO_BEGIN(&t->co);
    if (f->catches)
        TASK_JOIN_CATCH(t, f->other);
    else
        TASK_JOIN(t, f->other);
    f->seen = task_result(t);
    f->went_on = true;
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

Test(
    cancellation, joiner_sees_cancelled,
    .description = "Q: what does a task joining a cancelled task see, with and without catching?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct job x;
    spawn_job(loop, &x, "x", 100 * MS, 0, NULL);
    struct joiner plain = {.other = &x.task, .seen = 1};
    struct joiner catching = {.other = &x.task, .catches = true, .seen = 1};
    loop_spawn(loop, &plain.task, joiner_step, "plain", NULL);
    loop_spawn(loop, &catching.task, joiner_step, "catching", NULL);
    struct test_canceller c = {.ns = 10 * MS, .target = &x.task};
    loop_spawn(loop, &c.task, test_canceller_step, "canceller", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(x.cleanup_error, -ECANCELED, "x cleaned up because of the cancel");
    cr_assert_eq(
        plain.task.state, TASK_CANCELLED,
        "a plain join of a cancelled task cancels the joiner too (CancelledError propagates)");
    cr_assert_not(plain.went_on, "its body after the join never ran");
    cr_assert_eq(plain.cleanups, 1, "but its cleanup did, once");
    cr_assert_eq(catching.seen, -ECANCELED, "a catching join sees -ECANCELED in its body");
    cr_assert_eq(catching.task.state, TASK_DONE, "and may go on and end normally");
    loop_free(loop);
}

struct gatherer {
    struct task task;
    struct task_set *set;
    bool group;
    int result;
    size_t ended_at_return;
};

static enum coro_status gatherer_step(struct task *t) {
    struct gatherer *f = TASK_FRAME(t, struct gatherer, task);
    CORO_BEGIN(&t->co);
    if (f->group)
        TASK_GROUP_WAIT(t, f->set);
    else
        TASK_GATHER(t, f->set);
    f->result = task_result(t);
    f->ended_at_return = f->set->ended;
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(cancellation, gather_sees_every_error,
     .description = "Q: does gather hand back every member's result and error, cancels included, "
                    "in member order?") {
    char report[256] = "";
    FILE *out = fmemopen(report, sizeof report, "w");
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.report = out});
    struct task_set set;
    struct task *storage[4];
    task_set_init(&set, storage, 4, false);
    struct job m[4];
    spawn_job(loop, &m[0], "m0", 40 * MS, 0, &set);
    spawn_job(loop, &m[1], "m1", 10 * MS, -EIO, &set);
    spawn_job(loop, &m[2], "m2", 30 * MS, 0, &set);
    spawn_job(loop, &m[3], "m3", 20 * MS, 0, &set);
    struct test_canceller c = {.ns = 5 * MS, .target = &m[2].task};
    loop_spawn(loop, &c.task, test_canceller_step, "canceller", NULL);
    struct gatherer g = {.set = &set, .result = 1};
    loop_spawn(loop, &g.task, gatherer_step, "gather", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(g.result, 0, "gather itself reports 0: the errors are in the members");
    cr_assert_eq(g.ended_at_return, 4, "it returned once every member had ended");
    int expect[] = {0, -EIO, -ECANCELED, 0};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(m[i].task.error, expect[i],
                     "member %d's error is %d (got %d), in member order", i, expect[i],
                     m[i].task.error);
    cr_assert(m[0].cleanups == 1 && m[1].cleanups == 1 && m[2].cleanups == 1 && m[3].cleanups == 1,
              "every member cleaned up once");
    cr_assert_eq(m[0].cleaned_at, 40 * MS, "the failure and the cancel did not cut m0 short");
    loop_free(loop);
    fclose(out);
    cr_assert_str_empty(report, "gather saw m1's failure, so loop_free reports nothing: %s",
                        report);
}

Test(cancellation, group_sees_first_failure,
     .description = "Q: does a task group report its first failure and cancel the rest, each "
                    "cleaning up once before the group returns?") {
    char report[256] = "";
    FILE *out = fmemopen(report, sizeof report, "w");
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.report = out});
    struct task_set set;
    struct task *storage[3];
    task_set_init(&set, storage, 3, true);
    struct job m[3];
    spawn_job(loop, &m[0], "m0", 40 * MS, 0, &set);
    spawn_job(loop, &m[1], "m1", 10 * MS, -EIO, &set);
    spawn_job(loop, &m[2], "m2", 30 * MS, -EPIPE, &set);
    struct gatherer g = {.set = &set, .group = true, .result = 1};
    loop_spawn(loop, &g.task, gatherer_step, "group", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(g.result, -EIO, "the group reports its first failure, m1's -EIO");
    cr_assert_eq(g.ended_at_return, 3, "it returned after every member had ended");
    cr_assert(m[0].task.state == TASK_CANCELLED && m[2].task.state == TASK_CANCELLED,
              "the others were cancelled (m2 never got to fail)");
    cr_assert(m[0].cleanup_error == -ECANCELED && m[2].cleanup_error == -ECANCELED,
              "and cleaned up because of that cancel");
    cr_assert(m[0].cleanups == 1 && m[1].cleanups == 1 && m[2].cleanups == 1);
    cr_assert_eq(loop_now(loop), 10 * MS, "all of it at 10 ms, when m1 failed");
    loop_free(loop);
    fclose(out);
    cr_assert_str_empty(report, "the group saw the failure: nothing to report: %s", report);
}

struct timed_waiter {
    struct task task;
    struct loop *loop;
    struct task_set *set;
    int result;
    int64_t returned_at;
    bool awaited_task_ended;
};

static enum coro_status timed_waiter_step(struct task *t) {
    struct timed_waiter *f = TASK_FRAME(t, struct timed_waiter, task);
    CORO_BEGIN(&t->co);
    LOOP_WAIT_FOR(t, f->set, 100 * MS);
    f->result = task_result(t);
    f->returned_at = loop_now(f->loop);
    f->awaited_task_ended = task_done(f->set->members[0]);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(cancellation, wait_for_sees_timeout,
     .description = "Q: does wait_for on a slow task report -ETIMEDOUT (not -ECANCELED), after "
                    "the slow task was cancelled and cleaned up?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct job slow;
    spawn_job(loop, &slow, "slow", 500 * MS, 0, NULL);
    struct task_set one;
    struct task *storage[1];
    task_set_init(&one, storage, 1, false);
    cr_assert_eq(task_set_add(&one, &slow.task), 0);
    struct timed_waiter w = {.loop = loop, .set = &one, .result = 1};
    loop_spawn(loop, &w.task, timed_waiter_step, "waiter", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(w.result, -ETIMEDOUT, "the waiter sees -ETIMEDOUT, its own error, not -ECANCELED");
    cr_assert_eq(w.returned_at, 100 * MS, "at the deadline, 100 ms");
    cr_assert(w.awaited_task_ended, "the slow task had ended before wait_for returned");
    cr_assert_eq(slow.task.error, -ECANCELED, "the slow task itself ended -ECANCELED");
    cr_assert_eq(slow.cleanups, 1, "after its cleanup ran once");
    cr_assert_eq(slow.cleaned_at, 100 * MS);
    cr_assert_eq(w.task.state, TASK_DONE, "the waiter was not cancelled: it may go on");
    loop_free(loop);
}

Test(cancellation, nobody_sees_it_report,
     .description = "Q: if nobody waits for a task, who sees its error?") {
    char report[512] = "";
    FILE *out = fmemopen(report, sizeof report, "w");
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.report = out});
    struct job orphan, dropped, joined;
    spawn_job(loop, &orphan, "orphan", 10 * MS, -EIO, NULL);
    spawn_job(loop, &dropped, "dropped", 10 * MS, 0, NULL);
    spawn_job(loop, &joined, "joined", 10 * MS, -EPIPE, NULL);
    struct joiner j = {.other = &joined.task, .catches = true, .seen = 1};
    loop_spawn(loop, &j.task, joiner_step, "joiner", NULL);
    loop_run_once(loop);
    task_cancel(&dropped.task);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_str_empty(report, "nothing is reported while the loop lives");
    loop_free(loop);
    fclose(out);
    cr_assert(strstr(report, "orphan") && strstr(report, "Input/output error"),
              "the failure nobody joined is reported at loop_free, with its task and error: %s",
              report);
    cr_assert_null(strstr(report, "dropped"),
                   "a cancel nobody joined is not a failure: not reported");
    cr_assert_null(strstr(report, "'joined'"), "a failure that was joined was seen: not reported");
    cr_assert_eq(j.seen, -EPIPE, "the joiner saw it instead");
}

/* ---- behaviour pinned beside asyncio's ------------------------------------------------------- */

/* Needs no time, only one more turn: it yields once, then ends. */
static enum coro_status instant_step(struct task *t) {
    CORO_BEGIN(&t->co);
    TASK_YIELD(t);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

struct zero_waiter {
    struct task task;
    struct task_set *set;
    int result;
};

static enum coro_status zero_waiter_step(struct task *t) {
    struct zero_waiter *f = TASK_FRAME(t, struct zero_waiter, task);
    CORO_BEGIN(&t->co);
    LOOP_WAIT_FOR(t, f->set, 0);
    f->result = task_result(t);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(cancellation, wait_for_zero_timeout_cancels_before_start,
     .description = "Q: what does wait_for with a timeout of 0 do to a task that needs no "
                    "time at all, only one more turn (asyncio: it cancels the task before it "
                    "starts)?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct task instant;
    struct task_set one;
    struct task *storage[1];
    task_set_init(&one, storage, 1, false);
    /* The waiter first: it calls wait_for before the task has had its first step. */
    struct zero_waiter w = {.set = &one, .result = 1};
    loop_spawn(loop, &w.task, zero_waiter_step, "waiter", NULL);
    cr_assert_eq(task_set_spawn(&one, loop_sched(loop), &instant, instant_step, "instant", NULL),
                 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(instant.state, TASK_CANCELLED,
                 "the task was cancelled before its first step, as in asyncio (state %d)",
                 instant.state);
    cr_assert_eq(w.result, -ETIMEDOUT, "and wait_for says -ETIMEDOUT (got %d)", w.result);
    loop_free(loop);
}

/* A parent that starts a group, then does more work in its body before the group's wait. With
 * `scope`, the group is entered as a scope of the parent (async with TaskGroup()). */
struct group_parent {
    struct task task;
    struct loop *loop;
    struct task_set *set;
    struct job kids[2];
    int64_t kid1_ns;
    int kid1_fails;
    bool scope;
    bool reached_wait;
};

static enum coro_status group_parent_step(struct task *t) {
    struct group_parent *f = TASK_FRAME(t, struct group_parent, task);
    CORO_BEGIN(&t->co);
    if (f->scope)
        cr_assert_eq(task_group_enter(t, f->set), 0);
    spawn_job(f->loop, &f->kids[0], "kid0", 50 * MS, 0, f->set);
    spawn_job(f->loop, &f->kids[1], "kid1", f->kid1_ns, f->kid1_fails, f->set);
    LOOP_SLEEP(t, 20 * MS); /* the body's own work, before the group's wait */
    f->reached_wait = true;
    TASK_GROUP_WAIT(t, f->set);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static void run_group_parent(struct group_parent *p, bool scope, int64_t kid1_ns, int kid1_fails,
                             int64_t cancel_at) {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    static struct task_set group;
    static struct task *storage[2];
    task_set_init(&group, storage, 2, true);
    *p = (struct group_parent){.loop = loop, .set = &group, .scope = scope, .kid1_ns = kid1_ns,
                               .kid1_fails = kid1_fails};
    loop_spawn(loop, &p->task, group_parent_step, "parent", NULL);
    struct test_canceller c = {.ns = cancel_at, .target = &p->task};
    if (cancel_at >= 0)
        loop_spawn(loop, &c.task, test_canceller_step, "canceller", NULL);
    struct test_joiner j = {.other = &p->task, .catches = true, .seen = 1};
    loop_spawn(loop, &j.task, test_joiner_step, "joiner", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert(task_done(&j.task), "the parent's joiner was woken");
    loop_free(loop);
}

Test(cancellation, group_scope_body_cancel_cancels_and_awaits_children,
     .description = "Q: when a group's parent is cancelled in its body, before the group's wait, "
                    "are the children cancelled and awaited before the parent ends, as "
                    "asyncio's async with TaskGroup() does?") {
    struct group_parent p;
    run_group_parent(&p, true, 50 * MS, 0, 10 * MS);
    cr_assert_eq(p.task.state, TASK_CANCELLED, "the parent ended cancelled");
    cr_assert_not(p.reached_wait, "its body was left at the sleep, before the group's wait");
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(p.kids[i].task.state, TASK_CANCELLED,
                     "child %d was cancelled by the scope's exit", i);
        cr_assert_eq(p.kids[i].cleaned_at, 10 * MS, "child %d cleaned up at 10 ms", i);
    }
}

Test(cancellation, group_scope_child_failure_cancels_the_body,
     .description = "Q: when a child fails while the parent is still in its body, is the body "
                    "cancelled at its await, and does the parent end with the child's failure, "
                    "not with -ECANCELED?") {
    struct group_parent p;
    run_group_parent(&p, true, 5 * MS, -EIO, -1);
    cr_assert_not(p.reached_wait, "the body's 20 ms sleep was cut at 5 ms");
    cr_assert_eq(p.task.state, TASK_FAILED, "the parent failed");
    cr_assert_eq(p.task.error, -EIO, "with the group's first failure, -EIO (got %d)",
                 p.task.error);
    cr_assert_eq(p.kids[0].task.state, TASK_CANCELLED, "the sibling was cancelled");
    cr_assert_eq(task_set_failures(p.set), 1, "one member failed: every one is in the set");
}

Test(cancellation, group_without_scope_protects_only_its_wait,
     .description = "Q: when a group that was not entered as a scope has its parent cancelled "
                    "in its body, what becomes of the children?") {
    struct group_parent p;
    run_group_parent(&p, false, 50 * MS, 0, 10 * MS);
    cr_assert_eq(p.task.state, TASK_CANCELLED, "the parent left through its cleanup at 10 ms");
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(p.kids[i].task.state, TASK_DONE,
                     "child %d ran on to its end: without task_group_enter the group is a plain "
                     "set, and only its wait cancels and awaits",
                     i);
        cr_assert_eq(p.kids[i].cleaned_at, 50 * MS, "child %d ended at 50 ms, after the parent", i);
    }
}

/* ---- asyncio side by side -------------------------------------------------------------------- */

/* The lines where loopschool and asyncio differ on purpose: the same event, said by each side.
 * Every other line must be the same, scene 5 included: a cancel of a joiner travels into the
 * joined task on both sides, and a shield stops it on both. */
static const char *const twin_differences[][2] = {
    /* wait_for, gather and TaskGroup wait through a future whose done-callbacks go through
     * call_soon: asyncio resumes the waiter two iterations after the last member ended. */
    {"100 ms: patient resumed 1 iteration(s) after fetch ended",
     "100 ms: patient resumed 2 iteration(s) after fetch ended"},
    {"40 ms: gather resumed 1 iteration(s) after its last member ended",
     "40 ms: gather resumed 2 iteration(s) after its last member ended"},
    /* A group reports its first failure here; asyncio raises an ExceptionGroup of all. */
    {"20 ms: group returns -EIO, its first failure",
     "20 ms: group raises an ExceptionGroup of [-EIO]"},
    /* The group's wait ends in the very tick its last member (c', cancelled) ended. */
    {"20 ms: group resumed 0 iteration(s) after its last member ended",
     "20 ms: group resumed 2 iteration(s) after its last member ended"},
};

Test(cancellation, asyncio_twin_differs_only_as_documented,
     .description = "Q: does asyncio cancel, time out, gather and group the same children the "
                    "same way, and where exactly does it differ?",
     .timeout = 30) {
    struct test_twin_output *c, *py;
    test_twin_pair("11-cancellation", &c, &py);
    cr_assert_eq(c->count, py->count, "both print the same number of lines (%zu and %zu)",
                 c->count, py->count);
    size_t differences = 0;
    for (size_t i = 0; i < c->count; i++) {
        if (strcmp(c->lines[i], py->lines[i]) == 0)
            continue;
        bool documented = false;
        for (size_t d = 0; d < sizeof twin_differences / sizeof twin_differences[0]; d++)
            documented |= strcmp(c->lines[i], twin_differences[d][0]) == 0 &&
                          strcmp(py->lines[i], twin_differences[d][1]) == 0;
        cr_assert(documented,
                  "line %zu differs only as documented: loopschool \"%s\", asyncio \"%s\"", i + 1,
                  c->lines[i], py->lines[i]);
        differences++;
    }
    cr_assert_eq(differences, 4, "each of the 4 documented differences shows, not %zu",
                 differences);
    free(c);
    free(py);
}
