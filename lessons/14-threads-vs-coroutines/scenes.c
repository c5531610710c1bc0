/* scenes.c — lesson 14's scenes: the heartbeat, the work, and the four places the work can run.
 * The demo narrates and tabulates them; the test asserts what they show. */
#include "lessons/14-threads-vs-coroutines/scenes.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "loop/await.h"
#include "loop/thread/executor.h"
#include "loop/thread/procworker.h"

/* The CPU time this thread has used: on a busy machine a thread may wait for a core, and the
 * work is the CPU it needs, not the wall time it happens to take. */
static int64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

long scene_burn(int64_t ns) {
    /* Arithmetic, checking the clock every 4096 rounds: real CPU work the compiler must do. */
    uint64_t x = 88172645463325252u;
    int64_t end = thread_cpu_ns() + ns;
    do {
        for (int i = 0; i < 4096; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
    } while (thread_cpu_ns() < end);
    return (long)(x & 0x7fffffff);
}

static int64_t cpu_ns(void) {
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    int64_t us = 0;
    const struct rusage *both[2] = {&self, &children};
    for (int i = 0; i < 2; i++)
        us += (int64_t)(both[i]->ru_utime.tv_sec + both[i]->ru_stime.tv_sec) * 1000000 +
              both[i]->ru_utime.tv_usec + both[i]->ru_stime.tv_usec;
    return us * 1000;
}

struct scene {
    struct loop *loop;
    struct loop_clock *clock;
    enum scene_kind kind;
    int64_t work_ns, chunk_ns, period_ns;
    struct loop_timer heartbeat;
    int64_t next_beat;
    bool work_done, beat_after_done;
    int64_t done_at;
    struct scene_result *result;
    /* the work, in its four shapes */
    struct runnable blocking;
    struct task task;
    int64_t burnt;
    struct executor *ex;
    struct executor_job job;
    struct procworker worker;
    int64_t request;
    long reply;
    int error;
};

/* On a virtual clock the work is time passing, exactly; on the real one it is a spin. */
static long work(struct scene *s, int64_t ns) {
    if (s->clock->is_virtual) {
        loop_clock_advance(s->clock, ns);
        return (long)ns;
    }
    return scene_burn(ns);
}

static void beat(struct loop_timer *t) {
    struct scene *s = t->arg;
    int64_t now = loop_now(s->loop);
    int64_t late = now - s->next_beat;
    if (late > s->result->worst_late_ns)
        s->result->worst_late_ns = late;
    s->result->beats++;
    if (s->work_done)
        s->beat_after_done = true;
    while (s->next_beat <= now) /* beats missed while blocked are skipped, not run in a burst */
        s->next_beat += s->period_ns;
    loop_timer_start_at(s->loop, &s->heartbeat, s->next_beat, beat, s);
}

static void finish(struct scene *s, long checksum) {
    s->result->checksum = checksum;
    s->done_at = loop_now(s->loop);
    s->work_done = true;
}

static void blocking_work(void *arg) {
    struct scene *s = arg;
    finish(s, work(s, s->work_ns));
}

static enum coro_status chunked_step(struct task *t) {
    struct scene *s = TASK_FRAME(t, struct scene, task);
    CORO_BEGIN(&t->co);
    for (s->burnt = 0; s->burnt < s->work_ns; s->burnt += s->chunk_ns) {
        s->reply += work(s, s->chunk_ns);
        TASK_YIELD(t); /* await asyncio.sleep(0): let the timers in */
    }
    finish(s, s->reply);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static int job_fn(void *arg) {
    struct scene *s = arg; /* only work_ns is read: the loop does not touch it meanwhile */
    return (int)scene_burn(s->work_ns);
}

static enum coro_status executor_step(struct task *t) {
    struct scene *s = TASK_FRAME(t, struct scene, task);
    CORO_BEGIN(&t->co);
    EXECUTOR_AWAIT(t, s->ex, &s->job, job_fn, s);
    if (task_result(t) < 0)
        CORO_FAIL(&t->co, task_result(t));
    finish(s, task_result(t));
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* In the child process: the request is how long to burn; the reply is the checksum. */
static int process_fn(const void *in, size_t in_len, void *out, size_t out_cap) {
    int64_t ns;
    long sum;
    if (in_len != sizeof ns || out_cap < sizeof sum)
        return -EINVAL;
    memcpy(&ns, in, sizeof ns);
    sum = scene_burn(ns);
    memcpy(out, &sum, sizeof sum);
    return (int)sizeof sum;
}

static enum coro_status process_step(struct task *t) {
    struct scene *s = TASK_FRAME(t, struct scene, task);
    CORO_BEGIN(&t->co);
    PROCWORKER_CALL(t, &s->worker, &s->request, sizeof s->request, &s->reply, sizeof s->reply);
    if (task_result(t) < 0)
        CORO_FAIL(&t->co, task_result(t));
    finish(s, s->reply);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static int start_work(struct scene *s) {
    switch (s->kind) {
    case SCENE_BLOCKING:
        runnable_init(&s->blocking, NULL, NULL, "200 ms of CPU");
        return loop_call_soon(s->loop, &s->blocking, blocking_work, s);
    case SCENE_CHUNKED:
        return loop_spawn(s->loop, &s->task, chunked_step, "chunked work", NULL);
    case SCENE_EXECUTOR:
        executor_job_init(&s->job, "burn on a thread");
        int err = executor_new(&s->ex, s->loop, 1);
        return err ? err : loop_spawn(s->loop, &s->task, executor_step, "awaits a job", NULL);
    case SCENE_PROCESS:
        s->request = s->work_ns;
        err = procworker_start(&s->worker, s->loop, process_fn, "burner");
        return err ? err : loop_spawn(s->loop, &s->task, process_step, "awaits a process", NULL);
    default:
        return -EINVAL;
    }
}

int scene_run(struct loop *loop, enum scene_kind kind, int64_t work_ns, int64_t chunk_ns,
              int64_t period_ns, struct scene_result *out) {
    struct scene s = {.loop = loop,
                      .clock = loop_clock(loop),
                      .kind = kind,
                      .work_ns = work_ns,
                      .chunk_ns = chunk_ns,
                      .period_ns = period_ns,
                      .result = out};
    memset(out, 0, sizeof *out);
    out->kind = kind;
    int64_t cpu0 = cpu_ns(), start = loop_now(loop);
    loop_timer_init(&s.heartbeat, "heartbeat");
    s.next_beat = start + period_ns;
    int err = loop_timer_start_at(loop, &s.heartbeat, s.next_beat, beat, &s);
    if (!err)
        err = start_work(&s);
    while (!err && !(s.work_done && s.beat_after_done)) {
        if (s.kind != SCENE_BLOCKING && task_done(&s.task) && s.task.error) {
            err = s.task.error;
            break;
        }
        err = loop_run_once(loop);
    }
    loop_timer_stop(loop, &s.heartbeat);
    if (s.ex)
        executor_free(s.ex);
    if (kind == SCENE_PROCESS && s.worker.reply)
        procworker_stop(&s.worker); /* reaped: its CPU now counts as the children's */
    out->total_ns = s.done_at - start;
    out->cpu_ns = cpu_ns() - cpu0;
    return err;
}

const char *scene_name(enum scene_kind kind) {
    static const char *names[] = {"blocking", "chunked", "executor", "process"};
    return kind < SCENE_COUNT ? names[kind] : "?";
}

const char *scene_lateness_bucket(int64_t late_ns, int64_t total_ns) {
    if (late_ns * 2 >= total_ns)
        return "about the whole work";
    if (late_ns * 4 < total_ns)
        return "a small part of the work";
    return "in between";
}
