/* loop.h — the event loop: fd watchers (lesson 02), the ready queue (lesson 04) and timers
 * (lesson 05), tied together by the tick in loop.c. Every handle is a caller-owned struct: the
 * loop links it in and never allocates per operation. Functions return 0 or a negative errno. */
#ifndef LOOPSCHOOL_LOOP_H
#define LOOPSCHOOL_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "loop/backend/backend.h"
#include "loop/clock.h"
#include "sched/list.h"
#include "sched/policy/policy.h"
#include "sched/runnable.h"
#include "sched/timerq.h"

/* Threads: a loop belongs to the thread that made it, and nothing here may be called from any
 * other thread. The one exception is loop_call_soon_threadsafe (loop/thread/threadsafe.h, lesson
 * 14). Debug builds check every call that changes the loop and returns an int — loop_free,
 * loop_call_soon, loop_unqueue, the timer and watcher calls, loop_run, loop_run_once,
 * loop_run_until_complete, loop_spawn: from a foreign thread they return -EPERM, and
 * loop_last_error says why. */
struct loop;
struct sched;

/* Optional observers, called by the tick: the demos narrate with them, lesson 15 measures. Any
 * hook may be NULL. */
struct loop_hooks {
    void *ctx;
    void (*before_wait)(void *ctx, struct loop *loop, int64_t timeout_ns);
    void (*after_wait)(void *ctx, struct loop *loop, const struct backend_ready *ready, int n);
    /* Step 3 has queued the woken watchers and due timers; the batch has not begun. */
    void (*after_queue)(void *ctx, struct loop *loop);
    void (*before_run)(void *ctx, struct loop *loop, const struct runnable *r);
    /* r is NULL when its owner let go of it during the run (a task that ended; a timer or
     * watcher, whose owner may free it in its callback): what an observer needs to say about
     * the run afterwards, it notes in before_run. */
    void (*after_run)(void *ctx, struct loop *loop, const struct runnable *r, int64_t ran_ns);
};

/* Every field may be left zero: epoll (poll where epoll does not exist: backend_default), FIFO,
 * the real clock, libc's allocator, stderr. */
struct loop_config {
    const struct backend_ops *backend;
    const struct policy_ops *policy;
    struct loop_clock *clock; /* caller-owned, so a test can move virtual time */
    const struct sched_alloc *alloc;
    FILE *report; /* where the loop reports what nobody else will (never-joined failures) */
    struct loop_hooks hooks; /* the first observer, attached for the loop's whole life */
};

/* More observers (lesson 15): a demo's narration, the slow-callback check, the lag monitor and a
 * trace can watch one loop at once. Caller-owned and intrusive; the hooks are called in the
 * order the observers were attached, after config.hooks. With none attached the tick pays one
 * test of an empty list per step. */
struct loop_observer {
    struct loop_hooks hooks;
    struct list_node node; /* in the loop's observers while attached */
    struct loop *loop;     /* the loop it is attached to; NULL (zeroed) while detached */
};
/* Attaches obs. -EINVAL (NULL), -EBUSY if it is attached already (to this loop or another). */
int loop_observe(struct loop *loop, struct loop_observer *obs);
/* Detaches obs. 0, or -EALREADY if it is not attached to this loop. A hook may detach any
 * observer (a detached one is told nothing more) but free only its own. loop_free detaches
 * every observer still attached. */
int loop_unobserve(struct loop *loop, struct loop_observer *obs);
/* Is obs attached to loop? Compares addresses only, so obs may be uninitialised memory: an
 * instrument asks before it resets a caller's struct that may still be linked in. */
bool loop_observing(const struct loop *loop, const struct loop_observer *obs);

int loop_new(struct loop **out, const struct loop_config *config);
/* Unlinks every handle still registered (it does not run or free them) and frees the loop.
 * Each task still live is reported on the report stream ("task 'x' was destroyed while still
 * pending", asyncio's warning) and ends cancelled, detached: task_cancel on it later says
 * -EALREADY and never reaches the freed loop. Its on_done is not called (the loop is going
 * away under it), so a frame it would have freed is the owner's to free.
 * Inside one of the loop's own callbacks it is refused: -EBUSY, nothing freed (the tick would
 * go on in freed memory); stop the loop and free it after loop_run returns. 0 otherwise. */
int loop_free(struct loop *loop);

/* ---- fd watchers -------------------------------------------------------------------------- */

/* Interest bits, the backend's: LOOP_INVALID is only ever reported, never asked for. */
enum {
    LOOP_READABLE = BACKEND_READABLE,
    LOOP_WRITABLE = BACKEND_WRITABLE,
    LOOP_INVALID = BACKEND_INVALID,
};

struct loop_watcher;
typedef void (*loop_fd_fn)(struct loop_watcher *w, unsigned ready);

struct loop_watcher {
    uint32_t magic;        /* set by loop_watcher_init: a watcher never initialised is refused */
    struct runnable run;   /* goes on the ready queue when the fd is ready */
    struct list_node node; /* in the loop's list of watchers, in the order they were added */
    struct loop *loop;     /* NULL while not watching */
    int fd;
    unsigned interest; /* LOOP_READABLE and/or LOOP_WRITABLE */
    unsigned ready;    /* readiness gathered since the callback last ran */
    loop_fd_fn callback;
    void *arg;
};

/* Names the watcher (the dumps print it) and marks it as not watching. Call once, first: a
 * watcher never initialised is refused by every call (-EINVAL). Its owner may free it inside
 * its own callback once it is unwatched (the loop lets go of it before the callback). */
void loop_watcher_init(struct loop_watcher *w, const char *name);
/* -EINVAL (NULL callback, no interest bits, w never initialised), -EBUSY (w or fd already
 * watched), -ENOMEM, or the backend's refusal (-EBADF negative fd, -ERANGE fd too big for
 * select): loop_last_error says why. */
int loop_watch_fd(struct loop *loop, struct loop_watcher *w, int fd, unsigned interest,
                  loop_fd_fn callback, void *arg);
int loop_set_interest(struct loop *loop, struct loop_watcher *w, unsigned interest);
/* Stops watching and drops any readiness not yet delivered. 0, or -EALREADY. Call it BEFORE
 * close(fd): select fails whole on a closed fd, and a reused fd number must start clean. */
int loop_unwatch(struct loop *loop, struct loop_watcher *w);

/* ---- the ready queue ---------------------------------------------------------------------- */

/* A bare runnable (queued with loop_call_soon) whose owner frees it inside its own fn must
 * say so first, with this call: after fn returns, the loop then neither charges it (stride,
 * MLFQ) nor shows it to after_run. Timers, watchers, streams and tasks do it themselves. */
void loop_runnable_gone(struct loop *loop, struct runnable *r);

/* Queues r to run fn(arg) in a coming tick (called from inside a callback: under FIFO in the
 * next batch; see loop.c, run_batch, for the batch rule under the other policies).
 * -EINVAL for a NULL fn. Calling it for a runnable already queued changes nothing. */
int loop_call_soon(struct loop *loop, struct runnable *r, runnable_fn fn, void *arg);
/* Takes a queued runnable back off the ready queue: 0, or -EALREADY if it was not queued;
 * -EINVAL for a NULL loop or runnable. */
int loop_unqueue(struct loop *loop, struct runnable *r);

/* ---- timers ------------------------------------------------------------------------------- */

struct loop_timer;
typedef void (*loop_timer_fn)(struct loop_timer *t);

struct loop_timer {
    uint32_t magic;            /* set by loop_timer_init: a timer never initialised is refused */
    bool armed;                /* in the timer queue, or due and on the ready queue */
    struct timerq_entry entry; /* in the timer queue while armed */
    struct runnable run;       /* on the ready queue once due, until its callback runs */
    struct loop *loop;
    loop_timer_fn callback;
    void *arg;
};

/* Call once, first: a timer never initialised is refused by every call (-EINVAL). Its owner
 * may free it inside its own callback (the loop lets go of it before the callback). */
void loop_timer_init(struct loop_timer *t, const char *name);
/* Arms t to run after delay_ns (a negative delay counts as 0: it runs in the next tick), or at
 * an absolute deadline. Starting an armed timer re-arms it. -EINVAL for a NULL callback or a
 * timer never initialised; -EBUSY while it is armed on another loop (stop it there first);
 * -ENOMEM. loop_last_error says which. */
int loop_timer_start(struct loop *loop, struct loop_timer *t, int64_t delay_ns,
                     loop_timer_fn callback, void *arg);
int loop_timer_start_at(struct loop *loop, struct loop_timer *t, int64_t deadline_ns,
                        loop_timer_fn callback, void *arg);
/* Disarms t, even if it is already due and waiting on the ready queue. 0, or -EALREADY if it
 * had fired (or was never started); -EINVAL if it was never initialised or is armed on
 * another loop. */
int loop_timer_stop(struct loop *loop, struct loop_timer *t);

/* ---- running ------------------------------------------------------------------------------ */

/* One tick (see loop.c). 0, or a negative errno from the backend. */
int loop_run_once(struct loop *loop);
/* Is anything ready, armed or watched? If not, nothing could ever end a wait: the one liveness
 * test, used by loop_run, loop_run_once and loop_run_until_complete (libuv's uv_loop_alive). */
bool loop_alive(const struct loop *loop);
/* Ticks until loop_stop, or until loop_alive is false. 0 or a negative errno. loop_run,
 * loop_run_once and loop_run_until_complete called inside one of the loop's own callbacks
 * (a task's step, a timer's callback...) are refused with -EBUSY: a nested tick would break
 * the batch rule (asyncio: "This event loop is already running"). */
int loop_run(struct loop *loop);
/* Ends loop_run after the current tick; loop_run_until_complete then returns -EINTR if its
 * task had not completed. The request is spent by the run it ends. */
void loop_stop(struct loop *loop);

int64_t loop_now(const struct loop *loop);
/* The deadline ns from now (a negative ns counts as 0), clamped at INT64_MAX: the one place
 * that adds a delay to the clock (timers, sleeps, wait_for). */
int64_t loop_deadline_after(const struct loop *loop, int64_t ns);
uint64_t loop_tick(const struct loop *loop);
/* The timeout the last tick computed for its wait (-1: block), before any virtual jump. */
int64_t loop_last_timeout(const struct loop *loop);
/* Words for the last refusal (e.g. why select would not watch an fd); "" if none. */
const char *loop_last_error(const struct loop *loop);
struct backend *loop_backend(struct loop *loop);
struct loop_clock *loop_clock(struct loop *loop);
/* The ready queue's policy, e.g. to set its parameters (policy_lottery_seed...). */
struct policy *loop_policy(struct loop *loop);
/* Replaces the policy: only while nothing is ready (-EBUSY otherwise), or its error. */
int loop_set_policy(struct loop *loop, const struct policy_ops *ops);
/* The scheduler inside the loop: tasks are spawned on it (lesson 08). */
struct sched *loop_sched(struct loop *loop);
size_t loop_ready_count(const struct loop *loop);
size_t loop_timer_count(const struct loop *loop);
size_t loop_watch_count(const struct loop *loop);

/* Backend, watched fds, ready queue in policy order, timers: for gdb's `call`. Flushes. */
void loop_dump(const struct loop *loop, FILE *out);

#endif
