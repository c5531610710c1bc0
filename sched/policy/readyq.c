/* readyq.c — the ready queue: what every policy shares, written once (lesson 04). The policy
 * only orders; the queue keeps the `queued` flag honest and numbers every push. The push and the
 * pop themselves are inline, in readyq.h, which says why. */
#include "sched/policy/readyq.h"

#include <errno.h>

/* Reads once what every push, pop and run would otherwise read through policy->ops (readyq.h).
 * list_push and list_pop compare the ops with the list base's functions, never the policy with
 * a name: any policy built on the list base gets the inline path for the ops it takes from it. */
static void readyq_learn_policy(struct readyq *q, const struct policy *p) {
    const struct policy_ops *ops = p ? p->ops : NULL;
    q->grows = ops && ops->reserve; /* the list policies link, never allocate */
    q->charges = ops && ops->charge;
    q->list_push = ops && ops->push == policy_list_push;
    q->list_pop = ops && ops->pop == policy_list_pop;
}

void readyq_init(struct readyq *q, struct policy *policy) {
    q->next_seq = 0;
    q->reserved = 0;
    q->policy = policy;
    readyq_learn_policy(q, policy);
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
    if (err == 0 && next->ops->reserve)
        err = next->ops->reserve(next, q->reserved); /* the promises made still hold */
    if (err) {
        policy_free(next);
        return err;
    }
    policy_free(q->policy);
    q->policy = next;
    readyq_learn_policy(q, next);
    return 0;
}

int readyq_reserve(struct readyq *q) {
    if (q->policy->ops->reserve) {
        int err = q->policy->ops->reserve(q->policy, q->reserved + 1);
        if (err)
            return err;
    }
    q->reserved++;
    return 0;
}

void readyq_release(struct readyq *q) {
    if (q->reserved > 0)
        q->reserved--;
}

int readyq_make_room_slow(struct readyq *q) {
    return q->policy->ops->reserve(q->policy, readyq_count(q) + q->reserved + 1);
}

int readyq_push_by_ops(struct readyq *q, struct runnable *r, int64_t now) {
    int err = q->policy->ops->push(q->policy, r, now);
    if (err == 0)
        r->queued = true;
    return err;
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
