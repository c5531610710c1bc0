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
#include "sched/lock.h"
#include "sched/queue.h"
#include "sched/semaphore.h"
#include "sched/taskset.h"

#define MS     1000000LL
#define SECOND (1000 * MS)

static struct loop *virtual_loop(struct loop_clock *clock, const struct sched_alloc *alloc) {
    loop_clock_init_virtual(clock, 0);
    struct loop *loop = NULL;
    struct loop_config config = {.backend = &backend_script, .clock = clock, .alloc = alloc};
    cr_assert_eq(loop_new(&loop, &config), 0, "a loop on the virtual clock can be made");
    return loop;
}

/* ---- tasks every test below reuses ----------------------------------------------------------- */

/* Works (sleeps) for ns, then succeeds or fails with fail_with. A catching napper swallows a
 * cancel and works on for linger_ns before it ends (as `except CancelledError:` would). */
struct napper {
    struct task task;
    struct loop *loop;
    int64_t ns;
    int fail_with;
    bool catches;
    int64_t linger_ns;
    int caught;
    int cleanups;
    int64_t ended_at;
};

static enum coro_status napper_step(struct task *t) {
    struct napper *f = TASK_FRAME(t, struct napper, task);
    CORO_BEGIN(&t->co);
    if (f->catches) {
        TASK_AWAIT_CATCH(t, loop_sleep_begin(t, f->ns));
        f->caught = task_result(t);
        if (f->caught == -ECANCELED)
            LOOP_SLEEP(t, f->linger_ns);
    } else {
        LOOP_SLEEP(t, f->ns);
    }
    if (f->fail_with)
        CORO_FAIL(&t->co, f->fail_with);
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    f->ended_at = loop_now(f->loop);
    CORO_END(&t->co);
}

static void spawn_napper(struct loop *loop, struct napper *n, const char *name, int64_t ns,
                         int fail_with) {
    *n = (struct napper){.loop = loop, .ns = ns, .fail_with = fail_with};
    cr_assert_eq(loop_spawn(loop, &n->task, napper_step, name, NULL), 0);
}

/* ---- a cancel at each kind of await ---------------------------------------------------------- */

enum await_kind {
    AWAIT_SLEEP,
    AWAIT_FD,
    AWAIT_JOIN,
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
    struct queue queue;
    void *slots[1];
    struct napper joined; /* a slow task to join */
    struct napper holder; /* unused by the napper itself: owns the lock (see lock_holder_step) */
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
    } else if (f->kind == AWAIT_JOIN) {
        TASK_JOIN(t, &w->joined.task);
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
        QUEUE_GET(t, &w->queue, f->item);
    } else {
        QUEUE_PUT(t, &w->queue, f);
    }
    f->passed_await = true;
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    f->cleanup_error = coro_error(&t->co);
    lock_release_if_held(&w->lock, t); /* the condition case may hold it again */
    CORO_END(&t->co);
}

/* Holds the world's lock for a second. */
static enum coro_status lock_holder_step(struct task *t) {
    struct napper *f = TASK_FRAME(t, struct napper, task);
    struct world *w = LIST_ENTRY(f, struct world, holder);
    CORO_BEGIN(&t->co);
    LOCK_ACQUIRE(t, &w->lock);
    LOOP_SLEEP(t, SECOND);
    lock_release(&w->lock, t);
    CORO_CLEANUP(&t->co);
    lock_release_if_held(&w->lock, t);
    CORO_END(&t->co);
}

static void world_init(struct world *w) {
    memset(w, 0, sizeof *w);
    w->loop = virtual_loop(&w->clock, NULL);
    lock_init(&w->lock, "the-lock");
    cr_assert_eq(semaphore_init(&w->sem, 0, 0, "the-semaphore"), 0);
    event_init(&w->event, "the-event");
    condition_init(&w->cond, &w->lock, "the-condition");
    cr_assert_eq(queue_init(&w->queue, w->slots, 1, "the-queue"), 0);
}

/* Parks a victim at `kind`, cancels it, and checks it ended cancelled through its cleanup, once,
 * leaving nothing registered where it waited. */
static void cancel_at(enum await_kind kind, const char *what) {
    struct world w;
    world_init(&w);
    if (kind == AWAIT_JOIN)
        spawn_napper(w.loop, &w.joined, "joined", SECOND, 0);
    if (kind == AWAIT_LOCK)
        cr_assert_eq(loop_spawn(w.loop, &w.holder.task, lock_holder_step, "holder", NULL), 0);
    if (kind == AWAIT_QUEUE_PUT)
        cr_assert_eq(queue_try_put(&w.queue, &w), 0, "the one slot is taken: put must wait");
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
    if (kind == AWAIT_JOIN)
        cr_assert(waitq_empty(&w.joined.task.joiners), "the victim left the joined task's joiners");
    if (kind == AWAIT_SLEEP)
        cr_assert_eq(loop_timer_count(w.loop), 0, "the sleep's timer was disarmed");
    if (kind == AWAIT_LOCK)
        cr_assert_eq(w.lock.owner, &w.holder.task, "the holder still holds the lock");
    if (kind == AWAIT_CONDITION)
        cr_assert_null(w.lock.owner, "a cancelled condition wait resumes WITHOUT the lock");
    if (kind == AWAIT_SEMAPHORE)
        cr_assert_eq(w.sem.value, 0, "no permit appeared or vanished");
    if (kind == AWAIT_QUEUE_PUT)
        cr_assert_eq(queue_length(&w.queue), 1, "the cancelled put added nothing");
    if (kind == AWAIT_JOIN)
        cr_assert_eq(w.joined.task.state, TASK_WAITING,
                     "cancelling a joiner leaves the joined task running");

    cr_assert_eq(loop_run(w.loop), 0);
    if (kind == AWAIT_JOIN)
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
    cancel, at_join,
    .description = "Q: does a cancel end a join with -ECANCELED and leave the joined task alone?") {
    cancel_at(AWAIT_JOIN, "join");
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

/* Catches the cancel of its first sleep, then sleeps again: the cancel was spent. */
struct catcher {
    struct task task;
    struct loop *loop;
    int caught;
    int64_t second_sleep_ended;
    int cleanups;
};

static enum coro_status catcher_step(struct task *t) {
    struct catcher *f = TASK_FRAME(t, struct catcher, task);
    CORO_BEGIN(&t->co);
    TASK_AWAIT_CATCH(t, loop_sleep_begin(t, SECOND));
    f->caught = task_result(t);
    LOOP_SLEEP(t, 10 * MS);
    f->second_sleep_ended = loop_now(f->loop);
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

Test(cancel, catch_hands_cancel_to_body,
     .description = "Q: does the _CATCH variant hand -ECANCELED to the body and let it go on?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock, NULL);
    struct catcher c = {.loop = loop, .caught = 1};
    loop_spawn(loop, &c.task, catcher_step, "catcher", NULL);
    loop_run_once(loop);
    cr_assert_eq(task_cancel(&c.task), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(c.caught, -ECANCELED, "the body received -ECANCELED from the caught await");
    cr_assert_eq(c.second_sleep_ended, 10 * MS,
                 "the cancel was spent: the next sleep ran its full 10 ms");
    cr_assert_eq(c.task.state, TASK_DONE,
                 "a task that catches its cancel can end normally (error 0)");
    cr_assert_eq(c.task.error, 0);
    cr_assert_eq(c.cleanups, 1);
    loop_free(loop);
}

/* Takes the lock, holds it for hold_ns, releases it; a catching one records what the acquire
 * returned. Optionally cancels `cancel_after_release` right after releasing. */
struct locker {
    struct task task;
    struct lock *lock;
    int64_t hold_ns;
    bool catches;
    int acquired; /* the acquire's result; 1 until it returns */
    bool held_after;
    struct task *cancel_after_release;
    int cleanups;
    int *order;
    int *order_len;
    int id;
};

static enum coro_status locker_step(struct task *t) {
    struct locker *f = TASK_FRAME(t, struct locker, task);
    CORO_BEGIN(&t->co);
    if (f->catches)
        LOCK_ACQUIRE_CATCH(t, f->lock);
    else
        LOCK_ACQUIRE(t, f->lock);
    f->acquired = task_result(t);
    f->held_after = f->lock->owner == t;
    if (f->order)
        f->order[(*f->order_len)++] = f->id;
    if (!f->held_after)
        CORO_RETURN(&t->co);
    LOOP_SLEEP(t, f->hold_ns);
    lock_release(f->lock, t);
    if (f->cancel_after_release)
        task_cancel(f->cancel_after_release);
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    lock_release_if_held(f->lock, t);
    CORO_END(&t->co);
}

Test(cancel, catch_handed_lock_passed_on,
     .description = "Q: when a catching waiter is handed the lock and cancelled before it runs, "
                    "does the lock move on?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock, NULL);
    struct lock l;
    lock_init(&l, "l");
    struct locker a = {.lock = &l, .hold_ns = 10 * MS, .acquired = 1};
    struct locker b = {.lock = &l, .hold_ns = 10 * MS, .catches = true, .acquired = 1};
    struct locker c = {.lock = &l, .hold_ns = 10 * MS, .acquired = 1};
    a.cancel_after_release = &b.task; /* b is handed the lock, then cancelled at once */
    loop_spawn(loop, &a.task, locker_step, "a", NULL);
    loop_spawn(loop, &b.task, locker_step, "b", NULL);
    loop_spawn(loop, &c.task, locker_step, "c", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(b.acquired, -ECANCELED, "the catching acquire returned -ECANCELED to the body");
    cr_assert_not(b.held_after, "b was cancelled before it ran: it does not hold the lock");
    cr_assert_eq(c.acquired, 0, "c got the lock that b was handed");
    cr_assert_eq(c.task.state, TASK_DONE);
    cr_assert_eq(b.task.state, TASK_DONE, "b caught the cancel and ended normally");
    cr_assert_null(l.owner, "the lock is free at the end");
    loop_free(loop);
}

/* Cancels itself, then does one more thing before its next await. */
struct self_canceller {
    struct task task;
    int cancel_result;
    int between;
    int after;
    int cleanups;
};

static enum coro_status self_canceller_step(struct task *t) {
    struct self_canceller *f = TASK_FRAME(t, struct self_canceller, task);
    CORO_BEGIN(&t->co);
    f->cancel_result = task_cancel(t); /* while running */
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
    struct loop *loop = virtual_loop(&clock, NULL);
    struct self_canceller s = {0};
    loop_spawn(loop, &s.task, self_canceller_step, "self", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(s.cancel_result, 0, "cancelling a running task is accepted");
    cr_assert_eq(s.between, 1, "the code up to the next await still ran");
    cr_assert_eq(s.after, 0, "the next await (a sleep) left for the cleanup");
    cr_assert_eq(s.cleanups, 1);
    cr_assert_eq(s.task.state, TASK_CANCELLED);
    cr_assert_eq(loop_now(loop), 0, "the sleep was never armed");
    loop_free(loop);
}

/* Yields, then (after `between`) sleeps. */
struct yielder {
    struct task task;
    int between;
    int after;
    int cleanups;
};

static enum coro_status yielder_step(struct task *t) {
    struct yielder *f = TASK_FRAME(t, struct yielder, task);
    CORO_BEGIN(&t->co);
    TASK_YIELD(t);
    f->between++;
    LOOP_SLEEP(t, SECOND);
    f->after++;
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

Test(cancel, ready_task_cancelled_at_next_await,
     .description = "Q: is a ready task, whose await has completed, cancelled at its next await?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock, NULL);
    struct yielder y = {0};
    loop_spawn(loop, &y.task, yielder_step, "yielder", NULL);
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

static void count_on_done(struct task *t) {
    struct napper *n = TASK_FRAME(t, struct napper, task);
    n->caught++; /* reused as an on_done counter */
}

Test(cancel, finished_task_ealready,
     .description = "Q: what does cancelling a task that has ended do?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock, NULL);
    struct napper ok = {.loop = loop, .ns = MS}, bad = {.loop = loop, .ns = MS, .fail_with = -EIO},
                  gone = {.loop = loop, .ns = SECOND};
    loop_spawn(loop, &ok.task, napper_step, "ok", count_on_done);
    loop_spawn(loop, &bad.task, napper_step, "bad", count_on_done);
    loop_spawn(loop, &gone.task, napper_step, "gone", count_on_done);
    loop_run_once(loop);
    task_cancel(&gone.task);
    struct task_set keep; /* retrieves bad's failure, so loop_free reports nothing */
    struct task *storage[1];
    task_set_init(&keep, storage, 1, false);
    task_set_add(&keep, &bad.task);
    cr_assert_eq(loop_run(loop), 0);
    struct napper *all[] = {&ok, &bad, &gone};
    enum task_state states[] = {TASK_DONE, TASK_FAILED, TASK_CANCELLED};
    int errors[] = {0, -EIO, -ECANCELED};
    for (int i = 0; i < 3; i++) {
        struct napper *n = all[i];
        cr_assert_eq(task_cancel(&n->task), -EALREADY,
                     "cancelling an ended task (%s) says -EALREADY", n->task.run.name);
        cr_assert_eq(n->task.state, states[i], "%s keeps its end state", n->task.run.name);
        cr_assert_eq(n->task.error, errors[i], "%s keeps its error", n->task.run.name);
        cr_assert_eq(n->cleanups, 1, "%s's cleanup does not run again", n->task.run.name);
        cr_assert_eq(n->caught, 1, "%s's on_done is not called again", n->task.run.name);
    }
    cr_assert_eq(loop_ready_count(loop), 0, "nothing was queued by the late cancels");
    loop_free(loop);
}

Test(cancel, cancel_twice_keeps_wait_queue,
     .description = "Q: does cancelling a lock waiter twice leave the other waiters in order?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock, NULL);
    struct lock l;
    lock_init(&l, "l");
    int order[4], len = 0;
    struct locker k[4];
    static const char *const names[] = {"k0", "k1", "k2", "k3"};
    for (int i = 0; i < 4; i++) {
        k[i] = (struct locker){.lock = &l,
                               .hold_ns = 10 * MS,
                               .acquired = 1,
                               .order = order,
                               .order_len = &len,
                               .id = i};
        loop_spawn(loop, &k[i].task, locker_step, names[i], NULL);
    }
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(task_cancel(&k[2].task), 0, "first cancel of a waiter: 0");
    cr_assert_eq(task_cancel(&k[2].task), 0, "second cancel, while it is ready: 0, harmless");
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(task_cancel(&k[2].task), -EALREADY, "third cancel, after its end: -EALREADY");
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(k[2].cleanups, 1, "k2's cleanup ran once");
    cr_assert_eq(k[2].acquired, 1, "k2's acquire never returned to its body");
    cr_assert_eq(len, 3, "the three others each got the lock once");
    cr_assert(order[0] == 0 && order[1] == 1 && order[2] == 3,
              "FIFO order survived: 0, 1, 3 (got %d %d %d)", order[0], order[1], order[2]);
    cr_assert_null(l.owner);
    loop_free(loop);
}

struct joiner {
    struct task task;
    struct task *other;
    bool catches;
    int seen; /* 1 until the join returns */
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
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

Test(cancel, before_run_skips_body_wakes_joiners,
     .description = "Q: does a task cancelled before it ran skip body and cleanup, yet still end, "
                    "call on_done and wake its joiners?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock, NULL);
    struct joiner j = {.catches = true, .seen = 1};
    struct napper never;
    j.other = &never.task;
    loop_spawn(loop, &j.task, joiner_step, "joiner", NULL); /* runs first, joins */
    never = (struct napper){.loop = loop, .ns = SECOND};
    loop_spawn(loop, &never.task, napper_step, "never", count_on_done);
    cr_assert_eq(task_cancel(&never.task), 0);
    cr_assert_eq(task_cancel(&never.task), 0, "a second cancel before it ran is harmless");
    cr_assert_eq(never.task.state, TASK_READY, "it ends when its turn comes");
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(never.task.state, TASK_CANCELLED);
    cr_assert_eq(never.cleanups, 0, "no body ran, so no cleanup ran");
    cr_assert_eq(never.caught, 1, "on_done was called once");
    cr_assert_eq(j.seen, -ECANCELED, "the joiner was woken with -ECANCELED");
    cr_assert_eq(loop_now(loop), 0, "no sleep was ever armed");
    loop_free(loop);
}

Test(cancel, late_join_of_cancelled,
     .description = "Q: what does joining a task that already ended cancelled return, with and "
                    "without catching?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock, NULL);
    struct napper gone;
    spawn_napper(loop, &gone, "gone", SECOND, 0);
    task_cancel(&gone.task);
    cr_assert_eq(loop_run(loop), 0);
    struct joiner catching = {.other = &gone.task, .catches = true, .seen = 1};
    struct joiner plain = {.other = &gone.task, .seen = 1};
    loop_spawn(loop, &catching.task, joiner_step, "catching", NULL);
    loop_spawn(loop, &plain.task, joiner_step, "plain", NULL);
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(catching.task.state, TASK_DONE, "the catching joiner ended in its first step");
    cr_assert_eq(catching.seen, -ECANCELED, "it saw -ECANCELED at once");
    cr_assert_eq(plain.task.state, TASK_CANCELLED, "the plain joiner is cancelled too, at once");
    cr_assert_eq(plain.seen, 1, "its body after the join never ran");
    cr_assert_eq(plain.cleanups, 1);
    loop_free(loop);
}

/* Takes a permit, holds it for hold_ns, gives it back. */
struct permit_user {
    struct task task;
    struct semaphore *sem;
    int64_t hold_ns;
    struct task *cancel_after_release;
    bool held;
    int got;
};

static enum coro_status permit_user_step(struct task *t) {
    struct permit_user *f = TASK_FRAME(t, struct permit_user, task);
    CORO_BEGIN(&t->co);
    SEMAPHORE_ACQUIRE(t, f->sem);
    f->held = true;
    f->got++;
    LOOP_SLEEP(t, f->hold_ns);
    f->held = false;
    semaphore_release(f->sem);
    if (f->cancel_after_release)
        task_cancel(f->cancel_after_release);
    CORO_CLEANUP(&t->co);
    if (f->held)
        semaphore_release(f->sem);
    CORO_END(&t->co);
}

Test(cancel, handed_permit_passed_on,
     .description = "Q: when a waiter handed a permit is cancelled before it runs, does the permit "
                    "reach the next waiter?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock, NULL);
    struct semaphore sem;
    semaphore_init(&sem, 1, 1, "one");
    struct permit_user a = {.sem = &sem, .hold_ns = 10 * MS}, b = {.sem = &sem, .hold_ns = 10 * MS},
                       c = {.sem = &sem, .hold_ns = 10 * MS};
    a.cancel_after_release = &b.task;
    loop_spawn(loop, &a.task, permit_user_step, "a", NULL);
    loop_spawn(loop, &b.task, permit_user_step, "b", NULL);
    loop_spawn(loop, &c.task, permit_user_step, "c", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(b.task.state, TASK_CANCELLED);
    cr_assert_eq(b.got, 0, "b, cancelled after the hand-off, never used the permit");
    cr_assert_eq(c.got, 1, "c got the permit b was handed");
    cr_assert_eq(loop_now(loop), 20 * MS, "c ran right after a: the permit was not lost");
    cr_assert_eq(sem.value, 1, "the semaphore is back to 1");
    loop_free(loop);
}

struct getter {
    struct task task;
    struct queue *q;
    void *item;
    int got;
};

static enum coro_status getter_step(struct task *t) {
    struct getter *f = TASK_FRAME(t, struct getter, task);
    CORO_BEGIN(&t->co);
    QUEUE_GET(t, f->q, f->item);
    f->got++;
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(cancel, handed_item_wake_passed_on,
     .description = "Q: when a getter woken for an item is cancelled before it runs, does the next "
                    "getter get the item?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock, NULL);
    struct queue q;
    void *slots[2];
    queue_init(&q, slots, 2, "q");
    struct getter g1 = {.q = &q}, g2 = {.q = &q};
    loop_spawn(loop, &g1.task, getter_step, "g1", NULL);
    loop_spawn(loop, &g2.task, getter_step, "g2", NULL);
    cr_assert_eq(loop_run_once(loop), 0);
    int item = 7;
    cr_assert_eq(queue_try_put(&q, &item), 0);
    cr_assert_eq(g1.task.state, TASK_READY, "the put woke the oldest getter");
    cr_assert_eq(g2.task.state, TASK_WAITING, "and only that one");
    task_cancel(&g1.task);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(g1.task.state, TASK_CANCELLED);
    cr_assert_eq(g2.got, 1, "g2 was woken in g1's place and got the item");
    cr_assert_eq(g2.item, &item);
    cr_assert_eq(queue_length(&q), 0, "nothing is left behind");
    loop_free(loop);
}

Test(cancel, misuse, .description = "Q: what do a NULL task, a self-join and a NULL join return?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock, NULL);
    cr_assert_eq(task_cancel(NULL), -EINVAL, "task_cancel(NULL) is -EINVAL");
    struct joiner self = {.catches = true, .seen = 1}, none = {.catches = true, .seen = 1};
    self.other = &self.task;
    loop_spawn(loop, &self.task, joiner_step, "self", NULL);
    loop_spawn(loop, &none.task, joiner_step, "none", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(self.seen, -EDEADLK, "joining yourself is -EDEADLK, at once");
    cr_assert_eq(none.seen, -EINVAL, "joining NULL is -EINVAL, at once");
    loop_free(loop);
}
