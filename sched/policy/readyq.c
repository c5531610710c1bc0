/* readyq.c — the ready queue: what every policy shares, written once (lesson 04). The policy
 * only orders; this file keeps the `queued` flag honest and numbers every push. */
#include "sched/policy/readyq.h"

#include <errno.h>

void readyq_init(struct readyq *q, struct policy *policy) {
    q->next_seq = 0;
    q->policy = policy;
}

void readyq_free(struct readyq *q) {
    policy_free(q->policy);
    q->policy = NULL;
}

int readyq_set_policy(struct readyq *q, const struct policy_ops *ops) {
    if (readyq_count(q) > 0)
        return -EBUSY;
    struct policy *next = NULL;
    int err = policy_new(&next, ops, q->policy->alloc);
    if (err)
        return err;
    policy_free(q->policy);
    q->policy = next;
    return 0;
}

int readyq_push(struct readyq *q, struct runnable *r, int64_t now) {
    if (r->queued)
        return 0; /* already waiting its turn: a second push must not link it twice */
    r->seq = q->next_seq++;
    if (!r->has_deadline)
        r->deadline = now; /* EDF's default: due when queued, so plain callbacks go first */
    int err = q->policy->ops->push(q->policy, r, now);
    if (err == 0)
        r->queued = true;
    return err;
}

struct runnable *readyq_pop(struct readyq *q, int64_t now) {
    struct runnable *r = q->policy->ops->pop(q->policy, now);
    if (r)
        r->queued = false;
    return r;
}

int readyq_remove(struct readyq *q, struct runnable *r) {
    if (!r->queued)
        return -EALREADY;
    q->policy->ops->remove(q->policy, r);
    r->queued = false;
    return 0;
}

size_t readyq_count(const struct readyq *q) {
    return q->policy->ops->count(q->policy);
}

void readyq_charge(struct readyq *q, struct runnable *r, int64_t ran_ns) {
    if (q->policy->ops->charge)
        q->policy->ops->charge(q->policy, r, ran_ns);
}

static void dump_one(const struct runnable *r, void *ctx) {
    FILE *out = ctx;
    fprintf(out, "    %-24s seq %llu, tick %llu\n", r->name, (unsigned long long)r->seq,
            (unsigned long long)r->tick);
}

void readyq_dump(const struct readyq *q, FILE *out) {
    fprintf(out, "  ready queue (%s): %zu runnable%s\n", q->policy->ops->name, readyq_count(q),
            readyq_count(q) == 1 ? "" : "s");
    q->policy->ops->for_each(q->policy, dump_one, out);
    fflush(out);
}
