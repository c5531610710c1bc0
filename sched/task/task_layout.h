/* task_layout.h — what a task is made of (lesson 08's field-by-field table): struct task, the
 * struct waiter embedded in it, and the wait queue its joiners wait in. One header for the three,
 * because they share bytes: a waiter is found from its task with container_of, and a waiting
 * task's link in a wait queue is its ready-queue link. What they do is in waiter.h and task.h. */
#ifndef LOOPSCHOOL_TASK_LAYOUT_H
#define LOOPSCHOOL_TASK_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "coro/coro.h"
#include "sched/list.h"
#include "sched/runnable.h"
#include "sched/timerq.h"

struct sched;
struct task;
struct task_done_hook;

typedef enum coro_status (*task_step_fn)(struct task *t);
typedef void (*task_done_fn)(struct task *t);

/* What a task waits for now, and the result that woke it. */
struct waiter {
    /* Its link in a wait queue is its task's run.node, idle while the task waits (task.c). */
    struct timerq_entry timer; /* armed while the wait has a deadline (a sleep, a timeout) */
    /* What to undo if this wait is abandoned. While waiting: a registration outside sched/ (an
     * fd watch), undone by the wake. Once woken by a hand-off (lesson 10: the lock, a permit, an
     * item was handed to it): the give-back, run if the task is cancelled before it resumes, so
     * nothing is held by a task that will not run its body again. */
    void (*undo)(struct waiter *w, void *arg);
    void *undo_arg;
    const char *what; /* what it waits for, in words, for task_dump: "sleep", "join" */
    int result;       /* why it was woken: 0, -ECANCELED, -ETIMEDOUT, or what the waker says */
    bool waiting;
    bool joining; /* in TASK_JOIN: undo_arg is the joined task, to which a cancel is passed
                   * (lesson 11) */
};

/* A wait queue: waiters in the order they arrived (FIFO hand-off is built on that). */
struct waitq {
    struct list_node waiters;
};

/* A coroutine with a life on the scheduler (task.h). Your frame embeds it. */
struct task {
    struct runnable run;   /* on the ready queue when it may run; run.name is the task's name;
                            * while it waits, run.node is its link in a wait queue (waiter.h) */
    struct coro co;        /* where its step resumes */
    struct waiter waiter;  /* what it waits for now, and the result that woke it */
    struct waitq joiners;  /* the tasks waiting for this one to end */
    struct list_node live; /* in sched->tasks from spawn to end: the dumps list live tasks */
    struct sched *sched;
    const struct task_done_hook *done_hook; /* who else is told when it ends (lesson 11) */
    task_step_fn step;
    task_done_fn on_done; /* the owner's: typically frees the frame */
    int error;            /* how it ended: 0, or a negative errno */
    uint16_t magic;       /* TASK_MAGIC from the first spawn on: "this struct is a task" */
    unsigned char state;  /* enum task_state */
};

/* From a waiter back to its task: every waiter is the one embedded in a task (task_spawn sets
 * it up), so container_of finds the task, and the waiter keeps no pointer to it. */
static inline struct task *task_of_waiter(struct waiter *w) {
    return container_of(w, struct task, waiter);
}

#endif
