/* cancel_test.c — the library's own tests of cancellation (lesson 11's layer): a cancel
 * delivered at every kind of await, the catching variant, running, ready, finished and never-run
 * tasks, a second cancel, the give-backs of a lock, a permit and a queue's wake-up, and misuse.
 * Virtual clock, script backend. The combinators (gather, groups, wait_for): the file
 * cancel_combinators_test.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/sync/lock.h"
#include "sched/sync/channel.h"
#include "sched/sync/event.h"
#include "sched/sync/semaphore.h"
#include "sched/task/taskset.h"
#include "tests/support/tasks.h"

#define MS     1000000LL
#define SECOND (1000 * MS)

/* ---- a cancel at each kind of await ---------------------------------------------------------- */

enum await_kind {
    AWAIT_SLEEP,
    AWAIT_FD,
    AWAIT_SHIELD,
    AWAIT_LOCK,
    AWAIT_SEMAPHORE,
    AWAIT_EVENT,
    AWAIT_CONDITION,
    AWAIT_QUEUE_GET,
    AWAIT_QUEUE_PUT,
};

/* What a victim can wait on, all in one place. */
struct world {
    struct loop_clock clock;
    struct loop *loop;
    struct lock lock;
    struct semaphore sem;
    struct event event;
    struct condition cond;
    struct channel queue;
    void *slots[1];
    struct test_sleeper joined; /* a slow task to join */
    struct test_locker holder;  /* holds the lock for a second */
};

enum { FAKE_FD = 42 }; /* the script backend watches any number */

struct victim {
    struct task task;
    struct world *w;
    enum await_kind kind;
    struct loop_fd_wait fdw;
    void *item;
    bool passed_await;
    int cleanups;
    int cleanup_error;
};

static enum coro_status victim_step(struct task *t) {
    struct victim *f = TASK_FRAME(t, struct victim, task);
    struct world *w = f->w;
    CORO_BEGIN(&t->co);
    if (f->kind == AWAIT_SLEEP) {
        LOOP_SLEEP(t, SECOND);
    } else if (f->kind == AWAIT_FD) {
        LOOP_WAIT_READABLE(t, &f->fdw, FAKE_FD);
    } else if (f->kind == AWAIT_SHIELD) {
        TASK_SHIELD(t, &w->joined.task);
    } else if (f->kind == AWAIT_LOCK) {
        LOCK_ACQUIRE(t, &w->lock);
    } else if (f->kind == AWAIT_SEMAPHORE) {
        SEMAPHORE_ACQUIRE(t, &w->sem);
    } else if (f->kind == AWAIT_EVENT) {
        EVENT_WAIT(t, &w->event);
    } else if (f->kind == AWAIT_CONDITION) {
        LOCK_ACQUIRE(t, &w->lock);
        CONDITION_WAIT(t, &w->cond);
    } else if (f->kind == AWAIT_QUEUE_GET) {
        CHANNEL_GET(t, &w->queue, f->item);
    } else {
        CHANNEL_PUT(t, &w->queue, f);
    }
    f->passed_await = true;
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    f->cleanup_error = coro_error(&t->co);
    lock_release_if_held(&w->lock, t); /* the condition case may hold it again */
    CORO_END(&t->co);
}

static void world_init(struct world *w) {
    memset(w, 0, sizeof *w);
    w->loop = test_virtual_loop(&w->clock, NULL);
    lock_init(&w->lock, "the-lock");
    cr_assert_eq(semaphore_init(&w->sem, 0, 0, "the-semaphore"), 0);
    event_init(&w->event, "the-event");
    condition_init(&w->cond, &w->lock, "the-condition");
    cr_assert_eq(channel_init(&w->queue, w->slots, 1, "the-queue"), 0);
}

/* Parks a victim at `kind`, cancels it, and checks it ended cancelled through its cleanup, once,
 * leaving nothing registered where it waited. */
static void cancel_at(enum await_kind kind, const char *what) {
    struct world w;
    world_init(&w);
    if (kind == AWAIT_SHIELD)
        test_spawn_sleeper(w.loop, &w.joined, "joined", SECOND, 0);
    if (kind == AWAIT_LOCK)
        test_spawn_locker(w.loop, &w.holder, &w.lock, "holder", SECOND);
    if (kind == AWAIT_QUEUE_PUT)
        cr_assert_eq(channel_try_put(&w.queue, &w), 0, "the one slot is taken: put must wait");
    struct victim v = {.w = &w, .kind = kind};
    cr_assert_eq(loop_spawn(w.loop, &v.task, victim_step, "victim", NULL), 0);

    cr_assert_eq(loop_run_once(w.loop), 0);
    cr_assert_eq(v.task.state, TASK_WAITING, "the victim is parked at its await");
    cr_assert_str_eq(v.task.waiter.what, what, "it waits on %s", what);
    cr_assert_eq(task_cancel(&v.task), 0, "a cancel of a waiting task is accepted: 0");
    cr_assert_eq(v.task.state, TASK_READY, "the cancel woke it: it is ready to leave");

    cr_assert_eq(loop_run_until_complete(w.loop, &v.task), -ECANCELED);
    cr_assert_eq(v.task.state, TASK_CANCELLED, "a cancel at %s ends the task cancelled", what);
    cr_assert_eq(v.task.error, -ECANCELED);
    cr_assert_eq(v.cleanups, 1, "the cleanup ran exactly once after a cancel at %s", what);
    cr_assert_eq(v.cleanup_error, -ECANCELED, "the cleanup saw why: -ECANCELED");
    cr_assert_not(v.passed_await, "the body after the cancelled %s never ran", what);
    cr_assert_eq(loop_now(w.loop), 0, "nothing waited for the cancelled %s: still at 0 ms", what);

    /* Nothing of the victim is left where it waited. */
    cr_assert_eq(loop_watch_count(w.loop), 0, "no fd is watched for the victim");
    cr_assert(waitq_empty(&w.lock.waiters) && waitq_empty(&w.sem.waiters) &&
                  waitq_empty(&w.event.waiters) && waitq_empty(&w.cond.waiters) &&
                  waitq_empty(&w.queue.getters) && waitq_empty(&w.queue.putters),
              "the victim left every wait queue");
    if (kind == AWAIT_SHIELD)
        cr_assert(waitq_empty(&w.joined.task.joiners), "the victim left the shielded task's joiners");
    if (kind == AWAIT_SLEEP)
        cr_assert_eq(loop_timer_count(w.loop), 0, "the sleep's timer was disarmed");
    if (kind == AWAIT_LOCK)
        cr_assert_eq(w.lock.owner, &w.holder.task, "the holder still holds the lock");
    if (kind == AWAIT_CONDITION)
        cr_assert_null(w.lock.owner, "a cancelled condition wait resumes WITHOUT the lock");
    if (kind == AWAIT_SEMAPHORE)
        cr_assert_eq(w.sem.value, 0, "no permit appeared or vanished");
    if (kind == AWAIT_QUEUE_PUT)
        cr_assert_eq(channel_length(&w.queue), 1, "the cancelled put added nothing");
    if (kind == AWAIT_SHIELD)
        cr_assert_eq(w.joined.task.state, TASK_WAITING,
                     "cancelling a shield's joiner leaves the task running");

    cr_assert_eq(loop_run(w.loop), 0);
    if (kind == AWAIT_SHIELD)
        cr_assert_eq(w.joined.task.state, TASK_DONE, "the joined task ended normally, later");
    if (kind == AWAIT_LOCK)
        cr_assert_null(w.lock.owner, "the holder released the lock and nobody took it");
    loop_free(w.loop);
}

TestSuite(cancel, .description = "Does task_cancel keep every promise, at every kind of await?");

Test(cancel, at_sleep,
     .description = "Q: does a cancel end a sleep with -ECANCELED and run the cleanup once?") {
    cancel_at(AWAIT_SLEEP, "sleep");
}
Test(cancel, at_fd,
     .description = "Q: does a cancel end an fd wait with -ECANCELED and unwatch the fd?") {
    cancel_at(AWAIT_FD, "fd readable");
}
Test(
    cancel, at_shield,
    .description = "Q: does a cancel end a shielded join with -ECANCELED and leave the joined "
                   "task alone?") {
    cancel_at(AWAIT_SHIELD, "join"); /* TASK_JOIN passes the cancel down: join_cancel_test.c */
}
Test(cancel, at_lock,
     .description =
         "Q: does a cancel end a lock wait with -ECANCELED and take it off the lock's queue?") {
    cancel_at(AWAIT_LOCK, "the-lock");
}
Test(cancel, at_semaphore,
     .description = "Q: does a cancel end a semaphore wait with -ECANCELED, permits unchanged?") {
    cancel_at(AWAIT_SEMAPHORE, "the-semaphore");
}
Test(cancel, at_event, .description = "Q: does a cancel end an event wait with -ECANCELED?") {
    cancel_at(AWAIT_EVENT, "the-event");
}
Test(cancel, at_condition,
     .description = "Q: does a cancel end a condition wait with -ECANCELED, without the lock?") {
    cancel_at(AWAIT_CONDITION, "the-condition");
}
Test(cancel, at_queue_get, .description = "Q: does a cancel end a queue get with -ECANCELED?") {
    cancel_at(AWAIT_QUEUE_GET, "the-queue");
}
Test(cancel, at_queue_put,
     .description = "Q: does a cancel end a queue put with -ECANCELED, adding nothing?") {
    cancel_at(AWAIT_QUEUE_PUT, "the-queue");
}

Test(cancel, catch_hands_cancel_to_body,
     .description = "Q: does the _CATCH variant hand -ECANCELED to the body and let it go on?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    /* It catches the cancel of its first sleep, then sleeps 10 ms more: the cancel was spent. */
    struct test_sleeper c = {.ns = SECOND, .catches = true, .linger_ns = 10 * MS, .result = 1};
    loop_spawn(loop, &c.task, test_sleeper_step, "catcher", NULL);
    loop_run_once(loop);
    cr_assert_eq(task_cancel(&c.task), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(c.result, -ECANCELED, "the body received -ECANCELED from the caught await");
    cr_assert_eq(c.ended_at, 10 * MS, "the cancel was spent: the next sleep ran its full 10 ms");
    cr_assert_eq(c.task.state, TASK_DONE,
                 "a task that catches its cancel can end normally (error 0)");
    cr_assert_eq(c.task.error, 0);
    cr_assert_eq(c.cleanups, 1);
    loop_free(loop);
}

Test(cancel, catch_handed_lock_passed_on,
     .description = "Q: when a catching waiter is handed the lock and cancelled before it runs, "
                    "does the lock move on?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct lock l;
    lock_init(&l, "l");
    struct test_locker a, b, c;
    test_spawn_locker(loop, &a, &l, "a", 10 * MS);
    test_spawn_locker(loop, &b, &l, "b", 10 * MS);
    test_spawn_locker(loop, &c, &l, "c", 10 * MS);
    b.catches = true;
    a.then_cancel = &b.task; /* b is handed the lock, then cancelled at once */
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(b.result, -ECANCELED, "the catching acquire returned -ECANCELED to the body");
    cr_assert_not(b.got_it, "b was cancelled before it ran: it does not hold the lock");
    cr_assert_eq(c.result, 0, "c got the lock that b was handed");
    cr_assert_eq(c.task.state, TASK_DONE);
    cr_assert_eq(b.task.state, TASK_DONE, "b caught the cancel and ended normally");
    cr_assert_null(l.owner, "the lock is free at the end");
    loop_free(loop);
}

/* First cancels itself while running, or yields; then does one more thing (`between`) before
 * its next await, a sleep, and one more (`after`) past it. */
struct interrupted {
    struct task task;
    bool cancels_itself;
    int cancel_result;
    int between;
    int after;
    int cleanups;
};

static enum coro_status interrupted_step(struct task *t) {
    struct interrupted *f = TASK_FRAME(t, struct interrupted, task);
    CORO_BEGIN(&t->co);
    if (f->cancels_itself)
        f->cancel_result = task_cancel(t); /* while running */
    else
        TASK_YIELD(t);
    f->between++;
    LOOP_SLEEP(t, SECOND);
    f->after++;
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

Test(cancel, running_task_cancelled_at_next_await,
     .description =
         "Q: is a running task cancelled at its next await, not in the middle of its step?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct interrupted s = {.cancels_itself = true};
    loop_spawn(loop, &s.task, interrupted_step, "self", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(s.cancel_result, 0, "cancelling a running task is accepted");
    cr_assert_eq(s.between, 1, "the code up to the next await still ran");
    cr_assert_eq(s.after, 0, "the next await (a sleep) left for the cleanup");
    cr_assert_eq(s.cleanups, 1);
    cr_assert_eq(s.task.state, TASK_CANCELLED);
    cr_assert_eq(loop_now(loop), 0, "the sleep was never armed");
    loop_free(loop);
}

Test(cancel, ready_task_cancelled_at_next_await,
     .description = "Q: is a ready task, whose await has completed, cancelled at its next await?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct interrupted y = {.cancels_itself = false};
    loop_spawn(loop, &y.task, interrupted_step, "yielder", NULL);
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(y.task.state, TASK_READY, "after a yield the task is ready, not waiting");
    cr_assert_eq(task_cancel(&y.task), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(y.between, 1, "the completed yield stood: the code after it ran");
    cr_assert_eq(y.after, 0, "the next await left for the cleanup");
    cr_assert_eq(y.cleanups, 1);
    cr_assert_eq(y.task.state, TASK_CANCELLED);
    cr_assert_eq(loop_now(loop), 0, "the sleep was never armed");
    loop_free(loop);
}

Test(cancel, finished_task_ealready,
     .description = "Q: what does cancelling a task that has ended do?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct test_sleeper ok = {.ns = MS}, bad = {.ns = MS, .fail_with = -EIO}, gone = {.ns = SECOND};
    loop_spawn(loop, &ok.task, test_sleeper_step, "ok", test_sleeper_done);
    loop_spawn(loop, &bad.task, test_sleeper_step, "bad", test_sleeper_done);
    loop_spawn(loop, &gone.task, test_sleeper_step, "gone", test_sleeper_done);
    loop_run_once(loop);
    task_cancel(&gone.task);
    struct task_set keep; /* retrieves bad's failure, so loop_free reports nothing */
    struct task *storage[1];
    task_set_init(&keep, storage, 1, false);
    task_set_add(&keep, &bad.task);
    cr_assert_eq(loop_run(loop), 0);
    struct test_sleeper *all[] = {&ok, &bad, &gone};
    enum task_state states[] = {TASK_DONE, TASK_FAILED, TASK_CANCELLED};
    int errors[] = {0, -EIO, -ECANCELED};
    for (int i = 0; i < 3; i++) {
        struct test_sleeper *n = all[i];
        cr_assert_eq(task_cancel(&n->task), -EALREADY,
                     "cancelling an ended task (%s) says -EALREADY", n->task.run.name);
        cr_assert_eq(n->task.state, states[i], "%s keeps its end state", n->task.run.name);
        cr_assert_eq(n->task.error, errors[i], "%s keeps its error", n->task.run.name);
        cr_assert_eq(n->cleanups, 1, "%s's cleanup does not run again", n->task.run.name);
        cr_assert_eq(n->done_calls, 1, "%s's on_done is not called again", n->task.run.name);
    }
    cr_assert_eq(loop_ready_count(loop), 0, "nothing was queued by the late cancels");
    loop_free(loop);
}

Test(cancel, cancel_twice_keeps_wait_queue,
     .description = "Q: does cancelling a lock waiter twice leave the other waiters in order?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct lock l;
    lock_init(&l, "l");
    int order[4], len = 0;
    struct test_locker k[4];
    static const char *const names[] = {"k0", "k1", "k2", "k3"};
    for (int i = 0; i < 4; i++) {
        test_spawn_locker(loop, &k[i], &l, names[i], 10 * MS);
        k[i].order = order, k[i].order_len = &len, k[i].id = i;
    }
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(task_cancel(&k[2].task), 0, "first cancel of a waiter: 0");
    cr_assert_eq(task_cancel(&k[2].task), 0, "second cancel, while it is ready: 0, harmless");
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(task_cancel(&k[2].task), -EALREADY, "third cancel, after its end: -EALREADY");
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(k[2].cleanups, 1, "k2's cleanup ran once");
    cr_assert_eq(k[2].result, 1, "k2's acquire never returned to its body");
    cr_assert_eq(len, 3, "the three others each got the lock once");
    cr_assert(order[0] == 0 && order[1] == 1 && order[2] == 3,
              "FIFO order survived: 0, 1, 3 (got %d %d %d)", order[0], order[1], order[2]);
    cr_assert_null(l.owner);
    loop_free(loop);
}

Test(cancel, before_run_skips_body_wakes_joiners,
     .description = "Q: does a task cancelled before it ran skip body and cleanup, yet still end, "
                    "call on_done and wake its joiners?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct test_sleeper never = {.ns = SECOND};
    struct test_joiner j = {.other = &never.task, .catches = true, .seen = 1};
    loop_spawn(loop, &j.task, test_joiner_step, "joiner", NULL); /* runs first, joins */
    loop_spawn(loop, &never.task, test_sleeper_step, "never", test_sleeper_done);
    cr_assert_eq(task_cancel(&never.task), 0);
    cr_assert_eq(task_cancel(&never.task), 0, "a second cancel before it ran is harmless");
    cr_assert_eq(never.task.state, TASK_READY, "it ends when its turn comes");
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(never.task.state, TASK_CANCELLED);
    cr_assert_eq(never.cleanups, 0, "no body ran, so no cleanup ran");
    cr_assert_eq(never.done_calls, 1, "on_done was called once");
    cr_assert_eq(j.seen, -ECANCELED, "the joiner was woken with -ECANCELED");
    cr_assert_eq(loop_now(loop), 0, "no sleep was ever armed");
    loop_free(loop);
}

Test(cancel, late_join_of_cancelled,
     .description = "Q: what does joining a task that already ended cancelled return, with and "
                    "without catching?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct test_sleeper gone;
    test_spawn_sleeper(loop, &gone, "gone", SECOND, 0);
    task_cancel(&gone.task);
    cr_assert_eq(loop_run(loop), 0);
    struct test_joiner catching = {.other = &gone.task, .catches = true, .seen = 1};
    struct test_joiner plain = {.other = &gone.task, .seen = 1};
    loop_spawn(loop, &catching.task, test_joiner_step, "catching", NULL);
    loop_spawn(loop, &plain.task, test_joiner_step, "plain", NULL);
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(catching.task.state, TASK_DONE, "the catching joiner ended in its first step");
    cr_assert_eq(catching.seen, -ECANCELED, "it saw -ECANCELED at once");
    cr_assert_eq(plain.task.state, TASK_CANCELLED, "the plain joiner is cancelled too, at once");
    cr_assert_eq(plain.seen, 1, "its body after the join never ran");
    cr_assert_eq(plain.cleanups, 1);
    loop_free(loop);
}

Test(cancel, handed_permit_passed_on,
     .description = "Q: when a waiter handed a permit is cancelled before it runs, does the permit "
                    "reach the next waiter?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct semaphore sem;
    semaphore_init(&sem, 1, 1, "one");
    struct test_permit_taker a, b, c;
    test_spawn_permit_taker(loop, &a, &sem, "a", 10 * MS);
    test_spawn_permit_taker(loop, &b, &sem, "b", 10 * MS);
    test_spawn_permit_taker(loop, &c, &sem, "c", 10 * MS);
    a.then_cancel = &b.task;
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(b.task.state, TASK_CANCELLED);
    cr_assert_eq(b.admitted, 0, "b, cancelled after the hand-off, never used the permit");
    cr_assert_eq(c.admitted, 1, "c got the permit b was handed");
    cr_assert_eq(loop_now(loop), 20 * MS, "c ran right after a: the permit was not lost");
    cr_assert_eq(sem.value, 1, "the semaphore is back to 1");
    loop_free(loop);
}

Test(cancel, handed_item_wake_passed_on,
     .description = "Q: when a getter woken for an item is cancelled before it runs, does the next "
                    "getter get the item?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct channel q;
    void *slots[2];
    channel_init(&q, slots, 2, "q");
    struct test_getter g1, g2;
    test_spawn_getter(loop, &g1, &q, "g1", 1);
    test_spawn_getter(loop, &g2, &q, "g2", 1);
    cr_assert_eq(loop_run_once(loop), 0);
    int item = 7;
    cr_assert_eq(channel_try_put(&q, &item), 0);
    cr_assert_eq(g1.task.state, TASK_READY, "the put woke the oldest getter");
    cr_assert_eq(g2.task.state, TASK_WAITING, "and only that one");
    task_cancel(&g1.task);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(g1.task.state, TASK_CANCELLED);
    cr_assert_eq(g2.count, 1, "g2 was woken in g1's place and got the item");
    cr_assert_eq(g2.item, &item);
    cr_assert_eq(channel_length(&q), 0, "nothing is left behind");
    loop_free(loop);
}

Test(cancel, misuse, .description = "Q: what do a NULL task, a self-join and a NULL join return?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    cr_assert_eq(task_cancel(NULL), -EINVAL, "task_cancel(NULL) is -EINVAL");
    struct test_joiner self = {.catches = true, .seen = 1}, none = {.catches = true, .seen = 1};
    self.other = &self.task;
    loop_spawn(loop, &self.task, test_joiner_step, "self", NULL);
    loop_spawn(loop, &none.task, test_joiner_step, "none", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(self.seen, -EDEADLK, "joining yourself is -EDEADLK, at once");
    cr_assert_eq(none.seen, -EINVAL, "joining NULL is -EINVAL, at once");
    loop_free(loop);
}
