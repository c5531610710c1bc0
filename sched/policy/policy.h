/* policy.h — the interface every scheduling policy implements: "who runs next?" (lesson 04
 * delivers FIFO, asyncio's order; lesson 09 adds LIFO, priority, stride, lottery, EDF, MLFQ).
 * The loop reaches the ready queue only through these functions, so a policy is one file (and,
 * if it has knobs, one header). */
#ifndef LOOPSCHOOL_POLICY_H
#define LOOPSCHOOL_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sched/alloc.h"
#include "sched/runnable.h"

struct policy_ops;

/* Every policy's state struct starts with this, so one pointer type reaches them all. */
struct policy {
    const struct policy_ops *ops;
    const struct sched_alloc *alloc;
};

struct policy_ops {
    const char *name;
    /* Allocates the policy's state (so `new`, not `init`): 0 or a negative errno. */
    int (*new)(struct policy **out, const struct sched_alloc *alloc);
    void (*free)(struct policy *p);
    /* r is not queued (readyq guarantees it). Returns 0, or -ENOMEM only from a heap policy
     * that had to grow past the room `reserve` made. Never -EINVAL: a field set by hand out of
     * range (0 tickets, a level past the bottom) is clamped, since a push comes from a wake-up
     * that has nobody to refuse to; the setters refuse such values. */
    int (*push)(struct policy *p, struct runnable *r, int64_t now);
    /* Optional (NULL for the list policies, whose push never allocates): make room so that
     * `n` runnables can be queued without allocating. 0 or -ENOMEM. */
    int (*reserve)(struct policy *p, size_t n);
    /* The runnable this policy picks now, removed; NULL when empty. */
    struct runnable *(*pop)(struct policy *p, int64_t now);
    /* r is queued in this policy: take it out. */
    void (*remove)(struct policy *p, struct runnable *r);
    size_t (*count)(const struct policy *p);
    /* Optional (may be NULL): r just ran for ran_ns; stride and MLFQ account for it. */
    void (*charge)(struct policy *p, struct runnable *r, int64_t ran_ns);
    /* Visits every queued runnable in the order pop would return them (for dumps). */
    void (*for_each)(const struct policy *p, void (*visit)(const struct runnable *r, void *ctx),
                     void *ctx);
    /* Optional: prints, after a runnable's name and seq, the fields this policy orders it by
     * (", priority 3"), so a dump never asks which policy it is. */
    void (*describe)(const struct runnable *r, FILE *out);
    /* Optional: prints how for_each's order departs from pop order, if it does (lottery's is a
     * draw not yet made), at the end of the dump's first line. */
    void (*describe_listing)(const struct policy *p, FILE *out);
};

extern const struct policy_ops policy_fifo;
/* Lesson 09: six more answers to "who runs next?", one file each (sched/policy/NAME.c; the
 * knobs of stride, lottery and MLFQ in sched/policy/NAME.h). */
extern const struct policy_ops policy_lifo, policy_priority, policy_stride, policy_lottery,
    policy_edf, policy_mlfq;

/* Every policy by its name: "fifo", "lifo", "priority", "stride", "lottery", "edf", "mlfq".
 * NULL for NULL or an unknown name. policy_by_index(0, 1, ...) lists them in that order, then
 * NULL, so a demo or a test can run the same workload under each one. */
const struct policy_ops *policy_by_name(const char *name);
const struct policy_ops *policy_by_index(size_t i);
/* Allocates a policy's state: ops NULL means FIFO, alloc NULL means libc. 0, -EINVAL for a NULL
 * out, or the policy's -ENOMEM. policy_free(NULL) is harmless. */
int policy_new(struct policy **out, const struct policy_ops *ops, const struct sched_alloc *alloc);
void policy_free(struct policy *p);
/* The queue in pop order, each runnable with the fields its policy orders by. Flushes. (Two
 * honest exceptions, as in every for_each: lottery lists in push order, since its next pick is
 * a draw not yet made; a heap policy orders the first 64, then lists the rest in heap order.) */
void policy_dump(const struct policy *p, FILE *out);

#endif
