/* sync_test.c — the library's own tests of lesson 10's primitives (sched/lock.*, semaphore.*,
 * queue.*): lock, condition, semaphore, event and queue, their try-variants, their dumps, every
 * handled misuse, and the promise that a waiter cancelled after being handed something (the lock,
 * a permit, a queue wake-up) passes it on. All on the virtual clock with the script backend. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/lock.h"
#include "sched/queue.h"
#include "sched/semaphore.h"

TestSuite(sync_primitives, .description = "Do the lock, condition, semaphore, event and queue "
                                          "keep their promises, even when misused or cancelled?");

#define MS INT64_C(1000000)

static struct loop *virtual_loop(struct loop_clock *clock) {
    loop_clock_init_virtual(clock, 0);
    struct loop *loop = NULL;
    struct loop_config config = {.backend = &backend_script, .clock = clock};
    cr_assert_eq(loop_new(&loop, &config), 0, "a loop on the virtual clock can be made");
    return loop;
}

/* A dump into a string: buf receives what `call` printed on the stream named `out`. */
#define DUMP_INTO(buf, call)                                                                       \
    do {                                                                                           \
        memset(buf, 0, sizeof buf);                                                                \
        FILE *out = fmemopen(buf, sizeof buf - 1, "w");                                            \
        cr_assert_not_null(out);                                                                   \
        call;                                                                                      \
        fclose(out);                                                                               \
    } while (0)

/* ---- tasks the tests use ---------------------------------------------------------------------
 * Each records what its await returned, whether its body got past the await, and how often its
 * cleanup ran, so a test can tell "handed, then passed on" from "never handed". */

struct locker {
    struct task task;
    struct lock *lock;
    int64_t hold_ns;  /* how long it holds the lock (a sleep: other tasks run meanwhile) */
    bool catching;    /* LOCK_ACQUIRE_CATCH: a cancel is handed to the body */
    int result;       /* what the acquire returned; 1 until it returns */
    bool got_it;      /* the body ran past the acquire holding the lock */
    int cleanups;
    int *order, *order_len; /* shared: who got the lock, in order */
    int id;
};

static enum coro_status locker_step(struct task *t) {
    struct locker *f = TASK_FRAME(t, struct locker, task);
    CORO_BEGIN(&t->co);
    if (f->catching)
        LOCK_ACQUIRE_CATCH(t, f->lock);
    else
        LOCK_ACQUIRE(t, f->lock);
    f->result = task_result(t);
    if (f->result != 0)
        CORO_RETURN(&t->co);
    f->got_it = f->lock->owner == t;
    if (f->order)
        f->order[(*f->order_len)++] = f->id;
    LOOP_SLEEP(t, f->hold_ns);
    cr_assert_eq(lock_release(f->lock, t), 0, "the owner's release succeeds");
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    lock_release_if_held(f->lock, t); /* a cancelled holder gives the lock back here */
    CORO_END(&t->co);
}

static void spawn_locker(struct loop *loop, struct locker *f, struct lock *l, const char *name,
                         int64_t hold_ns) {
    *f = (struct locker){.lock = l, .hold_ns = hold_ns, .result = 1};
    cr_assert_eq(loop_spawn(loop, &f->task, locker_step, name, NULL), 0);
}

struct permit_taker {
    struct task task;
    struct semaphore *sem;
    int64_t hold_ns;
    int result;
    bool admitted;
    int cleanups;
};

static enum coro_status permit_taker_step(struct task *t) {
    struct permit_taker *f = TASK_FRAME(t, struct permit_taker, task);
    CORO_BEGIN(&t->co);
    SEMAPHORE_ACQUIRE(t, f->sem);
    f->result = task_result(t);
    f->admitted = true;
    LOOP_SLEEP(t, f->hold_ns);
    cr_assert_eq(semaphore_release(f->sem), 0, "a permit taken can be given back");
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

static void spawn_taker(struct loop *loop, struct permit_taker *f, struct semaphore *s,
                        const char *name, int64_t hold_ns) {
    *f = (struct permit_taker){.sem = s, .hold_ns = hold_ns, .result = 1};
    cr_assert_eq(loop_spawn(loop, &f->task, permit_taker_step, name, NULL), 0);
}

/* Gets `want` items (or until -EPIPE), noting each. */
struct getter {
    struct task task;
    struct queue *q;
    int want;
    void *item;
    long got[16];
    int count;
    int result;
    int cleanups;
};

static enum coro_status getter_step(struct task *t) {
    struct getter *f = TASK_FRAME(t, struct getter, task);
    CORO_BEGIN(&t->co);
    while (f->count < f->want) {
        QUEUE_GET(t, f->q, f->item);
        f->result = task_result(t);
        if (f->result != 0)
            CORO_RETURN(&t->co);
        f->got[f->count++] = (long)(intptr_t)f->item;
    }
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

static void spawn_getter(struct loop *loop, struct getter *f, struct queue *q, const char *name,
                         int want) {
    *f = (struct getter){.q = q, .want = want, .result = 1};
    cr_assert_eq(loop_spawn(loop, &f->task, getter_step, name, NULL), 0);
}

/* Puts first, first + 1, ... (`count` items), noting how many went in. */
struct putter {
    struct task task;
    struct queue *q;
    long first;
    int count;
    int put;
    int result;
    int cleanups;
};

static enum coro_status putter_step(struct task *t) {
    struct putter *f = TASK_FRAME(t, struct putter, task);
    CORO_BEGIN(&t->co);
    while (f->put < f->count) {
        QUEUE_PUT(t, f->q, (void *)(intptr_t)(f->first + f->put));
        f->result = task_result(t);
        if (f->result != 0)
            CORO_RETURN(&t->co);
        f->put++;
    }
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

static void spawn_putter(struct loop *loop, struct putter *f, struct queue *q, const char *name,
                         long first, int count) {
    *f = (struct putter){.q = q, .first = first, .count = count, .result = 1};
    cr_assert_eq(loop_spawn(loop, &f->task, putter_step, name, NULL), 0);
}

/* ---- lock ------------------------------------------------------------------------------------ */

Test(sync_primitives, lock_release_not_held,
     .description = "Q: what happens when a task releases a lock it does not hold?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct lock l;
    lock_init(&l, "L");
    struct locker holder, waiter, intruder;
    spawn_locker(loop, &holder, &l, "holder", 10 * MS);
    spawn_locker(loop, &waiter, &l, "waiter", 0);
    spawn_locker(loop, &intruder, &l, "intruder", 0);
    cr_assert_eq(lock_release(&l, &intruder.task), -EPERM,
                 "releasing a free lock you do not hold is -EPERM");
    cr_assert_eq(lock_release(&l, NULL), -EPERM,
                 "releasing a free lock as nobody (NULL) is -EPERM too, not a silent success");
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(l.owner, &holder.task);
    char before[256], after[256];
    DUMP_INTO(before, lock_dump(&l, out));
    cr_assert_eq(lock_release(&l, &waiter.task), -EPERM, "a waiter's release is -EPERM");
    cr_assert_eq(lock_release(&l, NULL), -EPERM, "a NULL task's release is -EPERM");
    DUMP_INTO(after, lock_dump(&l, out));
    cr_assert_str_eq(after, before, "nothing changed: owner and waiters are as they were");
    cr_assert_eq(l.owner, &holder.task, "the holder still holds it");
    cr_assert_eq(lock_release(NULL, &holder.task), -EINVAL, "a NULL lock is -EINVAL");
    cr_assert_eq(loop_run(loop), 0);
    cr_assert(holder.got_it && waiter.got_it && intruder.got_it,
              "after the failed releases every task still got the lock in turn");
    cr_assert_null(l.owner, "and it ended free");
    loop_free(loop);
}

Test(sync_primitives, lock_try_acquire,
     .description = "Q: what does lock_try_acquire answer for a free, a held and a bad lock?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct lock l;
    lock_init(&l, NULL);
    cr_assert_str_eq(l.name, "lock", "an unnamed lock is called \"lock\" in dumps");
    struct locker a, b;
    spawn_locker(loop, &a, &l, "a", 0);
    spawn_locker(loop, &b, &l, "b", 0);
    cr_assert_eq(lock_try_acquire(&l, &a.task), 0, "a free lock is taken at once");
    cr_assert_eq(l.owner, &a.task);
    cr_assert_eq(lock_try_acquire(&l, &b.task), -EBUSY, "a held lock is -EBUSY, no waiting");
    cr_assert_eq(lock_try_acquire(&l, NULL), -EINVAL, "a NULL task is -EINVAL");
    cr_assert_eq(lock_try_acquire(NULL, &b.task), -EINVAL, "a NULL lock is -EINVAL");
    cr_assert_eq(l.owner, &a.task, "the failed tries changed nothing");
    cr_assert_eq(lock_release(&l, &a.task), 0);
    cr_assert_null(l.owner);
    /* Both tasks now run their ordinary acquire and finish. */
    cr_assert_eq(loop_run(loop), 0);
    cr_assert(a.got_it && b.got_it);
    loop_free(loop);
}

/* Acquires, then acquires again while holding it. */
struct greedy {
    struct task task;
    struct lock *lock;
    int second;
};

static enum coro_status greedy_step(struct task *t) {
    struct greedy *f = TASK_FRAME(t, struct greedy, task);
    CORO_BEGIN(&t->co);
    LOCK_ACQUIRE(t, f->lock);
    LOCK_ACQUIRE(t, f->lock);
    f->second = task_result(t);
    lock_release(f->lock, t);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(sync_primitives, lock_reacquire_is_edeadlk,
     .description = "Q: what does a task get when it acquires a lock it already holds?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct lock l;
    lock_init(&l, "L");
    struct greedy g = {.lock = &l, .second = 1};
    loop_spawn(loop, &g.task, greedy_step, "greedy", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(g.second, -EDEADLK, "-EDEADLK at once: it would wait for itself forever");
    cr_assert_eq(g.task.state, TASK_DONE);
    cr_assert_null(l.owner, "its one release freed the lock");
    loop_free(loop);
}

Test(sync_primitives, lock_dump_names_waiters,
     .description = "Q: does lock_dump name the holder and every waiter, oldest first?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct lock l;
    lock_init(&l, "accounts");
    struct locker a, b, c;
    spawn_locker(loop, &a, &l, "alice", 5 * MS);
    spawn_locker(loop, &b, &l, "bob", 0);
    spawn_locker(loop, &c, &l, "carol", 0);
    char buf[256];
    DUMP_INTO(buf, lock_dump(&l, out));
    cr_assert_str_eq(buf, "lock accounts: free, 0 waiters\n");
    cr_assert_eq(loop_run_once(loop), 0);
    DUMP_INTO(buf, lock_dump(&l, out));
    cr_assert_str_eq(buf, "lock accounts: held by alice, 2 waiters: bob, carol\n",
                     "the dump names holder and waiters in arrival order: %s", buf);
    DUMP_INTO(buf, task_dump(&b.task, out));
    cr_assert(strstr(buf, "waiting") && strstr(buf, "on accounts"),
              "task_dump says bob waits on the lock: %s", buf);
    cr_assert_eq(loop_run(loop), 0);
    loop_free(loop);
}

Test(sync_primitives, lock_handed_then_cancelled,
     .description = "Q: when the lock was handed to a task that is cancelled before it runs, "
                    "who gets it?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct lock l;
    lock_init(&l, "L");
    int order[4], len = 0;
    struct locker a, b, c;
    spawn_locker(loop, &a, &l, "a", 10 * MS);
    spawn_locker(loop, &b, &l, "b", 0);
    spawn_locker(loop, &c, &l, "c", 0);
    a.order = b.order = c.order = order;
    a.order_len = b.order_len = c.order_len = &len;
    a.id = 0, b.id = 1, c.id = 2;
    cr_assert_eq(loop_run_once(loop), 0, "a holds the lock; b and c wait");
    /* a's sleep ends; its release hands the lock to b, who is now ready but has not run. */
    while (l.owner == &a.task)
        cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(l.owner, &b.task, "the release handed the lock straight to b");
    cr_assert_eq(b.task.state, TASK_READY, "b owns it before it even runs");
    cr_assert_eq(task_cancel(&b.task), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(b.task.state, TASK_CANCELLED, "b ended cancelled");
    cr_assert_eq(b.got_it, false, "b's body never ran past the acquire");
    cr_assert_eq(b.cleanups, 1, "b's cleanup ran once");
    cr_assert_eq(c.task.state, TASK_DONE, "c was not left waiting: no deadlock");
    cr_assert(c.got_it, "b passed the lock on to c");
    cr_assert_eq(len, 2);
    cr_assert(order[0] == 0 && order[1] == 2, "the lock went a, then c");
    cr_assert_null(l.owner, "nothing is held at the end");
    loop_free(loop);
}

Test(sync_primitives, lock_handed_then_cancelled_catching,
     .description = "Q: does a catching acquire, handed the lock and then cancelled, see "
                    "-ECANCELED without holding the lock?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct lock l;
    lock_init(&l, "L");
    struct locker a, b, c;
    spawn_locker(loop, &a, &l, "a", 10 * MS);
    spawn_locker(loop, &b, &l, "b", 0);
    spawn_locker(loop, &c, &l, "c", 0);
    b.catching = true;
    cr_assert_eq(loop_run_once(loop), 0);
    while (l.owner == &a.task)
        cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(l.owner, &b.task);
    task_cancel(&b.task);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(b.result, -ECANCELED, "the body was handed -ECANCELED, got %d", b.result);
    cr_assert_eq(b.got_it, false, "and it did not hold the lock");
    cr_assert_eq(b.task.state, TASK_DONE, "the cancel was caught: b ended normally");
    cr_assert(c.got_it && c.task.state == TASK_DONE, "c got the lock b gave back");
    cr_assert_null(l.owner);
    loop_free(loop);
}

Test(sync_primitives, lock_waiter_cancelled,
     .description = "Q: does a task cancelled while waiting for the lock leave the queue without "
                    "ever getting it?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct lock l;
    lock_init(&l, "L");
    struct locker a, b, c;
    spawn_locker(loop, &a, &l, "a", 10 * MS);
    spawn_locker(loop, &b, &l, "b", 0);
    spawn_locker(loop, &c, &l, "c", 0);
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(task_cancel(&b.task), 0);
    char buf[256];
    DUMP_INTO(buf, lock_dump(&l, out));
    cr_assert_str_eq(buf, "lock L: held by a, 1 waiter: c\n", "b left the queue at once: %s", buf);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(b.task.state, TASK_CANCELLED);
    cr_assert(!b.got_it && c.got_it, "the lock went from a to c");
    cr_assert_null(l.owner);
    loop_free(loop);
}

/* ---- condition ------------------------------------------------------------------------------- */

/* Takes the lock, waits on the condition until *flag is set, notes it, releases. */
struct cond_waiter {
    struct task task;
    struct condition *cond;
    int *flag;
    int wait_result;
    bool held_after_wait;
    bool saw_flag;
    int cleanups;
    int *order, *order_len, id;
};

static enum coro_status cond_waiter_step(struct task *t) {
    struct cond_waiter *f = TASK_FRAME(t, struct cond_waiter, task);
    CORO_BEGIN(&t->co);
    LOCK_ACQUIRE(t, f->cond->lock);
    while (!*f->flag) {
        CONDITION_WAIT(t, f->cond);
        f->wait_result = task_result(t);
        f->held_after_wait = f->cond->lock->owner == t;
    }
    f->saw_flag = true;
    if (f->order)
        f->order[(*f->order_len)++] = f->id;
    lock_release(f->cond->lock, t);
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    lock_release_if_held(f->cond->lock, t);
    CORO_END(&t->co);
}

static void spawn_cond_waiter(struct loop *loop, struct cond_waiter *f, struct condition *c,
                              int *flag, const char *name) {
    *f = (struct cond_waiter){.cond = c, .flag = flag, .wait_result = 1};
    cr_assert_eq(loop_spawn(loop, &f->task, cond_waiter_step, name, NULL), 0);
}

/* Waits on the condition without holding its lock: the misuse. */
struct cond_misuser {
    struct task task;
    struct condition *cond;
    int result;
};

static enum coro_status cond_misuser_step(struct task *t) {
    struct cond_misuser *f = TASK_FRAME(t, struct cond_misuser, task);
    CORO_BEGIN(&t->co);
    CONDITION_WAIT(t, f->cond);
    f->result = task_result(t);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(sync_primitives, condition_wait_without_lock,
     .description = "Q: what does waiting on a condition without holding its lock return?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct lock l;
    lock_init(&l, "L");
    struct condition c;
    condition_init(&c, &l, "C");
    struct cond_misuser m = {.cond = &c, .result = 1};
    loop_spawn(loop, &m.task, cond_misuser_step, "misuser", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(m.result, -EPERM, "-EPERM at once: there is no lock to give up");
    cr_assert(waitq_empty(&c.waiters), "and it did not wait");
    loop_free(loop);
}

Test(sync_primitives, condition_notify_moves_to_lock,
     .description = "Q: is a notified waiter moved to the lock's queue and resumed holding the "
                    "lock, and does notify(1) wake exactly one?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct lock l;
    lock_init(&l, "L");
    struct condition c;
    condition_init(&c, &l, "ready");
    int flag = 0, order[3], len = 0;
    struct cond_waiter w[3];
    const char *names[] = {"w0", "w1", "w2"};
    for (int i = 0; i < 3; i++) {
        spawn_cond_waiter(loop, &w[i], &c, &flag, names[i]);
        w[i].order = order, w[i].order_len = &len, w[i].id = i;
    }
    cr_assert_eq(loop_run(loop), 0, "all three wait; nothing else can happen");
    char buf[256];
    DUMP_INTO(buf, condition_dump(&c, out));
    cr_assert_str_eq(buf, "condition ready on lock L: 3 waiters: w0, w1, w2\n", "%s", buf);
    cr_assert_null(l.owner, "waiting released the lock");

    /* The notifier: a task that holds the lock while it notifies (its own step runs later). */
    struct locker notifier;
    spawn_locker(loop, &notifier, &l, "notifier", 0);
    cr_assert_eq(lock_try_acquire(&l, &notifier.task), 0);
    flag = 1;
    cr_assert_eq(condition_notify(&c, 1), 1, "notify(1) moved one waiter");
    DUMP_INTO(buf, lock_dump(&l, out));
    cr_assert_str_eq(buf, "lock L: held by notifier, 1 waiter: w0\n",
                     "w0 now waits for the lock, not the condition: %s", buf);
    cr_assert_eq(w[0].task.state, TASK_WAITING, "moved, not woken: the lock is still held");
    cr_assert_eq(lock_release(&l, &notifier.task), 0);
    cr_assert_eq(l.owner, &w[0].task, "the release handed the lock to w0");
    cr_assert_eq(condition_notify_all(&c), 2, "notify_all moved the other two");
    cr_assert_eq(loop_run(loop), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(w[i].wait_result, 0, "w%d's wait returned 0", i);
        cr_assert(w[i].held_after_wait, "w%d resumed holding the lock", i);
        cr_assert(w[i].saw_flag && w[i].task.state == TASK_DONE);
    }
    cr_assert(order[0] == 0 && order[1] == 1 && order[2] == 2, "woken oldest first");
    cr_assert_null(l.owner);
    loop_free(loop);
}

Test(sync_primitives, condition_cancelled,
     .description = "Q: does a condition waiter cancelled while waiting, or after being handed "
                    "the lock, leave without it and let the others go on?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct lock l;
    lock_init(&l, "L");
    struct condition c;
    condition_init(&c, &l, "C");
    int flag = 0;
    struct cond_waiter w[3];
    spawn_cond_waiter(loop, &w[0], &c, &flag, "w0");
    spawn_cond_waiter(loop, &w[1], &c, &flag, "w1");
    spawn_cond_waiter(loop, &w[2], &c, &flag, "w2");
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(task_cancel(&w[0].task), 0, "w0 is cancelled while on the condition");
    flag = 1;
    cr_assert_eq(condition_notify_all(&c), 2, "only w1 and w2 are left to move");
    cr_assert_eq(l.owner, &w[1].task, "the free lock was handed to w1 at once");
    cr_assert_eq(task_cancel(&w[1].task), 0, "w1 is cancelled after being handed the lock");
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(w[0].task.state, TASK_CANCELLED);
    cr_assert_eq(w[1].task.state, TASK_CANCELLED);
    cr_assert(w[0].cleanups == 1 && w[1].cleanups == 1, "each cleanup ran once");
    cr_assert(!w[0].saw_flag && !w[1].saw_flag);
    cr_assert(w[2].saw_flag && w[2].task.state == TASK_DONE, "w2 got the lock w1 passed on");
    cr_assert_null(l.owner, "nothing is held at the end");
    loop_free(loop);
}

/* ---- semaphore ------------------------------------------------------------------------------- */

Test(sync_primitives, semaphore_init_bad_arguments,
     .description = "Q: which semaphore_init arguments are refused?") {
    struct semaphore s;
    cr_assert_eq(semaphore_init(NULL, 1, 0, "s"), -EINVAL, "NULL is -EINVAL");
    cr_assert_eq(semaphore_init(&s, -1, 0, "s"), -EINVAL, "a negative value is -EINVAL");
    cr_assert_eq(semaphore_init(&s, 1, -1, "s"), -EINVAL, "a negative bound is -EINVAL");
    cr_assert_eq(semaphore_init(&s, 3, 2, "s"), -EINVAL, "a bound below the value is -EINVAL");
    cr_assert_eq(semaphore_init(&s, 0, 2, NULL), 0, "a bound above the value is fine");
    cr_assert_str_eq(s.name, "semaphore");
    cr_assert_eq(semaphore_init(&s, 0, 0, "s"), 0, "zero permits, unbounded, is fine");
}

Test(sync_primitives, semaphore_bound_and_try,
     .description = "Q: what do try_acquire and release answer at zero and at the bound?") {
    struct semaphore s;
    cr_assert_eq(semaphore_init(&s, 2, 2, "pool"), 0);
    cr_assert_eq(semaphore_release(&s), -EOVERFLOW, "release past the bound is -EOVERFLOW");
    cr_assert_eq(s.value, 2, "and the count did not move");
    cr_assert_eq(semaphore_try_acquire(&s), 0);
    cr_assert_eq(semaphore_try_acquire(&s), 0);
    cr_assert_eq(semaphore_try_acquire(&s), -EAGAIN, "none free: -EAGAIN, no waiting");
    cr_assert_eq(s.value, 0);
    cr_assert_eq(semaphore_release(&s), 0);
    cr_assert_eq(semaphore_release(&s), 0);
    cr_assert_eq(semaphore_release(&s), -EOVERFLOW, "a third release of two is -EOVERFLOW");
    cr_assert_eq(s.value, 2);

    cr_assert_eq(semaphore_init(&s, INT_MAX, 0, "wide"), 0);
    cr_assert_eq(semaphore_release(&s), -EOVERFLOW,
                 "even unbounded, the count may not overflow: -EOVERFLOW");
    cr_assert_eq(s.value, INT_MAX);
    cr_assert_eq(semaphore_try_acquire(NULL), -EINVAL);
    cr_assert_eq(semaphore_release(NULL), -EINVAL);
}

Test(sync_primitives, semaphore_dump_and_fifo,
     .description = "Q: does semaphore_dump name its waiters, and are permits handed oldest "
                    "first?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct semaphore s;
    cr_assert_eq(semaphore_init(&s, 1, 1, "slots"), 0);
    struct permit_taker p[3];
    spawn_taker(loop, &p[0], &s, "p0", 10 * MS);
    spawn_taker(loop, &p[1], &s, "p1", 10 * MS);
    spawn_taker(loop, &p[2], &s, "p2", 10 * MS);
    cr_assert_eq(loop_run_once(loop), 0);
    char buf[256];
    DUMP_INTO(buf, semaphore_dump(&s, out));
    cr_assert_str_eq(buf, "semaphore slots: 0 free of 1, 2 waiters: p1, p2\n", "%s", buf);
    cr_assert_eq(semaphore_try_acquire(&s), -EAGAIN, "a try never overtakes the waiters");
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(loop_now(loop), 30 * MS, "one at a time: 3 x 10 ms");
    for (int i = 0; i < 3; i++)
        cr_assert(p[i].admitted && p[i].result == 0 && p[i].task.state == TASK_DONE);
    cr_assert_eq(s.value, 1, "every permit came back");
    loop_free(loop);
}

Test(sync_primitives, semaphore_handed_then_cancelled,
     .description = "Q: when a permit was handed to a task cancelled before it runs, does it go "
                    "to the next waiter, or back to the semaphore?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct semaphore s;
    cr_assert_eq(semaphore_init(&s, 0, 1, "S"), 0);
    struct permit_taker a, b;
    spawn_taker(loop, &a, &s, "a", 10 * MS);
    spawn_taker(loop, &b, &s, "b", 10 * MS);
    cr_assert_eq(loop_run(loop), 0, "both wait: there is no permit");
    cr_assert_eq(semaphore_release(&s), 0, "a permit appears...");
    cr_assert_eq(s.value, 0, "...and is handed to a, not counted");
    cr_assert_eq(a.task.state, TASK_READY);
    task_cancel(&a.task);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(a.task.state, TASK_CANCELLED);
    cr_assert(!a.admitted && a.cleanups == 1, "a never got past the acquire; cleanup once");
    cr_assert(b.admitted && b.task.state == TASK_DONE, "a passed the permit on to b");
    cr_assert_eq(s.value, 1, "b gave it back: the count is where it would be without a");

    /* No one left to pass it to: the give-back returns the permit to the count. */
    struct permit_taker c;
    cr_assert_eq(semaphore_try_acquire(&s), 0);
    spawn_taker(loop, &c, &s, "c", 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(semaphore_release(&s), 0);
    task_cancel(&c.task);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert(!c.admitted && c.task.state == TASK_CANCELLED);
    cr_assert_eq(s.value, 1, "the permit went back to the semaphore: none was lost");
    loop_free(loop);
}

Test(sync_primitives, semaphore_waiter_cancelled,
     .description = "Q: is a task cancelled while waiting for a permit skipped by the next "
                    "release?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct semaphore s;
    cr_assert_eq(semaphore_init(&s, 0, 0, "S"), 0);
    struct permit_taker a, b;
    spawn_taker(loop, &a, &s, "a", 0);
    spawn_taker(loop, &b, &s, "b", 0);
    cr_assert_eq(loop_run(loop), 0);
    task_cancel(&a.task);
    cr_assert_eq(semaphore_release(&s), 0);
    cr_assert_eq(b.task.state, TASK_READY, "the permit went to b: a had left the queue");
    cr_assert_eq(loop_run(loop), 0);
    cr_assert(!a.admitted && b.admitted);
    cr_assert_eq(s.value, 1);
    loop_free(loop);
}

/* ---- event ----------------------------------------------------------------------------------- */

struct event_waiter {
    struct task task;
    struct event *event;
    int result;
    uint64_t woke_tick;
};

static enum coro_status event_waiter_step(struct task *t) {
    struct event_waiter *f = TASK_FRAME(t, struct event_waiter, task);
    CORO_BEGIN(&t->co);
    EVENT_WAIT(t, f->event);
    f->result = task_result(t);
    f->woke_tick = loop_tick(t->sched->owner);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(sync_primitives, event_set_clear_wait,
     .description = "Q: does set wake every waiter, a set event not block, and clear make the "
                    "next wait block?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct event e;
    event_init(&e, "go");
    struct event_waiter w[4];
    const char *names[] = {"w0", "w1", "w2", "late"};
    for (int i = 0; i < 3; i++) {
        w[i] = (struct event_waiter){.event = &e, .result = 1};
        loop_spawn(loop, &w[i].task, event_waiter_step, names[i], NULL);
    }
    cr_assert_eq(loop_run(loop), 0);
    char buf[256];
    DUMP_INTO(buf, event_dump(&e, out));
    cr_assert_str_eq(buf, "event go: clear, 3 waiters: w0, w1, w2\n", "%s", buf);
    cr_assert_eq(event_set(&e), 3, "set woke all three");
    cr_assert_eq(event_set(&e), 0, "setting a set event wakes nobody new");
    w[3] = (struct event_waiter){.event = &e, .result = 1};
    loop_spawn(loop, &w[3].task, event_waiter_step, names[3], NULL);
    cr_assert_eq(loop_run_once(loop), 0);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(w[i].task.state, TASK_DONE, "%s ended in this one tick", names[i]);
        cr_assert_eq(w[i].result, 0);
    }
    event_clear(&e);
    struct event_waiter again = {.event = &e, .result = 1};
    loop_spawn(loop, &again.task, event_waiter_step, "again", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(again.task.state, TASK_WAITING, "after clear, a new waiter waits");
    DUMP_INTO(buf, event_dump(&e, out));
    cr_assert_str_eq(buf, "event go: clear, 1 waiter: again\n", "%s", buf);
    event_set(&e);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(again.task.state, TASK_DONE);
    loop_free(loop);
}

/* ---- queue ----------------------------------------------------------------------------------- */

Test(sync_primitives, queue_init_bad_arguments,
     .description = "Q: which queue_init arguments are refused?") {
    struct queue q;
    void *slots[4];
    cr_assert_eq(queue_init(NULL, slots, 4, "q"), -EINVAL, "a NULL queue is -EINVAL");
    cr_assert_eq(queue_init(&q, NULL, 4, "q"), -EINVAL, "NULL storage is -EINVAL");
    cr_assert_eq(queue_init(&q, slots, 0, "q"), -EINVAL, "capacity 0 is -EINVAL");
    cr_assert_eq(queue_init_unbounded(NULL, NULL, "q"), -EINVAL, "a NULL queue is -EINVAL");
    cr_assert_eq(queue_init(&q, slots, 4, NULL), 0);
    cr_assert_str_eq(q.name, "queue");
    queue_free(&q);
}

Test(sync_primitives, queue_try_variants,
     .description = "Q: do try_put and try_get say -EAGAIN when full or empty, and keep FIFO "
                    "order across the ring's wrap-around?") {
    struct queue q;
    void *slots[3];
    cr_assert_eq(queue_init(&q, slots, 3, "ring"), 0);
    void *item = (void *)1;
    cr_assert_eq(queue_try_get(&q, &item), -EAGAIN, "empty: -EAGAIN");
    cr_assert_eq(item, (void *)1, "and dest was not touched");
    long next_in = 1, next_out = 1;
    for (int round = 0; round < 5; round++) { /* 5 x (fill 3, drain 2): the head wraps often */
        while (queue_try_put(&q, (void *)(intptr_t)next_in) == 0)
            next_in++;
        cr_assert_eq(queue_length(&q), 3, "full at its bound, never past it");
        cr_assert_eq(queue_try_put(&q, (void *)99), -EAGAIN, "full: -EAGAIN");
        for (int i = 0; i < 2; i++) {
            cr_assert_eq(queue_try_get(&q, &item), 0);
            cr_assert_eq((long)(intptr_t)item, next_out, "items come out in the order put");
            next_out++;
        }
    }
    queue_free(&q);
}

Test(sync_primitives, queue_closed,
     .description = "Q: after close, does put fail with -EPIPE at once, and get drain what is "
                    "left before it says -EPIPE?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct queue q;
    void *slots[2];
    cr_assert_eq(queue_init(&q, slots, 2, "q"), 0);
    struct putter p, late_p;
    spawn_putter(loop, &p, &q, "p", 1, 3); /* puts 1 and 2, then waits while full */
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(p.put, 2);
    cr_assert_eq(p.task.state, TASK_WAITING);
    queue_close(&q);
    cr_assert_eq(queue_try_put(&q, (void *)7), -EPIPE, "try_put on a closed queue is -EPIPE");
    spawn_putter(loop, &late_p, &q, "late", 10, 1);
    struct getter g;
    spawn_getter(loop, &g, &q, "g", 10);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(p.result, -EPIPE, "the waiting putter was woken with -EPIPE");
    cr_assert_eq(late_p.result, -EPIPE, "a put after close fails at once with -EPIPE");
    cr_assert_eq(g.count, 2, "the getter drained both items left");
    cr_assert(g.got[0] == 1 && g.got[1] == 2);
    cr_assert_eq(g.result, -EPIPE, "then it was told the queue is closed");
    void *item;
    cr_assert_eq(queue_try_get(&q, &item), -EPIPE, "try_get on a closed, empty queue: -EPIPE");
    loop_free(loop);
    queue_free(&q);
}

Test(sync_primitives, queue_close_wakes_getters,
     .description = "Q: are getters waiting on an empty queue woken with -EPIPE by close?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct queue q;
    void *slots[2];
    cr_assert_eq(queue_init(&q, slots, 2, "q"), 0);
    struct getter g[2];
    spawn_getter(loop, &g[0], &q, "g0", 1);
    spawn_getter(loop, &g[1], &q, "g1", 1);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert(g[0].task.state == TASK_WAITING && g[1].task.state == TASK_WAITING);
    queue_close(&q);
    queue_close(&q); /* twice: harmless */
    cr_assert_eq(loop_run(loop), 0);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(g[i].result, -EPIPE, "g%d was told the queue is closed", i);
        cr_assert_eq(g[i].task.state, TASK_DONE);
    }
    loop_free(loop);
}

Test(sync_primitives, queue_close_with_an_item_in_flight,
     .description = "Q: two getters wait, one item is put, then the queue is closed: does the "
                    "getter that gets nothing still learn that the queue is closed?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct queue q;
    void *slots[2];
    cr_assert_eq(queue_init(&q, slots, 2, "q"), 0);
    struct getter g[2];
    spawn_getter(loop, &g[0], &q, "g0", 5);
    spawn_getter(loop, &g[1], &q, "g1", 5);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(queue_try_put(&q, (void *)7), 0, "the put wakes g0 only");
    queue_close(&q); /* the item is still in the queue: g0 has not run yet */
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(g[0].count + g[1].count, 1, "the one item was got once");
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(g[i].task.state, TASK_DONE, "g%d was not left waiting on a closed queue", i);
        cr_assert_eq(g[i].result, -EPIPE, "g%d ended on -EPIPE, after the drain", i);
    }
    loop_free(loop);
}

Test(sync_primitives, queue_dump_names_waiters,
     .description = "Q: does queue_dump show length, bound, getters and putters by name?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct queue in, out_q;
    void *in_slots[1], *out_slots[1];
    cr_assert_eq(queue_init(&in, in_slots, 1, "jobs"), 0);
    cr_assert_eq(queue_init(&out_q, out_slots, 1, "results"), 0);
    cr_assert_eq(queue_try_put(&out_q, (void *)1), 0, "results is full before anyone puts");
    struct getter g1, g2;
    struct putter p1, p2;
    spawn_getter(loop, &g1, &in, "reader-1", 1);
    spawn_getter(loop, &g2, &in, "reader-2", 1);
    spawn_putter(loop, &p1, &out_q, "writer-1", 2, 1);
    spawn_putter(loop, &p2, &out_q, "writer-2", 3, 1);
    cr_assert_eq(loop_run(loop), 0);
    char buf[256];
    DUMP_INTO(buf, queue_dump(&in, out));
    cr_assert_str_eq(buf,
                     "queue jobs: 0 items of 1; getters 2 waiters: reader-1, reader-2\n"
                     "  putters 0 waiters\n",
                     "%s", buf);
    DUMP_INTO(buf, queue_dump(&out_q, out));
    cr_assert_str_eq(buf,
                     "queue results: 1 item of 1; getters 0 waiters\n"
                     "  putters 2 waiters: writer-1, writer-2\n",
                     "%s", buf);
    queue_close(&in);
    DUMP_INTO(buf, queue_dump(&in, out));
    cr_assert(strstr(buf, "0 items of 1, closed"), "a closed queue says so: %s", buf);
    queue_close(&out_q);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert(g1.result == -EPIPE && g2.result == -EPIPE && p1.result == -EPIPE &&
              p2.result == -EPIPE, "closing woke everyone with -EPIPE");
    loop_free(loop);
}

Test(sync_primitives, queue_getter_wakeup_handed_then_cancelled,
     .description = "Q: when the getter woken for an item is cancelled before it runs, does the "
                    "next getter get the item?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct queue q;
    void *slots[4];
    cr_assert_eq(queue_init(&q, slots, 4, "q"), 0);
    struct getter a, b;
    spawn_getter(loop, &a, &q, "a", 1);
    spawn_getter(loop, &b, &q, "b", 1);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(queue_try_put(&q, (void *)42), 0);
    cr_assert_eq(a.task.state, TASK_READY, "the put woke a");
    cr_assert_eq(b.task.state, TASK_WAITING, "and only a");
    task_cancel(&a.task);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(a.task.state, TASK_CANCELLED);
    cr_assert_eq(a.count, 0, "a took nothing");
    cr_assert_eq(b.count, 1, "a passed its wake-up on: b got the item instead of sleeping "
                             "beside it");
    cr_assert_eq(b.got[0], 42);
    cr_assert_eq(queue_length(&q), 0, "nothing was lost or left behind");
    loop_free(loop);
}

Test(sync_primitives, queue_putter_wakeup_handed_then_cancelled,
     .description = "Q: when the putter woken for a free slot is cancelled before it runs, does "
                    "the next putter get the slot?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct queue q;
    void *slots[1];
    cr_assert_eq(queue_init(&q, slots, 1, "q"), 0);
    cr_assert_eq(queue_try_put(&q, (void *)1), 0);
    struct putter a, b;
    spawn_putter(loop, &a, &q, "a", 100, 1);
    spawn_putter(loop, &b, &q, "b", 200, 1);
    cr_assert_eq(loop_run(loop), 0);
    void *item;
    cr_assert_eq(queue_try_get(&q, &item), 0);
    cr_assert_eq(a.task.state, TASK_READY, "the get woke a");
    task_cancel(&a.task);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(a.task.state, TASK_CANCELLED);
    cr_assert_eq(a.put, 0);
    cr_assert_eq(b.put, 1, "b got the slot a was woken for");
    cr_assert_eq(queue_try_get(&q, &item), 0);
    cr_assert_eq((long)(intptr_t)item, 200);
    loop_free(loop);
}

Test(sync_primitives, queue_woken_getter_overtaken,
     .description = "Q: if a running task takes the item a woken getter was woken for, does the "
                    "getter simply wait again?") {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock);
    struct queue q;
    void *slots[2];
    cr_assert_eq(queue_init(&q, slots, 2, "q"), 0);
    struct getter a;
    spawn_getter(loop, &a, &q, "a", 1);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(queue_try_put(&q, (void *)5), 0);
    void *item;
    cr_assert_eq(queue_try_get(&q, &item), 0, "someone else takes it first");
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(a.task.state, TASK_WAITING, "a looked again, found nothing, and waits again");
    cr_assert_eq(a.count, 0);
    cr_assert_eq(queue_try_put(&q, (void *)6), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert(a.count == 1 && a.got[0] == 6, "the next put reaches it");
    loop_free(loop);
}

/* An allocator that refuses to grow past `limit` bytes. */
struct stingy {
    size_t limit;
    int refusals;
};

static void *stingy_resize(void *ctx, void *ptr, size_t size) {
    struct stingy *s = ctx;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    if (size > s->limit) {
        s->refusals++;
        return NULL;
    }
    return realloc(ptr, size);
}

Test(sync_primitives, queue_unbounded,
     .description = "Q: does an unbounded queue grow and keep order, and fail cleanly with "
                    "-ENOMEM when it cannot?") {
    struct stingy budget = {.limit = 64 * sizeof(void *)};
    struct sched_alloc alloc = {.resize = stingy_resize, .ctx = &budget};
    struct queue q;
    cr_assert_eq(queue_init_unbounded(&q, &alloc, "u"), 0);
    long in = 0, out = 0;
    void *item;
    for (int i = 0; i < 10; i++) /* a head away from 0, so growing must unroll the ring */
        cr_assert_eq(queue_try_put(&q, (void *)(intptr_t)in++), 0);
    for (int i = 0; i < 7; i++) {
        cr_assert_eq(queue_try_get(&q, &item), 0);
        cr_assert_eq((long)(intptr_t)item, out++);
    }
    while (queue_length(&q) < 64)
        cr_assert_eq(queue_try_put(&q, (void *)(intptr_t)in++), 0, "it grows instead of waiting");
    cr_assert_eq(queue_try_put(&q, (void *)(intptr_t)in), -ENOMEM,
                 "no memory to grow: -ENOMEM");
    cr_assert_eq(budget.refusals, 1);
    cr_assert_eq(queue_length(&q), 64, "and the queue is as it was");
    while (queue_try_get(&q, &item) == 0)
        cr_assert_eq((long)(intptr_t)item, out++, "order survived every growth");
    cr_assert_eq(out, in, "every item came out once");
    queue_free(&q);
}

/* Many producers and consumers with random sleeps: every item once, each producer's in order. */
static uint64_t next_random(uint64_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

struct busy_getter {
    struct task task;
    struct queue *q;
    void *item;
    long *seen;        /* seen[item]++ */
    long *last_of;     /* the last sequence number seen per producer */
    bool out_of_order;
    uint64_t seed;
    int result;
};

/* Items are producer * 1000 + sequence number. */
static void busy_getter_note(struct busy_getter *f) {
    long v = (long)(intptr_t)f->item, producer = v / 1000, seq = v % 1000;
    f->seen[v]++;
    if (seq <= f->last_of[producer])
        f->out_of_order = true;
    f->last_of[producer] = seq;
}

static enum coro_status busy_getter_step(struct task *t) {
    struct busy_getter *f = TASK_FRAME(t, struct busy_getter, task);
    CORO_BEGIN(&t->co);
    for (;;) {
        QUEUE_GET(t, f->q, f->item);
        if (task_result(t) != 0)
            break;
        busy_getter_note(f);
        LOOP_SLEEP(t, (int64_t)(next_random(&f->seed) % 3) * MS);
    }
    f->result = task_result(t);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

struct pacing_putter {
    struct task task;
    struct queue *q;
    long base;
    int count, i;
    uint64_t seed;
};

static enum coro_status pacing_putter_step(struct task *t) {
    struct pacing_putter *f = TASK_FRAME(t, struct pacing_putter, task);
    CORO_BEGIN(&t->co);
    for (f->i = 0; f->i < f->count; f->i++) {
        QUEUE_PUT(t, f->q, (void *)(intptr_t)(f->base + f->i));
        cr_assert_eq(task_result(t), 0);
        if (next_random(&f->seed) % 2)
            LOOP_SLEEP(t, (int64_t)(next_random(&f->seed) % 2) * MS);
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

struct bound_watch {
    struct queue *q;
    size_t max_len;
};

static void watch_bound(void *ctx, struct loop *loop, const struct runnable *r, int64_t ran_ns) {
    (void)loop, (void)r, (void)ran_ns;
    struct bound_watch *w = ctx;
    if (queue_length(w->q) > w->max_len)
        w->max_len = queue_length(w->q);
}

Test(sync_primitives, queue_many_to_many,
     .description = "Q: with 4 producers and 3 consumers at random paces, is every item got "
                    "exactly once, each producer's in order, and the bound never passed?") {
    enum { PRODUCERS = 4, CONSUMERS = 3, EACH = 150, CAPACITY = 5 };
    struct queue q;
    void *slots[CAPACITY];
    cr_assert_eq(queue_init(&q, slots, CAPACITY, "q"), 0);
    struct bound_watch watch = {.q = &q};
    struct loop_clock clock;
    loop_clock_init_virtual(&clock, 0);
    struct loop_config config = {.backend = &backend_script, .clock = &clock,
                                 .hooks = {.ctx = &watch, .after_run = watch_bound}};
    struct loop *loop;
    cr_assert_eq(loop_new(&loop, &config), 0);
    static long seen[PRODUCERS * 1000];
    long last_of[PRODUCERS];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < PRODUCERS; i++)
        last_of[i] = -1;
    struct pacing_putter p[PRODUCERS];
    struct busy_getter g[CONSUMERS];
    for (int i = 0; i < PRODUCERS; i++) {
        p[i] = (struct pacing_putter){.q = &q, .base = i * 1000, .count = EACH,
                                      .seed = 0x9e3779b97f4a7c15u + (uint64_t)i};
        loop_spawn(loop, &p[i].task, pacing_putter_step, "producer", NULL);
    }
    for (int i = 0; i < CONSUMERS; i++) {
        g[i] = (struct busy_getter){.q = &q, .seen = seen, .last_of = last_of,
                                    .seed = 0x12345u + (uint64_t)i, .result = 1};
        loop_spawn(loop, &g[i].task, busy_getter_step, "consumer", NULL);
    }
    for (int i = 0; i < PRODUCERS; i++)
        cr_assert_eq(loop_run_until_complete(loop, &p[i].task), 0);
    queue_close(&q);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(watch.max_len, CAPACITY, "the queue filled up to its bound of %d, never past it",
                 CAPACITY);
    for (int i = 0; i < PRODUCERS; i++)
        for (int k = 0; k < EACH; k++)
            cr_assert_eq(seen[i * 1000 + k], 1, "item %d of producer %d was got exactly once", k,
                         i);
    for (int i = 0; i < CONSUMERS; i++) {
        cr_assert(!g[i].out_of_order, "consumer %d saw each producer's items in order", i);
        cr_assert_eq(g[i].result, -EPIPE, "after the close, consumer %d drained and stopped", i);
    }
    loop_free(loop);
}
