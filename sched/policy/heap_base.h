/* heap_base.h — what the three heap-based policies share (lesson 09): priority, stride and EDF
 * differ only in the key they order runnables by, so the heap plumbing around that key
 * is written once here. Each policy's state struct starts with a struct policy_heap. */
#ifndef LOOPSCHOOL_POLICY_HEAP_H
#define LOOPSCHOOL_POLICY_HEAP_H

#include "sched/policy/policy.h"

/* for_each lists this many runnables in exact pop order, then the rest in heap-array order:
 * finding each next one costs a scan, and a dump only needs the head of the line. */
#define POLICY_HEAP_ORDERED_VISITS 64

struct policy_heap {
    struct policy base;
    struct heap heap;
};

/* The ops of a policy that differs from the others only in its key (priority, EDF): it adds
 * .name, .new and .describe. Stride, which also charges, writes its table out in full. */
#define POLICY_HEAP_OPS                                                                            \
    .free = policy_heap_free, .reserve = policy_heap_reserve, .push = policy_heap_push,            \
    .pop = policy_heap_pop, .remove = policy_heap_remove, .count = policy_heap_count,              \
    .charge = NULL, .for_each = policy_heap_for_each,                                              \
    .describe_listing = policy_heap_describe_listing

/* Every heap policy's tie is the heap's own: it numbers each push, so equal keys run in the
 * order they came (and why that number never wraps: see struct heap_key in sched/heap.h). */

/* Allocates `size` bytes (the policy's whole state struct) and sets up base and heap. */
int policy_heap_new(struct policy **out, size_t size, const struct policy_ops *ops, heap_key_fn key,
                    const struct sched_alloc *alloc);
void policy_heap_free(struct policy *p);
int policy_heap_reserve(struct policy *p, size_t n);
/* 0, or -ENOMEM from the heap's growth past what policy_heap_reserve made room for. */
int policy_heap_push(struct policy *p, struct runnable *r, int64_t now);
struct runnable *policy_heap_pop(struct policy *p, int64_t now);
void policy_heap_remove(struct policy *p, struct runnable *r);
size_t policy_heap_count(const struct policy *p);
void policy_heap_for_each(const struct policy *p,
                          void (*visit)(const struct runnable *r, void *ctx), void *ctx);
/* The dump's note when for_each had to fall back to heap order (more than the ordered visits). */
void policy_heap_describe_listing(const struct policy *p, FILE *out);

#endif
