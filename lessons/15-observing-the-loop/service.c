/* service.c — lesson 15's image service; see service.h. The blocking call is hidden where such
 * calls hide: in a helper (make_thumbnail) that looks cheap at its call site. On the virtual
 * clock, CPU time is a jump of the clock made while a callback runs: the loop can do nothing
 * meanwhile, exactly as with real work, and every run of the service is the same to the ns. */
#include "lessons/15-observing-the-loop/service.h"

#include <errno.h>
#include <string.h>

/* Spends ns of CPU: the clock moves, and nothing else in the loop can. */
static void spend_cpu(struct service *s, int64_t ns) {
    (void)loop_clock_advance(&s->clock, ns);
}

/* The hidden blocking call: a whole thumbnail at once, however big the photo. */
static void make_thumbnail(struct service *s, int64_t ns) {
    spend_cpu(s, ns);
}

/* The fix's thumbnail, on the executor's worker thread. The virtual clock is the loop's: a
 * thread must not move it, and need not, since what the lesson measures is the loop's time
 * (lesson 14 burns real CPU on the thread and shows the loop's lag staying small). */
static int make_thumbnail_off_loop(void *job) {
    return *(const int *)job; /* the job's cost in ms: what a thumbnail would be computed from */
}

/* Python: async def fetch(): return await jobs.get() — a child coroutine of the resizer. The
 * channel's await suspends the child's own coroutine; the parent's CORO_AWAIT passes it up. */
static enum coro_status fetch_step(struct service_fetch *f, struct task *t, struct channel *q) {
    CORO_BEGIN(&f->co);
    do {
        if (channel_get_begin(t, q, &f->job))
            CORO_SUSPEND(&f->co); /* @fetch-wait */
    } while (task_result(t) == -EAGAIN);
    f->result = task_result(t);
    CORO_CLEANUP(&f->co);
    CORO_END(&f->co);
}

static enum coro_status resizer_step(struct task *t) {
    struct service_resizer *f = TASK_FRAME(t, struct service_resizer, task);
    struct service *s = f->service;
    CORO_BEGIN(&t->co);
    for (;;) {
        coro_init(&f->fetch.co);
        CORO_AWAIT(&t->co, &f->fetch.co, fetch_step(&f->fetch, t, &s->jobs)); /* @resizer-fetch */
        if (f->fetch.result < 0 || !f->fetch.job)
            break;
        if (!s->fixed) {
            make_thumbnail(s, *(int *)f->fetch.job * SERVICE_MS);
        } else {
            /* The fix (lesson 14): the thumbnail on the executor's thread, awaited; the loop runs
             * everyone else meanwhile. The thread's work is not the loop's time, so the virtual
             * clock holds still until the result is back: jumping ahead to the next timer would
             * make the run depend on how fast the thread happened to be. */
            s->clock.autojump = false;
            EXECUTOR_AWAIT(t, s->ex, &f->job, make_thumbnail_off_loop, f->fetch.job);
            s->clock.autojump = true;
            if (task_result(t) < 0)
                CORO_FAIL(&t->co, task_result(t));
        }
        s->thumbnails++;
        TASK_YIELD(t); /* @resizer-yield */
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static enum coro_status producer_step(struct task *t) {
    struct service_worker *f = TASK_FRAME(t, struct service_worker, task);
    struct service *s = f->service;
    CORO_BEGIN(&t->co);
    for (f->i = 0; f->i < SERVICE_JOBS; f->i++) {
        LOOP_SLEEP(t, 100 * SERVICE_MS); /* @producer-sleep */
        CHANNEL_PUT(t, &s->jobs, &s->sizes[f->i]);
    }
    CHANNEL_PUT(t, &s->jobs, NULL); /* no more jobs */
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static enum coro_status health_step(struct task *t) {
    struct service_worker *f = TASK_FRAME(t, struct service_worker, task);
    CORO_BEGIN(&t->co);
    for (f->i = 0; f->i < SERVICE_BEATS; f->i++) {
        LOOP_SLEEP(t, 50 * SERVICE_MS); /* @health-sleep */
        f->service->beats++;
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

int service_init(struct service *s, bool fixed) {
    memset(s, 0, sizeof *s);
    s->fixed = fixed;
    for (int i = 0; i < SERVICE_JOBS; i++)
        s->sizes[i] = i + 1 == SERVICE_BIG_JOB ? (int)(SERVICE_BIG_CPU_NS / SERVICE_MS)
                                               : (int)(SERVICE_SMALL_CPU_NS / SERVICE_MS);
    loop_clock_init_virtual(&s->clock, 0);
    struct loop_config config = {.clock = &s->clock}; /* poll: a real pipe (SIGUSR1) works */
    int rc = loop_new(&s->loop, &config);
    if (rc)
        return rc;
    rc = channel_init(&s->jobs, s->storage, SERVICE_JOBS + 1, "jobs");
    executor_job_init(&s->resizer.job, "thumbnail");
    if (!rc && fixed)
        rc = executor_new(&s->ex, s->loop, 1);
    s->producer.service = s->health.service = s->resizer.service = s;
    if (!rc)
        rc = loop_spawn(s->loop, &s->producer.task, producer_step, "producer", NULL);
    if (!rc)
        rc = loop_spawn(s->loop, &s->resizer.task, resizer_step, "resizer", NULL);
    if (!rc)
        rc = loop_spawn(s->loop, &s->health.task, health_step, "health", NULL);
    if (rc)
        service_free(s);
    return rc;
}

int service_run(struct service *s) {
    struct task *all[] = {&s->producer.task, &s->resizer.task, &s->health.task};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        int rc = loop_run_until_complete(s->loop, all[i]);
        if (rc)
            return rc;
    }
    return 0;
}

void service_free(struct service *s) {
    if (s->ex)
        executor_free(s->ex); /* joins the worker; nothing is in flight once the service ran */
    s->ex = NULL;
    loop_free(s->loop);
    s->loop = NULL;
}

size_t service_chain(const struct task *t, const struct coro **out, size_t max) {
    if (t->step != resizer_step || max < 1)
        return 0;
    const struct service_resizer *f = TASK_FRAME(t, const struct service_resizer, task);
    if (!coro_is_suspended(&f->fetch.co))
        return 0; /* not inside fetch now: its own line is the whole chain */
    out[0] = &f->fetch.co;
    return 1;
}
