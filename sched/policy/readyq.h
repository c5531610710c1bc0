/* readyq.h — the ready queue: a pluggable policy plus the bookkeeping every policy shares (the
 * `queued` flag and the push sequence number). Introduced in lesson 04. */
#ifndef LOOPSCHOOL_READYQ_H
#define LOOPSCHOOL_READYQ_H

#include "sched/policy/policy.h"

struct readyq {
    struct policy *policy;
    uint64_t next_seq;
};

/* The queue takes a policy made by policy_new and owns it from now on: readyq_free frees it.
 * Never allocates. */
void readyq_init(struct readyq *q, struct policy *policy);
void readyq_free(struct readyq *q);
/* Swaps the policy while the queue is empty: 0, -EBUSY (something is queued), or policy_new's
 * error (the old policy stays). */
int readyq_set_policy(struct readyq *q, const struct policy_ops *ops);
/* 0; pushing an already queued runnable is a no-op that also returns 0. -ENOMEM possible. */
int readyq_push(struct readyq *q, struct runnable *r, int64_t now);
struct runnable *readyq_pop(struct readyq *q, int64_t now);
/* 0, or -EALREADY if r was not queued. */
int readyq_remove(struct readyq *q, struct runnable *r);
size_t readyq_count(const struct readyq *q);
void readyq_charge(struct readyq *q, struct runnable *r, int64_t ran_ns);
/* Lists the queue in the order it will run, one runnable per line. */
void readyq_dump(const struct readyq *q, FILE *out);

#endif
