/* heap_base.c — the heap plumbing shared by the priority, stride and EDF policies (lesson 09).
 * Push, pop and remove are O(log n) on the generic heap; only the key is the policy's. */
#include "sched/policy/heap_base.h"

#include <errno.h>

int policy_heap_new(struct policy **out, size_t size, const struct policy_ops *ops, heap_key_fn key,
                    const struct sched_alloc *alloc) {
    struct policy_heap *ph = sched_alloc(alloc, size);
    if (!ph)
        return -ENOMEM;
    ph->base.ops = ops;
    ph->base.alloc = alloc;
    heap_init_keyed(&ph->heap, key, alloc);
    *out = &ph->base;
    return 0;
}

void policy_heap_free(struct policy *p) {
    struct policy_heap *ph = (struct policy_heap *)p;
    heap_free(&ph->heap);
    sched_dealloc(p->alloc, p);
}

int policy_heap_reserve(struct policy *p, size_t n) {
    return heap_reserve(&((struct policy_heap *)p)->heap, n);
}

int policy_heap_push(struct policy *p, struct runnable *r, int64_t now) {
    (void)now;
    heap_node_init(&r->heap); /* its bytes may hold a list link from an earlier policy */
    return heap_push(&((struct policy_heap *)p)->heap, &r->heap);
}

struct runnable *policy_heap_pop(struct policy *p, int64_t now) {
    (void)now;
    struct heap_node *n = heap_pop(&((struct policy_heap *)p)->heap);
    return n ? container_of(n, struct runnable, heap) : NULL;
}

void policy_heap_remove(struct policy *p, struct runnable *r) {
    heap_remove(&((struct policy_heap *)p)->heap, &r->heap);
}

size_t policy_heap_count(const struct policy *p) {
    return heap_count(&((const struct policy_heap *)p)->heap);
}

/* Does a come before b? The heap's own order, read from its packed (key, tie) pairs. */
static bool comes_before(const struct heap *h, const struct heap_node *a,
                         const struct heap_node *b) {
    return heap_slot_before(h, a->index, b->index);
}

/* The heap's array is not in pop order (only items[0] is sure to be first), and sorting a copy
 * would allocate inside a dump. So: a selection pass. Each round scans the array for the
 * earliest node that comes after the one visited last; the comparison is a strict total order
 * because every policy breaks ties by the unique push sequence number. */
void policy_heap_for_each(const struct policy *p,
                          void (*visit)(const struct runnable *r, void *ctx), void *ctx) {
    const struct heap *h = &((const struct policy_heap *)p)->heap;
    const struct heap_node *last = NULL;
    size_t visited = 0;
    for (; visited < h->count && visited < POLICY_HEAP_ORDERED_VISITS; visited++) {
        const struct heap_node *next = NULL;
        for (size_t i = 0; i < h->count; i++) {
            const struct heap_node *n = h->items[i];
            if (last && !comes_before(h, last, n))
                continue; /* already visited */
            if (!next || comes_before(h, n, next))
                next = n;
        }
        visit(container_of(next, struct runnable, heap), ctx);
        last = next;
    }
    if (visited == h->count)
        return;
    /* A long queue: the rest in heap-array order, which is cheap and still lists everyone. */
    for (size_t i = 0; i < h->count; i++)
        if (comes_before(h, last, h->items[i]))
            visit(container_of(h->items[i], struct runnable, heap), ctx);
}

void policy_heap_describe_listing(const struct policy *p, FILE *out) {
    if (policy_heap_count(p) > POLICY_HEAP_ORDERED_VISITS)
        fprintf(out, "\n  (the first %d in pop order, the rest in heap order)",
                POLICY_HEAP_ORDERED_VISITS);
}
