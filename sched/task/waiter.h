/* waiter.h — how a task waits, and the one way anything wakes it (lesson 08). Each task embeds a
 * struct waiter, and only a task does: task_of_waiter (task_layout.h) finds the task from its
 * waiter with container_of, so the waiter needs no pointer back. A wait queue is a list of waiters,
 * linked through their task's ready-queue link: a task waits in a queue or is ready, never both.
 * A wait may hold several registrations at once (a queue slot AND a timeout timer AND an fd
 * watch): waking undoes all of them, so a task is never woken twice by one wait, and whoever
 * wakes second finds nothing to do. */
#ifndef LOOPSCHOOL_WAITER_H
#define LOOPSCHOOL_WAITER_H

#include <stdbool.h>

#include "sched/task/task_layout.h"

/* Makes w a waiter that is not waiting yet; `name` (its task's) is what dumps print. */
void waiter_init(struct waiter *w, const char *name);

static inline void waitq_init(struct waitq *q) {
    list_init(&q->waiters);
}
static inline bool waitq_empty(const struct waitq *q) {
    return list_empty(&q->waiters);
}
/* Appends w to q: it stays there until it is woken, by anyone. w's task is not ready. */
void waitq_add(struct waitq *q, struct waiter *w);
/* Moves w, waiting in a queue, to the back of q (a condition's waiter to its lock's queue). */
void waitq_move(struct waitq *q, struct waiter *w);
/* The waiter that has waited longest, or NULL. */
struct waiter *waitq_first(const struct waitq *q);
/* Wakes the waiter that has waited longest: true if there was one. */
bool waitq_wake_one(struct waitq *q, int result);
/* Wakes every waiter, in arrival order; returns how many. */
int waitq_wake_all(struct waitq *q, int result);
/* Lists the waiters by name (their task's). Flushes. */
void waitq_dump(const struct waitq *q, FILE *out);

/* Arms w's timer for `deadline` on its task's scheduler: when it fires, w is woken with 0 (a sleep)
 * or with -ETIMEDOUT (a timeout). 0 or -ENOMEM. */
int waiter_arm_timer(struct waiter *w, int64_t deadline, bool is_timeout);

/* Ends w's wait like waiter_wake, and records that something was handed to it: if its task is
 * cancelled before it resumes, give_back(w, arg) passes the thing on instead. */
void waiter_hand(struct waiter *w, int result, void (*give_back)(struct waiter *w, void *arg),
                 void *arg);

/* Ends w's wait with `result`: leaves every wait queue, disarms its timer, undoes an fd watch,
 * and hands w to its scheduler's resume_waiter (the task layer's: it puts the task on the ready
 * queue). Waking a waiter that is not waiting does nothing. */
void waiter_wake(struct waiter *w, int result);

#endif
