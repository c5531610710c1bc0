/* 14_threads_vs_coroutines_test.c — lesson 14: CPU-bound work on the loop and three ways off it.
 * Blocking and chunking are timed on the virtual clock (the work moves the clock); the executor
 * and the worker process run for real, so they assert a wide gap (under half the work), never a
 * tight time. Then the machinery: threadsafe posts, executor cancel and shutdown, a dead worker
 * process, and a loop call from a foreign thread. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lessons/14-threads-vs-coroutines/scenes.h"
#include "loop/await.h"
#include "loop/thread/executor.h"
#include "loop/thread/procworker.h"
#include "loop/thread/threadsafe.h"
#include "tests/support/tasks.h"
#include "tests/support/twin.h"

#define MS INT64_C(1000000)

TestSuite(threads_vs_coroutines,
          .description = "What does CPU-bound work do to the loop, and how is it moved off?");

/* ---- the scenes ---------------------------------------------------------------------------- */

Test(threads_vs_coroutines, blocking_work_delays_every_timer_by_its_duration,
     .description = "Q: does a CPU-bound callback on the loop delay a timer by its whole "
                    "duration?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct scene_result r;
    cr_assert_eq(scene_run(loop, SCENE_BLOCKING, 200 * MS, 10 * MS, 10 * MS, &r), 0);
    cr_assert_eq(r.worst_late_ns, 190 * MS,
                 "yes: the beat due at 10 ms ran at 200 ms, when the work returned (%lld ns late)",
                 (long long)r.worst_late_ns);
    cr_assert_eq(r.beats, 1, "yes: the beats due meanwhile never ran at all (%d ran)", r.beats);
    loop_free(loop);
}

Test(threads_vs_coroutines, chunking_bounds_the_delay_to_a_chunk_or_two,
     .description = "Q: does yielding between chunks bound the timer's delay to the chunks?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct scene_result r;
    cr_assert_eq(scene_run(loop, SCENE_CHUNKED, 200 * MS, 10 * MS, 10 * MS, &r), 0);
    /* The beat falls due during one chunk; the task, queued before the timer fired, runs its
     * next chunk first in the following batch (the batch rule, as in asyncio): two chunks. */
    cr_assert_leq(r.worst_late_ns, 2 * 10 * MS,
                  "yes: never more than two 10 ms chunks late (%lld ns)",
                  (long long)r.worst_late_ns);
    cr_assert_geq(r.beats, 10, "yes: the heartbeat kept beating during the work (%d beats)",
                  r.beats);
    cr_assert_eq(r.total_ns, 200 * MS, "and the work itself took its 200 ms (%lld ns)",
                 (long long)r.total_ns);
    loop_free(loop);
}

/* Real time, so no tight bound: the heartbeat must be late by less than half the wall time the
 * work took, where in the blocking scene it is late by all of it. Off the loop it is usually
 * late by a tenth or less, but the runner runs tests side by side on a machine that may be
 * shared, and a loop thread kept waiting for a core is late for reasons no scene controls: the
 * lesson's claim, and the demo's and the twin's words, are "well under the whole work". Under
 * make check the scene still runs (its memory is what is checked there), but valgrind
 * runs one thread at a time, so the heartbeat shares a core with the work and the gap is not
 * asserted. */
static void assert_responsive(enum scene_kind kind) {
    struct loop *loop;
    cr_assert_eq(loop_new(&loop, NULL), 0);
    struct scene_result r;
    int64_t work = 200 * MS;
    if (getenv("LOOPSCHOOL_CHECK")) {
        cr_assert_eq(scene_run(loop, kind, work, 10 * MS, 10 * MS, &r), 0, "%s: %s",
                     scene_name(kind), loop_last_error(loop));
        loop_free(loop);
        return;
    }
    int factor = 2;
    cr_assert_eq(scene_run(loop, kind, work, 10 * MS, 10 * MS, &r), 0, "%s: %s", scene_name(kind),
                 loop_last_error(loop));
    cr_assert_geq(r.total_ns, work, "the work took its 200 ms of CPU (%lld ns)",
                  (long long)r.total_ns);
    cr_assert_lt(r.worst_late_ns * factor, r.total_ns,
                 "yes: with the work in the %s the heartbeat was late by %lld ns, under 1/%d of "
                 "the %lld ns the work took",
                 scene_name(kind), (long long)r.worst_late_ns, factor, (long long)r.total_ns);
    cr_assert_geq(r.beats, 5, "yes: it kept beating (%d beats)", r.beats);
    loop_free(loop);
}

Test(threads_vs_coroutines, executor_keeps_the_loop_responsive, .timeout = 20,
     .description = "Q: with the work on the executor's thread, does the heartbeat stay on time?") {
    assert_responsive(SCENE_EXECUTOR);
}

Test(threads_vs_coroutines, worker_process_keeps_the_loop_responsive, .timeout = 20,
     .description = "Q: with the work in a worker process, does the heartbeat stay on time?") {
    assert_responsive(SCENE_PROCESS);
}

Test(threads_vs_coroutines, demo_and_asyncio_agree, .timeout = 60,
     .description = "Q: does asyncio's loop suffer, and recover, the same way in each scene?") {
    struct test_twin_output *c, *py;
    test_twin_pair("14-threads-vs-coroutines", &c, &py);
    /* How late the heartbeat is when the work is off the loop depends on how busy the machine is
     * (a loaded machine can make either side "in between"); what both must agree on is that it
     * is well under the whole work. So those two words are read as one before comparing. */
    struct test_twin_output *both[] = {c, py};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < both[k]->count; i++) {
            char *at = strstr(both[k]->lines[i], "in between");
            if (at)
                snprintf(at, TEST_TWIN_LINE - (size_t)(at - both[k]->lines[i]), "%s",
                         "a small part of the work");
        }
    test_twin_assert_same(c, py);
    free(c);
    free(py);
}

/* ---- loop_call_soon_threadsafe ------------------------------------------------------------- */

enum { POSTERS = 8, POSTS_EACH = 10000 };

struct post_test {
    struct loop *loop;
    struct runnable *runs; /* one per post: a runnable is not posted again before it runs */
    unsigned char *ran;
    long total, expected;
    int refused;
};

struct poster {
    struct post_test *pt;
    int id, each;
};

static struct post_test *the_test; /* one post test at a time: the callbacks find it here */

static void note_post(void *arg) {
    size_t i = (size_t)(uintptr_t)arg;
    the_test->ran[i]++;
    if (++the_test->total == the_test->expected)
        loop_stop(the_test->loop);
}

static void *poster_main(void *p) {
    struct poster *me = p;
    for (int k = 0; k < me->each; k++) {
        size_t i = (size_t)me->id * (size_t)me->each + (size_t)k;
        if (loop_call_soon_threadsafe(me->pt->loop, &me->pt->runs[i], note_post,
                                      (void *)(uintptr_t)i) != 0)
            __atomic_add_fetch(&me->pt->refused, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void run_posters(bool use_pipe) {
    /* 80,000 posts; under make check (valgrind) each thread posts 1,000 instead. */
    int each = getenv("LOOPSCHOOL_CHECK") ? 1000 : POSTS_EACH;
    struct post_test pt = {.expected = (long)POSTERS * each};
    the_test = &pt;
    cr_assert_eq(loop_new(&pt.loop, NULL), 0);
    cr_assert_eq(loop_threadsafe_enable(pt.loop, use_pipe), 0);
    cr_assert_eq(loop_threadsafe_hold(pt.loop), 0);
    pt.runs = calloc((size_t)pt.expected, sizeof *pt.runs);
    pt.ran = calloc((size_t)pt.expected, 1);
    cr_assert(pt.runs && pt.ran);
    for (long i = 0; i < pt.expected; i++)
        runnable_init(&pt.runs[i], NULL, NULL, "post");
    pthread_t threads[POSTERS];
    struct poster posters[POSTERS];
    for (int t = 0; t < POSTERS; t++) {
        posters[t] = (struct poster){&pt, t, each};
        cr_assert_eq(pthread_create(&threads[t], NULL, poster_main, &posters[t]), 0);
    }
    int err = loop_run(pt.loop); /* until the last post stops it */
    for (int t = 0; t < POSTERS; t++)
        pthread_join(threads[t], NULL);
    cr_assert_eq(err, 0, "%s", loop_last_error(pt.loop));
    cr_assert_eq(pt.refused, 0, "no post was refused");
    cr_assert_eq(pt.total, pt.expected, "yes: %ld callbacks ran for %ld posts", pt.total,
                 pt.expected);
    for (long i = 0; i < pt.expected; i++)
        cr_assert_eq(pt.ran[i], 1, "yes: post %ld ran exactly once (it ran %d times)", i,
                     pt.ran[i]);
    loop_threadsafe_release(pt.loop);
    loop_free(pt.loop);
    free(pt.runs);
    free(pt.ran);
}

Test(threads_vs_coroutines, every_threadsafe_post_runs_exactly_once, .timeout = 60,
     .description = "Q: do 8 threads x 10,000 call_soon_threadsafe posts each run exactly once?") {
    run_posters(false);
}

Test(threads_vs_coroutines, every_post_runs_once_through_the_pipe_too, .timeout = 60,
     .description = "Q: does the pipe (where there is no eventfd) deliver every post once too?") {
    run_posters(true);
}

static void noop(void *arg) {
    (void)arg;
}

Test(threads_vs_coroutines, posts_before_the_loop_wakes_cost_one_write,
     .description = "Q: do many posts made while one wake-up is pending write only once?") {
    struct loop *loop;
    cr_assert_eq(loop_new(&loop, NULL), 0);
    cr_assert_eq(loop_threadsafe_enable(loop, false), 0);
    struct runnable runs[100];
    for (int i = 0; i < 100; i++) {
        runnable_init(&runs[i], NULL, NULL, "post");
        cr_assert_eq(loop_call_soon_threadsafe(loop, &runs[i], noop, NULL), 0);
    }
    char buf[512];
    TEST_DUMP_INTO(buf, loop_threadsafe_dump(loop, out));
    cr_assert(strstr(buf, "100 posted, 0 drained, 1 wake-ups written"),
              "yes: 100 posts, one write (the dump says: %s)", buf);
    /* No hold: the loop does not watch the descriptor, so the posts wait... */
    cr_assert_eq(loop_ready_count(loop), 0, "posts wait in the inbox, not on the ready queue");
    cr_assert_eq(loop_threadsafe_hold(loop), 0);
    cr_assert_eq(loop_run_once(loop), 0); /* ...until a hold watches it: the drain queues them */
    cr_assert_eq(loop_ready_count(loop), 100, "the drain moved all 100 onto the ready queue");
    loop_threadsafe_release(loop);
    cr_assert_eq(loop_run(loop), 0);
    TEST_DUMP_INTO(buf, loop_threadsafe_dump(loop, out));
    cr_assert(strstr(buf, "100 posted, 100 drained, 1 wake-ups written, 0 waiting, 0 holds"),
              "and then the inbox is empty: %s", buf);
    loop_free(loop);
}

Test(threads_vs_coroutines, threadsafe_misuse_is_refused,
     .description = "Q: is a post to a loop without an inbox refused with a clear error?") {
    struct loop *loop;
    cr_assert_eq(loop_new(&loop, NULL), 0);
    struct runnable r;
    runnable_init(&r, NULL, NULL, "post");
    cr_assert_eq(loop_call_soon_threadsafe(loop, &r, noop, NULL), -EINVAL,
                 "-EINVAL: loop_threadsafe_enable was never called");
    cr_assert_eq(loop_threadsafe_hold(loop), -EINVAL, "-EINVAL: no inbox to hold");
    cr_assert_eq(loop_threadsafe_enable(loop, false), 0);
    cr_assert_eq(loop_threadsafe_enable(loop, false), 0, "a second init is harmless");
    cr_assert_eq(loop_call_soon_threadsafe(loop, &r, NULL, NULL), -EINVAL, "-EINVAL: NULL fn");
    loop_free(loop);
}

/* ---- a loop call from the wrong thread ----------------------------------------------------- */

struct foreign {
    struct loop *loop;
    int call_soon, timer_start, run_once;
    char said[200];
};

static void never(struct loop_timer *t) {
    (void)t;
}

static void *foreign_main(void *p) {
    struct foreign *f = p;
    struct runnable r;
    runnable_init(&r, NULL, NULL, "foreign");
    f->call_soon = loop_call_soon(f->loop, &r, noop, NULL);
    snprintf(f->said, sizeof f->said, "%s", loop_last_error(f->loop));
    struct loop_timer t;
    loop_timer_init(&t, "foreign");
    f->timer_start = loop_timer_start(f->loop, &t, MS, never, NULL);
    f->run_once = loop_run_once(f->loop);
    return NULL;
}

Test(threads_vs_coroutines, a_loop_call_from_another_thread_is_refused,
     .description = "Q: does a loop call from a thread that does not own the loop get an "
                    "error instead of a race?") {
    struct foreign f = {0};
    cr_assert_eq(loop_new(&f.loop, NULL), 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, foreign_main, &f), 0);
    pthread_join(th, NULL);
    cr_assert_eq(f.call_soon, -EPERM, "yes: loop_call_soon from another thread is -EPERM");
    cr_assert(strstr(f.said, "does not own the loop"), "and loop_last_error says why: \"%s\"",
              f.said);
    cr_assert_eq(f.timer_start, -EPERM, "loop_timer_start too");
    cr_assert_eq(f.run_once, -EPERM, "and running the loop too");
    cr_assert_eq(loop_ready_count(f.loop) + loop_timer_count(f.loop), 0,
                 "nothing was queued or armed");
    loop_free(f.loop);
}

/* ---- the executor -------------------------------------------------------------------------- */

/* A gate a job waits at: a pipe, one byte per job let through. */
struct gated {
    int gate[2];
    atomic_int started, finished;
    int64_t hold_ns;
    struct executor *until_stopping; /* if set: past the gate, wait for its shutdown to begin */
};

static int gated_fn(void *arg) {
    struct gated *g = arg;
    atomic_fetch_add(&g->started, 1);
    char byte;
    while (read(g->gate[0], &byte, 1) < 0 && errno == EINTR) {
    }
    while (g->until_stopping && !executor_stopping(g->until_stopping))
        sched_yield(); /* waits for another thread to reach a point, as wait_started does */
    if (g->hold_ns)
        scene_burn(g->hold_ns);
    return atomic_fetch_add(&g->finished, 1) + 1;
}

static int plain_fn(void *arg) {
    atomic_fetch_add((atomic_int *)arg, 1);
    return 42;
}

static int ended;
static void note_end(struct executor_job *job) {
    (void)job;
    ended++;
}

static void open_gate(struct gated *g, int n) {
    for (int i = 0; i < n; i++)
        cr_assert_eq(write(g->gate[1], "x", 1), 1);
}

static void wait_started(struct gated *g, int n) {
    /* Waits for a thread to reach a point, not for time to pass: nothing is timed here. */
    while (atomic_load(&g->started) < n)
        sched_yield();
}

static void run_until_ended(struct loop *loop, int n) {
    while (ended < n)
        cr_assert_eq(loop_run_once(loop), 0, "%s", loop_last_error(loop));
}

Test(threads_vs_coroutines, a_cancelled_queued_job_never_runs, .timeout = 20,
     .description = "Q: does cancelling a job still in the queue keep it from ever running?") {
    struct loop *loop;
    cr_assert_eq(loop_new(&loop, NULL), 0);
    struct executor *ex;
    cr_assert_eq(executor_new(&ex, loop, 1), 0);
    struct gated g = {0};
    cr_assert_eq(pipe(g.gate), 0);
    atomic_int plain_runs = 0;
    struct executor_job busy, queued;
    executor_job_init(&busy, "busy");
    executor_job_init(&queued, "queued");
    ended = 0;
    cr_assert_eq(executor_submit(ex, &busy, gated_fn, &g, note_end), 0);
    wait_started(&g, 1); /* the only worker is held at the gate */
    cr_assert_eq(executor_submit(ex, &queued, plain_fn, &plain_runs, note_end), 0);
    cr_assert_eq(executor_queued(ex), 1, "the second job waits in the queue behind the held one");
    cr_assert_eq(executor_cancel(&queued), 0, "a queued job is cancelled: 0");
    cr_assert_eq(executor_queued(ex), 0, "and it left the queue");
    cr_assert_eq(executor_submit(ex, &queued, plain_fn, &plain_runs, NULL), -EBUSY,
                 "-EBUSY: its end has not been delivered yet");
    open_gate(&g, 1);
    run_until_ended(loop, 2);
    cr_assert_eq(atomic_load(&plain_runs), 0, "yes: the cancelled job never ran");
    cr_assert_eq(queued.result, -ECANCELED, "its result is -ECANCELED");
    cr_assert_eq(busy.result, 1, "the job that was running finished with its own result");
    cr_assert_eq(executor_cancel(&queued), -EALREADY, "-EALREADY: it has ended");
    executor_free(ex);
    close(g.gate[0]);
    close(g.gate[1]);
    loop_free(loop);
}

Test(threads_vs_coroutines, a_cancelled_running_job_finishes_and_its_result_is_dropped,
     .timeout = 20,
     .description = "Q: does cancelling a running job let it finish and drop its result, as "
                    "run_in_executor does?") {
    struct loop *loop;
    cr_assert_eq(loop_new(&loop, NULL), 0);
    struct executor *ex;
    cr_assert_eq(executor_new(&ex, loop, 1), 0);
    struct gated g = {0};
    cr_assert_eq(pipe(g.gate), 0);
    struct executor_job job;
    executor_job_init(&job, "running");
    ended = 0;
    cr_assert_eq(executor_submit(ex, &job, gated_fn, &g, note_end), 0);
    wait_started(&g, 1);
    cr_assert_eq(executor_cancel(&job), -EBUSY, "-EBUSY: it is running and cannot be stopped");
    cr_assert(executor_job_busy(&job), "the job is still busy: its memory must stay");
    open_gate(&g, 1);
    run_until_ended(loop, 1);
    cr_assert_eq(atomic_load(&g.finished), 1, "yes: it ran to its end");
    cr_assert_eq(job.result, -ECANCELED, "and its result (1) was dropped for -ECANCELED");
    cr_assert(!executor_job_busy(&job), "and the job is no longer busy: it may be reused");
    executor_free(ex);
    close(g.gate[0]);
    close(g.gate[1]);
    loop_free(loop);
}

static int count_threads(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

Test(threads_vs_coroutines, shutdown_waits_for_running_jobs_and_joins_every_worker, .timeout = 90,
     .description = "Q: does shutting the executor down wait for running jobs and join every "
                    "worker thread?") {
    struct loop *loop;
    cr_assert_eq(loop_new(&loop, NULL), 0);
    int before = count_threads();
    struct executor *ex;
    cr_assert_eq(executor_new(&ex, loop, 4), 0);
    if (before > 0)
        cr_assert_eq(count_threads(), before + 4, "4 worker threads started");
    /* The running jobs end only once the shutdown has begun: one that ended sooner would free
     * its worker to start the fifth, and this test would depend on which thread ran first. */
    struct gated g = {.hold_ns = 20 * MS, .until_stopping = ex};
    cr_assert_eq(pipe(g.gate), 0);
    struct executor_job jobs[5];
    ended = 0;
    for (int i = 0; i < 5; i++) {
        executor_job_init(&jobs[i], "job");
        cr_assert_eq(executor_submit(ex, &jobs[i], gated_fn, &g, note_end), 0);
    }
    wait_started(&g, 4); /* four run, the fifth waits in the queue */
    cr_assert(!executor_stopping(ex) && !executor_stopping(NULL),
              "before executor_free the executor is not stopping (nor is a NULL one)");
    open_gate(&g, 4);
    executor_free(ex);
    cr_assert_eq(atomic_load(&g.finished), 4,
                 "yes: shutdown returned only after the 4 running jobs finished");
    cr_assert_eq(atomic_load(&g.started), 4, "the queued fifth never started");
    if (before > 0)
        cr_assert_eq(count_threads(), before, "yes: every worker thread was joined");
    run_until_ended(loop, 5); /* the ends arrive on the loop's next tick */
    for (int i = 0; i < 4; i++)
        cr_assert_gt(jobs[i].result, 0, "running job %d kept its result", i);
    cr_assert_eq(jobs[4].result, -ECANCELED, "the queued one ended -ECANCELED");
    close(g.gate[0]);
    close(g.gate[1]);
    loop_free(loop);
}

/* A task that awaits a job, and one that cancels it while the job runs. */
struct awaiter {
    struct task task;
    struct executor *ex;
    struct executor_job job;
    struct gated *g;
    int result;
    bool body_went_on;
};

static enum coro_status awaiter_step(struct task *t) {
    struct awaiter *f = TASK_FRAME(t, struct awaiter, task);
    CORO_BEGIN(&t->co);
    EXECUTOR_AWAIT(t, f->ex, &f->job, gated_fn, f->g);
    f->result = task_result(t);
    f->body_went_on = true;
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(threads_vs_coroutines, a_task_awaits_a_job_and_a_cancel_leaves_at_once, .timeout = 20,
     .description = "Q: does a task get its job's result, and leave at once when cancelled?") {
    struct loop *loop;
    cr_assert_eq(loop_new(&loop, NULL), 0);
    struct executor *ex;
    cr_assert_eq(executor_new(&ex, loop, 2), 0);
    struct gated g = {0};
    cr_assert_eq(pipe(g.gate), 0);
    struct awaiter a = {.ex = ex, .g = &g}, b = {.ex = ex, .g = &g};
    cr_assert_eq(loop_spawn(loop, &a.task, awaiter_step, "a", NULL), 0);
    cr_assert_eq(loop_spawn(loop, &b.task, awaiter_step, "b", NULL), 0);
    cr_assert_eq(loop_run_once(loop), 0); /* both submit */
    wait_started(&g, 2);
    cr_assert_eq(task_cancel(&b.task), 0);
    cr_assert_eq(loop_run_until_complete(loop, &b.task), -ECANCELED,
                 "the cancelled task ends -ECANCELED while its job still runs");
    cr_assert(!b.body_went_on, "it left through its cleanup");
    cr_assert(executor_job_busy(&b.job), "its job is still running: the frame must stay");
    open_gate(&g, 2);
    cr_assert_eq(loop_run_until_complete(loop, &a.task), 0);
    cr_assert_gt(a.result, 0, "yes: the other task got its job's result (%d)", a.result);
    executor_free(ex); /* waits for b's job; its end is dropped on the next tick */
    while (executor_job_busy(&b.job))
        cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(b.job.result, -ECANCELED, "b's job result was dropped");
    close(g.gate[0]);
    close(g.gate[1]);
    loop_free(loop);
}

/* ---- the worker process -------------------------------------------------------------------- */

/* Doubles each byte; "die" kills the child, as the OOM killer or a segfault would. */
static int double_or_die(const void *in, size_t in_len, void *out, size_t out_cap) {
    if (in_len == 3 && memcmp(in, "die", 3) == 0)
        raise(SIGKILL);
    if (in_len > out_cap)
        return -EMSGSIZE;
    for (size_t i = 0; i < in_len; i++)
        ((unsigned char *)out)[i] = (unsigned char)(((const unsigned char *)in)[i] * 2);
    return (int)in_len;
}

struct caller {
    struct task task;
    struct procworker *w;
    const char *send;
    unsigned char got[16];
    int result, second;
};

static enum coro_status caller_step(struct task *t) {
    struct caller *f = TASK_FRAME(t, struct caller, task);
    CORO_BEGIN(&t->co);
    PROCWORKER_CALL_CATCH(t, f->w, f->send, strlen(f->send), f->got, sizeof f->got);
    f->result = task_result(t);
    PROCWORKER_CALL_CATCH(t, f->w, "\x01", 1, f->got, sizeof f->got);
    f->second = task_result(t);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* Starts worker `name` on a new loop and runs caller `c` (its two calls) to its end. */
static struct loop *run_caller(struct procworker *w, const char *name, struct caller *c) {
    struct loop *loop;
    cr_assert_eq(loop_new(&loop, NULL), 0);
    cr_assert_eq(procworker_start(w, loop, double_or_die, name), 0);
    c->w = w;
    cr_assert_eq(loop_spawn(loop, &c->task, caller_step, "caller", NULL), 0);
    cr_assert_eq(loop_run_until_complete(loop, &c->task), 0);
    return loop;
}

Test(threads_vs_coroutines, a_worker_process_answers_in_bytes, .timeout = 20,
     .description = "Q: does a worker process's result come back as bytes to the awaiting "
                    "task?") {
    struct procworker w;
    struct caller c = {.send = "\x01\x02\x03"};
    struct loop *loop = run_caller(&w, "doubler", &c);
    cr_assert_eq(c.result, 3, "yes: 3 bytes came back");
    cr_assert(c.got[0] == 2 && c.got[1] == 4 && c.got[2] == 6, "each byte doubled by the child");
    cr_assert_eq(c.second, 1, "and the worker answers the next call too");
    cr_assert_eq(procworker_stop(&w), 0, "a live worker stops and is reaped: 0");
    loop_free(loop);
}

Test(threads_vs_coroutines, a_worker_process_crash_is_an_error_not_a_hang, .timeout = 20,
     .description = "Q: when the worker process dies mid-call, does the caller get an error "
                    "instead of waiting forever?") {
    struct procworker w;
    struct caller c = {.send = "die"};
    struct loop *loop = run_caller(&w, "doomed", &c);
    cr_assert_eq(c.result, -EPIPE, "yes: the call ended -EPIPE (got %d)", c.result);
    cr_assert(strstr(w.why, "killed by signal 9"), "and the worker says how it died: %s", w.why);
    cr_assert_eq(c.second, -EPIPE, "a broken worker refuses the next call at once");
    cr_assert_eq(procworker_stop(&w), -ECHILD, "-ECHILD: the child was already reaped");
    loop_free(loop);
}
