/* workload.c — lesson 09's workload: tasks that burn simulated CPU on the virtual clock, run under
 * one policy, watched through the loop's before_run / after_run hooks. A unit of "work" is
 * loop_clock_advance inside a task's step: the loop sees a step that took unit_ns, exactly as if
 * it had computed that long, and charges the policy for it (stride and MLFQ account for it). */
#include "lessons/09-scheduling-policies/workload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/policy/lottery.h"
#include "sched/policy/mlfq.h"

/* ---- one task ---------------------------------------------------------------------------- */

struct workload_run;

/* A task's frame: the task, and the fields that carry its state across suspensions. */
struct workload_frame {
    struct task task;
    const struct workload_task_spec *spec;
    struct workload_run *run;
    int64_t release;      /* the current job's release */
    int64_t job_deadline; /* its absolute deadline */
    int units_left;       /* of the current job */
    bool job_open;        /* a job has been released and has not ended */
    int64_t ready_at;     /* when it last became ready (for the longest wait) */
};

struct workload_run {
    const struct workload_spec *spec;
    struct workload_result *out;
    struct loop *loop;
    struct loop_clock clock;
    struct workload_frame frames[WORKLOAD_MAX_TASKS];
    int current;           /* the frame running now, or -1 */
    uint8_t current_level; /* its MLFQ level when it was picked */
    int64_t current_start;
    int error; /* the first failure to record something (-ENOMEM) */
};

/* A pointer to one more element at the end of *array (count in use, *capacity allocated),
 * growing it if needed; NULL, with run->error set, if there is no memory. */
static void *workload_append(struct workload_run *run, void **array, size_t *count,
                             size_t *capacity, size_t size) {
    if (*count == *capacity) {
        size_t want = *capacity ? *capacity * 2 : 256;
        void *grown = realloc(*array, want * size);
        if (!grown) {
            run->error = -ENOMEM;
            return NULL;
        }
        *array = grown;
        *capacity = want;
    }
    return (char *)*array + (*count)++ * size;
}

static void workload_note_miss(struct workload_run *run, size_t task, int64_t deadline) {
    struct workload_result *out = run->out;
    out->stats[task].jobs_missed++;
    void *array = out->misses;
    struct workload_miss *m =
        workload_append(run, &array, &out->miss_count, &out->miss_capacity, sizeof *m);
    out->misses = array;
    if (m)
        *m = (struct workload_miss){.deadline_ns = deadline, .task = (uint16_t)task};
}

static void workload_note_wait(struct workload_run *run, size_t task, int64_t from, int64_t to) {
    struct workload_result *out = run->out;
    void *array = out->waits;
    struct workload_wait *w =
        workload_append(run, &array, &out->wait_count, &out->wait_capacity, sizeof *w);
    out->waits = array;
    if (w)
        *w = (struct workload_wait){.from_ns = from, .to_ns = to, .task = (uint16_t)task};
}

static void workload_note_slice(struct workload_run *run, size_t task, int64_t start,
                                int64_t ran_ns, uint8_t level) {
    struct workload_result *out = run->out;
    void *array = out->slices;
    struct workload_slice *s =
        workload_append(run, &array, &out->slice_count, &out->slice_capacity, sizeof *s);
    out->slices = array;
    if (s)
        *s = (struct workload_slice){
            .start_ns = start, .ran_ns = ran_ns, .task = (uint16_t)task, .level = level};
}

static size_t frame_index(const struct workload_frame *f) {
    return (size_t)(f - f->run->frames);
}

static int64_t frame_now(const struct workload_frame *f) {
    return loop_clock_now(&f->run->clock);
}

/* A new job, if it can start before the horizon (false: the task has no more jobs). Its deadline
 * goes on the runnable, where EDF reads it. Safe to write: the task is running, so it is on no
 * queue (changing the key of a queued runnable would break a heap). */
static bool job_release(struct workload_frame *f, int64_t release) {
    if (release + f->spec->unit_ns > f->run->spec->horizon_ns)
        return false;
    f->release = release;
    f->job_deadline = release + f->spec->deadline_ns;
    f->units_left = f->spec->units;
    f->job_open = true;
    f->task.run.deadline = f->job_deadline;
    return true;
}

static void job_end(struct workload_frame *f) {
    struct workload_task_stats *st = &f->run->out->stats[frame_index(f)];
    f->job_open = false;
    st->jobs_done++;
    if (frame_now(f) > f->job_deadline)
        workload_note_miss(f->run, frame_index(f), f->job_deadline);
}

/* When the next job comes, by the task's kind. */
static int64_t next_release(const struct workload_frame *f) {
    switch (f->spec->kind) {
    case WORKLOAD_PERIODIC:
        return f->release + f->spec->period_ns; /* late or not: the period is the period */
    case WORKLOAD_INTERACTIVE:
        return frame_now(f) + f->spec->period_ns;
    case WORKLOAD_ALWAYS_READY:
    default:
        return frame_now(f);
    }
}

/* Python: while there is time for a unit: burn a unit of CPU; await asyncio.sleep(0) — or, at
 * the end of a job, sleep until the next one is released. */
static enum coro_status workload_task_step(struct task *t) {
    struct workload_frame *f = TASK_FRAME(t, struct workload_frame, task);
    CORO_BEGIN(&t->co);
    /* The first step only sets the fields the policies order by (the task runs, so it is on no
     * queue) and releases the first job; the work starts at its next turn. */
    t->run.priority = f->spec->priority;
    t->run.tickets = f->spec->tickets;
    t->run.has_deadline = true;
    if (!job_release(f, f->spec->start_ns))
        CORO_RETURN(&t->co);
    if (f->release > frame_now(f)) {
        f->ready_at = f->release;
        LOOP_SLEEP_UNTIL(t, f->release);
    } else {
        f->ready_at = frame_now(f);
        TASK_YIELD(t);
    }
    while (frame_now(f) + f->spec->unit_ns <= f->run->spec->horizon_ns) {
        loop_clock_advance(&f->run->clock, f->spec->unit_ns); /* one unit of CPU work */
        if (--f->units_left == 0) {
            job_end(f);
            if (!job_release(f, next_release(f)))
                CORO_RETURN(&t->co); /* no time left for another job */
            if (f->release > frame_now(f)) {
                f->ready_at = f->release;
                LOOP_SLEEP_UNTIL(t, f->release);
                continue;
            }
        }
        f->ready_at = frame_now(f);
        TASK_YIELD(t);
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* ---- watching the loop ------------------------------------------------------------------- */

static void on_before_run(void *ctx, struct loop *loop, const struct runnable *r) {
    struct workload_run *run = ctx;
    run->current = -1;
    for (size_t i = 0; i < run->spec->task_count; i++)
        if (&run->frames[i].task.run == r)
            run->current = (int)i;
    if (run->current < 0)
        return; /* not one of ours (nothing else runs here, but a hook must not assume) */
    struct workload_task_stats *st = &run->out->stats[run->current];
    int64_t now = loop_now(loop);
    int64_t ready_at = run->frames[run->current].ready_at;
    if (now - ready_at > st->longest_wait_ns) {
        st->longest_wait_ns = now - ready_at;
        st->longest_wait_from_ns = ready_at;
    }
    if (now > ready_at)
        workload_note_wait(run, (size_t)run->current, ready_at, now);
    run->current_level = r->level;
    if (r->level > st->deepest_level)
        st->deepest_level = r->level;
    run->current_start = now;
}

/* r is NULL when the task ended in this run: run->current still says who it was. */
static void on_after_run(void *ctx, struct loop *loop, const struct runnable *r, int64_t ran_ns) {
    struct workload_run *run = ctx;
    (void)loop;
    (void)r;
    if (run->current < 0 || ran_ns <= 0)
        return;
    run->out->stats[run->current].cpu_ns += ran_ns;
    run->out->cpu_ns += ran_ns;
    workload_note_slice(run, (size_t)run->current, run->current_start, ran_ns, run->current_level);
    run->current = -1;
}

/* ---- running it -------------------------------------------------------------------------- */

static bool spec_valid(const struct workload_spec *spec) {
    if (spec->task_count == 0 || spec->task_count > WORKLOAD_MAX_TASKS || !spec->tasks ||
        spec->horizon_ns <= 0)
        return false;
    for (size_t i = 0; i < spec->task_count; i++) {
        const struct workload_task_spec *t = &spec->tasks[i];
        bool sleeps = t->kind == WORKLOAD_PERIODIC || t->kind == WORKLOAD_INTERACTIVE;
        if (!t->name || t->unit_ns <= 0 || t->units <= 0 || t->deadline_ns <= 0 ||
            t->tickets == 0 || t->start_ns < 0 || (sleeps && t->period_ns <= 0) ||
            (unsigned)t->kind > WORKLOAD_INTERACTIVE || t->start_ns > spec->horizon_ns)
            return false;
    }
    return true;
}

/* The policy's knobs that the spec sets. */
static int configure_policy(struct loop *loop, const struct workload_spec *spec) {
    struct policy *p = loop_policy(loop);
    if (p->ops == &policy_lottery)
        return policy_lottery_seed(p, spec->lottery_seed);
    if (p->ops == &policy_mlfq && spec->mlfq)
        return policy_mlfq_configure(p, spec->mlfq);
    return 0;
}

/* A job still open when the run ended missed its deadline if that deadline had passed. */
static void count_unfinished(struct workload_run *run) {
    for (size_t i = 0; i < run->spec->task_count; i++) {
        const struct workload_frame *f = &run->frames[i];
        if (f->job_open && f->job_deadline <= run->out->end_ns)
            workload_note_miss(run, i, f->job_deadline);
    }
}

int workload_run(const struct workload_spec *spec, const struct policy_ops *policy,
                 struct workload_result *out) {
    if (!out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    if (!spec || !policy || !spec_valid(spec))
        return -EINVAL;
    out->policy = policy->name;
    out->task_count = spec->task_count;

    struct workload_run *run = calloc(1, sizeof *run);
    if (!run)
        return -ENOMEM;
    run->spec = spec;
    run->out = out;
    run->current = -1;
    loop_clock_init_virtual(&run->clock, 0);
    struct loop_config config = {
        .policy = policy,
        .clock = &run->clock,
        .hooks = {.ctx = run, .before_run = on_before_run, .after_run = on_after_run},
    };
    int err = loop_new(&run->loop, &config);
    if (err == 0)
        err = configure_policy(run->loop, spec);
    for (size_t i = 0; err == 0 && i < spec->task_count; i++) {
        struct workload_frame *f = &run->frames[i];
        f->spec = &spec->tasks[i];
        f->run = run;
        f->ready_at = 0;
        err = loop_spawn(run->loop, &f->task, workload_task_step, f->spec->name, NULL);
    }
    if (err == 0)
        err = loop_run(run->loop);
    if (run->loop)
        out->end_ns = loop_now(run->loop);
    if (err == 0) {
        count_unfinished(run);
        err = run->error;
    }
    loop_free(run->loop);
    free(run);
    return err;
}

void workload_result_free(struct workload_result *result) {
    if (!result)
        return;
    free(result->slices);
    free(result->waits);
    free(result->misses);
    result->slices = NULL;
    result->waits = NULL;
    result->misses = NULL;
    result->slice_count = result->slice_capacity = 0;
    result->wait_count = result->wait_capacity = 0;
    result->miss_count = result->miss_capacity = 0;
}
