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
        f->left_ns = *(int *)f->fetch.job * SERVICE_MS;
        if (!s->fixed) {
            make_thumbnail(s, f->left_ns);
        } else {
            /* The fix: the same work in slices, the loop given back between them. */
            while (f->left_ns > 0) {
                int64_t slice = f->left_ns < SERVICE_CHUNK_NS ? f->left_ns : SERVICE_CHUNK_NS;
                spend_cpu(s, slice);
                f->left_ns -= slice;
                if (f->left_ns > 0)
                    TASK_YIELD(t); /* @resizer-slice */
            }
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
    s->producer.service = s->health.service = s->resizer.service = s;
    if (!rc)
        rc = loop_spawn(s->loop, &s->producer.task, producer_step, "producer", NULL);
    if (!rc)
        rc = loop_spawn(s->loop, &s->resizer.task, resizer_step, "resizer", NULL);
    if (!rc)
        rc = loop_spawn(s->loop, &s->health.task, health_step, "health", NULL);
    if (rc) {
        loop_free(s->loop);
        s->loop = NULL;
    }
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
