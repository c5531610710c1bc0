/* loop_timer.c — timers on the loop (lesson 05). An armed timer sits in the timer queue; when it
 * is due, step 3 of the tick moves its callback onto the ready queue, and step 4 runs it. A timer
 * can be stopped in either place. While armed it holds a reserved place on the ready queue, so
 * that becoming due (a push nobody could hear fail) never fails. */
#include "loop/loop_internal.h"

#include <errno.h>

static void disarm(struct loop *loop, struct loop_timer *t) {
    t->armed = false;
    sched_release(&loop->sched);
}

static void run_timer_callback(void *arg) {
    struct loop_timer *t = arg;
    struct sched *s = &t->loop->sched;
    disarm(t->loop, t);
    /* The owner may free t in its callback: from here on the loop must not touch it. */
    sched_runnable_gone(s, &t->run);
    t->callback(t);
}

static void timer_due(struct timerq_entry *e, void *sched);

/* Step 3 fires timers in deadline order, which is random order in memory: with a heap too big
 * for the cache, each timer it queues is a trip to memory. Asking for the next due timer's
 * memory (its entry, and the runnable that queueing it writes) while this one is queued lets
 * those trips overlap instead of coming one after the other. */
static void prefetch_next_due(struct sched *s) {
    const struct timerq_entry *next = timerq_peek(&s->timers);
    if (!next || timerq_count(&s->timers) < HEAP_PREFETCH_FROM || next->on_due != timer_due)
        return;
    const struct loop_timer *t = container_of(next, const struct loop_timer, entry);
    HINT_PREFETCH(&t->entry);
    HINT_PREFETCH(&t->run.seq);
    HINT_PREFETCH(&t->run.queued);
}

/* on_due for loop timers: due means "queue my callback", nothing more. It cannot fail: the
 * place was reserved when the timer was started. */
static void timer_due(struct timerq_entry *e, void *sched) {
    struct loop_timer *t = container_of(e, struct loop_timer, entry);
    prefetch_next_due(sched);
    sched_push_ready(sched, &t->run);
}

void loop_timer_init(struct loop_timer *t, const char *name) {
    timerq_entry_init(&t->entry, timer_due, name);
    runnable_init(&t->run, run_timer_callback, t, name);
    t->magic = LOOP_TIMER_MAGIC;
    t->armed = false;
    t->loop = NULL;
    t->callback = NULL;
    t->arg = NULL;
}

int loop_timer_start_at(struct loop *loop, struct loop_timer *t, int64_t deadline_ns,
                        loop_timer_fn callback, void *arg) {
    if (!loop || !t)
        return -EINVAL;
    LOOP_CHECK_THREAD(loop, "loop_timer_start");
    if (t->magic != LOOP_TIMER_MAGIC)
        return loop_refuse_uninitialised(loop, "loop_timer_start", "loop_timer_init(t, name)");
    if (!callback) {
        loop_set_error(loop, "loop_timer_start(%s): the callback is NULL", t->entry.name);
        return -EINVAL;
    }
    if (t->armed && t->loop != loop) {
        loop_set_error(loop,
                       "loop_timer_start(%s): the timer is armed on another loop; stop it "
                       "there (loop_timer_stop) first, or give each loop its own timer",
                       t->entry.name);
        return -EBUSY;
    }
    if (!t->armed) {
        int err = sched_reserve(&loop->sched);
        if (err) {
            loop_set_error(loop, "loop_timer_start(%s): out of memory", t->entry.name);
            return err;
        }
    }
    sched_unqueue(&loop->sched, &t->run); /* re-armed while due: it is no longer due */
    t->armed = true;
    t->loop = loop;
    t->callback = callback;
    t->arg = arg;
    int err = timerq_add(&loop->sched.timers, &t->entry, deadline_ns);
    if (err) {
        if (!timerq_armed(&t->entry))
            disarm(loop, t);
        loop_set_error(loop, "loop_timer_start(%s): out of memory", t->entry.name);
    }
    return err;
}

int loop_timer_start(struct loop *loop, struct loop_timer *t, int64_t delay_ns,
                     loop_timer_fn callback, void *arg) {
    if (!loop)
        return -EINVAL;
    return loop_timer_start_at(loop, t, loop_deadline_after(loop, delay_ns), callback, arg);
}

int loop_timer_stop(struct loop *loop, struct loop_timer *t) {
    if (!loop || !t)
        return -EINVAL;
    LOOP_CHECK_THREAD(loop, "loop_timer_stop");
    if (t->magic != LOOP_TIMER_MAGIC)
        return loop_refuse_uninitialised(loop, "loop_timer_stop", "loop_timer_init(t, name)");
    if (!t->armed)
        return -EALREADY;
    if (t->loop != loop) {
        loop_set_error(loop,
                       "loop_timer_stop(%s): the timer is armed on another loop; stop it "
                       "with that loop",
                       t->entry.name);
        return -EINVAL;
    }
    /* In the timer queue, or already due, its callback waiting on the ready queue: stopping
     * prevents it either way. */
    if (timerq_remove(&loop->sched.timers, &t->entry) != 0)
        sched_unqueue(&loop->sched, &t->run);
    disarm(loop, t);
    return 0;
}

/* Timer entries are told apart from a task's sleep by their on_due. */
static void forget_if_loop_timer(struct timerq_entry *e) {
    if (e->on_due == timer_due)
        container_of(e, struct loop_timer, entry)->armed = false;
}

/* A due timer waits on the ready queue: its runnable is told apart by its fn. */
static void forget_if_due_timer(const struct runnable *r, void *ctx) {
    (void)ctx;
    if (r->fn == run_timer_callback)
        ((struct loop_timer *)r->arg)->armed = false;
}

void loop_timers_forget(struct loop *loop) {
    struct heap *h = &loop->sched.timers.heap;
    for (size_t i = 0; i < h->count; i++)
        forget_if_loop_timer(container_of(h->items[i], struct timerq_entry, heap));
    struct policy *p = loop->sched.ready.policy;
    p->ops->for_each(p, forget_if_due_timer, NULL);
}
