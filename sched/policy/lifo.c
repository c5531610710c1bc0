/* lifo.c — last in, first out: the newest runnable runs next (lesson 09). The shared list used
 * as a stack, all O(1). Fresh work (a callback woken by I/O) always goes first; but a callback
 * that re-queues itself goes back on top every time, so whatever lies under it waits until it
 * stops: LIFO starves old work, and lesson 09 shows it. */
#include "sched/policy/list_base.h"

static int lifo_new(struct policy **out, const struct sched_alloc *alloc) {
    return policy_list_new(out, sizeof(struct policy_list), &policy_lifo, alloc);
}

static int lifo_push(struct policy *p, struct runnable *r, int64_t now) {
    (void)now;
    struct policy_list *l = (struct policy_list *)p;
    list_push_front(&l->queue, &r->node); /* the only difference from FIFO: front, not back */
    l->count++;
    return 0;
}

const struct policy_ops policy_lifo = {
    .name = "lifo",
    .new = lifo_new,
    .free = policy_list_free,
    .push = lifo_push,
    .pop = policy_list_pop,
    .remove = policy_list_remove,
    .count = policy_list_count,
    .charge = NULL,
    .for_each = policy_list_for_each, /* the front is the top: pop order */
    .describe = NULL,
};
