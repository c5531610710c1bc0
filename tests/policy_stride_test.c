/* policy_stride_test.c — the stride policy (sched/policy/stride.c, lesson 09): the textbook
 * example (OSTEP chapter 9) slice by slice, charging in proportion to the time used, ties in
 * push order, and a runnable back from waiting unable to cash in its sleep. */
#include <criterion/criterion.h>

#include <errno.h>

#include "sched/policy/readyq.h"
#include "sched/policy/stride.h"

static const int64_t SLICE = 1000000; /* the default slice: 1 ms */

static void nothing(void *arg) {
    (void)arg;
}

static void open_stride(struct readyq *q, uint64_t constant) {
    struct policy *p;
    cr_assert_eq(policy_new(&p, &policy_stride, NULL), 0);
    readyq_init(q, p);
    cr_assert_eq(policy_stride_configure(q->policy, constant, SLICE), 0,
                 "an empty stride policy accepts a new constant");
}

/* One slice of the loop: pop, run for one slice, and re-queue. In the loop a task that yields
 * re-queues itself during its run, before the charge; `requeue_first` false does the other
 * order, as a runnable re-queued by someone else after its run would be. */
static struct runnable *one_slice(struct readyq *q, bool requeue_first) {
    struct runnable *r = readyq_pop(q, 0);
    cr_assert_not_null(r, "someone is always ready");
    if (requeue_first)
        readyq_push(q, r, 0);
    readyq_charge(q, r, SLICE);
    if (!requeue_first)
        readyq_push(q, r, 0);
    return r;
}

/* The textbook's three: A 100 tickets, B 50, C 250; with a constant of 10,000 their strides
 * are 100, 200 and 40. Derived by the rules (lowest pass runs, ties by push order, a slice adds
 * a stride), here is who runs in each slice and every pass after it. A and C run 2 and 5 times
 * for B's 1: exactly 100 : 50 : 250 once all passes meet again at 200. */
static const struct {
    char runs;
    uint64_t a, b, c;
} TEXTBOOK[] = {
    {'A', 100, 0, 0},     {'B', 100, 200, 0},   {'C', 100, 200, 40},  {'C', 100, 200, 80},
    {'C', 100, 200, 120}, {'A', 200, 200, 120}, {'C', 200, 200, 160}, {'C', 200, 200, 200},
};

static void play_textbook(bool requeue_first) {
    struct readyq q;
    open_stride(&q, 10000);
    struct runnable t[3];
    static const uint32_t tickets[] = {100, 50, 250};
    static const char *const names[] = {"A", "B", "C"};
    for (int i = 0; i < 3; i++) {
        runnable_init(&t[i], nothing, NULL, names[i]);
        t[i].tickets = tickets[i];
        readyq_push(&q, &t[i], 0); /* A, B, C: all at pass 0, so push order breaks the tie */
    }
    for (size_t s = 0; s < sizeof TEXTBOOK / sizeof TEXTBOOK[0]; s++) {
        struct runnable *r = one_slice(&q, requeue_first);
        cr_assert_eq(r->name[0], TEXTBOOK[s].runs,
                     "slice %zu runs %c (the lowest pass; the "
                     "earlier push on a tie)",
                     s + 1, TEXTBOOK[s].runs);
        cr_assert(t[0].pass == TEXTBOOK[s].a && t[1].pass == TEXTBOOK[s].b &&
                      t[2].pass == TEXTBOOK[s].c,
                  "after slice %zu the passes are A %llu, B %llu, C %llu", s + 1,
                  (unsigned long long)TEXTBOOK[s].a, (unsigned long long)TEXTBOOK[s].b,
                  (unsigned long long)TEXTBOOK[s].c);
    }
    /* 100 more rounds of 8 slices: each ends with the passes level again. */
    int runs[3] = {0};
    for (int s = 0; s < 800; s++)
        runs[one_slice(&q, requeue_first) - t]++;
    cr_assert(runs[0] == 200 && runs[1] == 100 && runs[2] == 500,
              "over 800 more slices A, B, C run 200, 100, 500 times: exactly 100:50:250");
    cr_assert(t[0].pass == 20200 && t[1].pass == 20200 && t[2].pass == 20200,
              "and every pass is 20,200: 101 rounds of 200 each");
    readyq_free(&q);
}

TestSuite(policy_stride, .description = "Does stride scheduling give each runnable exactly the "
                                        "share its tickets buy, slice by slice?");

Test(policy_stride, textbook_example,
     .description = "Q: with 100, 50 and 250 tickets and a "
                    "constant of 10,000, who runs in each slice, "
                    "and what is every pass after it?") {
    play_textbook(true);
}

Test(policy_stride, textbook_either_order,
     .description = "Q: is the table the same when the runnable is re-queued after its charge "
                    "instead of before?") {
    play_textbook(false);
}

Test(policy_stride, charge_is_proportional,
     .description = "Q: what does a run cost: a whole "
                    "stride, or the part of a slice it "
                    "used?") {
    struct readyq q;
    open_stride(&q, 10000);
    struct runnable r;
    runnable_init(&r, nothing, NULL, "r"); /* 100 tickets: stride 100 */
    readyq_charge(&q, &r, SLICE);
    cr_assert_eq(r.pass, 100u, "a whole slice costs one stride (100)");
    readyq_charge(&q, &r, SLICE / 2);
    cr_assert_eq(r.pass, 150u, "half a slice costs half a stride (50)");
    readyq_charge(&q, &r, 3 * SLICE);
    cr_assert_eq(r.pass, 450u, "three slices cost three strides");
    readyq_charge(&q, &r, 1);
    cr_assert_eq(r.pass, 451u, "1 ns costs 1, rounded up: no run that took time is free");
    readyq_charge(&q, &r, 0);
    readyq_charge(&q, &r, -5);
    cr_assert_eq(r.pass, 451u, "a run of 0 ns (or a clock that went back) costs nothing");
    r.tickets = 20000;
    readyq_charge(&q, &r, SLICE);
    cr_assert_eq(r.pass, 452u, "more tickets than the constant: the stride is 1, never 0");
    readyq_free(&q);
}

Test(policy_stride, ties_in_push_order,
     .description = "Q: with equal tickets, do runnables take "
                    "turns in the order they were pushed?") {
    struct readyq q;
    open_stride(&q, 10000);
    struct runnable r[3];
    for (int i = 0; i < 3; i++) {
        runnable_init(&r[i], nothing, NULL, "r");
        readyq_push(&q, &r[i], 0);
    }
    for (int s = 0; s < 9; s++)
        cr_assert_eq(one_slice(&q, true), &r[s % 3],
                     "slice %d runs runnable %d: equal tickets "
                     "take turns in push order",
                     s, s % 3);
    readyq_free(&q);
}

Test(policy_stride, charge_while_queued,
     .description = "Q: when a runnable re-queued itself "
                    "during its run, does its charge still "
                    "move it back in line?") {
    struct readyq q;
    open_stride(&q, 10000);
    struct runnable a, b;
    runnable_init(&a, nothing, NULL, "a");
    runnable_init(&b, nothing, NULL, "b");
    readyq_push(&q, &a, 0);
    readyq_push(&q, &b, 0);
    struct runnable *r = readyq_pop(&q, 0);
    readyq_push(&q, r, 0);           /* a yields: back in line with pass 0 */
    readyq_charge(&q, r, 5 * SLICE); /* then pays for 5 slices while queued */
    cr_assert_eq(readyq_pop(&q, 0), &b, "b runs next: a's charge re-placed it in the heap");
    cr_assert_eq(readyq_pop(&q, 0), &a);
    readyq_free(&q);
}

Test(policy_stride, requeued_but_never_charged,
     .description = "Q: when a runnable re-queued itself during its run and its charge never "
                    "comes, is the heap still in order for the next pop, push and remove?") {
    struct readyq q;
    open_stride(&q, 10000);
    struct runnable a, b, c;
    runnable_init(&a, nothing, NULL, "a");
    runnable_init(&b, nothing, NULL, "b");
    runnable_init(&c, nothing, NULL, "c");
    readyq_push(&q, &a, 0);
    readyq_push(&q, &b, 0);
    readyq_push(&q, &c, 0);
    cr_assert_eq(readyq_pop(&q, 0), &a);
    readyq_remove(&q, &b);
    readyq_remove(&q, &c);
    b.pass = c.pass = 500; /* they come back having run more: a's pass 0 is the lowest */
    readyq_push(&q, &c, 0);
    readyq_push(&q, &a, 0); /* a yields, appended unsifted until its charge... */
    readyq_push(&q, &b, 0); /* ...which never comes: this push must put a in its place first */
    cr_assert_eq(readyq_pop(&q, 0), &a,
                 "a (pass 0) runs before c and b (pass 500): placed although never charged");
    readyq_push(&q, &a, 0);
    readyq_remove(&q, &c); /* a remove, too, finds the heap in order */
    cr_assert_eq(readyq_pop(&q, 0), &a, "a again: the lowest pass, placed before the remove");
    cr_assert_eq(readyq_pop(&q, 0), &b, "then b");
    cr_assert_null(readyq_pop(&q, 0), "and nobody else");
    readyq_free(&q);
}

Test(policy_stride, sleeping_banks_no_credit,
     .description = "Q: does a runnable back from a long wait get only its share, not a "
                    "burst to catch up?") {
    struct readyq q;
    open_stride(&q, 10000);
    struct runnable a, b, sleeper;
    runnable_init(&a, nothing, NULL, "a");
    runnable_init(&b, nothing, NULL, "b");
    runnable_init(&sleeper, nothing, NULL, "sleeper");
    readyq_push(&q, &a, 0);
    readyq_push(&q, &b, 0);
    for (int s = 0; s < 100; s++)
        one_slice(&q, true); /* the sleeper waits all along, its pass stuck at 0 */
    uint64_t lowest = a.pass < b.pass ? a.pass : b.pass;
    cr_assert_eq(lowest, 5000u, "a and b have run 50 slices each");
    readyq_push(&q, &sleeper, 0);
    cr_assert_eq(sleeper.pass, lowest,
                 "on waking, its pass is raised to the lowest ready pass "
                 "(%llu), not left at 0",
                 (unsigned long long)lowest);
    int runs = 0;
    for (int s = 0; s < 30; s++)
        runs += one_slice(&q, true) == &sleeper;
    cr_assert_eq(runs, 10,
                 "in the next 30 slices it runs 10 times, a third, like the others; "
                 "left at 0 it would have run 30 in a row");
    readyq_free(&q);
}

Test(policy_stride, empty_queue_remembers,
     .description = "Q: when the queue ran empty, does a "
                    "waking runnable still start level "
                    "with the last one that ran?") {
    struct readyq q;
    open_stride(&q, 10000);
    struct runnable worker, sleeper;
    runnable_init(&worker, nothing, NULL, "worker");
    runnable_init(&sleeper, nothing, NULL, "sleeper");
    readyq_push(&q, &worker, 0);
    for (int s = 0; s < 20; s++)
        one_slice(&q, true);
    readyq_remove(&q, &worker); /* the worker now waits too: the queue is empty */
    readyq_push(&q, &sleeper, 0);
    cr_assert_eq(sleeper.pass, worker.pass,
                 "the sleeper starts at the worker's pass (%llu): "
                 "an empty queue is no chance to bank credit",
                 (unsigned long long)worker.pass);
    readyq_free(&q);
}

Test(policy_stride, configure_misuse,
     .description = "Q: which stride settings are refused, and "
                    "when?") {
    struct readyq q;
    struct policy *p;
    cr_assert_eq(policy_new(&p, &policy_stride, NULL), 0);
    readyq_init(&q, p);
    cr_assert_eq(policy_stride_configure(q.policy, 0, SLICE), -EINVAL,
                 "a constant of 0 is -EINVAL: every stride would be 0");
    cr_assert_eq(policy_stride_configure(q.policy, POLICY_STRIDE_MAX_CONSTANT + 1, SLICE), -EINVAL,
                 "a constant above 2^32 is -EINVAL: charges could overflow");
    cr_assert_eq(policy_stride_configure(q.policy, 100, 0), -EINVAL, "a 0 ns slice is -EINVAL");
    cr_assert_eq(policy_stride_configure(q.policy, 100, -1), -EINVAL,
                 "a negative slice is -EINVAL");
    cr_assert_eq(policy_stride_configure(q.policy, 100, POLICY_STRIDE_MAX_SLICE_NS + 1), -EINVAL,
                 "a slice above 2^32 ns is -EINVAL");
    struct runnable r;
    runnable_init(&r, nothing, NULL, "r");
    readyq_push(&q, &r, 0);
    cr_assert_eq(policy_stride_configure(q.policy, 100, SLICE), -EBUSY,
                 "with a runnable queued it is -EBUSY: old and new passes would not compare");
    readyq_charge(&q, readyq_pop(&q, 0), SLICE);
    cr_assert_eq(r.pass, POLICY_STRIDE_DEFAULT_CONSTANT / RUNNABLE_DEFAULT_TICKETS,
                 "every refusal left the default constant (a slice cost %llu)",
                 (unsigned long long)(POLICY_STRIDE_DEFAULT_CONSTANT / RUNNABLE_DEFAULT_TICKETS));
    readyq_free(&q);
}
