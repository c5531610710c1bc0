/* event.c — asyncio.Event for tasks (lesson 10). Setting it consumes nothing, so waking every
 * waiter needs no hand-off and no give-back. */
#include "sched/sync/event.h"

void event_init(struct event *e, const char *name) {
    e->is_set = false;
    waitq_init(&e->waiters);
    e->name = name ? name : "event";
}

bool event_wait_begin(struct task *t, struct event *e) {
    t->waiter.result = 0;
    if (e->is_set)
        return false;
    return task_wait_on(t, &e->waiters, e->name);
}

int event_set(struct event *e) {
    e->is_set = true;
    return waitq_wake_all(&e->waiters, 0); /* nothing is consumed: no give-back needed */
}

void event_clear(struct event *e) {
    e->is_set = false;
}

void event_dump(const struct event *e, FILE *out) {
    fprintf(out, "event %s: %s, ", e->name, e->is_set ? "set" : "clear");
    waitq_dump(&e->waiters, out);
}
