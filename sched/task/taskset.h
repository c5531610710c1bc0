/* taskset.h — waiting for several tasks at once, one mechanism for four of asyncio's tools
 * (lesson 11): gather (wait for all, collect every result in order), TaskGroup (the first
 * failure cancels the rest), wait(FIRST_COMPLETED), and wait_for (a set of one, with a
 * deadline). A member that ends wakes whoever waits on the set, who checks whether to go on. */
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
    bool cancel_on_failure; /* a task group: the first failure cancels the other members */
    bool cancelling;        /* the members were cancelled (failure, timeout or cancel of the
                             * waiter): the wait now only waits for them to end */
    int outcome;            /* what the wait reports: see TASK_SET_WAIT */
    int64_t deadline;       /* of the current wait, fixed when it starts; -1: none */
    struct waitq waiters;
    struct task_done_hook member_ended; /* registered on every member: counts its end */
};

/* A gather set (cancel_on_failure false) or a task group (true). -EINVAL for NULL storage.
 * Lifetimes: a member that ends reports to its set, and a wait reads (and may cancel) every
 * member, so the set must outlive its members and the members' frames must outlive the waits
 * (free them after the wait, not in on_done). A task belongs to one set for good, and one task
 * at a time waits on a set (the outcome of a wait is kept in the set). */
int task_set_init(struct task_set *s, struct task **storage, size_t capacity,
                  bool cancel_on_failure);
/* Spawns t as a member. -EINVAL for a NULL set, -ENOSPC when full (nothing is spawned then),
 * or task_spawn's error. */
int task_set_spawn(struct task_set *s, struct sched *sched, struct task *t, task_step_fn step,
                   const char *name, task_done_fn on_done);
/* Adds a task already spawned (wait_for awaits an existing task). -EINVAL for NULL, -ENOSPC,
 * -EBUSY if it is in a set already. One that has already ended counts as ended. */
int task_set_add(struct task_set *s, struct task *t);

/* Waits until every member has ended (first_only false) or until one has (true), or until
 * `deadline` (-1: none) passes on the loop's clock. Result (task_result): 0; for a group, its
 * first failure; -ETIMEDOUT when the deadline passed (-ENOMEM if its timer could not be armed).
 * On a failure in a group, a timeout, or a cancel of the waiting task, every member still
 * running is cancelled AND awaited, so no member outlives the wait (structured concurrency). A
 * cancelled waiter then leaves for its cleanup, even if the set was already cancelling. */
#define TASK_SET_WAIT(t, s, first_only, deadline)                                                  \
    do {                                                                                           \
        task_set_wait_start((s), (deadline));                                                      \
        while (task_set_keep_waiting((s), (first_only))) {                                         \
            TASK_AWAIT_CATCH(t, task_set_wait_begin((t), (s)));                                    \
            task_set_woken((t), (s));                                                              \
        }                                                                                          \
        if (task_set_finish_wait((t), (s)) == -ECANCELED)                                          \
            CORO_LEAVE_CANCELLED(&(t)->co);                                                        \
    } while (0)

/* asyncio.gather(..., return_exceptions=True): wait for all; read members[i]->error in order. */
#define TASK_GATHER(t, s) TASK_SET_WAIT(t, s, false, -1)
/* asyncio.TaskGroup: the same wait; the set was made with cancel_on_failure. */
#define TASK_GROUP_WAIT(t, s) TASK_SET_WAIT(t, s, false, -1)
/* asyncio.wait(return_when=FIRST_COMPLETED): s->first_ended is the winner. */
#define TASK_WAIT_FIRST(t, s) TASK_SET_WAIT(t, s, true, -1)

void task_set_wait_start(struct task_set *s, int64_t deadline);
bool task_set_keep_waiting(const struct task_set *s, bool first_only);
bool task_set_wait_begin(struct task *t, struct task_set *s);
void task_set_woken(struct task *t, struct task_set *s);
int task_set_finish_wait(struct task *t, struct task_set *s);
/* Cancels every member still running. */
void task_set_cancel_all(struct task_set *s);
void task_set_dump(const struct task_set *s, FILE *out);

#endif
