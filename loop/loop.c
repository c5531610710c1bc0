/* loop.c — the heart of loopschool: one tick of the event loop, and running ticks until there is
 * nothing left to do (lessons 02, 04 and 05 build it up). loop_run_once is the tick, four steps,
 * one call each: compute_timeout, wait_for_readiness, queue_woken, run_batch. */
#include "loop/loop_internal.h"

#include <errno.h>
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
    /* config.hooks is the first observer; attached only if it has a hook, so a loop configured
     * without hooks has an empty list and pays nothing. */
    list_init(&loop->observers);
    const struct loop_hooks *h = &config->hooks;
    loop->first_observer.hooks = *h;
    if (h->before_wait || h->after_wait || h->after_queue || h->before_run || h->after_run)
        (void)loop_observe(loop, &loop->first_observer);
    loop_clock_init_real(&loop->real_clock);
    loop->clock = config->clock ? config->clock : &loop->real_clock;
    list_init(&loop->watchers);
    loop->last_timeout = -1;
    loop->owner_thread = pthread_self(); /* the thread that makes the loop runs it */

    const struct backend_ops *backend = config->backend ? config->backend : backend_default();
    struct policy *policy;
    int err = policy_new(&policy, config->policy, alloc);
    if (err) {
        sched_dealloc(alloc, loop);
        return err;
    }
    sched_init(&loop->sched, policy, alloc, config->report);
    loop->sched.now = loop_now(loop);
    loop->sched.loop = loop;
    /* The ready_fds array exists from the start: a loop with timers but no fd still asks the
     * backend "anything ready?", and a wait needs room for at least one answer. */
    loop->ready_fds_cap = 64;
    loop->ready_fds = sched_alloc(alloc, (size_t)loop->ready_fds_cap * sizeof *loop->ready_fds);
    err = loop->ready_fds ? backend->new (&loop->backend, alloc) : -ENOMEM;
    if (err) {
        sched_dealloc(alloc, loop->ready_fds);
        sched_free(&loop->sched);
        sched_dealloc(alloc, loop);
        return err;
    }
    *out = loop;
    return 0;
}

int loop_free(struct loop *loop) {
    if (!loop)
        return 0;
    LOOP_CHECK_THREAD(loop, "loop_free");
    if (loop->in_tick) {
        loop_set_error(loop, "loop_free: called inside one of this loop's callbacks, whose tick "
                             "would go on in freed memory; stop the loop (loop_stop) and free it "
                             "after loop_run returns");
        return -EBUSY;
    }
    if (loop->inbox_free)
        loop->inbox_free(loop); /* lesson 14's inbox: before its watcher is unlinked */
    loop_unwatch_all(loop);
    loop_timers_forget(loop);
    list_for_each(n, &loop->observers) {
        (void)loop_unobserve(loop, container_of(n, struct loop_observer, node));
    }
    sched_free(&loop->sched);
    loop->backend->ops->free(loop->backend);
    sched_dealloc(loop->alloc, loop->by_fd);
    sched_dealloc(loop->alloc, loop->ready_fds);
    sched_dealloc(loop->alloc, loop);
    return 0;
}

/* ---- the ready queue ------------------------------------------------------------------------ */

/* loop_call_soon's two rare paths, out of line (HINT_OUT_OF_LINE) so that its common path, a
 * runnable not yet queued on a policy that never allocates, is a few tests and stores and a tail
 * call with no stack frame: saving and restoring registers for the rare paths was a fifth of
 * what a call_soon + dispatch cost (tests/bench/loop_bench.c). */
HINT_OUT_OF_LINE static int call_soon_refuse_null(struct loop *loop) {
    loop_set_error(loop, "loop_call_soon: the callback is NULL: there would be nothing to run");
    return -EINVAL;
}

/* A bare runnable has no reservation: make room here, where -ENOMEM has a caller to go to, and
 * so that the places reserved by tasks, watchers and timers stay free. */
HINT_OUT_OF_LINE static int call_soon_making_room(struct loop *loop, struct runnable *r,
                                                  runnable_fn fn, void *arg) {
    int err = readyq_make_room(&loop->sched.ready);
    if (err) {
        loop_set_error(loop, "loop_call_soon(%s): out of memory for the ready queue", r->name);
        return err;
    }
    r->fn = fn;
    r->arg = arg;
    return sched_push_ready(&loop->sched, r);
}

int loop_call_soon(struct loop *loop, struct runnable *r, runnable_fn fn, void *arg) {
    if (!loop || !r)
        return -EINVAL;
    LOOP_CHECK_THREAD(loop, "loop_call_soon");
    if (!fn)
        return call_soon_refuse_null(loop);
    if (r->queued)
        return 0; /* already waiting its turn; it runs once */
    if (loop->sched.ready.grows)
        return call_soon_making_room(loop, r, fn, arg); /* a heap policy */
    r->fn = fn;
    r->arg = arg;
    return sched_push_ready(&loop->sched, r);
}

void loop_runnable_gone(struct loop *loop, struct runnable *r) {
    sched_runnable_gone(&loop->sched, r);
}

int loop_unqueue(struct loop *loop, struct runnable *r) {
    if (!loop || !r)
        return -EINVAL;
    LOOP_CHECK_THREAD(loop, "loop_unqueue");
    return sched_unqueue(&loop->sched, r);
}

/* Calls one hook on every attached observer that has it, with the hook's arguments after ctx
 * (the loop first). list_for_each reads the next node first, so a hook may detach (even free)
 * its own observer; it may detach others too, and a detached one is skipped. The empty-list
 * test is all a loop without observers pays. */
#define LOOP_NOTIFY(loop, hook, ...)                                                               \
    do {                                                                                           \
        list_for_each(n_, &(loop)->observers) {                                                    \
            struct loop_observer *o_ = container_of(n_, struct loop_observer, node);               \
            if (o_->loop == (loop) && o_->hooks.hook)                                              \
                o_->hooks.hook(o_->hooks.ctx, __VA_ARGS__);                                        \
        }                                                                                          \
    } while (0)

/* ---- one tick ------------------------------------------------------------------------------- */

int64_t loop_now(const struct loop *loop) {
    return loop_clock_now(loop->clock);
}

int64_t loop_deadline_after(const struct loop *loop, int64_t ns) {
    int64_t now = loop_now(loop);
    if (ns < 0)
        ns = 0; /* "in the past" means "as soon as possible": the next tick */
    /* now + ns, clamped at INT64_MAX so a far-future delay never wraps into the past. A virtual
     * clock may read below zero; then the sum cannot overflow (and INT64_MAX - now would). */
    return now > 0 && ns > INT64_MAX - now ? INT64_MAX : now + ns;
}

bool loop_alive(const struct loop *loop) {
    return readyq_count(&loop->sched.ready) > 0 || timerq_count(&loop->sched.timers) > 0 ||
           loop->watch_count > 0;
}

/* Step 1. Rounding UP matters: a timer 1.5 ms away on poll (ms resolution) must give one 2 ms
 * wait, not a 1 ms wait that wakes early and then spins with timeout 0 until the deadline. */
static int64_t compute_timeout(struct loop *loop) {
    if (readyq_count(&loop->sched.ready) > 0 || loop->stop_requested)
        return 0;
    struct timerq_entry *next = timerq_peek(&loop->sched.timers);
    if (!next)
        return -1; /* only fds can end this wait (loop_run_once checked that some are watched) */
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

/* Step 2: ask the backend, waiting at most timeout; the hooks see the wait and its answer. On a
 * virtual clock with autojump the loop only looks (timeout 0) and, if nothing is ready, jumps
 * virtual time to the next deadline: the wait it would have made is recorded in last_timeout,
 * and tests assert that instead of real elapsed time. Returns how many fds are ready. */
static int wait_for_readiness(struct loop *loop, int64_t timeout) {
    struct loop_clock *clock = loop->clock;
    loop->last_timeout = timeout;
    LOOP_NOTIFY(loop, before_wait, loop, timeout);
    bool jump = clock->is_virtual && clock->autojump && timeout > 0;
    int n = loop->backend->ops->wait(loop->backend, jump ? 0 : timeout, loop->ready_fds,
                                     loop->ready_fds_cap);
    if (n < 0) {
        loop_set_error(loop, "the %s backend's wait failed: %s", loop->backend->ops->name,
                       strerror(-n));
        return n;
    }
    if (n == 0 && jump) {
        struct timerq_entry *next = timerq_peek(&loop->sched.timers);
        if (next && next->deadline > clock->virtual_ns)
            clock->virtual_ns = next->deadline;
    }
    LOOP_NOTIFY(loop, after_wait, loop, loop->ready_fds, n);
    loop->sched.now = loop_now(loop); /* the wait took time */
    return n;
}

/* Step 3: the fds the backend named wake their watchers; due timers fire. Both only queue. */
static void queue_woken(struct loop *loop, int n_ready_fds) {
    loop_queue_ready_fds(loop, n_ready_fds);
    sched_fire_due_timers(&loop->sched, loop->sched.now);
    LOOP_NOTIFY(loop, after_queue, loop);
}

static void run_one(struct loop *loop, struct runnable *r) {
    struct sched *s = &loop->sched;
    /* Reading the clock costs as much as a dispatch: only when someone wants the duration. */
    bool timed = loop->time_runs;
    int64_t start = s->now;
    LOOP_NOTIFY(loop, before_run, loop, r);
    s->running = r;
    r->fn(r->arg);
    if (timed) {
        s->now = loop_now(loop);
        /* s->running is NULL if r's owner ended during the run: nobody is left to charge. */
        LOOP_NOTIFY(loop, after_run, loop, s->running, s->now - start);
        if (s->running)
            readyq_charge(&s->ready, r, s->now - start);
    }
    s->running = NULL;
}

/* Step 4, the batch rule: N = the runnables ready as the batch begins; N times, run the one the
 * policy picks among those ready at that moment; removing a runnable counted in N lowers N.
 * Under FIFO that is asyncio's snapshot (work queued during the batch waits for the next tick);
 * under any other policy a runnable queued during the batch may be picked in this batch, but a
 * batch never exceeds N, so I/O and timers are polled between batches.
 * time_runs is worked out here, once per batch: the policy cannot change under a batch that has
 * picks left (only on an empty queue, and then none is left), and loop_observe sets it itself. */
static void run_batch(struct loop *loop) {
    struct sched *s = &loop->sched;
    sched_batch_begin(s);
    loop->time_runs = s->ready.charges || loop->observers_timing;
    struct runnable *r;
    while ((r = sched_batch_next(s)) != NULL)
        run_one(loop, r);
    sched_batch_end(s);
}

static int tick(struct loop *loop) {
    loop->sched.tick++;
    loop->sched.now = loop_now(loop);
    if (!loop_alive(loop)) {
        loop->last_timeout = 0;
        return 0; /* nothing ready, armed or watched: nothing could ever end a wait */
    }
    int64_t timeout = compute_timeout(loop);   /* 1. how long may we wait? */
    int n = wait_for_readiness(loop, timeout); /* 2. which fds are ready? */
    if (n < 0)
        return n;
    queue_woken(loop, n); /* 3. ready fds and due timers: queued */
    run_batch(loop);      /* 4. N runnables, picked by the policy */
    return 0;
}

int loop_may_run(struct loop *loop, const char *caller) {
    LOOP_CHECK_THREAD(loop, caller);
    if (!loop->in_tick)
        return 0;
    loop_set_error(loop,
                   "%s: the loop is already running (called from inside one of its "
                   "callbacks); return from the callback and queue the work instead "
                   "(loop_call_soon, or spawn a task)",
                   caller);
    return -EBUSY;
}

/* A tick inside a tick would run a batch inside a batch, and the batch rule would no longer
 * hold: asyncio refuses with "This event loop is already running", and so does this. */
int loop_run_once(struct loop *loop) {
    int err = loop_may_run(loop, "loop_run_once");
    if (err)
        return err;
    loop->in_tick = true;
    err = tick(loop);
    loop->in_tick = false;
    return err;
}

int loop_run(struct loop *loop) {
    int err = loop_may_run(loop, "loop_run");
    while (err == 0 && loop_alive(loop)) {
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
