/* semaphore.h — a counting semaphore and an event for tasks, as asyncio.Semaphore /
 * BoundedSemaphore and asyncio.Event (lesson 10). Both wait through the one wait-queue
 * mechanism; a released permit is handed to the oldest waiter. */
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
 * INT_MAX for an unbounded one); nothing changes then. */
int semaphore_release(struct semaphore *s);
void semaphore_dump(const struct semaphore *s, FILE *out);

struct event {
    bool is_set;
    struct waitq waiters;
    const char *name;
};

void event_init(struct event *e, const char *name);
/* Wait until the event is set (at once if it is). Result 0. */
#define EVENT_WAIT(t, e)       TASK_AWAIT(t, event_wait_begin((t), (e)))
#define EVENT_WAIT_CATCH(t, e) TASK_AWAIT_CATCH(t, event_wait_begin((t), (e)))
bool event_wait_begin(struct task *t, struct event *e);
/* Sets it and wakes every waiter; returns how many were woken. */
int event_set(struct event *e);
void event_clear(struct event *e);
void event_dump(const struct event *e, FILE *out);

#endif
