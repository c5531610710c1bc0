/* record.c — the tick recorder (the tick viewer, see record.h for the format): the loop's
 * observer hooks plus one snapshot of the heap, the ready queue and the watched fds at step 1
 * and at the start of step 4. It reads the loop's own state, as loop_dump does. */
#include "loop/observe/record.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "loop/loop_internal.h"
#include "loop/observe/tasks.h"
#include "sched/task/task.h"

enum { RECORD_DUE_MAX = 64 }; /* due timers named per tick; more are queued, just not named */

struct recorder {
    struct loop_observer obs;
    const struct timerq_entry *due[RECORD_DUE_MAX]; /* step 3's timers, between its hooks */
    size_t due_count;
    bool pick_is_task; /* noted before the run: after it, a task that ended is gone */
    char *buf;
    size_t len, cap;
    bool truncated;
};

/* Appends one line; once a line does not fit, records that and nothing more. */
static void emit(struct recorder *rec, const char *fmt, ...) {
    if (rec->truncated)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(rec->buf + rec->len, rec->cap - rec->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n + 16 >= rec->cap - rec->len) {
        rec->buf[rec->len] = '\0';
        rec->len += (size_t)snprintf(rec->buf + rec->len, rec->cap - rec->len, "E truncated\n");
        rec->truncated = true;
        return;
    }
    /* A name may hold anything; the page embeds the text as is, so markup and line breaks in
     * it become '?'. */
    for (char *p = rec->buf + rec->len; p < rec->buf + rec->len + n - 1; p++)
        if (*p == '<' || *p == '>' || *p == '&' || (unsigned char)*p < ' ')
            *p = '?';
    rec->len += (size_t)n;
}

static const char *name_of(const char *name) {
    return name && *name ? name : "?";
}

/* A task's line: "KIND STATE FILE:LINE", or "KIND STATE start" before its first step. */
static void task_line(struct recorder *rec, char kind, const struct task *t) {
    if (t->co.line > 0 && t->co.file)
        emit(rec, "%c %s %s:%d\n", kind, task_state_name((enum task_state)t->state), t->co.file,
             (int)t->co.line);
    else
        emit(rec, "%c %s start\n", kind, task_state_name((enum task_state)t->state));
}

struct visit {
    struct recorder *rec;
    void (*describe)(const struct runnable *r, FILE *out);
};

static void visit_ready(const struct runnable *r, void *ctx) {
    struct visit *v = ctx;
    char fields[96] = "";
    if (v->describe) {
        FILE *f = fmemopen(fields, sizeof fields - 1, "w");
        if (f) {
            v->describe(r, f);
            fclose(f);
        }
    }
    emit(v->rec, "Q %s%s\n", name_of(r->name), fields);
}

static void snapshot(struct recorder *rec, struct loop *loop) {
    const struct heap *h = &loop->sched.timers.heap;
    for (size_t i = 0; i < h->count; i++) {
        const struct timerq_entry *e = container_of(h->items[i], struct timerq_entry, heap);
        emit(rec, "H %zu %lld %lld %s\n", i, i ? (long long)((i - 1) / HEAP_ARITY) : -1LL,
             (long long)(e->deadline - loop->sched.now), name_of(e->name));
    }
    const struct policy *p = loop->sched.ready.policy;
    struct visit v = {rec, p->ops->describe};
    p->ops->for_each(p, visit_ready, &v);
    list_for_each(n, &loop->watchers) {
        const struct loop_watcher *w = container_of(n, struct loop_watcher, node);
        emit(rec, "F %d %c%c %s %s\n", w->fd, (w->interest & LOOP_READABLE) ? 'r' : '-',
             (w->interest & LOOP_WRITABLE) ? 'w' : '-', w->run.queued ? "queued" : "-",
             name_of(w->run.name));
    }
}

static void on_before_wait(void *ctx, struct loop *loop, int64_t timeout) {
    struct recorder *rec = ctx;
    const struct timerq_entry *next = timerq_peek(&loop->sched.timers);
    emit(rec, "T %llu %lld\n", (unsigned long long)loop->sched.tick, (long long)loop->sched.now);
    if (readyq_count(&loop->sched.ready) > 0)
        emit(rec, "W %lld ready\n", (long long)timeout);
    else if (loop->stop_requested)
        emit(rec, "W %lld stop\n", (long long)timeout);
    else if (next)
        emit(rec, "W %lld %s %s\n", (long long)timeout,
             next->deadline <= loop->sched.now ? "due" : "timer", name_of(next->name));
    else
        emit(rec, "W %lld nothing\n", (long long)timeout);
    snapshot(rec, loop);
}

/* Step 3 will pop every entry due at this time, earliest (deadline, arming order) first: named now,
 * printed once step 3 has run, after the watchers it woke (the order step 3 queues them). */
static void note_due_timers(struct recorder *rec, struct loop *loop) {
    const struct heap *h = &loop->sched.timers.heap;
    int64_t now = loop_now(loop);
    rec->due_count = 0;
    for (size_t i = 0; i < h->count && rec->due_count < RECORD_DUE_MAX; i++) {
        const struct timerq_entry *e = container_of(h->items[i], struct timerq_entry, heap);
        if (e->deadline > now)
            continue;
        size_t j = rec->due_count++;
        for (; j > 0; j--) { /* insertion in the heap's own (deadline, tie) order */
            const struct timerq_entry *p = rec->due[j - 1];
            if (heap_slot_before(h, p->heap.index, i))
                break;
            rec->due[j] = p;
        }
        rec->due[j] = e;
    }
}

static void on_after_wait(void *ctx, struct loop *loop, const struct backend_ready *ready, int n) {
    struct recorder *rec = ctx;
    /* After a virtual jump the clock moved: T's time plus this is where step 3 stands. */
    emit(rec, "B %d %lld\n", n, (long long)loop_now(loop));
    for (int i = 0; i < n; i++) {
        unsigned r = ready[i].readiness;
        emit(rec, "R %d %s%s%s\n", ready[i].fd, (r & LOOP_READABLE) ? "r" : "",
             (r & LOOP_WRITABLE) ? "w" : "", (r & LOOP_INVALID) ? "x" : "");
    }
    note_due_timers(rec, loop);
}

static void on_after_queue(void *ctx, struct loop *loop) {
    struct recorder *rec = ctx;
    list_for_each(n, &loop->watchers) {
        const struct loop_watcher *w = container_of(n, struct loop_watcher, node);
        if (w->run.queued && w->ready)
            emit(rec, "M fd %s\n", name_of(w->run.name));
    }
    for (size_t i = 0; i < rec->due_count; i++)
        emit(rec, "M timer %s\n", name_of(rec->due[i]->name));
    rec->due_count = 0;
    emit(rec, "N %zu\n", readyq_count(&loop->sched.ready));
    snapshot(rec, loop);
}

static void on_before_run(void *ctx, struct loop *loop, const struct runnable *r) {
    struct recorder *rec = ctx;
    emit(rec, "P %s\n", name_of(r->name));
    const struct task *t = observe_task_of(loop, r);
    rec->pick_is_task = t != NULL;
    if (t)
        task_line(rec, 'K', t);
}

static void on_after_run(void *ctx, struct loop *loop, const struct runnable *r, int64_t ns) {
    struct recorder *rec = ctx;
    (void)ns;
    /* r is NULL when its owner let go of it during the run: a task that ended, or a timer or
     * watcher (its owner may free it in its callback), which is still just a callback. */
    const struct task *t = observe_task_of(loop, r);
    if (t)
        task_line(rec, 'A', t);
    else
        emit(rec, !r && rec->pick_is_task ? "A gone\n" : "A callback\n");
}

int recorder_new(struct recorder **out, size_t cap) {
    if (!out)
        return -EINVAL;
    if (cap == 0)
        cap = 4u << 20;
    if (cap < 64)
        return -EINVAL;
    struct recorder *rec = calloc(1, sizeof *rec);
    char *buf = malloc(cap);
    if (!rec || !buf) {
        free(rec);
        free(buf);
        return -ENOMEM;
    }
    buf[0] = '\0';
    rec->buf = buf;
    rec->cap = cap;
    rec->obs.hooks = (struct loop_hooks){.ctx = rec,
                                         .before_wait = on_before_wait,
                                         .after_wait = on_after_wait,
                                         .after_queue = on_after_queue,
                                         .before_run = on_before_run,
                                         .after_run = on_after_run};
    *out = rec;
    return 0;
}

void recorder_free(struct recorder *rec) {
    if (!rec)
        return;
    recorder_stop(rec);
    free(rec->buf);
    free(rec);
}

int recorder_start(struct recorder *rec, struct loop *loop) {
    if (!rec)
        return -EINVAL;
    return loop_observe(loop, &rec->obs);
}

void recorder_stop(struct recorder *rec) {
    if (rec && rec->obs.loop)
        (void)loop_unobserve(rec->obs.loop, &rec->obs);
}

const char *recorder_text(const struct recorder *rec, size_t *len) {
    if (len)
        *len = rec->len;
    return rec->buf;
}

bool recorder_truncated(const struct recorder *rec) {
    return rec->truncated;
}

void recorder_dump(const struct recorder *rec, FILE *out) {
    fprintf(out, "recorder: %zu of %zu bytes%s, %s\n", rec->len, rec->cap,
            rec->truncated ? " (truncated)" : "", rec->obs.loop ? "attached" : "detached");
    fflush(out);
}
