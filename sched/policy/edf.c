/* edf.c — earliest deadline first: the runnable due soonest runs next, FIFO among equal
 * deadlines (lesson 09). Non-preemptive, like the whole loop: a running callback is never
 * interrupted, so a newly pushed earlier deadline waits for the next pick. A runnable without
 * has_deadline is due the moment it is queued (readyq sets that), so plain callbacks behave
 * as FIFO and run before anything whose deadline is still ahead. */
#include "sched/policy/heap_base.h"

/* The key is (deadline, seq); deadlines are absolute, so comparing them never overflows. */
static bool edf_before(const struct heap_node *a, const struct heap_node *b) {
    const struct runnable *x = container_of(a, const struct runnable, heap);
    const struct runnable *y = container_of(b, const struct runnable, heap);
    if (x->deadline != y->deadline)
        return x->deadline < y->deadline;
    return x->seq < y->seq;
}

static void edf_describe(const struct runnable *r, FILE *out) {
    fprintf(out, ", deadline %.3f ms%s", (double)r->deadline / 1e6,
            r->has_deadline ? "" : " (the time it was queued)");
}

static int edf_new(struct policy **out, const struct sched_alloc *alloc) {
    return policy_heap_new(out, sizeof(struct policy_heap), &policy_edf, edf_before, alloc);
}

const struct policy_ops policy_edf = {
    .name = "edf",
    .new = edf_new,
    .free = policy_heap_free,
    .push = policy_heap_push,
    .pop = policy_heap_pop,
    .remove = policy_heap_remove,
    .count = policy_heap_count,
    .charge = NULL, /* a deadline does not move with the time used */
    .for_each = policy_heap_for_each,
    .describe = edf_describe,
    .describe_listing = policy_heap_describe_listing,
};
