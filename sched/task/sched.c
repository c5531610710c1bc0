/* sched.c — the ready queue's batch rule and the timer queue's firing, in one place (lessons 04
 * and 05). The batch rule: N = the runnables ready as the batch begins; N times, run the one the
 * policy picks among those ready at that moment; removing a runnable counted in N lowers N.
 * Under FIFO that is exactly asyncio's snapshot (work queued during the batch waits for the next
 * tick); under any other policy a runnable queued during the batch may be picked in this batch,
 * but a batch never exceeds N. A push during a batch is stamped with the next tick, so that
 * removing it does not lower N: it was not counted. */
#include "sched/task/sched.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

void sched_init(struct sched *s, struct policy *policy, const struct sched_alloc *alloc,
                FILE *report) {
    s->alloc = alloc ? alloc : sched_alloc_libc();
    s->report = report ? report : stderr;
    s->now = 0;
    s->tick = 0;
    s->in_batch = false;
    s->batch_left = 0;
    s->running = NULL;
    list_init(&s->tasks);
    list_init(&s->scopes);
    s->task_count = 0;
    s->loop = NULL;
    s->resume_waiter = NULL;
    s->end_live_tasks = NULL;
    s->unretrieved_count = 0;
    s->unretrieved_dropped = 0;
    s->error[0] = '\0';
    timerq_init(&s->timers, s->alloc);
    readyq_init(&s->ready, policy);
}

/* asyncio prints "Task exception was never retrieved" when such a task is collected; here the
 * scheduler's end is that moment: a failure nobody joined must not vanish in silence. */
static void report_unretrieved(struct sched *s) {
    for (size_t i = 0; i < s->unretrieved_count; i++) {
        const struct sched_failure *f = &s->unretrieved[i];
        fprintf(s->report,
                "loopschool: task '%s' failed and nobody joined it: error %d (%s), at %s:%d\n",
                f->name, f->error, strerror(-f->error), f->file ? f->file : "?", f->line);
    }
    if (s->unretrieved_dropped)
        fprintf(s->report, "loopschool: ... and %zu more failed tasks nobody joined\n",
                s->unretrieved_dropped);
    fflush(s->report);
}

int sched_refuse(struct sched *s, int err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
    return err;
}

void sched_free(struct sched *s) {
    if (s->end_live_tasks)
        s->end_live_tasks(s); /* the task layer's: reports and detaches every live task */
    report_unretrieved(s);
    while (readyq_pop(&s->ready, s->now)) {
        /* unlink whatever never ran */
    }
    readyq_free(&s->ready);
    timerq_free(&s->timers);
}

int sched_push_ready(struct sched *s, struct runnable *r) {
    if (r->queued)
        return 0;
    r->tick = s->in_batch ? s->tick + 1 : s->tick;
    return readyq_push(&s->ready, r, s->now);
}

int sched_reserve(struct sched *s) {
    return readyq_reserve(&s->ready);
}

void sched_release(struct sched *s) {
    readyq_release(&s->ready);
}

int sched_unqueue(struct sched *s, struct runnable *r) {
    int err = readyq_remove(&s->ready, r);
    if (err == 0 && s->in_batch && r->tick <= s->tick && s->batch_left > 0)
        s->batch_left--;
    return err;
}

void sched_fire_due_timers(struct sched *s, int64_t now) {
    struct timerq_entry *e;
    while ((e = timerq_pop_due(&s->timers, now)) != NULL)
        e->on_due(e, s);
}

void sched_batch_begin(struct sched *s) {
    s->batch_left = readyq_count(&s->ready);
    s->in_batch = true;
}

void sched_batch_end(struct sched *s) {
    s->in_batch = false;
    s->batch_left = 0;
}

void sched_runnable_gone(struct sched *s, struct runnable *r) {
    if (s->running == r)
        s->running = NULL;
}
