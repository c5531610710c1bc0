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
#include "sched/task/task_layout.h"
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

/* A done hook: told when a task ends (asyncio's add_done_callback). A task set embeds one and
 * registers it on each member; the function finds the set with container_of. */
struct task_done_hook {
    void (*fn)(struct task *t, const struct task_done_hook *hook);
};

/* Set by task_spawn, so that a join or a cancel can tell a task from memory that never was
 * one, and a spawn can tell a live task (refused) from a fresh or ended one. 16 bits, in what
 * would be padding (lesson 08's table). A struct task that was never spawned must therefore
 * be zeroed (calloc, `= {0}`, static), as asyncio's objects are always constructed: garbage that
 * happens to read TASK_MAGIC is the one case not caught. */
#define TASK_MAGIC 0x7a5cu
/* Has t ever been spawned? The check every call that needs t's scheduler makes first. */
static inline bool task_spawned(const struct task *t) {
    return t->magic == TASK_MAGIC;
}

/* From the task back to the frame that embeds it: struct worker *w = TASK_FRAME(t, struct
 * worker, task). */
#define TASK_FRAME(t, type, member) container_of(t, type, member)

/* Queues t to run its first step in a coming tick. step returns what a coroutine step returns;
 * on_done (may be NULL) is called once when it ends, after its joiners were woken, and may free
 * the frame. -EINVAL for a NULL step; -EBUSY if t is still live (ready, running or waiting:
 * respawning it would unlink it from the queues it is on); -ENOMEM if its place on the ready
 * queue could not be reserved. loop_last_error says which. */
int task_spawn(struct sched *s, struct task *t, task_step_fn step, const char *name,
               task_done_fn on_done);

/* A scope a task has open (lesson 11: a task group entered with task_group_enter). However
 * the task's body ends — falling off it, failing, cancelled — the task does not end yet:
 * exit(scope) runs first, and returning true holds the end (the task stays waiting, on "scope
 * exit") until the scope calls task_scope_release. So a scope's exit may wait, while the
 * task's cleanup section still cannot suspend. The scope lives in the scheduler's list, not in
 * the task: a task costs no more. */
struct task_scope {
    struct list_node node; /* in sched->scopes while open */
    struct task *owner;
    bool (*exit)(struct task_scope *scope);
};
/* Opens scope for t: -EINVAL for NULL or a task never spawned, -EALREADY if t has ended. Close it
 * with task_scope_close if it must end before the task does (its exit then never runs); a scope
 * never opened must have its node list_init'ed before a close. */
int task_scope_open(struct task *t, struct task_scope *scope,
                    bool (*exit)(struct task_scope *scope));
void task_scope_close(struct task_scope *scope);
/* Ends the hold: in a coming tick the owner's next open scope exits, or the owner ends with
 * `error` (0 or a negative errno). */
void task_scope_release(struct task_scope *scope, int error);

/* Registers the done hook: hook->fn(t, hook) runs once when t ends, after its joiners were woken
 * and before on_done. A task with a hook has someone who reads its result, so a failure is the
 * hook's to report, not the scheduler's. One hook per task: -EBUSY if it has one already,
 * -EINVAL for NULL. Registered after t ended, it is not called: check task_done first. */
int task_add_done_hook(struct task *t, const struct task_done_hook *hook);

/* The loop this task runs on, typed: for loop_now(task_loop(t)) and the other loop calls. */
static inline struct loop *task_loop(const struct task *t) {
    return t->sched->loop;
}

/* Requests cancellation (lesson 11): a waiting task is woken with -ECANCELED; a ready or
 * running one is cancelled at its next await (asyncio differs: it throws CancelledError into
 * the await that was finishing, so a task woken by a completed await is cancelled there); one
 * that never ran ends without running its body or cleanup. A task in TASK_JOIN passes the
 * cancel down instead, as asyncio does: the joined task is cancelled, and the joiner goes on
 * waiting for its end, then reads its result (it is cancelled too if the joined task ended
 * cancelled; if that one caught the cancel and returned, the joiner carries on, as in
 * asyncio). 0 (also when asked twice), or -EALREADY if it had already ended: nothing changes. */
int task_cancel(struct task *t);

/* Delivers a deadline once (a timeout scope's, loop/await.h): a waiting task is woken with
 * -ETIMEDOUT; a ready one sees -ETIMEDOUT at its next await, without waiting. A pending cancel
 * wins and nothing changes; a cancel that comes later replaces it. 0, or -EALREADY if t ended. */
int task_time_out(struct task *t);
/* Withdraws a deadline task_time_out left pending (no await has met it yet): the scope it
 * belonged to has ended. A cancel is never withdrawn. */
void task_time_out_withdraw(struct task *t);

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

/* Back on the ready queue: under FIFO every other ready task runs first (asyncio.sleep(0));
 * under another policy, the policy decides (a yield under LIFO runs again at once). */
#define TASK_YIELD(t) TASK_AWAIT(t, task_yield_begin(t))
/* Wait for `other` to end (asyncio's `await task`); the result is its error (0 if it succeeded):
 * join a task that was cancelled and you are cancelled too, unless you catch it. A cancel of the
 * joiner is passed to `other` first (see task_cancel). asyncio differs: the joiner runs in the
 * tick after `other` ended; asyncio's done-callbacks go through call_soon, and the joiner runs
 * one iteration later than that. */
#define TASK_JOIN(t, other)       TASK_AWAIT(t, task_join_begin((t), (other)))
#define TASK_JOIN_CATCH(t, other) TASK_AWAIT_CATCH(t, task_join_begin((t), (other)))
/* asyncio.shield(task): the same wait, but a cancel of the joiner stops only the joiner; `other`
 * runs on (someone may join it later). asyncio differs: once the shield's outer future was
 * cancelled, the task's later failure is marked retrieved and never logged; here a failure
 * that nobody joins is reported when the scheduler is destroyed, like any other. */
#define TASK_SHIELD(t, other)       TASK_AWAIT(t, task_shield_begin((t), (other)))
#define TASK_SHIELD_CATCH(t, other) TASK_AWAIT_CATCH(t, task_shield_begin((t), (other)))

static inline int task_result(const struct task *t) {
    return t->waiter.result;
}

bool task_yield_begin(struct task *t);
bool task_join_begin(struct task *t, struct task *other);
bool task_shield_begin(struct task *t, struct task *other);
/* For begin functions: t's waiter is registered; mark it waiting for `what`. */
void task_park(struct task *t, const char *what);
/* For begin functions, the usual wait: t's waiter joins wait queue q, and t is parked waiting
 * for `what`. Returns true, what a begin function returns when its task suspends: so a begin
 * function ends with `return task_wait_on(t, &x->waiters, x->name);`. */
bool task_wait_on(struct task *t, struct waitq *q, const char *what);

/* The machinery behind the macros (double underscore: do not call). Inline, because every
 * await runs them: the common case (no cancel, nothing handed over) costs two tests. */
int task__give_back_if_cancelled(struct task *t);
void task__spend_cancel(struct task *t);
/* A pending deadline shares the cancel request's byte (co.cancel_requested), with this value,
 * so the common case still costs one test; coro_cancel overwrites it with 1: a cancel wins. A
 * bare CORO_YIELD does not know it and takes it for a cancel: in a timeout scope, await. */
enum { TASK__TIMEOUT_REQUESTED = 2 };
int task__spend_timeout(struct task *t);
/* What the pending request means for the await that meets it: a deadline's -ETIMEDOUT, spent
 * as it is delivered, or a cancel's -ECANCELED. */
static inline int task__request_result(struct task *t) {
    return t->co.cancel_requested == TASK__TIMEOUT_REQUESTED ? task__spend_timeout(t) : -ECANCELED;
}
/* The body is over (finish, in task.c): each of t's open scopes exits, in the order they were
 * opened; true if one holds the end (t then waits on "scope exit" until task_scope_release). */
bool task__scopes_hold_end(struct task *t);
static inline bool task__cancel_pending(struct task *t) {
    if (!coro_cancel_requested(&t->co))
        return false;
    t->waiter.result = task__request_result(t);
    return true;
}
static inline int task__resumed(struct task *t) {
    return t->waiter.undo ? task__give_back_if_cancelled(t) : t->waiter.result;
}

#endif
