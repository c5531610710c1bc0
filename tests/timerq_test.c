/* timerq_test.c — the timer queue (sched/timerq.*, introduced in lesson 05): deadline order,
 * first-armed-first-fired among equal deadlines, cancel and re-arm anywhere in the heap, and a
 * property test that plays 100,000 seeded random operations against a model anyone can check by
 * eye: a plain array scanned from end to end. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched/timerq.h"
#include "tests/support/random.h"

static void never_called(struct timerq_entry *e, void *ctx) {
    (void)e;
    (void)ctx;
}

TestSuite(timerq, .description = "In what order does the timer queue hand out its timers, and do "
                                 "cancel and re-arm keep that order?");

Test(timerq, deadline_then_arming_order,
     .description = "Q: are timers popped by deadline, and "
                    "equal deadlines in the order armed?") {
    struct timerq q;
    timerq_init(&q, NULL);
    struct timerq_entry e[6];
    static const char *const names[6] = {"t30a", "t10", "t30b", "t20", "t30c", "t10b"};
    static const int64_t deadlines[6] = {30, 10, 30, 20, 30, 10};
    for (int i = 0; i < 6; i++) {
        timerq_entry_init(&e[i], never_called, names[i]);
        cr_assert_eq(timerq_add(&q, &e[i], deadlines[i]), 0, "arming a timer succeeds");
    }
    static const char *const expected[6] = {"t10", "t10b", "t20", "t30a", "t30b", "t30c"};
    for (int i = 0; i < 6; i++) {
        struct timerq_entry *got = timerq_pop_due(&q, 100);
        cr_assert_not_null(got, "a timer is due at 100");
        cr_assert_str_eq(got->name, expected[i],
                         "pop %d is %s: earliest deadline first, ties in arming order (got %s)", i,
                         expected[i], got->name);
        cr_assert(!timerq_armed(got), "a popped timer is no longer armed");
    }
    timerq_free(&q);
}

Test(timerq, pop_due_waits_for_now,
     .description = "Q: does pop_due leave a timer whose deadline "
                    "has not come yet?") {
    struct timerq q;
    timerq_init(&q, NULL);
    struct timerq_entry e;
    timerq_entry_init(&e, never_called, "later");
    timerq_add(&q, &e, 1000);
    cr_assert_null(timerq_pop_due(&q, 999), "1 ns before its deadline a timer is not due");
    cr_assert_eq(timerq_pop_due(&q, 1000), &e, "at its deadline exactly, it is due");
    cr_assert_null(timerq_pop_due(&q, 5000), "an empty queue has nothing due");
    timerq_free(&q);
}

Test(timerq, rearm_and_cancel,
     .description = "Q: does re-arming move a timer (to last among "
                    "equals), and does cancel say when it was not armed?") {
    struct timerq q;
    timerq_init(&q, NULL);
    struct timerq_entry a, b, c;
    timerq_entry_init(&a, never_called, "a");
    timerq_entry_init(&b, never_called, "b");
    timerq_entry_init(&c, never_called, "c");
    timerq_add(&q, &a, 50);
    timerq_add(&q, &b, 50);
    timerq_add(&q, &c, 10);
    cr_assert_eq(timerq_add(&q, &a, 50), 0, "re-arming an armed timer succeeds");
    cr_assert_eq(timerq_count(&q), 3u, "re-arming moves a timer; it does not add a second copy");
    cr_assert_eq(timerq_add(&q, &c, 70), 0, "arming a timer succeeds");
    cr_assert_eq(timerq_pop_due(&q, 100), &b, "b comes first: a was re-armed after it");
    cr_assert_eq(timerq_pop_due(&q, 100), &a, "a next, though it was first armed");
    cr_assert_eq(timerq_pop_due(&q, 100), &c, "c, moved from 10 to 70, comes last");

    timerq_add(&q, &a, 5);
    cr_assert_eq(timerq_remove(&q, &a), 0, "cancelling an armed timer returns 0");
    cr_assert_eq(timerq_remove(&q, &a), -EALREADY, "cancelling it again returns -EALREADY");
    cr_assert_eq(timerq_remove(&q, &b), -EALREADY,
                 "cancelling a timer that already fired returns -EALREADY, not a failure");
    cr_assert_eq(timerq_count(&q), 0u, "nothing is left armed");
    timerq_free(&q);
}

Test(timerq, far_deadlines,
     .description = "Q: do deadlines at the ends of int64 order correctly?") {
    struct timerq q;
    timerq_init(&q, NULL);
    struct timerq_entry lo, hi, mid;
    timerq_entry_init(&hi, never_called, "hi");
    timerq_entry_init(&lo, never_called, "lo");
    timerq_entry_init(&mid, never_called, "mid");
    timerq_add(&q, &hi, INT64_MAX);
    timerq_add(&q, &lo, INT64_MIN);
    timerq_add(&q, &mid, 0);
    cr_assert_eq(timerq_pop_due(&q, INT64_MAX), &lo, "INT64_MIN is the earliest deadline");
    cr_assert_eq(timerq_pop_due(&q, INT64_MAX), &mid, "0 comes between the two ends");
    cr_assert_eq(timerq_pop_due(&q, INT64_MAX), &hi, "INT64_MAX is due only at INT64_MAX");
    timerq_free(&q);
}

Test(timerq, dump_names_every_timer,
     .description = "Q: does timerq_dump print each timer's name, its deadline relative to "
                    "now, and its arming number (the heap's tie)?") {
    struct timerq q;
    timerq_init(&q, NULL);
    struct timerq_entry a, b;
    timerq_entry_init(&a, never_called, "heartbeat");
    timerq_entry_init(&b, never_called, "retry");
    timerq_add(&q, &a, 3000000);
    timerq_add(&q, &b, 1500000);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    timerq_dump(&q, 1000000, out);
    fclose(out);
    cr_assert_not_null(strstr(text, "[0] retry in +0.500 ms (tie 1)"),
                       "the earliest timer is at the root, 0.5 ms from now, armed second:\n%s",
                       text);
    cr_assert_not_null(strstr(text, "[1] heartbeat in +2.000 ms (tie 0)"),
                       "the other is its child, 2 ms from now, armed first:\n%s", text);
    free(text);
    timerq_free(&q);
}

/* ---- the property test ----------------------------------------------------------------------- */

enum {
    POOL = 256, /* timers the random operations pick from */
    OPERATIONS = 100000,
    HORIZON = 1000000, /* deadlines fall in [now, now + HORIZON) */
};

/* The reference model: for each timer, armed or not, its deadline, and its arming number. The
 * model numbers armings itself: it shares nothing with the code under test. */
struct model {
    bool armed[POOL];
    int64_t deadline[POOL];
    uint64_t armed_as[POOL];
    uint64_t next_arming;
    size_t count;
};

static void model_arm(struct model *m, int i, int64_t deadline) {
    if (!m->armed[i])
        m->count++;
    m->armed[i] = true;
    m->deadline[i] = deadline;
    m->armed_as[i] = m->next_arming++;
}

/* The earliest armed timer, by (deadline, arming number), found by scanning everything; -1 if
 * none is armed. */
static int model_earliest(const struct model *m) {
    int best = -1;
    for (int i = 0; i < POOL; i++) {
        if (!m->armed[i])
            continue;
        if (best < 0 || m->deadline[i] < m->deadline[best] ||
            (m->deadline[i] == m->deadline[best] && m->armed_as[i] < m->armed_as[best]))
            best = i;
    }
    return best;
}

/* Plays OPERATIONS random operations from `seed`; returns "" if the queue matched the model all
 * along, else writes what differed into `why`. */
static const char *play(uint64_t seed, char *why, size_t why_len) {
    static struct timerq_entry entries[POOL];
    static struct model m;
    memset(&m, 0, sizeof m);
    struct timerq q;
    timerq_init(&q, NULL);
    for (int i = 0; i < POOL; i++)
        timerq_entry_init(&entries[i], never_called, "t");
    uint64_t rng = seed;
    int64_t now = 0;
    why[0] = '\0';
    for (long op = 0; op < OPERATIONS && why[0] == '\0'; op++) {
        int i = (int)(test_random(&rng) % POOL);
        uint32_t kind = test_random(&rng) % 10;
        /* Coarse deadlines, so that many timers share one and the tie order is exercised. */
        int64_t deadline = now + (int64_t)(test_random(&rng) % HORIZON) / 1000 * 1000;
        if (kind < 4) { /* start, or re-arm if it is armed */
            int rc = timerq_add(&q, &entries[i], deadline);
            if (rc != 0)
                snprintf(why, why_len, "op %ld: timerq_add returned %d", op, rc);
            model_arm(&m, i, deadline);
        } else if (kind < 6) { /* stop */
            int rc = timerq_remove(&q, &entries[i]);
            int want = m.armed[i] ? 0 : -EALREADY;
            if (rc != want)
                snprintf(why, why_len, "op %ld: cancel of timer %d returned %d, the model says %d",
                         op, i, rc, want);
            if (m.armed[i])
                m.count--;
            m.armed[i] = false;
        } else { /* time moves on, and everything due is popped */
            now += (int64_t)(test_random(&rng) % (HORIZON / 4));
            for (;;) {
                int want = model_earliest(&m);
                if (want >= 0 && m.deadline[want] > now)
                    want = -1;
                struct timerq_entry *got = timerq_pop_due(&q, now);
                int got_i = got ? (int)(got - entries) : -1;
                if (got_i != want) {
                    snprintf(why, why_len,
                             "op %ld at now=%lld: pop_due gave timer %d, the model "
                             "says %d",
                             op, (long long)now, got_i, want);
                    break;
                }
                if (want < 0)
                    break;
                m.armed[want] = false;
                m.count--;
            }
        }
        if (why[0] == '\0' && timerq_count(&q) != m.count)
            snprintf(why, why_len, "op %ld: the queue holds %zu timers, the model %zu", op,
                     timerq_count(&q), m.count);
        if (why[0] == '\0' && op % 1000 == 0 && !heap_is_valid(&q.heap))
            snprintf(why, why_len, "op %ld: the heap's order or its nodes' indexes are broken", op);
    }
    timerq_free(&q);
    return why;
}

Test(timerq, matches_a_linear_model, .timeout = 120,
     .description = "Q: over 100,000 random starts, stops, re-arms and pops, does the heap always "
                    "agree with a plain array scanned linearly?") {
    /* LOOPSCHOOL_SEED replays a failure; otherwise a fixed seed keeps the test reproducible. */
    uint64_t seed = 20240605;
    const char *env = getenv("LOOPSCHOOL_SEED");
    if (env && *env)
        seed = strtoull(env, NULL, 0);
    char why[256];
    play(seed, why, sizeof why);
    cr_assert_str_empty(why,
                        "the timer queue agrees with the linear model; it did not with seed "
                        "%llu (replay: LOOPSCHOOL_SEED=%llu): %s",
                        (unsigned long long)seed, (unsigned long long)seed, why);
}
