/* sync_lock_test.c — the library's own tests of lesson 10's lock and condition (sched/sync/lock.*):
 * try-acquire, re-acquire, releases by a task that does not hold the lock, the dumps, a waiter
 * cancelled in the queue or after being handed the lock, and a condition's notify, misuse and
 * cancels. Virtual clock, script backend. Semaphore and event: sync_semaphore_test.c; the queue:
 * sync_channel_test.c. All three files are suite sync_primitives, declared here. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/sync/lock.h"
#include "tests/support/tasks.h"

TestSuite(sync_primitives, .description = "Do the lock, condition, semaphore, event and queue "
                                          "keep their promises, even when misused or cancelled?");

#define MS INT64_C(1000000)

/* ---- lock ------------------------------------------------------------------------------------ */

/* Where most lock tests start: a lock and three lockers spawned on it in this order, a, b and c
 * (named as given); a runs first, takes the lock and holds it first_hold_ns, b and c queue up. */
struct three_lockers {
    struct loop_clock clock;
    struct loop *loop;
    struct lock l;
    struct test_locker a, b, c;
};

static void three_lockers_start(struct three_lockers *s, const char *lock_name, const char *name_a,
                                const char *name_b, const char *name_c, int64_t first_hold_ns) {
    s->loop = test_virtual_loop(&s->clock, NULL);
    lock_init(&s->l, lock_name);
    test_spawn_locker(s->loop, &s->a, &s->l, name_a, first_hold_ns);
    test_spawn_locker(s->loop, &s->b, &s->l, name_b, 0);
    test_spawn_locker(s->loop, &s->c, &s->l, name_c, 0);
}

Test(sync_primitives, lock_release_not_held,
     .description = "Q: what happens when a task releases a lock it does not hold?") {
    struct three_lockers s;
    three_lockers_start(&s, "L", "holder", "waiter", "intruder", 10 * MS);
    struct test_locker *holder = &s.a, *waiter = &s.b, *intruder = &s.c;
    cr_assert_eq(lock_release(&s.l, &intruder->task), -EPERM,
                 "releasing a free lock you do not hold is -EPERM");
    cr_assert_eq(lock_release(&s.l, NULL), -EPERM,
                 "releasing a free lock as nobody (NULL) is -EPERM too, not a silent success");
    cr_assert_eq(loop_run_once(s.loop), 0);
    cr_assert_eq(s.l.owner, &holder->task);
    char before[256], after[256];
    TEST_DUMP_INTO(before, lock_dump(&s.l, out));
    cr_assert_eq(lock_release(&s.l, &waiter->task), -EPERM, "a waiter's release is -EPERM");
    cr_assert_eq(lock_release(&s.l, NULL), -EPERM, "a NULL task's release is -EPERM");
    TEST_DUMP_INTO(after, lock_dump(&s.l, out));
    cr_assert_str_eq(after, before, "nothing changed: owner and waiters are as they were");
    cr_assert_eq(s.l.owner, &holder->task, "the holder still holds it");
    cr_assert_eq(lock_release(NULL, &holder->task), -EINVAL, "a NULL lock is -EINVAL");
    cr_assert_eq(loop_run(s.loop), 0);
    cr_assert(holder->got_it && waiter->got_it && intruder->got_it,
              "after the failed releases every task still got the lock in turn");
    cr_assert_null(s.l.owner, "and it ended free");
    loop_free(s.loop);
}

Test(sync_primitives, lock_try_acquire,
     .description = "Q: what does lock_try_acquire answer for a free, a held and a bad lock?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct lock l;
    lock_init(&l, NULL);
    cr_assert_str_eq(l.name, "lock", "an unnamed lock is called \"lock\" in dumps");
    struct test_locker a, b;
    test_spawn_locker(loop, &a, &l, "a", 0);
    test_spawn_locker(loop, &b, &l, "b", 0);
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
    struct loop *loop = test_virtual_loop(&clock, NULL);
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
    struct three_lockers s;
    three_lockers_start(&s, "accounts", "alice", "bob", "carol", 5 * MS);
    char buf[256];
    TEST_DUMP_INTO(buf, lock_dump(&s.l, out));
    cr_assert_str_eq(buf, "lock accounts: free, 0 waiters\n");
    cr_assert_eq(loop_run_once(s.loop), 0);
    TEST_DUMP_INTO(buf, lock_dump(&s.l, out));
    cr_assert_str_eq(buf, "lock accounts: held by alice, 2 waiters: bob, carol\n",
                     "the dump names holder and waiters in arrival order: %s", buf);
    TEST_DUMP_INTO(buf, task_dump(&s.b.task, out));
    cr_assert(strstr(buf, "waiting") && strstr(buf, "on accounts"),
              "task_dump says bob waits on the lock: %s", buf);
    cr_assert_eq(loop_run(s.loop), 0);
    loop_free(s.loop);
}

/* Runs ticks until a's sleep has ended and its release has handed the lock on. */
static void run_until_a_releases(struct three_lockers *s) {
    while (s->l.owner == &s->a.task)
        cr_assert_eq(loop_run_once(s->loop), 0);
}

Test(sync_primitives, lock_handed_then_cancelled,
     .description = "Q: when the lock was handed to a task that is cancelled before it runs, "
                    "who gets it?") {
    struct three_lockers s;
    three_lockers_start(&s, "L", "a", "b", "c", 10 * MS);
    int order[4], len = 0;
    s.a.order = s.b.order = s.c.order = order;
    s.a.order_len = s.b.order_len = s.c.order_len = &len;
    s.a.id = 0, s.b.id = 1, s.c.id = 2;
    cr_assert_eq(loop_run_once(s.loop), 0, "a holds the lock; b and c wait");
    /* a's sleep ends; its release hands the lock to b, who is now ready but has not run. */
    run_until_a_releases(&s);
    cr_assert_eq(s.l.owner, &s.b.task, "the release handed the lock straight to b");
    cr_assert_eq(s.b.task.state, TASK_READY, "b owns it before it even runs");
    cr_assert_eq(task_cancel(&s.b.task), 0);
    cr_assert_eq(loop_run(s.loop), 0);
    cr_assert_eq(s.b.task.state, TASK_CANCELLED, "b ended cancelled");
    cr_assert_eq(s.b.got_it, false, "b's body never ran past the acquire");
    cr_assert_eq(s.b.cleanups, 1, "b's cleanup ran once");
    cr_assert_eq(s.c.task.state, TASK_DONE, "c was not left waiting: no deadlock");
    cr_assert(s.c.got_it, "b passed the lock on to c");
    cr_assert_eq(len, 2);
    cr_assert(order[0] == 0 && order[1] == 2, "the lock went a, then c");
    cr_assert_null(s.l.owner, "nothing is held at the end");
    loop_free(s.loop);
}

Test(sync_primitives, lock_handed_then_cancelled_catching,
     .description = "Q: does a catching acquire, handed the lock and then cancelled, see "
                    "-ECANCELED without holding the lock?") {
    struct three_lockers s;
    three_lockers_start(&s, "L", "a", "b", "c", 10 * MS);
    s.b.catches = true;
    cr_assert_eq(loop_run_once(s.loop), 0);
    run_until_a_releases(&s);
    cr_assert_eq(s.l.owner, &s.b.task);
    task_cancel(&s.b.task);
    cr_assert_eq(loop_run(s.loop), 0);
    cr_assert_eq(s.b.result, -ECANCELED, "the body was handed -ECANCELED, got %d", s.b.result);
    cr_assert_eq(s.b.got_it, false, "and it did not hold the lock");
    cr_assert_eq(s.b.task.state, TASK_DONE, "the cancel was caught: b ended normally");
    cr_assert(s.c.got_it && s.c.task.state == TASK_DONE, "c got the lock b gave back");
    cr_assert_null(s.l.owner);
    loop_free(s.loop);
}

Test(sync_primitives, lock_waiter_cancelled,
     .description = "Q: does a task cancelled while waiting for the lock leave the queue without "
                    "ever getting it?") {
    struct three_lockers s;
    three_lockers_start(&s, "L", "a", "b", "c", 10 * MS);
    cr_assert_eq(loop_run_once(s.loop), 0);
    cr_assert_eq(task_cancel(&s.b.task), 0);
    char buf[256];
    TEST_DUMP_INTO(buf, lock_dump(&s.l, out));
    cr_assert_str_eq(buf, "lock L: held by a, 1 waiter: c\n", "b left the queue at once: %s", buf);
    cr_assert_eq(loop_run(s.loop), 0);
    cr_assert_eq(s.b.task.state, TASK_CANCELLED);
    cr_assert(!s.b.got_it && s.c.got_it, "the lock went from a to c");
    cr_assert_null(s.l.owner);
    loop_free(s.loop);
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

/* Spawns three waiters on c, named w0, w1 and w2, in that order. */
static void spawn_cond_waiters(struct loop *loop, struct cond_waiter w[3], struct condition *c,
                               int *flag) {
    static const char *const names[] = {"w0", "w1", "w2"};
    for (int i = 0; i < 3; i++) {
        w[i] = (struct cond_waiter){.cond = c, .flag = flag, .wait_result = 1};
        cr_assert_eq(loop_spawn(loop, &w[i].task, cond_waiter_step, names[i], NULL), 0);
    }
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
    struct loop *loop = test_virtual_loop(&clock, NULL);
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
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct lock l;
    lock_init(&l, "L");
    struct condition c;
    condition_init(&c, &l, "ready");
    int flag = 0, order[3], len = 0;
    struct cond_waiter w[3];
    spawn_cond_waiters(loop, w, &c, &flag);
    for (int i = 0; i < 3; i++)
        w[i].order = order, w[i].order_len = &len, w[i].id = i;
    cr_assert_eq(loop_run(loop), 0, "all three wait; nothing else can happen");
    char buf[256];
    TEST_DUMP_INTO(buf, condition_dump(&c, out));
    cr_assert_str_eq(buf, "condition ready on lock L: 3 waiters: w0, w1, w2\n", "%s", buf);
    cr_assert_null(l.owner, "waiting released the lock");

    /* The notifier: a task that holds the lock while it notifies (its own step runs later). */
    struct test_locker notifier;
    test_spawn_locker(loop, &notifier, &l, "notifier", 0);
    cr_assert_eq(lock_try_acquire(&l, &notifier.task), 0);
    flag = 1;
    cr_assert_eq(condition_notify(&c, 1), 1, "notify(1) moved one waiter");
    TEST_DUMP_INTO(buf, lock_dump(&l, out));
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
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct lock l;
    lock_init(&l, "L");
    struct condition c;
    condition_init(&c, &l, "C");
    int flag = 0;
    struct cond_waiter w[3];
    spawn_cond_waiters(loop, w, &c, &flag);
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
