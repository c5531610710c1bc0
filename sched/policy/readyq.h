/* readyq.h — the ready queue: a pluggable policy plus the bookkeeping every policy shares (the
 * `queued` flag and the push sequence number). Introduced in lesson 04. */
#ifndef LOOPSCHOOL_READYQ_H
#define LOOPSCHOOL_READYQ_H

#include "sched/policy/list_base.h"
#include "sched/policy/policy.h"

struct readyq {
    struct policy *policy;
    /* What the queue needs to know of its policy on every push, pop and run, read from the ops
     * table once, when the policy is set (readyq_init, readyq_set_policy), instead of through
     * two pointers each time. */
    bool grows;     /* it has a reserve op (a heap): an unreserved push must make room */
    bool charges;   /* it has a charge op (stride, MLFQ): the loop times each run to feed it */
    bool list_push; /* its push is the list base's own, policy_list_push: run inline */
    bool list_pop;  /* its pop is the list base's own, policy_list_pop: run inline */
    uint64_t next_seq;
    size_t reserved; /* places promised to registered handles (readyq_reserve) */
};

/* The queue takes a policy made by policy_new and owns it from now on: readyq_free frees it.
 * Never allocates. */
void readyq_init(struct readyq *q, struct policy *policy);
void readyq_free(struct readyq *q);
/* Swaps the policy while the queue is empty: 0, -EBUSY (something is queued), or policy_new's
 * error (the old policy stays). */
int readyq_set_policy(struct readyq *q, const struct policy_ops *ops);
/* Promises one more place: after it, `reserved` pushes can never fail. 0 or -ENOMEM. */
int readyq_reserve(struct readyq *q);
void readyq_release(struct readyq *q);
/* Before an unreserved push (a bare loop_call_soon): room for it AND every reservation, so it
 * never takes a place promised to someone else. 0 or -ENOMEM. */
int readyq_make_room_slow(struct readyq *q);
static inline int readyq_make_room(struct readyq *q) {
    return q->grows ? readyq_make_room_slow(q) : 0; /* inline: loop_call_soon's hot path */
}

/* Why push and pop are inline, and why they run the list base's op in place when the policy's
 * op IS that function: a plain callback's whole trip (loop_call_soon, its pop, its run) costs a
 * few indirect calls' worth (tests/bench/loop_bench.c), and every call that is not inlined, into
 * another file or through the ops table, adds a good part of one. So the queue's bookkeeping is
 * inlined into the scheduler, and an op a policy takes from the list base (FIFO's push and pop,
 * LIFO's pop) runs its body here, the very code the ops table points at (list_base.h), as a
 * compiler devirtualises a call whose target it can guess. The test is on the op, never on the
 * policy's name, and every other op and policy goes through the ops table: still the one way a
 * policy plugs in. */

/* readyq_push's way through the ops table (readyq.c): out of line, so that the list case, which
 * calls nothing, needs no stack frame. */
int readyq_push_by_ops(struct readyq *q, struct runnable *r, int64_t now);
/* 0; pushing an already queued runnable is a no-op that also returns 0. A push never fails
 * while the queued runnables number at most `reserved`; past that, a heap policy may return
 * -ENOMEM (so an unreserved caller, loop_call_soon, hears it). */
static inline int readyq_push(struct readyq *q, struct runnable *r, int64_t now) {
    if (r->queued)
        return 0; /* already waiting its turn: a second push must not link it twice */
    r->seq = q->next_seq++;
    if (!r->has_deadline)
        r->deadline = now; /* EDF's default: due when queued, so plain callbacks go first */
    if (!q->list_push)
        return readyq_push_by_ops(q, r, now);
    policy_list_push_body((struct policy_list *)q->policy, r);
    r->queued = true;
    return 0;
}
/* The runnable the policy picks now, taken off the queue; NULL when it is empty. */
static inline struct runnable *readyq_pop(struct readyq *q, int64_t now) {
    struct runnable *r = q->list_pop ? policy_list_pop_body((struct policy_list *)q->policy)
                                     : q->policy->ops->pop(q->policy, now);
    if (r)
        r->queued = false;
    return r;
}
/* 0, or -EALREADY if r was not queued. */
int readyq_remove(struct readyq *q, struct runnable *r);
size_t readyq_count(const struct readyq *q);
void readyq_charge(struct readyq *q, struct runnable *r, int64_t ran_ns);
/* Lists the queue in the order it will run, one runnable per line. */
void readyq_dump(const struct readyq *q, FILE *out);

#endif
