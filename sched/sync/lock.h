/* lock.h — a lock and a condition for tasks, as asyncio.Lock and asyncio.Condition (lesson 10).
 * Waiting goes through the one wait-queue mechanism. Release hands the lock straight to the
 * task that has waited longest (FIFO hand-off), so a task that releases and re-acquires at once
 * cannot overtake a waiter. */
#ifndef LOOPSCHOOL_LOCK_H
#define LOOPSCHOOL_LOCK_H

#include "sched/task/task.h"

struct lock {
    struct task *owner; /* NULL when free */
    struct waitq waiters;
    const char *name;
};

void lock_init(struct lock *l, const char *name);
/* Acquire; the result is 0, or -EDEADLK if t already holds it (it would wait for itself). */
#define LOCK_ACQUIRE(t, l) TASK_AWAIT(t, lock_acquire_begin((t), (l)))
#define LOCK_ACQUIRE_CATCH(t, l) TASK_AWAIT_CATCH(t, lock_acquire_begin((t), (l)))
bool lock_acquire_begin(struct task *t, struct lock *l);
/* Without waiting: 0, or -EBUSY (held, or handed to a waiter); -EINVAL for a NULL lock or task. */
int lock_try_acquire(struct lock *l, struct task *t);
/* 0, or -EPERM if t does not hold it, NULL included (nothing changes). */
int lock_release(struct lock *l, struct task *t);
/* For cleanups: releases the lock if t holds it, says nothing otherwise (a NULL lock included). */
void lock_release_if_held(struct lock *l, struct task *t);
void lock_dump(const struct lock *l, FILE *out);

struct condition {
    struct lock *lock;
    struct waitq waiters;
    const char *name;
};

void condition_init(struct condition *c, struct lock *l, const char *name);
/* Releases the lock, waits for a notify, and resumes holding the lock again: a notified
 * waiter is moved to the lock's queue, never woken without it. Result 0, -EPERM if t did not
 * hold the lock. Cancelled while waiting, it resumes (leaves for its cleanup) WITHOUT the lock:
 * a cleanup uses lock_release_if_held. */
#define CONDITION_WAIT(t, c)       TASK_AWAIT(t, condition_wait_begin((t), (c)))
#define CONDITION_WAIT_CATCH(t, c) TASK_AWAIT_CATCH(t, condition_wait_begin((t), (c)))
bool condition_wait_begin(struct task *t, struct condition *c);
/* Notifies up to n waiters (the oldest first); returns how many. Hold the lock to notify.
 * asyncio differs: notify without the lock raises RuntimeError; here it is accepted, and if the
 * lock is free it is handed to the first waiter notified. */
int condition_notify(struct condition *c, int n);
int condition_notify_all(struct condition *c);
void condition_dump(const struct condition *c, FILE *out);

#endif
