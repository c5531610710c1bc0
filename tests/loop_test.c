/* loop_test.c — the loop's own promises (loop/loop*.c, built up in lessons 02, 04 and 05): a
 * watcher callback may unwatch itself or another ready fd, or watch new fds, without a freed
 * byte touched or an unwatched fd told anything; an invalid fd is dropped, not spun on; loop_run
 * ends when nothing is left; and every handled misuse gets its clear answer. Virtual clock and
 * the scripted backend throughout, except where a real fd is the point. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop/loop.h"
#include "tests/support/loop.h" /* test_virtual_loop, test_loop_new */

static struct loop_clock test_clock;

/* Queues one answer of the scripted backend: the fds (all readable) the next wait reports. */
static void script_ready(struct loop *loop, const int *fds, int n, unsigned readiness) {
    struct backend_ready ev[8];
    cr_assert_leq(n, 8, "a scripted answer here holds at most 8 ready fds");
    for (int i = 0; i < n; i++)
        ev[i] = (struct backend_ready){.fd = fds[i], .readiness = readiness};
    cr_assert_eq(backend_script_add(loop_backend(loop), ev, n), 0, "the script takes the answer");
}

/* ---- what the callbacks record --------------------------------------------------------------- */

struct fd_user {
    struct loop_watcher w; /* first: the callback gets &w and finds its user */
    int calls;
    unsigned last_ready;
    struct loop *loop;
    struct fd_user *victim;   /* unwatched and freed by this one's callback */
    struct fd_user *newcomer; /* watched by this one's callback */
    int newcomer_fd;
    bool free_self;
};

static void on_fd(struct loop_watcher *w, unsigned ready) {
    struct fd_user *u = (struct fd_user *)w;
    u->calls++;
    u->last_ready = ready;
    if (u->victim) {
        cr_assert_eq(loop_unwatch(u->loop, &u->victim->w), 0,
                     "unwatching another watched fd from a callback returns 0");
        free(u->victim); /* if the loop still held it, ASan and valgrind would say so */
        u->victim = NULL;
    }
    if (u->newcomer) {
        int rc =
            loop_watch_fd(u->loop, &u->newcomer->w, u->newcomer_fd, LOOP_READABLE, on_fd, NULL);
        cr_assert_eq(rc, 0, "watching a new fd from a callback succeeds (got %d: %s)", rc,
                     loop_last_error(u->loop));
        u->newcomer = NULL;
    }
    if (u->free_self) {
        cr_assert_eq(loop_unwatch(u->loop, w), 0, "a callback may unwatch its own fd");
        free(u);
    }
}

static struct fd_user *new_user(struct loop *loop, const char *name) {
    struct fd_user *u = calloc(1, sizeof *u);
    cr_assert_not_null(u, "calloc gives a watcher");
    loop_watcher_init(&u->w, name);
    u->loop = loop;
    return u;
}

static void watch(struct loop *loop, struct fd_user *u, int fd) {
    int rc = loop_watch_fd(loop, &u->w, fd, LOOP_READABLE, on_fd, NULL);
    cr_assert_eq(rc, 0, "watching fd %d succeeds (got %d: %s)", fd, rc, loop_last_error(loop));
}

struct counter {
    struct runnable run;
    int calls;
};

static void count_call(void *arg) {
    ((struct counter *)arg)->calls++;
}

static void count_timer(struct loop_timer *t) {
    (*(int *)t->arg)++;
}

TestSuite(loop, .description = "Does the loop keep its promises when callbacks change what it "
                               "watches, and does it refuse misuse clearly?");

/* ---- watchers changing the watch list from inside a callback --------------------------------- */

Test(loop, watcher_unwatches_itself,
     .description = "Q: may a watcher's callback unwatch its own "
                    "fd and free itself?") {
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    struct fd_user *u = new_user(loop, "self-closer");
    struct fd_user *other = new_user(loop, "bystander");
    watch(loop, u, 10);
    watch(loop, other, 11);
    u->free_self = true;
    int both[] = {10, 11};
    script_ready(loop, both, 2, LOOP_READABLE);
    script_ready(loop, both, 2, LOOP_READABLE); /* fd 10 reported again, though nobody watches it */
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(loop_watch_count(loop), 1u, "the self-closer is gone, the bystander stays");
    cr_assert_eq(other->calls, 1, "the bystander in the same batch is still served");
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(other->calls, 2,
                 "the next tick serves the bystander again, and nothing is "
                 "delivered for the unwatched fd 10 (the freed watcher)");
    loop_unwatch(loop, &other->w);
    free(other);
    loop_free(loop);
}

Test(loop, unwatched_ready_fd_is_not_delivered,
     .description = "Q: if a callback unwatches another fd that is ready in the same batch, is "
                    "that fd's callback skipped?") {
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    struct fd_user *a = new_user(loop, "a");
    struct fd_user *b = new_user(loop, "b");
    struct fd_user *c = new_user(loop, "c");
    watch(loop, a, 3);
    watch(loop, b, 4);
    watch(loop, c, 5);
    a->victim = b; /* a unwatches and frees b, which is already on the ready queue */
    int all[] = {3, 4, 5};
    script_ready(loop, all, 3, LOOP_READABLE);
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(a->calls, 1, "a, first in the batch, runs once");
    cr_assert_eq(c->calls, 1,
                 "c, after b in the same batch, still runs: removing b lowered N "
                 "by one, not more");
    cr_assert_eq(loop_ready_count(loop), 0u, "b's readiness was dropped from the ready queue");
    cr_assert_eq(loop_watch_count(loop), 2u, "a and c are still watched, b is not");
    /* The fd number b had is free again: a newcomer starts clean, with no stale readiness. */
    struct fd_user *d = new_user(loop, "d");
    watch(loop, d, 4);
    script_ready(loop, NULL, 0, 0);
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(d->calls, 0,
                 "a new watcher on a reused fd number hears nothing meant for the "
                 "old one");
    loop_free(loop);
    free(a);
    free(c);
    free(d);
}

Test(loop, callback_watches_new_fds,
     .description = "Q: may a callback watch new fds (growing "
                    "the loop's arrays) while a batch runs?") {
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    struct fd_user *a = new_user(loop, "a");
    struct fd_user *near = new_user(loop, "near");
    struct fd_user *far = new_user(loop, "far");
    watch(loop, a, 3);
    a->newcomer = near;
    a->newcomer_fd = 6;
    int three[] = {3};
    script_ready(loop, three, 1, LOOP_READABLE);
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(loop_watch_count(loop), 2u, "the fd watched from the callback is watched");
    /* Now an fd far beyond the fd index's size, so the index is reallocated mid-batch. */
    a->newcomer = far;
    a->newcomer_fd = 5000;
    script_ready(loop, three, 1, LOOP_READABLE);
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    int later[] = {6, 5000, 3};
    script_ready(loop, later, 3, LOOP_READABLE);
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(near->calls, 1, "the fd watched during tick 1 is served when it is ready");
    cr_assert_eq(far->calls, 1, "so is fd 5000, watched while the index had to grow");
    cr_assert_eq(a->calls, 3, "a was served in each of the three ticks");
    loop_free(loop);
    free(a);
    free(near);
    free(far);
}

Test(loop, invalid_fd_dropped_not_spun, .timeout = 30,
     .description = "Q: when poll says POLLNVAL (an fd closed while watched), is the watcher told "
                    "once and dropped, instead of the loop spinning on it?") {
    struct loop *loop = test_loop_new(&backend_poll);
    int p[2];
    cr_assert_eq(pipe(p), 0, "pipe() succeeds");
    struct fd_user *u = new_user(loop, "closed-too-early");
    watch(loop, u, p[0]);
    close(p[0]); /* the misuse: closed while still watched */
    for (int tick = 0; tick < 5 && loop_watch_count(loop) > 0; tick++)
        cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(u->calls, 1, "the callback hears about the invalid fd exactly once (%d calls)",
                 u->calls);
    cr_assert(u->last_ready & LOOP_INVALID, "it is told LOOP_INVALID");
    cr_assert_eq(loop_watch_count(loop), 0u, "and the loop has unwatched the fd itself");
    cr_assert_eq(loop_run(loop), 0, "with nothing left, loop_run returns at once");
    close(p[1]);
    free(u);
    loop_free(loop);
}

Test(loop, scripted_invalid_fd,
     .description = "Q: is LOOP_INVALID from any backend handled the "
                    "same way: once, then unwatched?") {
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    struct fd_user *u = new_user(loop, "gone");
    watch(loop, u, 9);
    int nine[] = {9};
    script_ready(loop, nine, 1, LOOP_INVALID);
    script_ready(loop, nine, 1, LOOP_INVALID);
    cr_assert_eq(loop_run(loop), 0, "loop_run ends: the only watcher was dropped");
    cr_assert_eq(u->calls, 1, "one call with LOOP_INVALID, not one per report");
    cr_assert_eq(u->last_ready, (unsigned)LOOP_INVALID, "and what it is told is LOOP_INVALID");
    free(u);
    loop_free(loop);
}

/* ---- running until nothing is left ----------------------------------------------------------- */

Test(loop, run_ends_when_nothing_is_left,
     .description = "Q: does loop_run return by itself once "
                    "nothing is ready, armed or watched?") {
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    cr_assert_eq(loop_run(loop), 0, "an empty loop returns at once");
    struct counter c = {.calls = 0};
    runnable_init(&c.run, NULL, NULL, "once");
    int fired = 0;
    struct loop_timer t;
    loop_timer_init(&t, "in-a-second");
    cr_assert_eq(loop_call_soon(loop, &c.run, count_call, &c), 0, "queueing a callback returns 0");
    cr_assert_eq(loop_timer_start(loop, &t, 1000000000, count_timer, &fired), 0,
                 "starting a timer returns 0");
    cr_assert_eq(loop_run(loop), 0, "loop_run returns 0");
    cr_assert_eq(c.calls, 1, "the callback ran");
    cr_assert_eq(fired, 1, "the timer fired");
    cr_assert_eq(loop_now(loop), 1000000000, "virtual time stands at the timer's deadline");
    cr_assert_eq(loop_ready_count(loop) + loop_timer_count(loop) + loop_watch_count(loop), 0u,
                 "nothing is ready, armed or watched when loop_run returns");
    loop_free(loop);
}

Test(loop, timers_only_on_poll,
     .description = "Q: does a loop with timers but no fd work on a "
                    "real backend (it still asks poll, with no fds)?") {
    struct loop *loop =
        test_virtual_loop_at(&test_clock, 0, &(struct loop_config){.backend = &backend_poll});
    int fired = 0;
    struct loop_timer t;
    loop_timer_init(&t, "alone");
    loop_timer_start(loop, &t, 3000000, count_timer, &fired);
    int rc = loop_run(loop);
    cr_assert_eq(rc, 0, "loop_run returns 0 (got %d: %s)", rc, loop_last_error(loop));
    cr_assert_eq(fired, 1, "the timer fired");
    loop_free(loop);
}

Test(loop, backend_failure_is_returned,
     .description = "Q: when the backend's wait fails, does "
                    "loop_run return its error with words?") {
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    struct fd_user *u = new_user(loop, "never-ready");
    watch(loop, u, 3);
    /* Nothing scripted and nothing timed: the script refuses to block forever. */
    cr_assert_eq(loop_run(loop), -EDEADLK, "the backend's -EDEADLK comes back from loop_run");
    cr_assert_not_null(strstr(loop_last_error(loop), "script"),
                       "loop_last_error names the backend: \"%s\"", loop_last_error(loop));
    loop_free(loop);
    free(u);
}

Test(loop, free_unlinks_pending_handles,
     .description = "Q: does loop_free leave every handle it "
                    "still held unlinked and reusable?") {
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    struct counter c;
    runnable_init(&c.run, NULL, NULL, "pending");
    struct loop_timer t;
    loop_timer_init(&t, "armed");
    struct fd_user *u = new_user(loop, "watching");
    loop_call_soon(loop, &c.run, count_call, &c);
    loop_timer_start(loop, &t, 5, count_timer, NULL);
    watch(loop, u, 7);
    loop_free(loop);
    cr_assert(!c.run.queued, "the runnable is no longer marked queued");
    cr_assert(!timerq_armed(&t.entry), "the timer is no longer armed");
    cr_assert_null(u->w.loop, "the watcher is no longer watching");
    free(u);
}

/* ---- misuse ---------------------------------------------------------------------------------- */

Test(loop, null_callbacks_refused,
     .description = "Q: is a NULL callback refused by call_soon, "
                    "the timers and watch, with words?") {
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    struct runnable r;
    runnable_init(&r, NULL, NULL, "r");
    cr_assert_eq(loop_call_soon(loop, &r, NULL, NULL), -EINVAL, "call_soon(NULL) is -EINVAL");
    cr_assert_not_null(strstr(loop_last_error(loop), "NULL"), "and says why: \"%s\"",
                       loop_last_error(loop));
    struct loop_timer t;
    loop_timer_init(&t, "t");
    cr_assert_eq(loop_timer_start(loop, &t, 10, NULL, NULL), -EINVAL,
                 "timer_start(NULL) is -EINVAL");
    cr_assert_eq(loop_timer_start_at(loop, &t, 10, NULL, NULL), -EINVAL,
                 "timer_start_at(NULL) is -EINVAL");
    cr_assert_not_null(strstr(loop_last_error(loop), "NULL"), "and says why: \"%s\"",
                       loop_last_error(loop));
    struct loop_watcher w;
    loop_watcher_init(&w, "w");
    cr_assert_eq(loop_watch_fd(loop, &w, 3, LOOP_READABLE, NULL, NULL), -EINVAL,
                 "watch_fd(NULL) is -EINVAL");
    cr_assert_not_null(strstr(loop_last_error(loop), "NULL"), "and says why: \"%s\"",
                       loop_last_error(loop));
    cr_assert_eq(loop_ready_count(loop) + loop_timer_count(loop) + loop_watch_count(loop), 0u,
                 "nothing refused was queued, armed or watched");
    loop_free(loop);
}

static int64_t fired_at;
static uint64_t fired_tick;

static void note_fire(struct loop_timer *t) {
    struct loop *loop = t->arg;
    fired_at = loop_now(loop);
    fired_tick = loop_tick(loop);
}

static struct loop_timer chained;

static void start_chained_in_past(struct loop_timer *t) {
    struct loop *loop = t->arg;
    loop_timer_start(loop, &chained, -1000, note_fire, loop);
}

Test(loop, negative_delay_runs_next_tick,
     .description = "Q: when is a timer with a negative "
                    "delay run?") {
    struct loop *loop = test_virtual_loop_at(&test_clock, 1000000000, NULL);
    struct loop_timer t;
    loop_timer_init(&t, "in-the-past");
    cr_assert_eq(loop_timer_start(loop, &t, -5000000000, note_fire, loop), 0,
                 "a negative delay is accepted (it means \"as soon as possible\")");
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(fired_tick, 1u, "it runs in the very next tick");
    cr_assert_eq(fired_at, 1000000000, "with no wait: virtual time did not move");
    cr_assert_eq(loop_last_timeout(loop), 0, "the tick's wait was 0");

    /* Started from a callback, it does not run in the tick that started it: the next one. */
    struct loop_timer starter;
    loop_timer_init(&starter, "starter");
    loop_timer_init(&chained, "chained");
    loop_timer_start(loop, &starter, 0, start_chained_in_past, loop);
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(fired_tick, 1u, "tick 2 ran the starter only");
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(fired_tick, 3u, "the timer it started with a negative delay ran in tick 3");
    loop_free(loop);
}

Test(loop, far_future_does_not_overflow,
     .description = "Q: does a delay near INT64_MAX, or a "
                    "clock reading negative, overflow?") {
    /* A virtual clock may start anywhere, even below zero: neither sum may overflow. */
    static const int64_t starts[] = {0, 7000000000, -7000000000};
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        struct loop *loop = test_virtual_loop_at(&test_clock, starts[i],
                                                 &(struct loop_config){.backend = &backend_poll});
        struct loop_timer t;
        loop_timer_init(&t, "far");
        cr_assert_eq(loop_timer_start(loop, &t, INT64_MAX, note_fire, loop), 0,
                     "starting a timer returns 0");
        int64_t want = starts[i] > 0 ? INT64_MAX : starts[i] + INT64_MAX;
        cr_assert_eq(t.entry.deadline, want,
                     "start %lld: the deadline is clamped to %lld, not "
                     "wrapped (got %lld)",
                     (long long)starts[i], (long long)want, (long long)t.entry.deadline);
        cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
        int64_t timeout = loop_last_timeout(loop);
        cr_assert_gt(timeout, 0, "start %lld: the computed wait is positive (%lld)",
                     (long long)starts[i], (long long)timeout);
        cr_assert_eq(timeout % 1000000, 0, "it is a whole number of poll's milliseconds");
        cr_assert_eq(fired_at, want, "and virtual time jumped to the far deadline to fire it");
        loop_free(loop);

        /* The same with an absolute deadline of INT64_MAX: the wait (deadline - now) exceeds
         * INT64_MAX when the clock reads below zero, and must be clamped, not wrapped. */
        loop = test_virtual_loop_at(&test_clock, starts[i], NULL);
        loop_timer_init(&t, "at-the-end-of-time");
        cr_assert_eq(loop_timer_start_at(loop, &t, INT64_MAX, note_fire, loop), 0,
                     "starting a timer returns 0");
        cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
        cr_assert_gt(loop_last_timeout(loop), 0,
                     "start %lld: the wait for INT64_MAX is positive "
                     "(%lld)",
                     (long long)starts[i], (long long)loop_last_timeout(loop));
        cr_assert_eq(fired_at, INT64_MAX, "and the timer fires at INT64_MAX");
        loop_free(loop);
    }
    /* The other end: a deadline at INT64_MIN is simply in the past. */
    struct loop *loop = test_virtual_loop_at(&test_clock, 5, NULL);
    struct loop_timer t;
    loop_timer_init(&t, "long-ago");
    fired_tick = 0;
    cr_assert_eq(loop_timer_start_at(loop, &t, INT64_MIN, note_fire, loop), 0,
                 "starting a timer returns 0");
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(fired_tick, 1u, "a deadline at INT64_MIN runs in the next tick");
    loop_free(loop);
}

static struct loop_timer sibling;
static int stop_result;

static void stop_sibling(struct loop_timer *t) {
    stop_result = loop_timer_stop(t->arg, &sibling);
}

Test(loop, stop_twice_or_after_firing,
     .description = "Q: what does stopping a timer return when "
                    "there is nothing left to stop?") {
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    int fired = 0;
    struct loop_timer t;
    loop_timer_init(&t, "t");
    cr_assert_eq(loop_timer_stop(loop, &t), -EALREADY, "never started: -EALREADY");
    loop_timer_start(loop, &t, 1000, count_timer, &fired);
    cr_assert_eq(loop_timer_stop(loop, &t), 0, "armed: stopping it returns 0");
    cr_assert_eq(loop_timer_stop(loop, &t), -EALREADY, "stopped twice: -EALREADY, not a failure");
    loop_timer_start(loop, &t, 1000, count_timer, &fired);
    cr_assert_eq(loop_run(loop), 0, "loop_run returns 0");
    cr_assert_eq(fired, 1, "the timer fired once");
    cr_assert_eq(loop_timer_stop(loop, &t), -EALREADY, "after it fired: -EALREADY");

    /* Due and already on the ready queue: stopping it still prevents it, and returns 0. */
    struct loop_timer first;
    loop_timer_init(&first, "first");
    loop_timer_init(&sibling, "sibling");
    int sibling_fired = 0;
    loop_timer_start(loop, &first, 50, stop_sibling, loop);
    loop_timer_start(loop, &sibling, 50, count_timer, &sibling_fired);
    cr_assert_eq(loop_run(loop), 0, "loop_run returns 0");
    cr_assert_eq(stop_result, 0, "stopping a timer that is due but has not run returns 0");
    cr_assert_eq(sibling_fired, 0, "and it never runs");
    cr_assert_eq(loop_timer_stop(loop, &sibling), -EALREADY, "stopping it again: -EALREADY");
    loop_free(loop);
}

Test(loop, call_soon_twice_runs_once,
     .description = "Q: does queueing a queued runnable again, or "
                    "cancelling it twice, do any harm?") {
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    struct counter c = {.calls = 0};
    runnable_init(&c.run, NULL, NULL, "twice");
    cr_assert_eq(loop_call_soon(loop, &c.run, count_call, &c), 0, "queueing a callback returns 0");
    cr_assert_eq(loop_call_soon(loop, &c.run, count_call, &c), 0,
                 "a second call_soon of a queued runnable returns 0 ...");
    cr_assert_eq(loop_ready_count(loop), 1u, "... and queues nothing more");
    cr_assert_eq(loop_run(loop), 0, "loop_run returns 0");
    cr_assert_eq(c.calls, 1, "it runs once");
    loop_call_soon(loop, &c.run, count_call, &c);
    cr_assert_eq(loop_unqueue(loop, &c.run), 0, "cancelling a queued runnable returns 0");
    cr_assert_eq(loop_unqueue(loop, &c.run), -EALREADY, "cancelling it again returns -EALREADY");
    cr_assert_eq(loop_run(loop), 0, "loop_run returns 0");
    cr_assert_eq(c.calls, 1, "a cancelled runnable does not run");
    loop_free(loop);
}

Test(loop, dump_names_everything,
     .description = "Q: does loop_dump name every watcher, queued "
                    "callback and timer?") {
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    struct fd_user *u = new_user(loop, "stdin-reader");
    watch(loop, u, 0);
    struct counter c;
    runnable_init(&c.run, NULL, NULL, "greeter");
    loop_call_soon(loop, &c.run, count_call, &c);
    struct loop_timer t;
    loop_timer_init(&t, "heartbeat");
    loop_timer_start(loop, &t, 2000000, count_timer, NULL);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    loop_dump(loop, out);
    fclose(out);
    cr_assert_not_null(strstr(text, "stdin-reader"), "the watcher is named:\n%s", text);
    cr_assert_not_null(strstr(text, "greeter"), "the queued callback is named:\n%s", text);
    cr_assert_not_null(strstr(text, "heartbeat in +2.000 ms"),
                       "the timer is named, with its deadline from now:\n%s", text);
    free(text);
    loop_free(loop);
    free(u);
}
