/* priority.c — strict priority: the highest `priority` always runs first, FIFO among
 * equals (lesson 09). Strict means a busy high-priority task that keeps re-queueing itself
 * starves every lower one: that is what lesson 09 shows, and why the other policies exist.
 * Plain callbacks all share RUNNABLE_PRIORITY_NORMAL, so among themselves they take turns. */
#include "sched/policy/heap_base.h"

/* The key is -priority: the heap pops the smallest, and the highest priority runs first. The
 * heap's own tie, the number of the push, keeps equals in the order they came. Strict
 * priority ignores how long anything ran: no charge. */
static int64_t priority_key(const struct heap_node *n) {
    return -(int64_t)container_of(n, const struct runnable, heap)->priority;
}

static void priority_describe(const struct runnable *r, FILE *out) {
    fprintf(out, ", priority %d", r->priority);
}

static int priority_new(struct policy **out, const struct sched_alloc *alloc) {
    return policy_heap_new(out, sizeof(struct policy_heap), &policy_priority, priority_key, alloc);
}

const struct policy_ops policy_priority = {
    .name = "priority",
    .new = priority_new,
    .describe = priority_describe,
    POLICY_HEAP_OPS,
};
