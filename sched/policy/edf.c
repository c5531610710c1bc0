/* edf.c — earliest deadline first: the runnable due soonest runs next, FIFO among equal
 * deadlines (lesson 09). Non-preemptive, like the whole loop: a running callback is never
 * interrupted, so a newly pushed earlier deadline waits for the next pick. A runnable without
 * has_deadline is due the moment it is queued (readyq sets that), so plain callbacks behave
 * as FIFO and run before anything whose deadline is still ahead. */
#include "sched/policy/heap_base.h"

/* The key is the deadline (absolute ns); the heap's own tie, the number of the push, keeps
 * equal deadlines in the order they came. A deadline does not move with the time used: no
 * charge. */
static int64_t edf_key(const struct heap_node *n) {
    return container_of(n, const struct runnable, heap)->deadline;
}

static void edf_describe(const struct runnable *r, FILE *out) {
    fprintf(out, ", deadline %.3f ms%s", (double)r->deadline / 1e6,
            r->has_deadline ? "" : " (the time it was queued)");
}

static int edf_new(struct policy **out, const struct sched_alloc *alloc) {
    return policy_heap_new(out, sizeof(struct policy_heap), &policy_edf, edf_key, alloc);
}

const struct policy_ops policy_edf = {
    .name = "edf",
    .new = edf_new,
    .describe = edf_describe,
    POLICY_HEAP_OPS,
};
