/* mlfq.c — the multi-level feedback queue, with the five rules of OSTEP chapter 8
 * (lesson 09). It learns from what each runnable does: CPU-bound work sinks, work that runs
 * briefly and waits stays on top, and a periodic boost lifts everything so nothing starves.
 * The constants (3 levels, 10/20/40 ms allotments, a boost every 100 ms) are in mlfq.h. */
#include <errno.h>

#include "sched/policy/mlfq.h"

/* The five rules, and where each one lives:
 *   1. a higher level runs first ............................ mlfq_pop scans from level 0 down
 *   2. equals take turns (round robin) ...................... push at the back, pop the front
 *   3. new work enters at the top ........................... runnable_init sets level 0
 *   4. a level's allotment of CPU time, however it is spent (many short runs add up), and
 *      when it is used up, one level down .................... mlfq_charge
 *   5. every boost period, everything back to the top ....... mlfq_maybe_boost */

struct mlfq_policy {
    struct policy base;
    struct list_node levels[POLICY_MLFQ_LEVELS]; /* levels[0] is the top */
    size_t count;
    struct policy_mlfq_config config;
    bool clock_started;   /* false until the first push or pop tells us what `now` looks like */
    int64_t last_boost;   /* the `now` of the last boost, or of the first push or pop */
    uint32_t boost_epoch; /* which boost period we are in: each runnable's boost_epoch compares
                           * to it (32 bits wrap after 13 years of 100 ms boosts: harmless) */
};

static int mlfq_new(struct policy **out, const struct sched_alloc *alloc) {
    struct mlfq_policy *m = sched_alloc(alloc, sizeof *m);
    if (!m)
        return -ENOMEM;
    m->base.ops = &policy_mlfq;
    m->base.alloc = alloc;
    for (int i = 0; i < POLICY_MLFQ_LEVELS; i++) {
        list_init(&m->levels[i]);
        /* Lower levels hold CPU-bound work: a longer allotment there means fewer demotions
         * to count, and the top stays quick to leave. */
        m->config.allotment_ns[i] = POLICY_MLFQ_DEFAULT_TOP_ALLOTMENT_NS << i;
    }
    m->config.boost_period_ns = POLICY_MLFQ_DEFAULT_BOOST_PERIOD_NS;
    m->count = 0;
    m->clock_started = false;
    m->last_boost = 0;
    m->boost_epoch = 0;
    *out = &m->base;
    return 0;
}

static void mlfq_free(struct policy *p) {
    sched_dealloc(p->alloc, p);
}

/* Rule 5 for a runnable the boost could not reach: one that was waiting (or running) was on no
 * list then. Each runnable carries the boost period its level belongs to (boost_epoch), and is
 * lifted when it next meets the policy. */
static void mlfq_catch_up(const struct mlfq_policy *m, struct runnable *r) {
    if (runnable_claim_account(r, RUNNABLE_ACCOUNT_MLFQ))
        r->used_ns = 0; /* the union held stride's pass (or nothing): a fresh allotment */
    if (r->boost_epoch != m->boost_epoch) {
        r->level = 0;
        r->used_ns = 0;
        r->boost_epoch = m->boost_epoch;
    }
}

/* Rule 5. Time comes from the `now` given to push and pop: the policy owns no clock. A `now`
 * that goes backwards (loop_free pops with 0) never boosts. */
static void mlfq_maybe_boost(struct mlfq_policy *m, int64_t now) {
    if (!m->clock_started) {
        m->clock_started = true;
        m->last_boost = now;
        return;
    }
    if (now <= m->last_boost ||
        (uint64_t)now - (uint64_t)m->last_boost < (uint64_t)m->config.boost_period_ns)
        return;
    m->last_boost = now;
    m->boost_epoch++;
    /* Lower levels go behind the top one, each in its own order: round robin carries on. */
    for (int i = 1; i < POLICY_MLFQ_LEVELS; i++)
        while (!list_empty(&m->levels[i]))
            list_push_back(&m->levels[0], list_pop_front(&m->levels[i]));
    list_for_each(n, &m->levels[0]) mlfq_catch_up(m, container_of(n, struct runnable, node));
}

static int mlfq_push(struct policy *p, struct runnable *r, int64_t now) {
    struct mlfq_policy *m = (struct mlfq_policy *)p;
    if (r->level >= POLICY_MLFQ_LEVELS)
        r->level = POLICY_MLFQ_LEVELS - 1; /* set by hand past policy_mlfq_set_level: the
                                            * bottom, since a wake-up has nobody to refuse to */
    mlfq_maybe_boost(m, now);
    mlfq_catch_up(m, r);
    /* Rule 4 again: back from waiting, it keeps its level and what it used there. */
    list_push_back(&m->levels[r->level], &r->node);
    m->count++;
    return 0;
}

static struct runnable *mlfq_pop(struct policy *p, int64_t now) {
    struct mlfq_policy *m = (struct mlfq_policy *)p;
    mlfq_maybe_boost(m, now);
    for (int i = 0; i < POLICY_MLFQ_LEVELS; i++) {
        struct list_node *n = list_pop_front(&m->levels[i]);
        if (n) {
            m->count--;
            return container_of(n, struct runnable, node);
        }
    }
    return NULL;
}

static void mlfq_remove(struct policy *p, struct runnable *r) {
    list_remove(&r->node);
    ((struct mlfq_policy *)p)->count--;
}

static size_t mlfq_count(const struct policy *p) {
    return ((const struct mlfq_policy *)p)->count;
}

/* Rule 4. Called right after r's run, so r may already be queued again (it re-queued itself
 * while running): a demotion then moves it to the back of the lower level. */
static void mlfq_charge(struct policy *p, struct runnable *r, int64_t ran_ns) {
    struct mlfq_policy *m = (struct mlfq_policy *)p;
    mlfq_catch_up(m, r);
    if (r->level >= POLICY_MLFQ_LEVELS)
        r->level = POLICY_MLFQ_LEVELS - 1; /* never pushed here (push refuses it): be safe */
    if (ran_ns > 0)
        r->used_ns = r->used_ns > INT64_MAX - ran_ns ? INT64_MAX : r->used_ns + ran_ns;
    if (r->used_ns < m->config.allotment_ns[r->level])
        return;
    r->used_ns = 0; /* a fresh allotment at the new level (or, at the bottom, the same one) */
    if (r->level + 1 >= POLICY_MLFQ_LEVELS)
        return; /* the bottom: nowhere lower to go */
    r->level++;
    if (r->queued) { /* the flag, not the link: a heap policy may have left its bytes */
        list_remove(&r->node);
        list_push_back(&m->levels[r->level], &r->node);
    }
}

/* Top level first, each level in its round-robin order: pop's order. (If a boost comes due at
 * the next pop, the order still holds: the boost appends the lower levels in this order.) */
static void mlfq_for_each(const struct policy *p, void (*visit)(const struct runnable *, void *),
                          void *ctx) {
    const struct mlfq_policy *m = (const struct mlfq_policy *)p;
    for (int i = 0; i < POLICY_MLFQ_LEVELS; i++)
        list_for_each(n, &m->levels[i]) visit(container_of(n, const struct runnable, node), ctx);
}

static void mlfq_describe(const struct runnable *r, FILE *out) {
    fprintf(out, ", level %u, used %.3f ms", r->level, (double)r->used_ns / 1e6);
}

int policy_mlfq_get_config(const struct policy *p, struct policy_mlfq_config *out) {
    if (!p || p->ops != &policy_mlfq || !out)
        return -EINVAL;
    *out = ((const struct mlfq_policy *)p)->config;
    return 0;
}

int policy_mlfq_configure(struct policy *p, const struct policy_mlfq_config *config) {
    if (!p || p->ops != &policy_mlfq || !config || config->boost_period_ns <= 0)
        return -EINVAL;
    for (int i = 0; i < POLICY_MLFQ_LEVELS; i++)
        if (config->allotment_ns[i] <= 0)
            return -EINVAL;
    ((struct mlfq_policy *)p)->config = *config;
    return 0;
}

const struct policy_ops policy_mlfq = {
    .name = "mlfq",
    .new = mlfq_new,
    .free = mlfq_free,
    .push = mlfq_push,
    .pop = mlfq_pop,
    .remove = mlfq_remove,
    .count = mlfq_count,
    .charge = mlfq_charge,
    .for_each = mlfq_for_each,
    .describe = mlfq_describe,
};

int policy_mlfq_set_level(struct runnable *r, unsigned level) {
    if (!r || level >= POLICY_MLFQ_LEVELS)
        return -EINVAL;
    if (r->queued)
        return -EBUSY;
    r->level = (uint8_t)level;
    r->account = RUNNABLE_ACCOUNT_MLFQ; /* used_ns is the union's: MLFQ's from now on */
    r->used_ns = 0;
    return 0;
}
