/* tasks.h — what the task, sync and cancellation tests share (lessons 08, 10 and 11): the virtual
 * loop and the random numbers (loop.h and random.h, included here), small task frames that sleep,
 * join, cancel, take a lock, a permit or a queue item and note what they saw, an allocator that
 * counts and refuses, and a queue-length hook. Header only, all `static inline`: a test file uses
 * what it needs and pays nothing for the rest. Names start with test_ so they never clash with a
 * test file's own frames. */
#ifndef LOOPSCHOOL_TESTS_SUPPORT_TASKS_H
#define LOOPSCHOOL_TESTS_SUPPORT_TASKS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/sync/lock.h"
#include "sched/sync/channel.h"
#include "sched/sync/event.h"
#include "sched/sync/semaphore.h"
#include "tests/support/loop.h"   /* test_virtual_loop */
#include "tests/support/random.h" /* test_random */

/* ---- dumps ---------------------------------------------------------------------------------- */

/* A dump into a string: buf (an array) receives what `call` printed on the stream named `out`. */
#define TEST_DUMP_INTO(buf, call)                                                                  \
    do {                                                                                           \
        memset(buf, 0, sizeof buf);                                                                \
        FILE *out = fmemopen(buf, sizeof buf - 1, "w");                                            \
        cr_assert_not_null(out);                                                                   \
        call;                                                                                      \
        fclose(out);                                                                               \
    } while (0)

/* An allocator for a loop's config (or an unbounded queue) that counts its calls and refuses,
 * with NULL, every request for memory while `refuse` is set or that is larger than `limit` bytes
 * (0: no limit). Freeing always works. */
struct test_alloc {
    struct sched_alloc base;
    long calls;
    bool refuse;
    size_t limit;
    int refusals;
};

static inline void *test_alloc_resize(void *ctx, void *ptr, size_t size) {
    struct test_alloc *a = ctx;
    a->calls++;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    if (a->refuse || (a->limit && size > a->limit)) {
        a->refusals++;
        return NULL;
    }
    return realloc(ptr, size);
}

static inline void test_alloc_init(struct test_alloc *a, size_t limit) {
    *a = (struct test_alloc){.base = {.resize = test_alloc_resize, .ctx = a}, .limit = limit};
}

/* A loop hook (after_run): after every single runnable, how full is the queue? */
struct test_queue_watch {
    const struct channel *q;
    size_t max;
    long samples;
};

static inline void test_queue_watch_after_run(void *ctx, struct loop *loop,
                                              const struct runnable *r, int64_t ran_ns) {
    (void)loop, (void)r, (void)ran_ns;
    struct test_queue_watch *w = ctx;
    if (channel_length(w->q) > w->max)
        w->max = channel_length(w->q);
    w->samples++;
}

/* ---- tasks that sleep, join, cancel ---------------------------------------------------------- */

/* Sleeps ns, then ends, or fails with fail_with if that is set. It notes what the sleep returned
 * (result: start it at 1 to tell "the body after the sleep never ran"), appends its id to a
 * shared log when it wakes (if log is set), and counts its cleanups, noting when the last one
 * ran. A catching sleeper swallows a cancel of its sleep and works on for linger_ns more, as
 * `except CancelledError:` would. */
struct test_sleeper {
    struct task task;
    int64_t ns;
    int fail_with;
    bool catches;
    int64_t linger_ns;
    int result;
    int *log, *log_len, id;
    int cleanups;
    int64_t ended_at;
    int done_calls; /* how often test_sleeper_done, given as its on_done, was called */
};

static inline enum coro_status test_sleeper_step(struct task *t) {
    struct test_sleeper *f = TASK_FRAME(t, struct test_sleeper, task);
    CORO_BEGIN(&t->co);
    if (f->catches) {
        TASK_AWAIT_CATCH(t, loop_sleep_begin(t, f->ns));
        f->result = task_result(t);
        if (f->result == -ECANCELED)
            LOOP_SLEEP(t, f->linger_ns);
    } else {
        LOOP_SLEEP(t, f->ns);
        f->result = task_result(t);
    }
    if (f->log)
        f->log[(*f->log_len)++] = f->id;
    if (f->fail_with)
        CORO_FAIL(&t->co, f->fail_with);
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    f->ended_at = loop_now(task_loop(t));
    CORO_END(&t->co);
}

static inline void test_sleeper_done(struct task *t) {
    TASK_FRAME(t, struct test_sleeper, task)->done_calls++;
}

static inline void test_spawn_sleeper(struct loop *loop, struct test_sleeper *f, const char *name,
                                      int64_t ns, int fail_with) {
    *f = (struct test_sleeper){.ns = ns, .fail_with = fail_with};
    cr_assert_eq(loop_spawn(loop, &f->task, test_sleeper_step, name, NULL), 0);
}

/* Joins `other` and notes what the join returned (seen: start it at 1 to tell "never returned").
 * A catching joiner is handed even -ECANCELED; a plain one leaves for its cleanup on it. */
struct test_joiner {
    struct task task;
    struct task *other;
    bool catches;
    int seen;
    int cleanups;
};

static inline enum coro_status test_joiner_step(struct task *t) {
    struct test_joiner *f = TASK_FRAME(t, struct test_joiner, task);
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

/* Sleeps ns, then cancels target: a cancel that arrives at a chosen moment. */
struct test_canceller {
    struct task task;
    int64_t ns;
    struct task *target;
    int returned; /* what task_cancel returned */
};

static inline enum coro_status test_canceller_step(struct task *t) {
    struct test_canceller *f = TASK_FRAME(t, struct test_canceller, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP(t, f->ns);
    f->returned = task_cancel(f->target);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* ---- tasks that take a lock, a permit, an item or an event -----------------------------------
 * Each records what its await returned, whether its body got past the await, and how often its
 * cleanup ran, so a test can tell "handed, then passed on" from "never handed". */

/* Takes the lock, holds it hold_ns (a sleep: other tasks run meanwhile), releases it, then
 * cancels then_cancel if that is set. A catching locker is handed a cancel of its acquire. If
 * order is set, it appends its id there when it gets the lock. */
struct test_locker {
    struct task task;
    struct lock *lock;
    int64_t hold_ns;
    bool catches;
    int result;  /* what the acquire returned; 1 until it returns */
    bool got_it; /* it held the lock when its acquire returned */
    struct task *then_cancel;
    int cleanups;
    int *order, *order_len, id;
};

static inline enum coro_status test_locker_step(struct task *t) {
    struct test_locker *f = TASK_FRAME(t, struct test_locker, task);
    CORO_BEGIN(&t->co);
    if (f->catches)
        LOCK_ACQUIRE_CATCH(t, f->lock);
    else
        LOCK_ACQUIRE(t, f->lock);
    f->result = task_result(t);
    f->got_it = f->lock->owner == t;
    if (f->result != 0 || !f->got_it)
        CORO_RETURN(&t->co);
    if (f->order)
        f->order[(*f->order_len)++] = f->id;
    LOOP_SLEEP(t, f->hold_ns);
    cr_assert_eq(lock_release(f->lock, t), 0, "the owner's release succeeds");
    if (f->then_cancel)
        task_cancel(f->then_cancel);
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    lock_release_if_held(f->lock, t); /* a cancelled holder gives the lock back here */
    CORO_END(&t->co);
}

static inline void test_spawn_locker(struct loop *loop, struct test_locker *f, struct lock *l,
                                     const char *name, int64_t hold_ns) {
    *f = (struct test_locker){.lock = l, .hold_ns = hold_ns, .result = 1};
    cr_assert_eq(loop_spawn(loop, &f->task, test_locker_step, name, NULL), 0);
}

/* Takes a permit, holds it hold_ns, gives it back, then cancels then_cancel if that is set. */
struct test_permit_taker {
    struct task task;
    struct semaphore *sem;
    int64_t hold_ns;
    struct task *then_cancel;
    int result;   /* what the acquire returned; 1 until it returns */
    int admitted; /* how often it got past the acquire: 0 or 1 */
    bool holds;
    int cleanups;
};

static inline enum coro_status test_permit_taker_step(struct task *t) {
    struct test_permit_taker *f = TASK_FRAME(t, struct test_permit_taker, task);
    CORO_BEGIN(&t->co);
    SEMAPHORE_ACQUIRE(t, f->sem);
    f->result = task_result(t);
    f->admitted++;
    f->holds = true;
    LOOP_SLEEP(t, f->hold_ns);
    f->holds = false;
    cr_assert_eq(semaphore_release(f->sem), 0, "a permit taken can be given back");
    if (f->then_cancel)
        task_cancel(f->then_cancel);
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    if (f->holds)
        semaphore_release(f->sem);
    CORO_END(&t->co);
}

static inline void test_spawn_permit_taker(struct loop *loop, struct test_permit_taker *f,
                                           struct semaphore *s, const char *name, int64_t hold_ns) {
    *f = (struct test_permit_taker){.sem = s, .hold_ns = hold_ns, .result = 1};
    cr_assert_eq(loop_spawn(loop, &f->task, test_permit_taker_step, name, NULL), 0);
}

/* Gets `want` items (or stops at the first error, -EPIPE once the queue is closed), noting each
 * item, as a number, in got[]; item is the last one got. */
struct test_getter {
    struct task task;
    struct channel *q;
    int want;
    void *item;
    long got[16];
    int count;
    int result; /* what the last get returned; 1 until one returns */
    int cleanups;
};

static inline enum coro_status test_getter_step(struct task *t) {
    struct test_getter *f = TASK_FRAME(t, struct test_getter, task);
    CORO_BEGIN(&t->co);
    while (f->count < f->want) {
        CHANNEL_GET(t, f->q, f->item);
        f->result = task_result(t);
        if (f->result != 0)
            CORO_RETURN(&t->co);
        f->got[f->count++] = (long)(intptr_t)f->item;
    }
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

static inline void test_spawn_getter(struct loop *loop, struct test_getter *f, struct channel *q,
                                     const char *name, int want) {
    *f = (struct test_getter){.q = q, .want = want, .result = 1};
    cr_assert_eq(loop_spawn(loop, &f->task, test_getter_step, name, NULL), 0);
}

/* Waits for the event, noting what the wait returned (result: start it at 1 to tell "never
 * returned"). */
struct test_event_waiter {
    struct task task;
    struct event *event;
    int result;
    int cleanups;
};

static inline enum coro_status test_event_waiter_step(struct task *t) {
    struct test_event_waiter *f = TASK_FRAME(t, struct test_event_waiter, task);
    CORO_BEGIN(&t->co);
    EVENT_WAIT(t, f->event);
    f->result = task_result(t);
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

#endif
