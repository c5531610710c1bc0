/* event.h — an event for tasks, as asyncio.Event (lesson 10): tasks wait until it is set, and
 * setting it wakes them all. It waits through the one wait-queue mechanism. */
#ifndef LOOPSCHOOL_EVENT_H
#define LOOPSCHOOL_EVENT_H

#include "sched/task/task.h"

struct event {
    bool is_set;
    struct waitq waiters;
    const char *name;
};

void event_init(struct event *e, const char *name);
/* Wait until the event is set (at once if it is). Result 0. */
#define EVENT_WAIT(t, e)       TASK_AWAIT(t, event_wait_begin((t), (e)))
#define EVENT_WAIT_CATCH(t, e) TASK_AWAIT_CATCH(t, event_wait_begin((t), (e)))
bool event_wait_begin(struct task *t, struct event *e);
/* Sets it and wakes every waiter; returns how many were woken. */
int event_set(struct event *e);
void event_clear(struct event *e);
void event_dump(const struct event *e, FILE *out);

#endif
