/* fifo.c — first in, first out: asyncio's order, and loopschool's default (lesson 04). The
 * shared list base is exactly FIFO: push at the back, pop at the front, remove from anywhere,
 * all O(1). */
#include "sched/policy/list_base.h"

static int fifo_new(struct policy **out, const struct sched_alloc *alloc) {
    return policy_list_new(out, sizeof(struct policy_list), &policy_fifo, alloc);
}

const struct policy_ops policy_fifo = {
    .name = "fifo",
    .new = fifo_new,
    .free = policy_list_free,
    .push = policy_list_push,
    .pop = policy_list_pop,
    .remove = policy_list_remove,
    .count = policy_list_count,
    .charge = NULL,
    .for_each = policy_list_for_each,
    .describe = NULL, /* FIFO orders by nothing but the push: seq says it all */
};
