/* loop_internal.h — the loop's own state, shared by the files that make up the loop (loop.c:
 * the tick; loop_watch.c: fd watchers; loop_timer.c: timers; loop_observe.c: observers;
 * loop_access.c: accessors; loop_dump.c). Not for users: they hold a struct loop * and go
 * through loop.h. The calls go one way: loop.c calls the others, which reach the scheduler
 * directly and never call back into loop.c. */
#ifndef LOOPSCHOOL_LOOP_INTERNAL_H
#define LOOPSCHOOL_LOOP_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "loop/loop.h"
#include "sched/task/sched.h"

struct loop {
    struct sched sched; /* the ready queue, the batch rule and the timers */
    struct backend *backend;
    struct loop_clock *clock;
    struct loop_clock real_clock; /* used when the config names no clock */
    const struct sched_alloc *alloc;
    /* config.hooks, at the head of observers when it has a hook */
    struct loop_observer first_observer;
    /* every attached struct loop_observer, in attach order */
    struct list_node observers;
    /* how many of them want after_run (and so a clock read after each run) */
    unsigned observers_timing;
    /* Read the clock after each run: a policy that charges, or an observer with after_run. One
     * flag the tick reads per run, instead of asking the policy and the observers each time
     * (measurably slower: tests/bench/loop_bench.c); set as each batch begins (run_batch), and
     * at once by loop_observe. */
    bool time_runs;

    struct list_node watchers; /* every watched fd, in the order it was added */
    size_t watch_count;
    struct loop_watcher **by_fd; /* fd -> watcher, so a ready fd finds its owner in O(1) */
    size_t by_fd_len;
    struct backend_ready *ready_fds; /* what the backend fills each wait */
    int ready_fds_cap;

    /* Lesson 14: the inbox other threads post to (loop/thread/ makes it and frees it: the loop
     * only holds the pointer), and the thread that owns the loop (debug builds check it). */
    struct loop_inbox *inbox;
    void (*inbox_free)(struct loop *loop);
    pthread_t owner_thread;

    bool stop_requested;
    bool in_tick; /* loop_run_once is running: running or freeing the loop now is refused */
    int64_t last_timeout;
};

/* Records the words loop_last_error() returns. Here, not in loop.c, so that every file of the
 * loop can explain a refusal without calling back into the tick's file. */
static inline void loop_set_error(struct loop *loop, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(loop->sched.error, sizeof loop->sched.error, fmt, ap);
    va_end(ap);
}

/* Debug builds (no NDEBUG): an entry point called from a thread other than the loop's returns
 * -EPERM with loop_last_error saying so, instead of racing with the loop. Only
 * loop_call_soon_threadsafe (loop/thread/) may be called from another thread. Every entry point
 * that changes the loop and returns an int starts with it (loop.h lists them). */
#ifndef NDEBUG
#define LOOP_CHECK_THREAD(loop, what)                                                              \
    do {                                                                                           \
        if (!pthread_equal(pthread_self(), (loop)->owner_thread)) {                                \
            loop_set_error((loop),                                                                 \
                           "%s was called from a thread that does not own the loop: "              \
                           "only loop_call_soon_threadsafe may be",                                \
                           (what));                                                                \
            return -EPERM;                                                                         \
        }                                                                                          \
    } while (0)
#else
#define LOOP_CHECK_THREAD(loop, what) ((void)0)
#endif

/* Handles know they were initialised: *_init sets the magic, every call checks it, and one that
 * was never initialised gets -EINVAL from this, with loop_last_error naming the init call. */
#define LOOP_TIMER_MAGIC   0x71e3a11cu
#define LOOP_WATCHER_MAGIC 0x3a7c4e55u
static inline int loop_refuse_uninitialised(struct loop *loop, const char *caller,
                                            const char *init) {
    loop_set_error(loop, "%s: this handle was never initialised; call %s once before using it",
                   caller, init);
    return -EINVAL;
}

/* The guard of every call that runs ticks (loop_run, loop_run_once, loop_run_until_complete):
 * -EPERM from a thread that does not own the loop (debug builds), -EBUSY inside one of the
 * loop's own callbacks, with loop_last_error saying why; 0 when `caller` may run the loop. */
int loop_may_run(struct loop *loop, const char *caller);
/* Marks every timer still armed as not armed, for loop_free: restarting it on another loop
 * later must not be taken for "armed on two loops". */
void loop_timers_forget(struct loop *loop);
/* Unlinks every watcher (loop_free). */
void loop_unwatch_all(struct loop *loop);
/* Step 3 for fds: the backend said these fds are ready; queue their watchers. */
void loop_queue_ready_fds(struct loop *loop, int n);

#endif
