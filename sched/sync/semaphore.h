/* semaphore.h — a counting semaphore for tasks, as asyncio.Semaphore / BoundedSemaphore
 * (lesson 10). It waits through the one wait-queue mechanism; a released permit is handed to
 * the oldest waiter. */
#ifndef LOOPSCHOOL_SEMAPHORE_H
#define LOOPSCHOOL_SEMAPHORE_H

#include "sched/task/task.h"

struct semaphore {
    int value; /* permits free now */
    int bound; /* 0: unbounded; else releasing past it is an error (BoundedSemaphore) */
    struct waitq waiters;
    const char *name;
};

/* -EINVAL for NULL, a negative value or bound, or a bound below the value. */
int semaphore_init(struct semaphore *s, int value, int bound, const char *name);
/* Take a permit, waiting while none is free. Result 0. */
#define SEMAPHORE_ACQUIRE(t, s)       TASK_AWAIT(t, semaphore_acquire_begin((t), (s)))
#define SEMAPHORE_ACQUIRE_CATCH(t, s) TASK_AWAIT_CATCH(t, semaphore_acquire_begin((t), (s)))
bool semaphore_acquire_begin(struct task *t, struct semaphore *s);
/* Without waiting: 0, or -EAGAIN (a waiter is never overtaken: none is free while any waits). */
int semaphore_try_acquire(struct semaphore *s);
/* Give a permit back (to the oldest waiter if any): 0, or -EOVERFLOW past the bound (or past
 * INT_MAX for an unbounded one); nothing changes then. asyncio differs in mechanism, not in
 * order: it wakes the waiter, which takes the permit when it runs, and keeps others from
 * taking it meanwhile; here the permit is handed over at once. A task that releases and
 * acquires again goes behind the waiter in both. */
int semaphore_release(struct semaphore *s);
void semaphore_dump(const struct semaphore *s, FILE *out);

#endif
