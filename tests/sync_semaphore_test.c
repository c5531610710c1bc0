/* sync_semaphore_test.c — the library's own tests of lesson 10's semaphore and event
 * (sched/sync/semaphore.*): bad arguments, the bound, try-acquire, the dumps, FIFO hand-out of
 * permits, a permit handed to a task cancelled before it runs, and an event's set, clear and wait.
 * Virtual clock, script backend. Suite sync_primitives, declared in sync_lock_test.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/sync/event.h"
#include "sched/sync/semaphore.h"
#include "tests/support/tasks.h"

#define MS INT64_C(1000000)

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
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct semaphore s;
    cr_assert_eq(semaphore_init(&s, 1, 1, "slots"), 0);
    struct test_permit_taker p[3];
    test_spawn_permit_taker(loop, &p[0], &s, "p0", 10 * MS);
    test_spawn_permit_taker(loop, &p[1], &s, "p1", 10 * MS);
    test_spawn_permit_taker(loop, &p[2], &s, "p2", 10 * MS);
    cr_assert_eq(loop_run_once(loop), 0);
    char buf[256];
    TEST_DUMP_INTO(buf, semaphore_dump(&s, out));
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
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct semaphore s;
    cr_assert_eq(semaphore_init(&s, 0, 1, "S"), 0);
    struct test_permit_taker a, b;
    test_spawn_permit_taker(loop, &a, &s, "a", 10 * MS);
    test_spawn_permit_taker(loop, &b, &s, "b", 10 * MS);
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
    struct test_permit_taker c;
    cr_assert_eq(semaphore_try_acquire(&s), 0);
    test_spawn_permit_taker(loop, &c, &s, "c", 0);
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
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct semaphore s;
    cr_assert_eq(semaphore_init(&s, 0, 0, "S"), 0);
    struct test_permit_taker a, b;
    test_spawn_permit_taker(loop, &a, &s, "a", 0);
    test_spawn_permit_taker(loop, &b, &s, "b", 0);
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

Test(sync_primitives, event_set_clear_wait,
     .description = "Q: does set wake every waiter, a set event not block, and clear make the "
                    "next wait block?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct event e;
    event_init(&e, "go");
    struct test_event_waiter w[4];
    const char *names[] = {"w0", "w1", "w2", "late"};
    for (int i = 0; i < 3; i++) {
        w[i] = (struct test_event_waiter){.event = &e, .result = 1};
        loop_spawn(loop, &w[i].task, test_event_waiter_step, names[i], NULL);
    }
    cr_assert_eq(loop_run(loop), 0);
    char buf[256];
    TEST_DUMP_INTO(buf, event_dump(&e, out));
    cr_assert_str_eq(buf, "event go: clear, 3 waiters: w0, w1, w2\n", "%s", buf);
    cr_assert_eq(event_set(&e), 3, "set woke all three");
    cr_assert_eq(event_set(&e), 0, "setting a set event wakes nobody new");
    w[3] = (struct test_event_waiter){.event = &e, .result = 1};
    loop_spawn(loop, &w[3].task, test_event_waiter_step, names[3], NULL);
    cr_assert_eq(loop_run_once(loop), 0);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(w[i].task.state, TASK_DONE, "%s ended in this one tick", names[i]);
        cr_assert_eq(w[i].result, 0);
    }
    event_clear(&e);
    struct test_event_waiter again = {.event = &e, .result = 1};
    loop_spawn(loop, &again.task, test_event_waiter_step, "again", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(again.task.state, TASK_WAITING, "after clear, a new waiter waits");
    TEST_DUMP_INTO(buf, event_dump(&e, out));
    cr_assert_str_eq(buf, "event go: clear, 1 waiter: again\n", "%s", buf);
    event_set(&e);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(again.task.state, TASK_DONE);
    loop_free(loop);
}
