/* policy_property_test.c — every scheduling policy (sched/policy/, lesson 09) against a
 * reference model: 100,000 seeded random pushes, pops, runs, removes and clock moves, with the
 * model written the plainest way (an array scanned linearly with the policy's rule). After
 * every operation the policy and the model must agree on who runs, and on every field the
 * policy keeps (stride's pass, MLFQ's level and allotment used). */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sched/policy/readyq.h"
#include "sched/policy/lottery.h"
#include "sched/policy/mlfq.h"
#include "sched/policy/stride.h"
#include "tests/support/random.h"

enum {
    POOL = 24, /* small on purpose: the model is O(n) and ties must happen often */
    OPERATIONS = 100000,
    NOT_QUEUED = -1,
};

static const int64_t MS = 1000000;

/* MLFQ's defaults (10 ms at the top) would rarely be used up here, where 24 runnables share a
 * boost period: smaller allotments make demotions as common as boosts. */
static const struct policy_mlfq_config MLFQ_CONFIG = {{1000000, 2000000, 3000000}, 150000000};

/* The lottery's generator as documented in sched/policy/lottery.c (SplitMix64), written again:
 * "same seed, same order" is part of the contract, so the model must draw the same numbers. */
static uint64_t model_splitmix(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct model {
    const struct policy_ops *ops;
    int queue[POOL]; /* indexes of queued runnables, in push order */
    int n;
    uint64_t seq[POOL]; /* push order, numbered by the model itself */
    uint64_t next_seq;
    int64_t deadline[POOL]; /* EDF: the caller's, or the time it was queued */
    /* stride */
    uint64_t pass[POOL];
    uint64_t last_run_pass;
    /* lottery */
    uint64_t rng;
    /* mlfq */
    int level[POOL];
    int64_t used[POOL];
    uint64_t stamp[POOL]; /* the boost period a level belongs to (kept in r->boost_epoch) */
    uint64_t order[POOL]; /* round-robin order inside a level */
    uint64_t next_order;
    bool clock_started;
    int64_t last_boost;
    uint64_t boosts;
};

struct run {
    struct model m;
    struct readyq q;
    struct runnable pool[POOL];
    int64_t now;
    uint64_t rng;
    long op;
    char why[512]; /* empty while everything agrees */
};

static void disagree(struct run *run, const char *fmt, ...) {
    if (run->why[0])
        return; /* keep the first disagreement: the later ones follow from it */
    int len = snprintf(run->why, sizeof run->why, "op %ld, now %lld ms: ", run->op,
                       (long long)(run->now / MS));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->why + len, sizeof run->why - (size_t)len, fmt, ap);
    va_end(ap);
}

static bool is(const struct model *m, const struct policy_ops *ops) {
    return m->ops == ops;
}

static int queue_position(const struct model *m, int i) {
    for (int k = 0; k < m->n; k++)
        if (m->queue[k] == i)
            return k;
    return NOT_QUEUED;
}

static void model_unlink(struct model *m, int i) {
    int k = queue_position(m, i);
    for (; k + 1 < m->n; k++)
        m->queue[k] = m->queue[k + 1];
    m->n--;
}

static uint64_t model_stride(const struct runnable *r) {
    uint64_t s = POLICY_STRIDE_DEFAULT_CONSTANT / r->tickets;
    return s ? s : 1;
}

/* "Does i run before j?" under the model's policy: the whole rule in one place. */
static bool model_before(const struct run *run, int i, int j) {
    const struct model *m = &run->m;
    const struct runnable *a = &run->pool[i], *b = &run->pool[j];
    if (is(m, &policy_lifo))
        return m->seq[i] > m->seq[j];
    if (is(m, &policy_priority) && a->priority != b->priority)
        return a->priority > b->priority;
    if (is(m, &policy_edf) && m->deadline[i] != m->deadline[j])
        return m->deadline[i] < m->deadline[j];
    if (is(m, &policy_stride) && m->pass[i] != m->pass[j])
        return m->pass[i] < m->pass[j];
    if (is(m, &policy_mlfq))
        return m->level[i] != m->level[j] ? m->level[i] < m->level[j] : m->order[i] < m->order[j];
    if (is(m, &policy_lottery))
        return queue_position(m, i) < queue_position(m, j); /* only used to list, never to pick */
    return m->seq[i] < m->seq[j];
}

static int model_first(const struct run *run, const bool *skip) {
    int best = NOT_QUEUED;
    for (int k = 0; k < run->m.n; k++) {
        int i = run->m.queue[k];
        if (!(skip && skip[i]) && (best == NOT_QUEUED || model_before(run, i, best)))
            best = i;
    }
    return best;
}

static void model_catch_up(struct model *m, int i) {
    if (m->stamp[i] != m->boosts) {
        m->level[i] = 0;
        m->used[i] = 0;
        m->stamp[i] = m->boosts;
    }
}

/* MLFQ rule 5: lower levels go behind the top one in (level, order) order; all reset. */
static void model_maybe_boost(struct run *run, int64_t now) {
    struct model *m = &run->m;
    if (!m->clock_started) {
        m->clock_started = true;
        m->last_boost = now;
        return;
    }
    if (now <= m->last_boost || now - m->last_boost < MLFQ_CONFIG.boost_period_ns)
        return;
    m->last_boost = now;
    m->boosts++;
    bool moved[POOL] = {false};
    for (int k = 0; k < m->n; k++)
        moved[m->queue[k]] = m->level[m->queue[k]] == 0; /* the top stays as it is */
    for (int i; (i = model_first(run, moved)) != NOT_QUEUED;) {
        m->order[i] = m->next_order++;
        moved[i] = true;
    }
    for (int k = 0; k < m->n; k++)
        model_catch_up(m, m->queue[k]);
}

static void model_push(struct run *run, int i, int64_t now) {
    struct model *m = &run->m;
    struct runnable *r = &run->pool[i];
    if (queue_position(m, i) != NOT_QUEUED)
        return; /* readyq: pushing a queued runnable is a no-op */
    m->seq[i] = m->next_seq++;
    m->deadline[i] = r->has_deadline ? r->deadline : now;
    if (is(m, &policy_stride)) {
        uint64_t lowest = m->last_run_pass;
        for (int k = 0; k < m->n; k++)
            if (m->pass[m->queue[k]] < lowest)
                lowest = m->pass[m->queue[k]];
        if (m->pass[i] < lowest)
            m->pass[i] = lowest;
    }
    if (is(m, &policy_mlfq)) {
        model_maybe_boost(run, now);
        model_catch_up(m, i);
        m->order[i] = m->next_order++;
    }
    m->queue[m->n++] = i;
}

static int model_pop(struct run *run, int64_t now) {
    struct model *m = &run->m;
    if (is(m, &policy_mlfq))
        model_maybe_boost(run, now);
    if (m->n == 0)
        return NOT_QUEUED;
    int winner;
    if (is(m, &policy_lottery)) {
        uint64_t total = 0;
        for (int k = 0; k < m->n; k++)
            total += run->pool[m->queue[k]].tickets;
        uint64_t draw = model_splitmix(&m->rng) % total, sum = 0;
        int k = 0;
        while (draw >= (sum += run->pool[m->queue[k]].tickets))
            k++;
        winner = m->queue[k];
    } else {
        winner = model_first(run, NULL);
    }
    model_unlink(m, winner);
    if (is(m, &policy_stride))
        m->last_run_pass = m->pass[winner];
    return winner;
}

static void model_charge(struct run *run, int i, int64_t ran) {
    struct model *m = &run->m;
    if (is(m, &policy_stride)) {
        if (ran > 0) /* stride * ran / slice, rounded up; small numbers here, no overflow */
            m->pass[i] += (model_stride(&run->pool[i]) * (uint64_t)ran +
                           (uint64_t)POLICY_STRIDE_DEFAULT_SLICE_NS - 1) /
                          (uint64_t)POLICY_STRIDE_DEFAULT_SLICE_NS;
        m->last_run_pass = m->pass[i];
    }
    if (is(m, &policy_mlfq)) {
        model_catch_up(m, i);
        if (ran > 0)
            m->used[i] += ran;
        if (m->used[i] >= MLFQ_CONFIG.allotment_ns[m->level[i]]) {
            m->used[i] = 0;
            if (m->level[i] + 1 < POLICY_MLFQ_LEVELS) {
                m->level[i]++;
                m->order[i] = m->next_order++; /* to the back of its new level */
            }
        }
    }
}

/* ---- comparing the two -------------------------------------------------------------------- */

struct listing {
    int index[POOL];
    int n;
    const struct runnable *pool;
};

static void note(const struct runnable *r, void *ctx) {
    struct listing *l = ctx;
    if (l->n < POOL)
        l->index[l->n] = (int)(r - l->pool);
    l->n++;
}

static void compare_everything(struct run *run) {
    struct model *m = &run->m;
    for (int i = 0; i < POOL; i++) {
        const struct runnable *r = &run->pool[i];
        bool queued = queue_position(m, i) != NOT_QUEUED;
        if (r->queued != queued)
            disagree(run, "runnable %d: queued is %d, the model says %d", i, r->queued, queued);
        if (queued && r->deadline != m->deadline[i])
            disagree(run, "runnable %d: deadline %lld, the model says %lld", i,
                     (long long)r->deadline, (long long)m->deadline[i]);
        if (is(m, &policy_stride) && r->pass != m->pass[i])
            disagree(run, "runnable %d: pass %llu, the model says %llu", i,
                     (unsigned long long)r->pass, (unsigned long long)m->pass[i]);
        if (is(m, &policy_mlfq) &&
            (r->level != m->level[i] || r->used_ns != m->used[i] || r->boost_epoch != m->stamp[i]))
            disagree(run,
                     "runnable %d: level %d, used %lld ns, boost epoch %llu; the model says "
                     "%d, %lld, %llu",
                     i, r->level, (long long)r->used_ns, (unsigned long long)r->boost_epoch,
                     m->level[i], (long long)m->used[i], (unsigned long long)m->stamp[i]);
    }
    /* for_each lists the queue in pop order (lottery: in push order, the order a draw walks). */
    struct listing got = {.n = 0, .pool = run->pool};
    run->q.policy->ops->for_each(run->q.policy, note, &got);
    if (got.n != m->n) {
        disagree(run, "for_each visited %d runnables, %d are queued", got.n, m->n);
        return;
    }
    bool listed[POOL] = {false};
    for (int k = 0; k < m->n; k++) {
        int want = is(m, &policy_lottery) ? m->queue[k] : model_first(run, listed);
        listed[want] = true;
        if (got.index[k] != want)
            disagree(run, "for_each's place %d holds runnable %d, the model says %d", k,
                     got.index[k], want);
    }
}

/* A push, as the loop makes one: the caller sets the fields it owns while the runnable is not
 * queued (a queued one is left alone: pushing it again is a no-op). */
static void push(struct run *run, int i, int64_t now) {
    struct runnable *r = &run->pool[i];
    if (!r->queued) {
        r->priority = (int16_t)((int)test_random_below(&run->rng, 5) - 2);
        r->tickets = (uint32_t)(1 + test_random_below(&run->rng, 400));
        r->has_deadline = test_random_below(&run->rng, 2);
        r->deadline = now + ((int64_t)test_random_below(&run->rng, 10) - 2) * 5 * MS;
    }
    model_push(run, i, now);
    int err = readyq_push(&run->q, r, now);
    if (err)
        disagree(run, "pushing runnable %d failed: %d", i, err);
}

/* A pop and the run that follows it. The run takes time, may wake another runnable halfway
 * (as a callback that completes someone's I/O does), and re-queues itself before its charge
 * (a yield), after it, or not at all (it waits): the loop sees all of these. */
static void pop_and_run(struct run *run, int64_t now) {
    int want = model_pop(run, now);
    struct runnable *got = readyq_pop(&run->q, now);
    int got_i = got ? (int)(got - run->pool) : NOT_QUEUED;
    if (got_i != want) {
        disagree(run, "pop gave runnable %d, the model says %d", got_i, want);
        return;
    }
    if (want == NOT_QUEUED)
        return;
    /* Most runs last whole half-milliseconds (so MLFQ's allotments are used up exactly), one
     * in eight any number of ns (stride's rounding up); some last no time at all. */
    int64_t ran = test_random_below(&run->rng, 8)
                      ? (int64_t)test_random_below(&run->rng, 4) * MS / 2
                      : (int64_t)test_random_below(&run->rng, 3 * MS);
    int64_t start = run->now;
    run->now += ran;
    if (test_random_below(&run->rng, 4) == 0)
        push(run, (int)test_random_below(&run->rng, POOL), start + ran / 2);
    uint64_t how = test_random_below(&run->rng, 10);
    if (how < 5)
        push(run, want, run->now);
    model_charge(run, want, ran);
    readyq_charge(&run->q, got, ran);
    if (how >= 5 && how < 8)
        push(run, want, run->now);
}

/* One step of the loop's life: a push, a pop and its run, a remove, or a wait for I/O. */
static void step(struct run *run) {
    struct model *m = &run->m;
    uint64_t dice = test_random_below(&run->rng, 100);
    int i = (int)test_random_below(&run->rng, POOL);
    /* Time moves in whole steps, so pushes share a `now` and default deadlines tie. */
    if (test_random_below(&run->rng, 4) == 0)
        run->now += MS;
    if (dice < 40) {
        push(run, i, run->now);
    } else if (dice < 80) {
        pop_and_run(run, dice == 79 ? 0 : run->now); /* now and then a `now` that went back */
    } else if (dice < 95) {
        bool queued = queue_position(m, i) != NOT_QUEUED;
        if (queued)
            model_unlink(m, i);
        int err = readyq_remove(&run->q, &run->pool[i]);
        if (err != (queued ? 0 : -EALREADY))
            disagree(run, "removing runnable %d returned %d", i, err);
    } else {
        run->now += (int64_t)test_random_below(&run->rng, 30 * MS);
    }
    if (readyq_count(&run->q) != (size_t)m->n)
        disagree(run, "the policy holds %zu, the model %d", readyq_count(&run->q), m->n);
}

static void play(const struct policy_ops *ops, uint64_t seed, char *why, size_t why_len) {
    static struct run run; /* ~3 KB: off the stack, and zeroed per play below */
    memset(&run, 0, sizeof run);
    run.m.ops = ops;
    run.m.rng = seed;
    run.rng = seed;
    run.now = 1000 * MS;
    for (int i = 0; i < POOL; i++)
        runnable_init(&run.pool[i], NULL, NULL, "pooled");
    struct policy *policy;
    if (policy_new(&policy, ops, NULL) != 0) {
        snprintf(why, why_len, "policy_new failed");
        return;
    }
    readyq_init(&run.q, policy);
    if (ops == &policy_lottery)
        policy_lottery_seed(run.q.policy, seed);
    if (ops == &policy_mlfq)
        policy_mlfq_configure(run.q.policy, &MLFQ_CONFIG);
    for (run.op = 0; run.op < OPERATIONS && !run.why[0]; run.op++) {
        step(&run);
        if (run.op % 64 == 0 || run.why[0])
            compare_everything(&run);
    }
    if (!run.why[0])
        compare_everything(&run);
    readyq_free(&run.q);
    snprintf(why, why_len, "%s", run.why);
}

static void check_policy(const struct policy_ops *ops) {
    /* LOOPSCHOOL_SEED replays a failure; otherwise a fixed seed keeps the test reproducible. */
    uint64_t seed = 20240909;
    const char *env = getenv("LOOPSCHOOL_SEED");
    if (env && *env)
        seed = strtoull(env, NULL, 0);
    char why[512];
    play(ops, seed, why, sizeof why);
    cr_assert_str_empty(why,
                        "the %s policy agrees with its linear model; it did not with seed "
                        "%llu (replay: LOOPSCHOOL_SEED=%llu): %s",
                        ops->name, (unsigned long long)seed, (unsigned long long)seed, why);
}

TestSuite(policy_property, .description = "Does every scheduling policy pick exactly what a "
                                          "plain linear scan with its rule would pick?");

Test(policy_property, fifo, .timeout = 120,
     .description = "Q: over 100,000 random operations, does FIFO always pick the oldest push?") {
    check_policy(&policy_fifo);
}

Test(policy_property, lifo, .timeout = 120,
     .description = "Q: over 100,000 random operations, does LIFO always pick the newest push?") {
    check_policy(&policy_lifo);
}

Test(policy_property, priority, .timeout = 120,
     .description = "Q: over 100,000 random operations, does strict priority always pick the "
                    "highest priority, oldest first among equals?") {
    check_policy(&policy_priority);
}

Test(policy_property, stride, .timeout = 120,
     .description = "Q: over 100,000 random operations, does stride always pick the lowest pass, "
                    "with every pass charged and raised on wake-up as the model does?") {
    check_policy(&policy_stride);
}

Test(policy_property, lottery, .timeout = 120,
     .description = "Q: over 100,000 random operations, does lottery pick the winner of the same "
                    "seeded draw walked in push order?") {
    check_policy(&policy_lottery);
}

Test(policy_property, edf, .timeout = 120,
     .description = "Q: over 100,000 random operations, does EDF always pick the earliest "
                    "deadline, oldest first among equals?") {
    check_policy(&policy_edf);
}

Test(policy_property, mlfq, .timeout = 120,
     .description = "Q: over 100,000 random operations, does MLFQ keep every level, allotment, "
                    "demotion and boost exactly as a model of the five rules does?") {
    check_policy(&policy_mlfq);
}
