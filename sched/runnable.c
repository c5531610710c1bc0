/* runnable.c — default fields for a unit of work on the ready queue (lesson 04). */
#include "sched/runnable.h"

#include <errno.h>

void runnable_init(struct runnable *r, runnable_fn fn, void *arg, const char *name) {
    list_init(&r->node); /* shares its bytes with the heap slot: a heap push sets that */
    r->fn = fn;
    r->arg = arg;
    r->name = name ? name : "(unnamed)";
    r->seq = 0;
    r->tick = 0;
    r->deadline = 0;
    r->pass = 0; /* and used_ns: one union, no account yet */
    r->account = RUNNABLE_ACCOUNT_NONE;
    r->tickets = RUNNABLE_DEFAULT_TICKETS;
    r->boost_epoch = 0;
    r->priority = RUNNABLE_PRIORITY_NORMAL;
    r->level = 0;
    r->has_deadline = false;
    r->queued = false;
}

int runnable_set_tickets(struct runnable *r, uint32_t tickets) {
    if (!r || tickets == 0)
        return -EINVAL;
    if (r->queued)
        return -EBUSY;
    r->tickets = tickets;
    return 0;
}
