/* runnable.h — one unit of work for the ready queue: a callback, its argument and the fields
 * the scheduling policies order it by (lesson 04; the policy fields matter from lesson 09).
 * Caller-owned and intrusive: queueing it never allocates. */
#ifndef LOOPSCHOOL_RUNNABLE_H
#define LOOPSCHOOL_RUNNABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "sched/heap.h"
#include "sched/list.h"

typedef void (*runnable_fn)(void *arg);

/* The defaults never starve a plain callback under any policy: normal priority, the same
 * tickets as everyone else, and a deadline equal to the moment it was queued. */
enum {
    RUNNABLE_PRIORITY_NORMAL = 0,
    RUNNABLE_DEFAULT_TICKETS = 100,
};

/* Which policy's running account the union in struct runnable holds (stride's pass, or MLFQ's
 * CPU time at its level). Only one policy is active, but a runnable outlives a policy switch
 * (loop_set_policy): the policy that finds another's account there starts a fresh one. */
enum runnable_account {
    RUNNABLE_ACCOUNT_NONE,
    RUNNABLE_ACCOUNT_STRIDE,
    RUNNABLE_ACCOUNT_MLFQ,
};

struct runnable {
    /* Its place on the ready queue. A runnable is on one queue at a time, and a policy is a
     * list (FIFO, LIFO, lottery, MLFQ) or a heap (priority, stride, EDF), never both: the link
     * and the heap slot share their bytes. Whatever an earlier policy left there is stale
     * until the next push, which sets it; `queued` says whether it is in use. */
    union {
        struct list_node node; /* list-based policies link it here */
        struct heap_node heap; /* heap-based policies index it here */
    };
    runnable_fn fn;
    void *arg;
    const char *name; /* printed by every dump */
    /* The number of its push, from the ready queue: the dumps print it. No policy orders by
     * it: a list keeps push order itself, and a heap numbers its own ties (sched/heap.h). */
    uint64_t seq;
    uint64_t tick; /* the tick whose N counts it (see sched.c, "the batch rule") */
    /* What the user sets, read by the policy it concerns, each in its own field: switching
     * policy never loses one. */
    int64_t deadline; /* EDF: absolute ns; without has_deadline it is set to the time queued */
    /* The running account of the active policy, which alone reads and writes it (`account`
     * says whose it is). */
    union {
        uint64_t pass;   /* stride: virtual time consumed so far */
        int64_t used_ns; /* MLFQ: CPU time used at its current level */
    };
    uint32_t tickets;     /* stride and lottery: its share (runnable_set_tickets refuses 0) */
    uint32_t boost_epoch; /* MLFQ: the boost period its level and used_ns belong to */
    int16_t priority;     /* strict priority: higher runs first */
    uint8_t level;        /* MLFQ: 0 is the top queue (policy_mlfq_set_level sets it too) */
    uint8_t account;      /* enum runnable_account: whose account the union above holds */
    bool has_deadline;
    bool queued; /* on a ready queue now: pushing it again is a no-op, never a corrupted list */
};

/* Sets every field to its default. fn may be set later (loop_call_soon takes it). */
void runnable_init(struct runnable *r, runnable_fn fn, void *arg, const char *name);
/* Sets r's share for stride and lottery while it is not queued: -EINVAL for 0 tickets (no
 * share at all would never be owed a turn), -EBUSY while queued (lottery's total counts them).
 * Refused here, when set, because a push comes from a wake-up that has nobody to refuse to: a
 * push given 0 tickets set by hand counts them as 1. */
int runnable_set_tickets(struct runnable *r, uint32_t tickets);
/* For a policy with a running account: makes the union `who`'s. True if it held another
 * policy's account, which the caller then replaces with a fresh one (runnable_init's zero
 * is a fresh account for either). */
static inline bool runnable_claim_account(struct runnable *r, enum runnable_account who) {
    bool other = r->account != RUNNABLE_ACCOUNT_NONE && r->account != who;
    r->account = (uint8_t)who;
    return other;
}

#endif
