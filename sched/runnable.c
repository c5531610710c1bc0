/* runnable.c — default fields for a unit of work on the ready queue (lesson 04). */
#include "sched/runnable.h"

void runnable_init(struct runnable *r, runnable_fn fn, void *arg, const char *name) {
    list_init(&r->node);
    heap_node_init(&r->heap);
    r->fn = fn;
    r->arg = arg;
    r->name = name ? name : "(unnamed)";
    r->seq = 0;
    r->tick = 0;
    r->deadline = 0;
    r->pass = 0;
    r->used_ns = 0;
    r->tickets = RUNNABLE_DEFAULT_TICKETS;
    r->boost_epoch = 0;
    r->priority = RUNNABLE_PRIORITY_NORMAL;
    r->level = 0;
    r->has_deadline = false;
    r->queued = false;
}
