/* loop.c — the heart of loopschool: one tick of the event loop, and running ticks until there is
 * nothing left to do (lessons 02, 04 and 05 build it up). A tick is four steps:
 *   1. timeout: 0 if something is ready; else until the earliest timer, rounded UP to what the
 *      backend can express; else block (and if nothing could ever wake us, do not wait at all);
 *   2. ask the backend which fds are ready, waiting at most that long;
 *   3. move woken fd watchers and due timers onto the ready queue;
 *   4. run a batch: N = what is ready as the batch begins, and N times, the runnable the policy
 *      picks. Work queued during the batch waits for the next tick ("the batch rule"). */
#include "loop/loop_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int loop_new(struct loop **out, const struct loop_config *config) {
    static const struct loop_config defaults; /* all zero: every default */
    if (!out)
        return -EINVAL;
    if (!config)
        config = &defaults;
    const struct sched_alloc *alloc = config->alloc ? config->alloc : sched_alloc_libc();
    struct loop *loop = sched_alloc(alloc, sizeof *loop);
    if (!loop)
        return -ENOMEM;
    memset(loop, 0, sizeof *loop);
    loop->alloc = alloc;
    loop->hooks = config->hooks;
    loop_clock_init_real(&loop->real_clock);
    loop->clock = config->clock ? config->clock : &loop->real_clock;
    list_init(&loop->watchers);
    loop->last_timeout = -1;
    loop->owner_thread = pthread_self(); /* the thread that makes the loop runs it */

    const struct backend_ops *backend = config->backend ? config->backend : &backend_poll;
    int err = sched_init(&loop->sched, config->policy, alloc, config->report);
    if (err) {
        sched_free(alloc, loop);
        return err;
    }
    loop->sched.now = loop_now(loop);
    loop->sched.owner = loop;
    /* The events array exists from the start: a loop with timers but no fd still asks the
     * backend "anything ready?", and a wait needs room for at least one answer. */
    loop->events_cap = 64;
    loop->events = sched_alloc(alloc, (size_t)loop->events_cap * sizeof *loop->events);
    err = loop->events ? backend->create(&loop->backend, alloc) : -ENOMEM;
    if (err) {
        sched_free(alloc, loop->events);
        sched_destroy(&loop->sched);
        sched_free(alloc, loop);
        return err;
    }
    *out = loop;
    return 0;
}

void loop_free(struct loop *loop) {
    if (!loop)
        return;
    if (loop->inbox_free)
        loop->inbox_free(loop); /* lesson 14's inbox: before its watcher is unlinked */
    loop_unwatch_all(loop);
    sched_destroy(&loop->sched);
    loop->backend->ops->free(loop->backend);
    sched_free(loop->alloc, loop->by_fd);
    sched_free(loop->alloc, loop->events);
    sched_free(loop->alloc, loop);
}

void loop_set_error(struct loop *loop, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(loop->error, sizeof loop->error, fmt, ap);
    va_end(ap);
}

/* ---- the ready queue ------------------------------------------------------------------------ */

int loop_push_ready(struct loop *loop, struct runnable *r) {
    return sched_push_ready(&loop->sched, r);
}

int loop_call_soon(struct loop *loop, struct runnable *r, runnable_fn fn, void *arg) {
    if (!loop || !r)
        return -EINVAL;
    LOOP_CHECK_THREAD(loop, "loop_call_soon");
    if (!fn) {
        loop_set_error(loop, "loop_call_soon: the callback is NULL: there would be nothing to run");
        return -EINVAL;
    }
    if (r->queued)
        return 0; /* already waiting its turn; it runs once */
    r->fn = fn;
    r->arg = arg;
    return sched_push_ready(&loop->sched, r);
}

int loop_cancel(struct loop *loop, struct runnable *r) {
    return sched_cancel(&loop->sched, r);
}

/* ---- one tick ------------------------------------------------------------------------------- */

int64_t loop_now(const struct loop *loop) {
    return loop_clock_now(loop->clock);
}

/* Step 1. Rounding UP matters: a timer 1.5 ms away on poll (ms resolution) must give one 2 ms
 * wait, not a 1 ms wait that wakes early and then spins with timeout 0 until the deadline. */
static int64_t compute_timeout(struct loop *loop) {
    if (readyq_count(&loop->sched.ready) > 0 || loop->stop_requested)
        return 0;
    struct timerq_entry *next = timerq_peek(&loop->sched.timers);
    if (!next)
        return -1;
    if (next->deadline <= loop->sched.now)
        return 0;
    /* deadline > now, so their difference fits in 64 unsigned bits even when it does not fit
     * in int64 (a deadline near INT64_MAX on a virtual clock that reads below zero). */
    uint64_t wait = (uint64_t)next->deadline - (uint64_t)loop->sched.now;
    uint64_t res = (uint64_t)loop->backend->ops->resolution_ns;
    uint64_t longest = (uint64_t)INT64_MAX / res * res; /* the far future must not overflow */
    if (wait >= longest)
        return (int64_t)longest;
    return (int64_t)((wait + res - 1) / res * res);
}

/* Step 2. On a virtual clock with autojump the loop only looks (timeout 0) and, if nothing is
 * ready, jumps virtual time to the next deadline: the wait it would have made is recorded in
 * last_timeout, and tests assert that instead of real elapsed time. */
static int wait_for_readiness(struct loop *loop, int64_t timeout) {
    struct loop_clock *clock = loop->clock;
    bool jump = clock->is_virtual && clock->autojump && timeout > 0;
    int n = loop->backend->ops->wait(loop->backend, jump ? 0 : timeout, loop->events,
                                     loop->events_cap);
    if (n == 0 && jump) {
        struct timerq_entry *next = timerq_peek(&loop->sched.timers);
        if (next && next->deadline > clock->virtual_ns)
            clock->virtual_ns = next->deadline;
    }
    return n;
}

static void run_one(struct loop *loop, struct runnable *r) {
    struct sched *s = &loop->sched;
    /* Reading the clock costs as much as a dispatch: only when someone wants the duration. */
    bool timed = s->ready.policy->ops->charge || loop->hooks.after_run;
    int64_t start = s->now;
    if (loop->hooks.before_run)
        loop->hooks.before_run(loop->hooks.ctx, loop, r);
    s->running = r;
    r->fn(r->arg);
    if (timed) {
        s->now = loop_now(loop);
        /* s->running is NULL if r's owner ended during the run: nobody is left to charge. */
        if (loop->hooks.after_run)
            loop->hooks.after_run(loop->hooks.ctx, loop, s->running, s->now - start);
        if (s->running)
            readyq_charge(&s->ready, r, s->now - start);
    }
    s->running = NULL;
}

int loop_run_once(struct loop *loop) {
    LOOP_CHECK_THREAD(loop, "loop_run_once");
    struct sched *s = &loop->sched;
    s->tick++;
    s->now = loop_now(loop);
    int64_t timeout = compute_timeout(loop);
    if (timeout < 0 && loop->watch_count == 0) {
        loop->last_timeout = 0;
        return 0; /* nothing ready, armed or watched: nothing could ever end a wait */
    }
    loop->last_timeout = timeout;
    if (loop->hooks.before_wait)
        loop->hooks.before_wait(loop->hooks.ctx, loop, timeout);
    int n = wait_for_readiness(loop, timeout);
    if (n < 0) {
        loop_set_error(loop, "the %s backend's wait failed: %s", loop->backend->ops->name,
                       strerror(-n));
        return n;
    }
    if (loop->hooks.after_wait)
        loop->hooks.after_wait(loop->hooks.ctx, loop, loop->events, n);
    s->now = loop_now(loop); /* the wait took time */
    loop_queue_ready_fds(loop, n);            /* step 3: fds ... */
    sched_fire_due_timers(s, s->now);         /* ... and timers */
    sched_batch_begin(s);                     /* step 4 */
    struct runnable *r;
    while ((r = sched_batch_next(s)) != NULL)
        run_one(loop, r);
    sched_batch_end(s);
    return 0;
}

static bool has_work(const struct loop *loop) {
    return readyq_count(&loop->sched.ready) > 0 || timerq_count(&loop->sched.timers) > 0 ||
           loop->watch_count > 0;
}

int loop_run(struct loop *loop) {
    int err = 0;
    while (err == 0 && has_work(loop)) {
        err = loop_run_once(loop);
        if (loop->stop_requested)
            break;
    }
    loop->stop_requested = false;
    return err;
}

void loop_stop(struct loop *loop) {
    loop->stop_requested = true;
}

/* ---- small accessors ------------------------------------------------------------------------ */

uint64_t loop_tick(const struct loop *loop) {
    return loop->sched.tick;
}
int64_t loop_last_timeout(const struct loop *loop) {
    return loop->last_timeout;
}
const char *loop_last_error(const struct loop *loop) {
    return loop->error;
}
struct backend *loop_backend(struct loop *loop) {
    return loop->backend;
}
struct policy *loop_policy(struct loop *loop) {
    return loop->sched.ready.policy;
}

int loop_set_policy(struct loop *loop, const struct policy_ops *ops) {
    return readyq_set_policy(&loop->sched.ready, ops);
}

struct sched *loop_sched(struct loop *loop) {
    return &loop->sched;
}
struct loop_clock *loop_clock(struct loop *loop) {
    return loop->clock;
}
size_t loop_ready_count(const struct loop *loop) {
    return readyq_count(&loop->sched.ready);
}
size_t loop_timer_count(const struct loop *loop) {
    return timerq_count(&loop->sched.timers);
}
size_t loop_watch_count(const struct loop *loop) {
    return loop->watch_count;
}
