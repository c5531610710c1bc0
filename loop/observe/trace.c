/* trace.c — the trace recorder of lesson 15; see trace.h. A run's times come from the tick's own
 * clock read (the scheduler's `now` when after_run is called, and the duration it measured), so
 * tracing reads the clock once per tick more than the slow-callback check, never per run; it
 * copies one event per run and allocates nothing. */
#include "loop/observe/trace.h"

#include <errno.h>
#include <string.h>

#include "loop/observe/tasks.h"
#include "sched/task/sched.h"

static void push(struct observe_trace *tr, const struct observe_trace_event *e) {
    tr->ring[tr->head] = *e;
    tr->head = (tr->head + 1) % tr->cap;
    if (tr->count < tr->cap)
        tr->count++;
    else
        tr->dropped++;
}

static void copy_name(char *dst, const char *src) {
    size_t n = src ? strnlen(src, OBSERVE_TRACE_NAME - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

static void on_before_wait(void *ctx, struct loop *loop, int64_t timeout_ns) {
    struct observe_trace *tr = ctx;
    tr->pending = (struct observe_trace_event){.start = loop_sched(loop)->now,
                                               .timeout = timeout_ns,
                                               .tick = loop_tick(loop),
                                               .kind = OBSERVE_TRACE_WAIT};
    copy_name(tr->pending.name, "wait");
}

static void on_after_wait(void *ctx, struct loop *loop, const struct backend_ready *ready, int n) {
    struct observe_trace *tr = ctx;
    (void)ready, (void)n;
    tr->pending.duration = loop_now(loop) - tr->pending.start;
    push(tr, &tr->pending);
}

static void on_before_run(void *ctx, struct loop *loop, const struct runnable *r) {
    struct observe_trace *tr = ctx;
    tr->pending = (struct observe_trace_event){
        .tick = loop_tick(loop), .kind = OBSERVE_TRACE_RUN, .task = observe_is_task(loop, r)};
    copy_name(tr->pending.name, r->name ? r->name : "?");
}

static void on_after_run(void *ctx, struct loop *loop, const struct runnable *r, int64_t ran_ns) {
    struct observe_trace *tr = ctx;
    (void)r;
    /* The tick has just read the clock into the scheduler's now: the run ended there. */
    tr->pending.start = loop_sched(loop)->now - ran_ns;
    tr->pending.duration = ran_ns;
    push(tr, &tr->pending);
}

int observe_trace_start(struct observe_trace *tr, struct loop *loop,
                        struct observe_trace_event *ring, size_t cap) {
    if (!tr || !loop || !ring || cap == 0)
        return -EINVAL;
    if (loop_observing(loop, &tr->obs))
        return -EBUSY; /* running: resetting it would corrupt the loop's list */
    memset(tr, 0, sizeof *tr);
    tr->loop = loop;
    tr->ring = ring;
    tr->cap = cap;
    tr->obs.hooks = (struct loop_hooks){.ctx = tr,
                                        .before_wait = on_before_wait,
                                        .after_wait = on_after_wait,
                                        .before_run = on_before_run,
                                        .after_run = on_after_run};
    return loop_observe(loop, &tr->obs);
}

int observe_trace_stop(struct observe_trace *tr) {
    return tr ? loop_unobserve(tr->loop, &tr->obs) : -EINVAL;
}

size_t observe_trace_count(const struct observe_trace *tr) {
    return tr->count;
}

const struct observe_trace_event *observe_trace_at(const struct observe_trace *tr, size_t i) {
    if (i >= tr->count)
        return NULL;
    size_t oldest = (tr->head + tr->cap - tr->count) % tr->cap;
    return &tr->ring[(oldest + i) % tr->cap];
}

void observe_trace_dump(const struct observe_trace *tr, FILE *out) {
    fprintf(out, "trace: %zu events kept (room for %zu), %llu dropped\n", tr->count, tr->cap,
            (unsigned long long)tr->dropped);
    size_t from = tr->count > 8 ? tr->count - 8 : 0;
    for (size_t i = from; i < tr->count; i++) {
        const struct observe_trace_event *e = observe_trace_at(tr, i);
        fprintf(out, "  tick %-4llu %-4s %-16s at %.3f ms for %.3f ms\n",
                (unsigned long long)e->tick, e->kind == OBSERVE_TRACE_WAIT ? "wait" : "run",
                e->name, (double)e->start / 1e6, (double)e->duration / 1e6);
    }
    fflush(out);
}
