/* cancel.c — stopping a task from outside (lesson 11): a cancel, and the deadline of a timeout
 * scope, which shares the cancel's byte. Both are delivered at an await (task.h's TASK_AWAIT);
 * what was handed to a task cancelled before it could run is given back here. */
#include <errno.h>

#include "sched/task/task.h"

int task_cancel(struct task *t) {
    if (!t || !task_spawned(t))
        return -EINVAL; /* never spawned: there is no scheduler to tell, nothing to cancel */
    if (task_done(t))
        return -EALREADY; /* it has ended: its result stands */
    if (t->state == TASK_WAITING && t->waiter.joining)
        return task_cancel(t->waiter.undo_arg); /* the cancel travels down; its end wakes t */
    coro_cancel(&t->co); /* never ran: it is marked cancelled, and its first step ends it */
    if (t->state == TASK_WAITING)
        waiter_wake(&t->waiter, -ECANCELED);
    return 0;
}

int task__give_back_if_cancelled(struct task *t) {
    struct waiter *w = &t->waiter;
    if (w->undo && coro_cancel_requested(&t->co)) {
        /* Handed something (a lock, a permit, an item), then cancelled before it could run:
         * pass it on, and the await ends cancelled. Nothing is held by a task that leaves. */
        void (*give_back)(struct waiter *, void *) = w->undo;
        w->undo = NULL;
        give_back(w, w->undo_arg);
        w->result = task__request_result(t);
    }
    /* Any other completed wait stands; a pending cancel is delivered at the next await. */
    w->undo = NULL;
    return w->result;
}

void task__spend_cancel(struct task *t) {
    t->co.cancel_requested = 0;
}

int task__spend_timeout(struct task *t) {
    t->co.cancel_requested = 0; /* delivered once, as asyncio's timeout() cancels once */
    return -ETIMEDOUT;
}

int task_time_out(struct task *t) {
    if (!t)
        return -EINVAL;
    if (task_done(t))
        return -EALREADY;
    if (coro_cancel_requested(&t->co))
        return 0; /* a cancel (or this deadline) is pending already */
    if (t->state == TASK_WAITING)
        waiter_wake(&t->waiter, -ETIMEDOUT);
    else
        t->co.cancel_requested = TASK__TIMEOUT_REQUESTED;
    return 0;
}

void task_time_out_withdraw(struct task *t) {
    if (t->co.cancel_requested == TASK__TIMEOUT_REQUESTED)
        t->co.cancel_requested = 0;
}
