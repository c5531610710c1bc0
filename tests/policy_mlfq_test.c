/* policy_mlfq_test.c — the multi-level feedback queue (sched/policy/mlfq.c, lesson 09) follows
 * OSTEP's five rules: higher level first, round robin among equals, new work at the top, an
 * allotment per level however it is spent, and a periodic boost to the top; plus its knobs. */
#include <criterion/criterion.h>

#include <errno.h>

#include "sched/policy/readyq.h"
#include "sched/policy/mlfq.h"

static const int64_t MS = 1000000;

static void nothing(void *arg) {
    (void)arg;
}

static void open_mlfq(struct readyq *q) {
    struct policy *p;
    cr_assert_eq(policy_new(&p, &policy_mlfq, NULL), 0);
    readyq_init(q, p);
}

/* Pop at `now`, run for `ran` ns (the clock moves), then yield (re-queue and be charged) or,
 * with `then_wait`, be charged and leave the queue as a runnable that waits for I/O does. */
static struct runnable *run_one(struct readyq *q, int64_t *now, int64_t ran, bool then_wait) {
    struct runnable *r = readyq_pop(q, *now);
    cr_assert_not_null(r, "someone is ready");
    *now += ran;
    if (!then_wait)
        readyq_push(q, r, *now);
    readyq_charge(q, r, ran);
    return r;
}

TestSuite(policy_mlfq, .description = "Does MLFQ keep short, interactive work on top and sink "
                                      "CPU-bound work, without starving anyone?");

Test(policy_mlfq, default_constants,
     .description = "Q: what are MLFQ's levels, allotments and "
                    "boost period out of the box?") {
    struct readyq q;
    open_mlfq(&q);
    struct policy_mlfq_config c;
    cr_assert_eq(policy_mlfq_get_config(q.policy, &c), 0);
    cr_assert_eq(POLICY_MLFQ_LEVELS, 3, "there are 3 levels");
    cr_assert(c.allotment_ns[0] == 10 * MS && c.allotment_ns[1] == 20 * MS &&
                  c.allotment_ns[2] == 40 * MS,
              "the allotments are 10, 20 and 40 ms: doubling on the way down");
    cr_assert_eq(c.boost_period_ns, 100 * MS, "everything is lifted to the top every 100 ms");
    readyq_free(&q);
}

Test(policy_mlfq, higher_level_first,
     .description = "Q: does new work enter at the top and run "
                    "before work that has sunk (rules 1, 3)?") {
    struct readyq q;
    open_mlfq(&q);
    int64_t now = 0;
    struct runnable hog, fresh;
    runnable_init(&hog, nothing, NULL, "hog");
    readyq_push(&q, &hog, now);
    run_one(&q, &now, 10 * MS, false); /* uses the whole top allotment at once */
    cr_assert_eq(hog.level, 1, "the hog used its 10 ms and sank to level 1");
    runnable_init(&fresh, nothing, NULL, "fresh");
    cr_assert_eq(fresh.level, 0, "new work starts at level 0, the top");
    readyq_push(&q, &fresh, now);
    cr_assert_eq(readyq_pop(&q, now), &fresh,
                 "fresh runs first although it was pushed after the "
                 "hog: a higher level always runs first");
    readyq_free(&q);
}

Test(policy_mlfq, round_robin_within_a_level,
     .description = "Q: do runnables on one level take "
                    "turns (rule 2)?") {
    struct readyq q;
    open_mlfq(&q);
    int64_t now = 0;
    struct runnable r[3];
    for (int i = 0; i < 3; i++) {
        runnable_init(&r[i], nothing, NULL, "r");
        readyq_push(&q, &r[i], now);
    }
    for (int s = 0; s < 9; s++)
        cr_assert_eq(run_one(&q, &now, MS, false), &r[s % 3],
                     "run %d is runnable %d: equals take turns", s, s % 3);
    readyq_free(&q);
}

Test(policy_mlfq, allotment_however_spent,
     .description = "Q: does a runnable that gives up the "
                    "CPU early, many times, still sink "
                    "once it used its allotment (rule 4)?") {
    struct readyq q;
    open_mlfq(&q);
    int64_t now = 0;
    struct runnable gamer;
    runnable_init(&gamer, nothing, NULL, "gamer");
    for (int i = 1; i <= 10; i++) {
        readyq_push(&q, &gamer, now); /* back from a short wait */
        run_one(&q, &now, MS, true);  /* 1 ms of CPU, then it waits again */
        now += MS;                    /* (short waits: all of this stays inside one boost period) */
        if (i < 10)
            cr_assert_eq(gamer.level, 0, "after %d ms of CPU in short runs it is still on top", i);
    }
    cr_assert_eq(gamer.level, 1,
                 "its 10th 1 ms run uses up the 10 ms allotment: level 1, "
                 "however many times it gave up the CPU");
    cr_assert_eq(gamer.used_ns, 0, "and it starts its new level with nothing used");
    for (int i = 0; i < 6; i++) { /* 20 ms at level 1, then 40 ms at the bottom */
        readyq_push(&q, &gamer, now);
        run_one(&q, &now, 10 * MS, true);
    }
    cr_assert_eq(gamer.level, 2, "after 20 ms more it is at the bottom, level 2");
    cr_assert_eq(gamer.used_ns, 0,
                 "where a used-up allotment starts over: there is no lower "
                 "level to go to");
    readyq_free(&q);
}

Test(policy_mlfq, demoted_while_queued,
     .description = "Q: when a runnable re-queued itself "
                    "during its run, does its charge still "
                    "move it down a level?") {
    struct readyq q;
    open_mlfq(&q);
    int64_t now = 0;
    struct runnable hog, other;
    runnable_init(&hog, nothing, NULL, "hog");
    runnable_init(&other, nothing, NULL, "other");
    readyq_push(&q, &hog, now);
    readyq_push(&q, &other, now);
    run_one(&q, &now, 10 * MS, false); /* hog: re-queued at level 0, then charged 10 ms */
    cr_assert_eq(hog.level, 1, "the hog is now at level 1");
    cr_assert_eq(readyq_pop(&q, now), &other, "other runs next");
    cr_assert_eq(readyq_pop(&q, now), &hog, "and the hog after it, from level 1");
    readyq_free(&q);
}

Test(policy_mlfq, boost_lifts_everyone,
     .description = "Q: after a boost period, is every "
                    "queued runnable back at the top, lower "
                    "levels behind in their order (rule 5)?") {
    struct readyq q;
    open_mlfq(&q);
    int64_t now = 0;
    struct runnable r[4];
    for (int i = 0; i < 4; i++) {
        runnable_init(&r[i], nothing, NULL, "r");
        readyq_push(&q, &r[i], now);
    }
    run_one(&q, &now, 30 * MS, false); /* r0: 10 ms at the top, then more: level 1 */
    run_one(&q, &now, 10 * MS, false); /* r1: level 1 */
    run_one(&q, &now, 1 * MS, false);  /* r2: stays at the top */
    cr_assert(r[0].level == 1 && r[1].level == 1 && r[2].level == 0 && r[3].level == 0);
    now = 100 * MS; /* a boost period after the first push */
    struct runnable *first = readyq_pop(&q, now);
    for (int i = 0; i < 4; i++)
        cr_assert(r[i].level == 0 && r[i].used_ns == 0,
                  "runnable %d is at the top with its allotment fresh after the boost", i);
    cr_assert_eq(first, &r[3], "the top level's own order comes first: r3, then r2");
    cr_assert_eq(readyq_pop(&q, now), &r[2]);
    cr_assert_eq(readyq_pop(&q, now), &r[0], "then the lifted ones in their old order: r0, r1");
    cr_assert_eq(readyq_pop(&q, now), &r[1]);
    readyq_free(&q);
}

Test(policy_mlfq, boost_reaches_the_waiting,
     .description = "Q: is a runnable that was waiting "
                    "during a boost lifted too, when it "
                    "comes back?") {
    struct readyq q;
    open_mlfq(&q);
    int64_t now = 0;
    struct runnable sunk, other;
    runnable_init(&sunk, nothing, NULL, "sunk");
    runnable_init(&other, nothing, NULL, "other");
    readyq_push(&q, &sunk, now);
    run_one(&q, &now, 35 * MS, true); /* sinks to level 1, then waits */
    cr_assert_eq(sunk.level, 1);
    readyq_push(&q, &other, now);
    now = 150 * MS;
    readyq_pop(&q, now); /* the boost happens here, while `sunk` waits */
    readyq_push(&q, &sunk, now);
    cr_assert_eq(sunk.level, 0, "back from waiting, it is at the top: the boost counted it too");
    readyq_free(&q);
}

Test(policy_mlfq, boost_rescues_the_starving,
     .description = "Q: does the boost rescue a "
                    "runnable starving at the bottom "
                    "under a stream of top-level work?") {
    struct readyq q;
    open_mlfq(&q);
    int64_t now = 0;
    struct runnable starving, chatty;
    runnable_init(&starving, nothing, NULL, "starving");
    runnable_init(&chatty, nothing, NULL, "chatty");
    readyq_push(&q, &starving, now);
    run_one(&q, &now, 10 * MS, false); /* the top allotment: level 1 */
    run_one(&q, &now, 20 * MS, false); /* level 1's: level 2, the bottom */
    cr_assert_eq(starving.level, 2);
    readyq_push(&q, &chatty, now);
    int64_t boost_due = 100 * MS;
    while (now < boost_due - MS) {
        struct runnable *r = run_one(&q, &now, 0, false); /* chatty uses no time: stays on top */
        cr_assert_eq(r, &chatty, "at %lld ms the top-level runnable runs; the bottom one waits",
                     (long long)(now / MS));
        now += MS / 2;
    }
    now = boost_due;
    run_one(&q, &now, 0, false);
    cr_assert_eq(run_one(&q, &now, 0, false), &starving,
                 "right after the boost it runs: the "
                 "boost put it back on top, behind the one already there");
    readyq_free(&q);
}

Test(policy_mlfq, interactive_stays_on_top,
     .description = "Q: over a whole second, does a "
                    "runnable using 5 ms per boost period "
                    "stay on top while a hog sinks?") {
    struct readyq q;
    open_mlfq(&q);
    int64_t now = 0;
    struct runnable hog, chat;
    runnable_init(&hog, nothing, NULL, "hog");
    runnable_init(&chat, nothing, NULL, "chat");
    readyq_push(&q, &hog, now);
    int64_t chat_wakes = 0; /* chat runs 0.5 ms, then waits 10 ms for its next message */
    int64_t longest_wait = 0, bottom_time = 0;
    while (now < 1000 * MS) {
        if (!chat.queued && now >= chat_wakes) {
            readyq_push(&q, &chat, now);
            chat_wakes = now;
        }
        int64_t before = now;
        struct runnable *r = readyq_pop(&q, now);
        if (r == &chat) {
            if (now - chat_wakes > longest_wait)
                longest_wait = now - chat_wakes;
            now += MS / 2;
            readyq_charge(&q, r, MS / 2);
            cr_assert_eq(chat.level, 0, "at %lld ms the interactive runnable is on top",
                         (long long)(now / MS));
            chat_wakes = now + 10 * MS;
        } else {
            now += 2 * MS;
            readyq_push(&q, r, now);
            readyq_charge(&q, r, 2 * MS);
            if (hog.level == POLICY_MLFQ_LEVELS - 1)
                bottom_time += now - before;
        }
    }
    cr_assert_leq(longest_wait, 2 * MS,
                  "it never waits longer than one of the hog's 2 ms runs "
                  "(longest: %lld ns)",
                  (long long)longest_wait);
    cr_assert_gt(bottom_time, 500 * MS,
                 "the hog spends most of the second at the bottom "
                 "(%lld ms): its CPU use sank it after every boost",
                 (long long)(bottom_time / MS));
    readyq_free(&q);
}

Test(policy_mlfq, configure,
     .description = "Q: can the allotments and boost period be changed, "
                    "and which values are refused?") {
    struct readyq q;
    open_mlfq(&q);
    struct policy_mlfq_config c;
    policy_mlfq_get_config(q.policy, &c);
    struct policy_mlfq_config bad = c;
    bad.allotment_ns[1] = 0;
    cr_assert_eq(policy_mlfq_configure(q.policy, &bad), -EINVAL, "a 0 ns allotment is -EINVAL");
    bad = c;
    bad.boost_period_ns = -1;
    cr_assert_eq(policy_mlfq_configure(q.policy, &bad), -EINVAL,
                 "a negative boost period is -EINVAL");
    cr_assert_eq(policy_mlfq_configure(q.policy, NULL), -EINVAL, "a NULL config is -EINVAL");
    cr_assert_eq(policy_mlfq_get_config(q.policy, NULL), -EINVAL, "a NULL out is -EINVAL");
    c.allotment_ns[0] = MS;
    cr_assert_eq(policy_mlfq_configure(q.policy, &c), 0, "a 1 ms top allotment is accepted");
    int64_t now = 0;
    struct runnable r;
    runnable_init(&r, nothing, NULL, "r");
    readyq_push(&q, &r, now);
    run_one(&q, &now, MS, false);
    cr_assert_eq(r.level, 1, "and takes effect: 1 ms of CPU is enough to sink");
    readyq_free(&q);
}

Test(policy_mlfq, bad_level_refused,
     .description = "Q: what does MLFQ do with a runnable whose "
                    "level it never gives?") {
    struct readyq q;
    open_mlfq(&q);
    struct runnable r;
    runnable_init(&r, nothing, NULL, "r");
    cr_assert_eq(policy_mlfq_set_level(&r, POLICY_MLFQ_LEVELS), -EINVAL,
                 "a level past the bottom is refused when set, with -EINVAL");
    cr_assert_eq(policy_mlfq_set_level(&r, POLICY_MLFQ_LEVELS - 1), 0, "the bottom is fine");
    r.level = POLICY_MLFQ_LEVELS; /* set by hand, past the setter */
    cr_assert_eq(readyq_push(&q, &r, 0), 0,
                 "a push never refuses (a wake-up has nobody to "
                 "tell): it is queued");
    cr_assert_eq(r.level, POLICY_MLFQ_LEVELS - 1, "at the bottom level");
    readyq_free(&q);
}
