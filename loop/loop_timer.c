/* loop_timer.c — timers on the loop (lesson 05). An armed timer sits in the timer queue; when it
 * is due, step 3 of the tick moves its callback onto the ready queue, and step 4 runs it. A timer
 * can be stopped in either place. */
#include "loop/loop_internal.h"

#include <errno.h>

static void run_timer_callback(void *arg) {
    struct loop_timer *t = arg;
    t->callback(t);
}

/* on_due for loop timers: due means "queue my callback", nothing more. */
static void timer_due(struct timerq_entry *e, void *sched) {
    struct loop_timer *t = container_of(e, struct loop_timer, entry);
    sched_push_ready(sched, &t->run);
}

void loop_timer_init(struct loop_timer *t, const char *name) {
    timerq_entry_init(&t->entry, timer_due, name);
    runnable_init(&t->run, run_timer_callback, t, name);
    t->loop = NULL;
    t->callback = NULL;
    t->arg = NULL;
}

int loop_timer_start_at(struct loop *loop, struct loop_timer *t, int64_t deadline_ns,
                        loop_timer_fn callback, void *arg) {
    if (!loop || !t)
        return -EINVAL;
    LOOP_CHECK_THREAD(loop, "loop_timer_start");
    if (!callback) {
        loop_set_error(loop, "loop_timer_start(%s): the callback is NULL", t->entry.name);
        return -EINVAL;
    }
    sched_unqueue(&loop->sched, &t->run); /* re-armed while due: it is no longer due */
    t->loop = loop;
    t->callback = callback;
    t->arg = arg;
    return timerq_add(&loop->sched.timers, &t->entry, deadline_ns);
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
    if (timerq_remove(&loop->sched.timers, &t->entry) == 0)
        return 0;
    /* Already due, its callback waiting on the ready queue: stopping still prevents it. */
    return sched_unqueue(&loop->sched, &t->run);
}
