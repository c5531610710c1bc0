/* thread_bench.c — what it costs to leave the loop and come back (lesson 14): a
 * loop_call_soon_threadsafe post from 1 and from 4 threads, against a plain loop_call_soon; an
 * executor round trip (submit, a worker runs an empty job, the result back on the loop) against
 * the same plain hop; a worker-process round trip (8 bytes there, 8 back) against the executor's.
 * Each figure is the median of REPEATS runs. */
#include "tests/bench/lib/bench.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop/await.h"
#include "loop/thread/executor.h"
#include "loop/thread/procworker.h"
#include "loop/thread/threadsafe.h"

enum { REPEATS = 5, POSTS = 200000, HOPS = 20000, PROC_CALLS = 5000 };

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double (*measure)(void *), void *ctx) {
    double samples[REPEATS];
    for (int i = 0; i < REPEATS; i++)
        samples[i] = measure(ctx);
    qsort(samples, REPEATS, sizeof samples[0], compare);
    return samples[REPEATS / 2];
}

/* ---- the baseline: a callback that queues itself again, HOPS times --------------------------- */

struct hop {
    struct loop *loop;
    struct runnable run;
    long left;
};

static void hop_again(void *arg) {
    struct hop *h = arg;
    if (--h->left > 0)
        loop_call_soon(h->loop, &h->run, hop_again, h);
}

static double plain_hop(void *unused) {
    (void)unused;
    struct hop h = {.left = HOPS};
    if (loop_new(&h.loop, NULL) != 0)
        return -1;
    runnable_init(&h.run, NULL, NULL, "hop");
    int64_t start = bench_now_ns();
    loop_call_soon(h.loop, &h.run, hop_again, &h);
    loop_run(h.loop);
    double ns = (double)(bench_now_ns() - start) / HOPS;
    loop_free(h.loop);
    return ns;
}

static void nothing(void *arg) {
    (void)arg;
}

/* The baseline for posts: as many plain loop_call_soon calls from the loop's own thread, then the
 * ticks that run them (batched, as the posts are). */
static double plain_posts(void *unused) {
    (void)unused;
    struct loop *loop;
    struct runnable *runs = calloc(POSTS, sizeof *runs);
    if (!runs || loop_new(&loop, NULL) != 0)
        return -1;
    for (long i = 0; i < POSTS; i++)
        runnable_init(&runs[i], NULL, NULL, "call");
    int64_t start = bench_now_ns();
    for (long i = 0; i < POSTS; i++)
        loop_call_soon(loop, &runs[i], nothing, NULL);
    loop_run(loop);
    double ns = (double)(bench_now_ns() - start) / POSTS;
    loop_free(loop);
    free(runs);
    return ns;
}

/* ---- posts from other threads ------------------------------------------------------------- */

struct posts {
    struct loop *loop;
    struct runnable *runs;
    long received, expected;
    int threads;
};

struct poster {
    struct posts *p;
    long first, count;
};

static void received(void *arg) {
    struct posts *p = arg;
    if (++p->received == p->expected)
        loop_stop(p->loop);
}

static void *poster_main(void *arg) {
    struct poster *me = arg;
    for (long i = me->first; i < me->first + me->count; i++)
        loop_call_soon_threadsafe(me->p->loop, &me->p->runs[i], received, me->p);
    return NULL;
}

/* ns per post, from the first post to the last callback run on the loop. */
static double threadsafe_posts(void *arg) {
    int threads = *(int *)arg;
    struct posts p = {.expected = POSTS, .threads = threads};
    p.runs = calloc(POSTS, sizeof *p.runs);
    if (!p.runs || loop_new(&p.loop, NULL) != 0 || loop_threadsafe_enable(p.loop, false) != 0)
        return -1;
    for (long i = 0; i < POSTS; i++)
        runnable_init(&p.runs[i], NULL, NULL, "post");
    loop_threadsafe_hold(p.loop);
    pthread_t ids[4];
    struct poster posters[4];
    int64_t start = bench_now_ns();
    for (int t = 0; t < threads; t++) {
        posters[t] = (struct poster){&p, (long)t * (POSTS / threads), POSTS / threads};
        pthread_create(&ids[t], NULL, poster_main, &posters[t]);
    }
    loop_run(p.loop);
    double ns = (double)(bench_now_ns() - start) / POSTS;
    for (int t = 0; t < threads; t++)
        pthread_join(ids[t], NULL);
    loop_threadsafe_release(p.loop);
    loop_free(p.loop);
    free(p.runs);
    return ns;
}

/* ---- executor round trips ----------------------------------------------------------------- */

struct trips {
    struct loop *loop;
    struct executor *ex;
    struct executor_job job;
    long left;
};

static int empty_job(void *arg) {
    return arg != NULL;
}

static void trip_again(struct executor_job *job) {
    struct trips *t = (struct trips *)((char *)job - offsetof(struct trips, job));
    if (--t->left > 0)
        executor_submit(t->ex, &t->job, empty_job, t, trip_again);
}

static double executor_trip(void *unused) {
    (void)unused;
    struct trips t = {.left = HOPS};
    if (loop_new(&t.loop, NULL) != 0 || executor_new(&t.ex, t.loop, 1) != 0)
        return -1;
    executor_job_init(&t.job, "trip");
    int64_t start = bench_now_ns();
    executor_submit(t.ex, &t.job, empty_job, &t, trip_again);
    loop_run(t.loop); /* returns when the last job has ended: nothing holds the loop */
    double ns = (double)(bench_now_ns() - start) / HOPS;
    executor_free(t.ex);
    loop_free(t.loop);
    return ns;
}

/* ---- worker-process round trips -------------------------------------------------------------- */

static int echo_fn(const void *in, size_t in_len, void *out, size_t out_cap) {
    size_t n = in_len < out_cap ? in_len : out_cap;
    memcpy(out, in, n);
    return (int)n;
}

struct proc_caller {
    struct task task;
    struct procworker w;
    long i;
    uint64_t in, out;
};

static enum coro_status proc_step(struct task *t) {
    struct proc_caller *c = TASK_FRAME(t, struct proc_caller, task);
    CORO_BEGIN(&t->co);
    for (c->i = 0; c->i < PROC_CALLS; c->i++) {
        c->in = (uint64_t)c->i;
        PROCWORKER_CALL(t, &c->w, &c->in, sizeof c->in, &c->out, sizeof c->out);
        if (task_result(t) != (int)sizeof c->out)
            CORO_FAIL(&t->co, task_result(t) < 0 ? task_result(t) : -EIO);
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static double process_trip(void *unused) {
    (void)unused;
    struct loop *loop;
    static struct proc_caller c;
    if (loop_new(&loop, NULL) != 0 || procworker_start(&c.w, loop, echo_fn, "echo") != 0)
        return -1;
    int64_t start = bench_now_ns();
    loop_spawn(loop, &c.task, proc_step, "caller", NULL);
    int err = loop_run_until_complete(loop, &c.task);
    double ns = (double)(bench_now_ns() - start) / PROC_CALLS;
    procworker_stop(&c.w);
    loop_free(loop);
    return err ? -1 : ns;
}

int main(void) {
    double hop = median(plain_hop, NULL), plain = median(plain_posts, NULL);
    int one = 1, four = 4;
    bench_row_vs_asyncio("thread: call_soon_threadsafe, 1 thread", median(threadsafe_posts, &one),
                         "ns/post", "loop_call_soon + dispatch, 200k", plain, "threadsafe_post");
    bench_row("thread: call_soon_threadsafe, 4 threads", median(threadsafe_posts, &four), "ns/post",
              "loop_call_soon + dispatch, 200k", plain);
    double trip = median(executor_trip, NULL);
    bench_row_vs_asyncio("thread: executor round trip, empty job", trip, "ns/trip",
                         "loop_call_soon, one hop per tick", hop, "executor_trip");
    bench_row_vs_asyncio("thread: worker process round trip, 8 bytes", median(process_trip, NULL),
                         "ns/trip", "executor round trip", trip, "process_trip");
    return 0;
}
