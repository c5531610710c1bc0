/* sched.h — the scheduler the loop is built around: the ready queue behind its policy, with the
 * batch rule, and the timer queue (lessons 04 and 05). The loop (loop/) adds the clock and the
 * fds around it; tasks (lesson 08) and the sync primitives (lesson 10) wake each other through
 * it, which is why it lives here and knows nothing of fds. */
#ifndef LOOPSCHOOL_SCHED_H
#define LOOPSCHOOL_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sched/policy/readyq.h"
#include "sched/hints.h"
#include "sched/timerq.h"

/* A task that failed while nobody was joining it (lesson 08): remembered so that the failure is
 * reported when the scheduler is destroyed, as asyncio's "Task exception was never retrieved".
 * Copied out of the task, whose frame its owner may free as soon as it ends. */
struct sched_failure {
    const void *task; /* identity only, never dereferenced: a late join clears the record */
    const char *name;
    const char *file;
    int line;
    int error;
};
enum { SCHED_MAX_UNRETRIEVED = 16 };

struct loop;
struct waiter;

struct sched {
    struct readyq ready;
    struct timerq timers;
    int64_t now;       /* the loop's clock, read once per step of the tick: pushes are stamped
                        * with it, because a fresh clock read would cost as much as the push */
    uint64_t tick;     /* ticks started so far */
    bool in_batch;     /* step 4 is running: a push now is stamped with the next tick, so it is
                        * not counted in this batch's N (a policy other than FIFO may still
                        * pick it in this batch: the batch rule, sched.c) */
    size_t batch_left; /* picks left in this batch: the N of the batch rule */
    struct runnable *running; /* what step 4 runs now, while its owner lives */
    struct list_node tasks;   /* every live task (lesson 08), for dumps and reports */
    struct list_node scopes;  /* the task scopes open now (lesson 11: task groups) */
    /* What a woken waiter does last: set by the task layer at the first spawn (it puts the
     * waiter's task back on the ready queue), so waking needs no knowledge of tasks. */
    void (*resume_waiter)(struct waiter *w);
    /* Set there too: what sched_free does about tasks still live (reports and detaches them). */
    void (*end_live_tasks)(struct sched *s);
    size_t task_count;
    FILE *report; /* where failures nobody else will see are reported */
    const struct sched_alloc *alloc;
    struct loop *loop; /* the loop that drives this scheduler (set by loop_new): the awaits that
                        * need a clock or an fd (loop/await.h) find it here. Only a pointer:
                        * sched/ never looks inside a loop, so it needs no loop header */
    /* Failures nobody joined, reported by sched_free (task.c remembers them). */
    struct sched_failure unretrieved[SCHED_MAX_UNRETRIEVED];
    size_t unretrieved_count;
    size_t unretrieved_dropped;
    /* Words for the last refusal (a misused handle, a wait nothing can end): loop_last_error
     * returns them. Here, so that the task layer can explain a refusal without knowing loops. */
    char error[200];
};

/* Never allocates: the ready queue takes `policy` (made by policy_new) and owns it. */
void sched_init(struct sched *s, struct policy *policy, const struct sched_alloc *alloc,
                FILE *report);
/* Reports failures nobody joined, and every task still live ("task 'x' was destroyed while
 * still pending"), which it then ends as cancelled and detaches, so that nothing left behind
 * can reach the freed scheduler (task_cancel on it says -EALREADY); unlinks whatever is still
 * queued or armed (the handles belong to their owners) and frees the policy and the timer queue's
 * array. */
void sched_free(struct sched *s);

/* Records the words loop_last_error() returns (printf-style), and returns `err`, so a refusal
 * is one line: return sched_refuse(s, -EBUSY, "...", ...). */
int sched_refuse(struct sched *s, int err, const char *fmt, ...) HINT_PRINTF(3, 4);

/* Queues r, stamped with the tick whose N may count it (the next one during a batch: see sched.c
 * for the batch rule). Pushing a queued runnable is a no-op. Never fails for a runnable whose
 * owner holds a reservation (sched_reserve): that is how every wake-up is infallible. Else 0 or
 * -ENOMEM (only the heap policies allocate). */
int sched_push_ready(struct sched *s, struct runnable *r);
/* A handle that will push its runnable later, from a wake-up that has nobody to return an error
 * to (a task, a watcher, an armed timer), reserves its place now, when it registers: 0 or
 * -ENOMEM for the caller. sched_release gives the place back when it unregisters. */
int sched_reserve(struct sched *s);
void sched_release(struct sched *s);

/* Takes r off the ready queue; if it was counted in this batch's N, N shrinks. 0 or -EALREADY. */
int sched_unqueue(struct sched *s, struct runnable *r);

/* Step 3 for timers: every entry due by `now` fires its on_due(entry, s). */
void sched_fire_due_timers(struct sched *s, int64_t now);

/* Step 4: N = what is ready now; sched_batch_next hands out at most N runnables, each the
 * policy's pick among all that are ready at that moment, then NULL. sched_batch_next is inline:
 * the loop calls it once per callback, and a call into another file costs a good part of a
 * callback's dispatch (readyq.h says why). */
void sched_batch_begin(struct sched *s);
static inline struct runnable *sched_batch_next(struct sched *s) {
    if (s->batch_left == 0)
        return NULL;
    struct runnable *r = readyq_pop(&s->ready, s->now);
    if (r)
        s->batch_left--;
    return r;
}
void sched_batch_end(struct sched *s);

/* The owner of the running runnable may be freed before its run returns (a finished task; a
 * timer, watcher or stream whose owner may free it in its own callback): after the run, the
 * loop must not touch it (no charge, after_run sees NULL). Owners call this BEFORE handing
 * control to code that may free them. */
void sched_runnable_gone(struct sched *s, struct runnable *r);

#endif
