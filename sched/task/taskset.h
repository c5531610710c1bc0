/* taskset.h — waiting for several tasks at once, one mechanism for five of asyncio's tools
 * (lesson 11): gather (wait for all, collect every result in order, or stop at the first error),
 * TaskGroup (the first failure cancels the rest), wait(FIRST_COMPLETED), and wait_for (a set of
 * one, with a deadline). A member that ends wakes whoever waits on the set, who checks whether
 * to go on. */
#ifndef LOOPSCHOOL_TASKSET_H
#define LOOPSCHOOL_TASKSET_H

#include <stdbool.h>
#include <stddef.h>

#include "sched/task/task.h"

struct task_set {
    struct task **members; /* caller-owned storage for `capacity` pointers */
    size_t capacity;
    size_t count;
    size_t ended;
    struct task *first_ended;
    int first_failure;      /* the first error other than a cancel; 0 if none */
    int first_error;        /* the first error, a cancel included; 0 if none */
    bool cancel_on_failure; /* a task group: the first failure cancels the other members */
    bool cancelling;        /* the members were cancelled (failure, timeout or cancel of the
                             * waiter): the wait now only waits for them to end */
    int outcome;            /* what the wait reports: see TASK_SET_WAIT */
    int64_t deadline;       /* of the current wait, fixed when it starts; -1: none */
    unsigned char until;    /* of the current wait: enum task_set_until */
    struct waitq waiters;
    struct task_done_hook member_ended; /* registered on every member: counts its end */
    struct task_scope scope; /* a group entered with task_group_enter: its owner, the parent */
    bool in_wait;            /* a wait on the set is running now */
    bool seen;               /* a wait saw every member end: the owner knows the outcome */
    bool cancelled_owner;    /* the group's first failure cancelled its owner's body */
    bool holding;            /* the owner's body is over; its end waits for the members */
};

/* A gather set (cancel_on_failure false) or a task group (true). -EINVAL for NULL storage.
 * Lifetimes: a member that ends reports to its set, and a wait reads (and may cancel) every
 * member, so the set must outlive its members and the members' frames must outlive the waits
 * (free them after the wait, not in on_done). A task belongs to one set for good, and one task
 * at a time waits on a set (the outcome of a wait is kept in the set). */
int task_set_init(struct task_set *s, struct task **storage, size_t capacity,
                  bool cancel_on_failure);
/* Makes the group s a scope of the parent task t, as `async with asyncio.TaskGroup() as tg:`:
 * however t's body ends, t does not end before every member has. If the body falls off its end
 * (or returns) without TASK_GROUP_WAIT, t's end waits for the members; if it fails or is
 * cancelled, the members still running are cancelled, then awaited — by the task layer, after
 * t's cleanup section, which still cannot suspend. A member's failure while t is in its body
 * (not in TASK_GROUP_WAIT) cancels the body at its next await, and t then ends with the
 * group's first failure instead of -ECANCELED. What loopschool reports in place of asyncio's
 * ExceptionGroup: t's error (or TASK_GROUP_WAIT's result) is the first failure, and every
 * member's own error stays in s->members[i]->error; task_set_failures counts them. asyncio
 * differs: a cancel of t while its end waits for members that had no failure does not reach
 * them (asyncio's __aexit__ cancels them); the ExceptionGroup also carries the body's own
 * exception, where here a body failure is t's error and the members' are in the set. -EINVAL
 * unless s is a group (cancel_on_failure) and t a task; -EBUSY if s is entered already;
 * -EALREADY if t has ended. */
int task_group_enter(struct task *t, struct task_set *s);
/* Spawns t as a member. -EINVAL for a NULL set, -ENOSPC when full (nothing is spawned then),
 * or task_spawn's error. */
int task_set_spawn(struct task_set *s, struct sched *sched, struct task *t, task_step_fn step,
                   const char *name, task_done_fn on_done);
/* Adds a task already spawned (wait_for awaits an existing task). -EINVAL for NULL, -ENOSPC,
 * -EBUSY if it is in a set already. One that has already ended counts as ended. */
int task_set_add(struct task_set *s, struct task *t);

/* What a wait waits for. */
enum task_set_until {
    TASK_SET_ALL,         /* every member ended */
    TASK_SET_FIRST,       /* one member ended */
    TASK_SET_FIRST_ERROR, /* every member ended, or one ended with an error (a cancel too) */
};

/* asyncio differs, for every wait below: a member's end wakes the waiter directly, and it runs
 * in the next tick (the same tick, if that member ended in the waiter's own cancel); asyncio's
 * wait resumes its waiter two iterations after the last member ended (call_soon twice). And a
 * cancel of the waiter cancels the members still running, also for TASK_WAIT_FIRST, where
 * asyncio's wait() leaves them running.
 * Waits until `until` holds, or until `deadline` (-1: none) passes on the loop's clock. Result
 * (task_result): 0; for a group, its first failure; for TASK_SET_FIRST_ERROR, the first error
 * (-ECANCELED if that member was cancelled: the waiter is cancelled too, as asyncio's gather
 * raises CancelledError); after the deadline, see task_set_timed_out (-ENOMEM if its timer
 * could not be armed). On a failure in a group, a timeout, or a cancel of the waiting task,
 * every member still running is cancelled AND awaited, so no member outlives the wait
 * (structured concurrency). A cancelled waiter then leaves for its cleanup, even if the set was
 * already cancelling. */
#define TASK_SET_WAIT(t, s, until, deadline)                                                       \
    do {                                                                                           \
        task_set_wait_start((s), (until), (deadline));                                             \
        while (task_set_keep_waiting(s)) {                                                         \
            TASK_AWAIT_CATCH(t, task_set_wait_begin((t), (s)));                                    \
            task_set_woken((t), (s));                                                              \
        }                                                                                          \
        if (task_set_finish_wait((t), (s)) == -ECANCELED)                                          \
            CORO_LEAVE_CANCELLED(&(t)->co);                                                        \
    } while (0)

/* asyncio.gather(..., return_exceptions=True): wait for all; read members[i]->error in order. */
#define TASK_GATHER(t, s) TASK_SET_WAIT(t, s, TASK_SET_ALL, -1)
/* asyncio.gather(...) without return_exceptions: the first error ends the wait and is its
 * result, and the other members keep running (nobody cancels them: asyncio chose that because
 * gather is a plain future combinator, not an owner of its children; TaskGroup, which owns
 * them, cancels them instead). Gather the set again to wait for the rest. asyncio differs: a
 * member's result is a return value, here it is read in s->members[i] (its frame). */
#define TASK_GATHER_FIRST_ERROR(t, s) TASK_SET_WAIT(t, s, TASK_SET_FIRST_ERROR, -1)
/* asyncio.TaskGroup: the same wait; the set was made with cancel_on_failure. asyncio differs:
 * it raises an ExceptionGroup of every failure; here the result is the first failure, and every
 * member's own error is in s->members[i]->error (task_set_failures counts them). */
#define TASK_GROUP_WAIT(t, s) TASK_SET_WAIT(t, s, TASK_SET_ALL, -1)
/* asyncio.wait(return_when=FIRST_COMPLETED): s->first_ended is the winner. */
#define TASK_WAIT_FIRST(t, s) TASK_SET_WAIT(t, s, TASK_SET_FIRST, -1)

void task_set_wait_start(struct task_set *s, enum task_set_until until, int64_t deadline);
bool task_set_keep_waiting(const struct task_set *s);
bool task_set_wait_begin(struct task *t, struct task_set *s);
void task_set_woken(struct task *t, struct task_set *s);
int task_set_finish_wait(struct task *t, struct task_set *s);
/* Cancels every member still running. */
void task_set_cancel_all(struct task_set *s);
/* The deadline has passed before the wait began (asyncio's wait_for with a timeout <= 0): if a
 * member is still running, the set times out now and cancels it, before it ever runs if it has
 * not started yet. A set whose members all ended is left alone: their results stand. */
void task_set_expire(struct task_set *s);
/* What a timed-out wait reports once every member has ended, as asyncio's wait_for: the first
 * member error that is not a cancel (raised while being cancelled, e.g. in a cleanup); else 0
 * if no member ended cancelled (it caught the cancel and returned: its result stands); else
 * -ETIMEDOUT. */
int task_set_timed_out(const struct task_set *s);
/* How many members ended with an error other than a cancel: with TASK_GROUP_WAIT's first
 * failure, what loopschool reports in place of an ExceptionGroup. */
size_t task_set_failures(const struct task_set *s);
void task_set_dump(const struct task_set *s, FILE *out);

#endif
