/* policy.h — the interface every scheduling policy implements: "who runs next?" (lesson 04
 * delivers FIFO, asyncio's order; lesson 09 adds LIFO, priority, stride, lottery, EDF, MLFQ).
 * The loop reaches the ready queue only through these functions, so a policy is one file. */
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
    /* r is not queued (readyq guarantees it) and r->seq is fresh. 0 or -ENOMEM. */
    int (*push)(struct policy *p, struct runnable *r, int64_t now);
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
};

extern const struct policy_ops policy_fifo;
/* Lesson 09: six more answers to "who runs next?", one file each (sched/policy_NAME.c). */
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

/* ---- the knobs (lesson 09). Each returns 0, or -EINVAL when p is another policy or a value is
 * out of range; nothing changes on an error. ---- */

/* Stride: stride = constant / tickets, and a run of ran_ns adds stride * ran_ns / slice_ns to
 * the pass (rounded up), so one slice of CPU costs exactly one stride. A larger constant keeps
 * big ticket counts distinct. -EBUSY while anything is queued: passes earned on the old scale
 * would not compare fairly with passes on the new one. */
#define POLICY_STRIDE_DEFAULT_CONSTANT UINT64_C(1000000)
#define POLICY_STRIDE_MAX_CONSTANT (UINT64_C(1) << 32)
#define POLICY_STRIDE_DEFAULT_SLICE_NS INT64_C(1000000) /* 1 ms */
#define POLICY_STRIDE_MAX_SLICE_NS (INT64_C(1) << 32)
int policy_stride_configure(struct policy *p, uint64_t stride_constant, int64_t slice_ns);

/* Lottery: the seed of its random draws. Same seed, same pushes, same pops: same order. */
#define POLICY_LOTTERY_DEFAULT_SEED UINT64_C(0x6c6f6f70) /* "loop" in ASCII */
int policy_lottery_seed(struct policy *p, uint64_t seed);

/* MLFQ: how much CPU a runnable may use at each level before it moves down one (the bottom
 * level's allotment only bounds its counter), and how often everything is lifted back to the
 * top. To change one value: get the config, edit it, configure. Any time is fine. */
#define POLICY_MLFQ_LEVELS 3
#define POLICY_MLFQ_DEFAULT_TOP_ALLOTMENT_NS INT64_C(10000000) /* 10 ms; x2 per level down */
#define POLICY_MLFQ_DEFAULT_BOOST_PERIOD_NS INT64_C(100000000) /* 100 ms */
struct policy_mlfq_config {
    int64_t allotment_ns[POLICY_MLFQ_LEVELS]; /* each > 0 */
    int64_t boost_period_ns;                  /* > 0 */
};
int policy_mlfq_get_config(const struct policy *p, struct policy_mlfq_config *out);
int policy_mlfq_configure(struct policy *p, const struct policy_mlfq_config *config);

#endif
