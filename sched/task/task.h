/* task.h — a task is a coroutine with a life on the scheduler (lesson 08): it is queued, runs a
 * step, waits on a timer, an fd, another task or a lock, is woken, and ends done, failed or
 * cancelled. The caller's frame struct embeds the task, and the frame's fields are its locals;
 * the library allocates nothing per task. */
#ifndef LOOPSCHOOL_TASK_H
#define LOOPSCHOOL_TASK_H

#include <stdbool.h>
#include <stdio.h>

#include "coro/coro.h"
#include "sched/runnable.h"
#include "sched/task/sched.h"
#include "sched/task/waiter.h"

enum task_state {
    TASK_CREATED,   /* spawned is immediate, so only seen before task_spawn */
    TASK_READY,     /* on the ready queue */
    TASK_RUNNING,   /* its step is running now */
    TASK_WAITING,   /* parked on its waiter until something wakes it */
    TASK_DONE,      /* ended with error 0 */
    TASK_FAILED,    /* ended with a negative errno in `error` */
    TASK_CANCELLED, /* ended by task_cancel: error is -ECANCELED */
};

struct task;
typedef enum coro_status (*task_step_fn)(struct task *t);
typedef void (*task_done_fn)(struct task *t);
/* A done hook: told when a task ends (asyncio's add_done_callback). A task set embeds one and
 * registers it on each member; the function finds the set with container_of. */
struct task_done_hook {
    void (*fn)(struct task *t, const struct task_done_hook *hook);
};

struct task {
    struct runnable run;    /* on the ready queue when it may run; run.name is the task's name */
    struct coro co;         /* where its step resumes */
    struct waiter waiter;   /* what it waits for now, and the result that woke it */
    struct waitq joiners;   /* the tasks waiting for this one to end */
    struct list_node live;  /* in sched->tasks from spawn to end: the dumps list live tasks */
    struct sched *sched;
    const struct task_done_hook *done_hook; /* who else is told when it ends (lesson 11) */
    task_step_fn step;
    task_done_fn on_done;   /* the owner's: typically frees the frame */
    int error;              /* how it ended: 0, or a negative errno */
    unsigned char state;    /* enum task_state */
};

/* From the task back to the frame that embeds it: struct worker *w = TASK_FRAME(t, struct
 * worker, task). */
#define TASK_FRAME(t, type, member) container_of(t, type, member)

/* Queues t to run its first step in a coming tick. step returns what a coroutine step returns;
 * on_done (may be NULL) is called once when it ends, after its joiners were woken, and may free
 * the frame. -EINVAL for a NULL step. */
int task_spawn(struct sched *s, struct task *t, task_step_fn step, const char *name,
               task_done_fn on_done);

/* Registers the done hook: hook->fn(t, hook) runs once when t ends, after its joiners were woken and
 * before on_done. A task with a hook has someone who reads its result, so a failure is the
 * hook's to report, not the scheduler's. One hook per task: -EBUSY if it has one already,
 * -EINVAL for NULL. Registered after t ended, it is not called: check task_done first. */
int task_add_done_hook(struct task *t, const struct task_done_hook *hook);

/* The loop this task runs on, typed: for loop_now(task_loop(t)) and the other loop calls. */
static inline struct loop *task_loop(const struct task *t) {
    return t->sched->loop;
}

/* Requests cancellation (lesson 11): a waiting task is woken with -ECANCELED; a ready or
 * running one is cancelled at its next await; one that never ran ends without running its body
 * or cleanup. 0 (also when asked twice), or -EALREADY if it had already ended: nothing changes. */
int task_cancel(struct task *t);

static inline bool task_done(const struct task *t) {
    return t->state >= TASK_DONE;
}
const char *task_state_name(enum task_state state);
/* One line: name, state, what it waits for, the source line it will resume at. Flushes. */
void task_dump(const struct task *t, FILE *out);

/* ---- awaiting ----------------------------------------------------------------------------------
 * Every await is one shape: a begin function registers t's waiter where the wake will come
 * from (a wait queue, a timer, an fd) and returns true, or completes at once, puts the result in
 * t->waiter.result and returns false. Then the task suspends until waiter_wake. When it resumes,
 * the result is in t->waiter.result (task_result(t)).
 * Cancellation: an await reached with a cancel pending, or woken with -ECANCELED, leaves the body
 * for the cleanup section (as an uncaught CancelledError leaves a Python coroutine through its
 * `finally`). The _CATCH variant hands -ECANCELED to the body instead, and the cancel is spent
 * (the `except CancelledError:` case). Each await must stand on its own line. */
#define TASK_AWAIT(t, begin_call)                                                                  \
    do {                                                                                           \
        if (!task__cancel_pending(t) && (begin_call))                                              \
            CORO_SUSPEND(&(t)->co);                                                                \
        if (task__resumed(t) == -ECANCELED)                                                        \
            CORO_LEAVE_CANCELLED(&(t)->co);                                                        \
    } while (0)

#define TASK_AWAIT_CATCH(t, begin_call)                                                            \
    do {                                                                                           \
        if (!task__cancel_pending(t) && (begin_call))                                              \
            CORO_SUSPEND(&(t)->co);                                                                \
        if (task__resumed(t) == -ECANCELED)                                                        \
            task__spend_cancel(t);                                                                 \
    } while (0)

/* Give every other ready task a turn first (asyncio.sleep(0)). */
#define TASK_YIELD(t) TASK_AWAIT(t, task_yield_begin(t))
/* Wait for `other` to end; the result is its error (0 if it succeeded): join a task that was
 * cancelled and you are cancelled too, unless you catch it. */
#define TASK_JOIN(t, other)       TASK_AWAIT(t, task_join_begin((t), (other)))
#define TASK_JOIN_CATCH(t, other) TASK_AWAIT_CATCH(t, task_join_begin((t), (other)))

static inline int task_result(const struct task *t) {
    return t->waiter.result;
}

bool task_yield_begin(struct task *t);
bool task_join_begin(struct task *t, struct task *other);
/* For begin functions: t's waiter is registered; mark it waiting for `what`. */
void task_park(struct task *t, const char *what);

/* The machinery behind the macros (double underscore: do not call). Inline, because every
 * await runs them: the common case (no cancel, nothing handed over) costs two tests. */
int task__give_back_if_cancelled(struct task *t);
void task__spend_cancel(struct task *t);
static inline bool task__cancel_pending(struct task *t) {
    if (!coro_cancel_requested(&t->co))
        return false;
    t->waiter.result = -ECANCELED;
    return true;
}
static inline int task__resumed(struct task *t) {
    return t->waiter.undo ? task__give_back_if_cancelled(t) : t->waiter.result;
}

#endif
