/* policy_test.c — the scheduling policies (sched/policy/, lesson 09) keep their ordering
 * contracts: LIFO, strict priority, EDF and lottery here (stride and MLFQ have their own files),
 * every policy by name, for_each in pop order, no plain runnable starved, and misuse refused.
 * Everything goes through the ready queue, as the loop does. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched/policy/heap_base.h"
#include "sched/policy/readyq.h"
#include "sched/policy/lottery.h"
#include "sched/policy/mlfq.h"
#include "sched/policy/stride.h"

static const int64_t MS = 1000000;

static void nothing(void *arg) {
    (void)arg;
}

static void make(struct runnable *r, const char *name) {
    runnable_init(r, nothing, NULL, name);
}

static void open_queue(struct readyq *q, const struct policy_ops *ops) {
    struct policy *p;
    cr_assert_eq(policy_new(&p, ops, NULL), 0, "a %s policy can be created", ops->name);
    readyq_init(q, p);
}

/* Pops everything and writes the index (in `all`) of each, in pop order. */
static int drain(struct readyq *q, const struct runnable *all, int *order, int max) {
    int n = 0;
    struct runnable *r;
    while ((r = readyq_pop(q, 0)) != NULL && n < max)
        order[n++] = (int)(r - all);
    return n;
}

TestSuite(policy, .description = "Who runs next under each scheduling policy, and does each keep "
                                 "its ordering contract?");

Test(policy, found_by_name, .description = "Q: can every policy be chosen by its name?") {
    static const char *const names[] = {"fifo",    "lifo", "priority", "stride",
                                        "lottery", "edf",  "mlfq"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct policy_ops *ops = policy_by_index(i);
        cr_assert_not_null(ops, "policy_by_index(%zu) is a policy", i);
        cr_assert_str_eq(ops->name, names[i], "policy %zu is %s", i, names[i]);
        cr_assert_eq(policy_by_name(names[i]), ops, "\"%s\" finds the %s policy", names[i],
                     names[i]);
    }
    cr_assert_null(policy_by_index(7), "there are exactly seven policies");
    cr_assert_eq(policy_by_name("fifo"), &policy_fifo, "\"fifo\" is asyncio's order");
}

Test(policy, unknown_name, .description = "Q: what does an unknown or missing name give?") {
    cr_assert_null(policy_by_name(NULL), "a NULL name finds no policy (and does not crash)");
    cr_assert_null(policy_by_name(""), "an empty name finds no policy");
    cr_assert_null(policy_by_name("FIFO"), "names are exact: \"FIFO\" is not \"fifo\"");
    cr_assert_null(policy_by_name("round-robin"), "a policy that does not exist is NULL");
}

Test(policy, basics_hold_everywhere,
     .description = "Q: under every policy, does a removed "
                    "runnable stay out and an empty queue pop "
                    "NULL?") {
    for (size_t p = 0; policy_by_index(p); p++) {
        const struct policy_ops *ops = policy_by_index(p);
        struct readyq q;
        open_queue(&q, ops);
        cr_assert_null(readyq_pop(&q, 0), "%s: an empty queue pops NULL", ops->name);
        struct runnable r[5];
        for (int i = 0; i < 5; i++) {
            make(&r[i], "r");
            cr_assert_eq(readyq_push(&q, &r[i], i), 0, "%s: a push succeeds", ops->name);
        }
        cr_assert_eq(readyq_remove(&q, &r[2]), 0, "%s: a queued runnable can be removed",
                     ops->name);
        cr_assert_eq(readyq_count(&q), 4u, "%s: four are left after one is removed", ops->name);
        for (int i = 0; i < 4; i++) {
            struct runnable *got = readyq_pop(&q, 10);
            cr_assert(got && got != &r[2],
                      "%s: pop %d returns a queued one, never the removed "
                      "one",
                      ops->name, i);
            cr_assert(!got->queued, "%s: a popped runnable is no longer marked queued", ops->name);
        }
        cr_assert_null(readyq_pop(&q, 10), "%s: once drained, pop gives NULL", ops->name);
        cr_assert_eq(readyq_remove(&q, &r[2]), -EALREADY,
                     "%s: removing what is not queued is -EALREADY", ops->name);
        readyq_free(&q);
    }
}

/* ---- for_each ------------------------------------------------------------------------------ */

struct listing {
    const struct runnable *base;
    int order[256];
    int n;
};

static void note(const struct runnable *r, void *ctx) {
    struct listing *l = ctx;
    if (l->n < 256)
        l->order[l->n] = (int)(r - l->base);
    l->n++;
}

Test(policy, for_each_in_pop_order,
     .description = "Q: does for_each (what loop_dump prints) "
                    "list the queue in the order pop takes it?") {
    enum { N = 20 };
    for (size_t p = 0; policy_by_index(p); p++) {
        const struct policy_ops *ops = policy_by_index(p);
        struct readyq q;
        open_queue(&q, ops);
        struct runnable r[N];
        for (int i = 0; i < N; i++) {
            make(&r[i], "r");
            r[i].priority = (int16_t)((i * 7) % 5); /* ties on purpose */
            r[i].has_deadline = true;
            r[i].deadline = (i * 11) % 6;
            r[i].tickets = (uint32_t)(1 + i);
            r[i].level = (uint8_t)((i * 5) % POLICY_MLFQ_LEVELS); /* MLFQ: placed directly */
            cr_assert_eq(readyq_push(&q, &r[i], 0), 0);
        }
        struct listing listed = {.base = r, .n = 0};
        q.policy->ops->for_each(q.policy, note, &listed);
        cr_assert_eq(listed.n, N, "%s: for_each visits all %d", ops->name, N);
        int popped[N];
        cr_assert_eq(drain(&q, r, popped, N), N);
        for (int i = 0; i < N; i++) {
            /* lottery's next pick is a draw not yet made: it lists in push order instead */
            int want = ops == &policy_lottery ? i : popped[i];
            cr_assert_eq(listed.order[i], want,
                         "%s: place %d of the listing is runnable %d, "
                         "the one pop gives there",
                         ops->name, i, want);
        }
        readyq_free(&q);
    }
}

Test(policy, long_heap_listing,
     .description = "Q: with more queued than the dump orders, does "
                    "for_each still list everyone once, the head of "
                    "the line in pop order?") {
    enum { N = 200 };
    static struct runnable r[N];
    struct readyq q;
    open_queue(&q, &policy_priority);
    for (int i = 0; i < N; i++) {
        make(&r[i], "r");
        r[i].priority = (int16_t)((i * 37) % 23);
        cr_assert_eq(readyq_push(&q, &r[i], 0), 0);
    }
    static struct listing listed;
    listed.base = r;
    listed.n = 0;
    q.policy->ops->for_each(q.policy, note, &listed);
    cr_assert_eq(listed.n, N, "all %d are visited", N);
    bool seen[N] = {false};
    for (int i = 0; i < N; i++) {
        cr_assert(!seen[listed.order[i]], "runnable %d is visited once, not twice",
                  listed.order[i]);
        seen[listed.order[i]] = true;
    }
    int popped[N];
    drain(&q, r, popped, N);
    for (int i = 0; i < POLICY_HEAP_ORDERED_VISITS; i++)
        cr_assert_eq(listed.order[i], popped[i],
                     "the first %d are listed in exact pop order "
                     "(place %d differs)",
                     POLICY_HEAP_ORDERED_VISITS, i);
    readyq_free(&q);
}

Test(policy, dump_shows_the_keys,
     .description = "Q: does policy_dump show, in pop order, the "
                    "field each policy orders by?") {
    struct {
        const struct policy_ops *ops;
        const char *expect;
    } cases[] = {
        {&policy_priority, "priority 3"},         {&policy_stride, "pass 0, tickets 100"},
        {&policy_lottery, "tickets 100"},         {&policy_edf, "deadline 2.000 ms"},
        {&policy_mlfq, "level 0, used 0.000 ms"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct readyq q;
        open_queue(&q, cases[c].ops);
        struct runnable a, b;
        make(&a, "plain");
        make(&b, "special");
        b.priority = 3;
        b.has_deadline = true;
        b.deadline = 2 * MS;
        readyq_push(&q, &a, 5 * MS);
        readyq_push(&q, &b, 5 * MS);
        char *text = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&text, &size);
        policy_dump(q.policy, out);
        cr_assert_gt(size, 0u, "%s: the dump is flushed before it returns", cases[c].ops->name);
        fclose(out);
        cr_assert(strstr(text, cases[c].ops->name), "%s: the dump names the policy",
                  cases[c].ops->name);
        cr_assert(strstr(text, "2 queued"), "%s: the dump counts the queue", cases[c].ops->name);
        cr_assert(strstr(text, cases[c].expect), "%s: the dump shows \"%s\":\n%s",
                  cases[c].ops->name, cases[c].expect, text);
        free(text);
        readyq_free(&q);
    }
}

/* ---- LIFO, strict priority, EDF ------------------------------------------------------------ */

Test(policy, lifo_newest_first, .description = "Q: under LIFO, does the newest push run first?") {
    struct readyq q;
    open_queue(&q, &policy_lifo);
    struct runnable r[4];
    for (int i = 0; i < 4; i++) {
        make(&r[i], "r");
        readyq_push(&q, &r[i], 0);
    }
    readyq_remove(&q, &r[1]);
    int order[4];
    cr_assert_eq(drain(&q, r, order, 4), 3);
    cr_assert(order[0] == 3 && order[1] == 2 && order[2] == 0,
              "LIFO pops 3, 2, 0: newest first, and the removed one (1) is gone");
    readyq_free(&q);
}

/* A busy runnable re-queues itself after each of its runs, as a CPU-bound task that yields
 * does. Returns the pops it took until `fresh` ran, or 0 if it had not run within `limit`. */
static int pops_until_it_runs(const struct policy_ops *ops, struct runnable *busy, int n_busy,
                              struct runnable *fresh, int limit) {
    struct readyq q;
    open_queue(&q, ops);
    int64_t now = 0;
    for (int i = 0; i < n_busy; i++)
        readyq_push(&q, &busy[i], now);
    for (int warm = 0; warm < 10 * n_busy; warm++, now += MS) {
        struct runnable *r = readyq_pop(&q, now);
        readyq_push(&q, r, now + MS);
        readyq_charge(&q, r, MS);
    }
    readyq_push(&q, fresh, now);
    int pops = 0;
    for (int i = 1; i <= limit && !pops; i++, now += MS) {
        struct runnable *r = readyq_pop(&q, now);
        if (r == fresh) {
            pops = i;
        } else {
            readyq_push(&q, r, now + MS);
            readyq_charge(&q, r, MS);
        }
    }
    readyq_free(&q);
    return pops;
}

Test(policy, lifo_buries_the_old,
     .description = "Q: under LIFO, does a runnable that keeps "
                    "re-queueing itself starve the one beneath?") {
    struct runnable busy, fresh;
    make(&busy, "busy");
    make(&fresh, "fresh");
    struct readyq q;
    open_queue(&q, &policy_lifo);
    readyq_push(&q, &fresh, 0);
    readyq_push(&q, &busy, 0);
    for (int i = 0; i < 1000; i++) {
        struct runnable *r = readyq_pop(&q, 0);
        cr_assert_eq(r, &busy, "pop %d is the busy one again: it is always on top", i);
        readyq_push(&q, r, 0);
    }
    cr_assert(fresh.queued, "after 1,000 pops the buried runnable still has not run: LIFO "
                            "starves whatever lies under a busy runnable");
    readyq_free(&q);
}

Test(policy, priority_highest_first,
     .description = "Q: under strict priority, does the highest "
                    "priority run first, FIFO among equals?") {
    static const int16_t prio[] = {0, 5, -3, 5, 0, 10};
    static const int expect[] = {5, 1, 3, 0, 4, 2};
    struct readyq q;
    open_queue(&q, &policy_priority);
    struct runnable r[6];
    for (int i = 0; i < 6; i++) {
        make(&r[i], "r");
        r[i].priority = prio[i];
        readyq_push(&q, &r[i], 0);
    }
    int order[6];
    drain(&q, r, order, 6);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(order[i], expect[i],
                     "pop %d is runnable %d (priority %d): highest first, "
                     "and of the two 5s and the two 0s the earlier push",
                     i, expect[i], prio[expect[i]]);
    readyq_free(&q);
}

Test(policy, priority_busy_high_starves_low,
     .description = "Q: under strict priority, does a busy higher-priority runnable starve a "
                    "lower one (lesson 09's point)?") {
    struct runnable busy, low;
    make(&busy, "busy");
    make(&low, "low");
    busy.priority = 1; /* only one step above normal */
    cr_assert_eq(pops_until_it_runs(&policy_priority, &busy, 1, &low, 1000), 0,
                 "a normal-priority runnable never runs in 1,000 pops while a priority-1 "
                 "runnable keeps re-queueing itself: strict priority starves");
}

Test(policy, edf_earliest_first,
     .description = "Q: under EDF, does the earliest deadline run "
                    "first, FIFO among equals, and a plain runnable "
                    "count as due when queued?") {
    struct readyq q;
    open_queue(&q, &policy_edf);
    struct runnable r[5];
    static const int64_t due[] = {30, 10, 30, -1, 20}; /* -1: a plain runnable, no deadline */
    for (int i = 0; i < 5; i++) {
        make(&r[i], "r");
        r[i].has_deadline = due[i] >= 0;
        r[i].deadline = due[i] * MS;
        readyq_push(&q, &r[i], 15 * MS); /* the plain one is due at 15 ms */
    }
    static const int expect[] = {1, 3, 4, 0, 2};
    int order[5];
    drain(&q, r, order, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(order[i], expect[i],
                     "pop %d is runnable %d: deadlines 10, 15 (the plain "
                     "one, due when queued), 20, then the two 30s in push order",
                     i, expect[i]);
    readyq_free(&q);
}

Test(policy, no_plain_runnable_starves,
     .description = "Q: does a plain runnable pushed among 8 busy ones with the same defaults "
                    "run within a bounded number of pops under every fair policy?") {
    enum { BUSY = 8 };
    struct {
        const struct policy_ops *ops;
        int bound;
    } cases[] = {
        {&policy_fifo, BUSY + 1},
        {&policy_priority, BUSY + 1},
        {&policy_stride, BUSY + 1},
        {&policy_edf, BUSY + 1},
        {&policy_mlfq, BUSY + 1},
        /* a draw: each pop wins with chance 1/9; missing 200 in a row has odds below 1e-10 */
        {&policy_lottery, 200},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct runnable busy[BUSY], fresh;
        for (int i = 0; i < BUSY; i++)
            make(&busy[i], "busy");
        make(&fresh, "fresh");
        int pops = pops_until_it_runs(cases[c].ops, busy, BUSY, &fresh, cases[c].bound);
        cr_assert(pops > 0,
                  "%s: the plain runnable runs within %d pops (busy ones re-queue "
                  "themselves after every run)",
                  cases[c].ops->name, cases[c].bound);
    }
}

/* ---- lottery ------------------------------------------------------------------------------- */

/* 1,000 picks of 4 runnables with 10, 20, 30, 40 tickets that re-queue after each run. */
static void lottery_picks(uint64_t seed, bool set_seed, int *picks, int n) {
    struct readyq q;
    open_queue(&q, &policy_lottery);
    if (set_seed)
        cr_assert_eq(policy_lottery_seed(q.policy, seed), 0);
    struct runnable r[4];
    for (int i = 0; i < 4; i++) {
        make(&r[i], "r");
        r[i].tickets = (uint32_t)(10 * (i + 1));
        readyq_push(&q, &r[i], 0);
    }
    for (int i = 0; i < n; i++) {
        struct runnable *got = readyq_pop(&q, 0);
        picks[i] = (int)(got - r);
        readyq_push(&q, got, 0);
    }
    readyq_free(&q);
}

Test(policy, lottery_reproducible,
     .description = "Q: does the same seed give the same order, "
                    "and another seed another one?") {
    enum { N = 1000 };
    static int a[N], b[N], c[N], d[N];
    lottery_picks(7, true, a, N);
    lottery_picks(7, true, b, N);
    lottery_picks(8, true, c, N);
    lottery_picks(0, false, d, N);
    static int e[N];
    lottery_picks(POLICY_LOTTERY_DEFAULT_SEED, true, e, N);
    cr_assert_arr_eq(a, b, sizeof a, "seed 7 twice gives the same 1,000 picks");
    cr_assert_arr_neq(a, c, sizeof a, "seed 8 gives another order than seed 7");
    cr_assert_arr_eq(d, e, sizeof d, "an unseeded lottery uses POLICY_LOTTERY_DEFAULT_SEED");
}

Test(policy, lottery_proportional,
     .description = "Q: over many draws, are shares proportional "
                    "to tickets?") {
    enum { N = 20000 };
    static int picks[N];
    lottery_picks(POLICY_LOTTERY_DEFAULT_SEED, false, picks, N);
    int wins[4] = {0};
    for (int i = 0; i < N; i++)
        wins[picks[i]]++;
    for (int i = 0; i < 4; i++) {
        double share = (double)wins[i] / N, owed = (i + 1) / 10.0;
        /* one standard deviation is at most 0.0035 here: 0.015 is more than four */
        cr_assert(share > owed - 0.015 && share < owed + 0.015,
                  "the runnable with %d tickets of 100 wins %.3f of 20,000 draws, within 0.015 "
                  "of its %.2f share",
                  10 * (i + 1), share, owed);
    }
}

/* ---- misuse -------------------------------------------------------------------------------- */

Test(policy, zero_tickets_refused,
     .description = "Q: what do stride and lottery do with a "
                    "runnable given no tickets?") {
    const struct policy_ops *ops[] = {&policy_stride, &policy_lottery};
    for (int i = 0; i < 2; i++) {
        struct readyq q;
        open_queue(&q, ops[i]);
        struct runnable r;
        make(&r, "penniless");
        cr_assert_eq(runnable_set_tickets(&r, 0), -EINVAL,
                     "%s: 0 tickets are refused when "
                     "set, with -EINVAL: it would never be owed a turn",
                     ops[i]->name);
        cr_assert_eq(r.tickets, (uint32_t)RUNNABLE_DEFAULT_TICKETS, "%s: and nothing changed",
                     ops[i]->name);
        r.tickets = 0; /* set by hand, past the setter */
        cr_assert_eq(readyq_push(&q, &r, 0), 0,
                     "%s: a push never refuses (a wake-up has "
                     "nobody to tell): 0 tickets set by hand are pushed",
                     ops[i]->name);
        cr_assert_eq(r.tickets, 1u, "%s: counted as 1 ticket", ops[i]->name);
        cr_assert_eq(readyq_pop(&q, 0), &r, "%s: and it runs", ops[i]->name);
        readyq_free(&q);
    }
}

Test(policy, knobs_check_their_policy,
     .description = "Q: what does a knob given the wrong "
                    "policy, or a NULL one, do?") {
    struct readyq q;
    open_queue(&q, &policy_fifo);
    struct policy_mlfq_config config;
    cr_assert_eq(policy_stride_configure(q.policy, 100, MS), -EINVAL,
                 "configuring stride on a FIFO policy is -EINVAL");
    cr_assert_eq(policy_lottery_seed(q.policy, 1), -EINVAL, "seeding a FIFO policy is -EINVAL");
    cr_assert_eq(policy_mlfq_get_config(q.policy, &config), -EINVAL,
                 "reading MLFQ's config from a FIFO policy is -EINVAL");
    cr_assert_eq(policy_mlfq_configure(q.policy, &config), -EINVAL,
                 "configuring MLFQ on a FIFO policy is -EINVAL");
    cr_assert_eq(policy_stride_configure(NULL, 100, MS), -EINVAL, "a NULL policy is -EINVAL");
    cr_assert_eq(policy_lottery_seed(NULL, 1), -EINVAL, "a NULL policy is -EINVAL");
    cr_assert_eq(policy_mlfq_get_config(NULL, &config), -EINVAL, "a NULL policy is -EINVAL");
    cr_assert_eq(policy_mlfq_configure(NULL, &config), -EINVAL, "a NULL policy is -EINVAL");
    readyq_free(&q);
}

/* An allocator that says yes `budget` times, then no. */
struct budget_alloc {
    struct sched_alloc base;
    int budget;
};

static void *budget_resize(void *ctx, void *ptr, size_t size) {
    struct budget_alloc *a = ctx;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    if (a->budget == 0)
        return NULL;
    a->budget--;
    return realloc(ptr, size);
}

Test(policy, out_of_memory,
     .description = "Q: when memory runs out, do init and push fail "
                    "with -ENOMEM and leave nothing half-done?") {
    for (size_t p = 0; policy_by_index(p); p++) {
        const struct policy_ops *ops = policy_by_index(p);
        struct budget_alloc none = {{budget_resize, NULL}, 0};
        none.base.ctx = &none;
        struct policy *policy = NULL;
        cr_assert_eq(policy_new(&policy, ops, &none.base), -ENOMEM,
                     "%s: policy_new without memory for its state is -ENOMEM", ops->name);
        cr_assert_null(policy, "%s: and there is no half-made policy", ops->name);
    }
    /* The heap policies allocate once more, at their first push: the heap's array. */
    const struct policy_ops *heaped[] = {&policy_priority, &policy_stride, &policy_edf};
    for (int p = 0; p < 3; p++) {
        struct budget_alloc one = {{budget_resize, NULL}, 1};
        one.base.ctx = &one;
        struct readyq q;
        struct policy *policy;
        cr_assert_eq(policy_new(&policy, heaped[p], &one.base), 0);
        readyq_init(&q, policy);
        struct runnable r;
        make(&r, "homeless");
        r.pass = 5;
        cr_assert_eq(readyq_push(&q, &r, 0), -ENOMEM,
                     "%s: a push the heap cannot grow for returns -ENOMEM", heaped[p]->name);
        cr_assert(!r.queued, "%s: the runnable is not marked queued", heaped[p]->name);
        cr_assert_eq(readyq_count(&q), 0u, "%s: the queue is still empty", heaped[p]->name);
        cr_assert_eq(r.pass, 5u, "%s: its fields are as they were", heaped[p]->name);
        cr_assert_null(readyq_pop(&q, 0), "%s: and a pop finds nothing", heaped[p]->name);
        one.budget = 1;
        cr_assert_eq(readyq_push(&q, &r, 0), 0, "%s: with memory back, the same push works",
                     heaped[p]->name);
        cr_assert_eq(readyq_pop(&q, 0), &r);
        readyq_free(&q);
    }
}
