/* loop_observer_test.c — several observers on one loop (loop_observe, introduced for lesson 15):
 * each sees every step of the tick, in attach order after config.hooks; one may detach itself
 * from its own hook; misuse gets its clear answer; a runnable its owner lets go of during its run
 * is still named. Virtual clock and the scripted backend. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop/loop.h"
#include "loop/observe/slow.h"
#include "tests/support/loop.h"

TestSuite(loop_observer, .description = "Can several observers watch one loop at once?");

struct seen {
    char log[128];
    char tag;
    struct loop_observer obs;
    bool detach_after_run;
};

static void note(struct seen *s, char what) {
    size_t n = strlen(s->log);
    if (n + 2 < sizeof s->log) {
        s->log[n] = s->tag;
        s->log[n + 1] = what;
    }
}
static void on_before_run(void *ctx, struct loop *loop, const struct runnable *r) {
    (void)loop, (void)r;
    note(ctx, 'b');
}
static void on_after_run(void *ctx, struct loop *loop, const struct runnable *r, int64_t ns) {
    (void)r, (void)ns;
    struct seen *s = ctx;
    note(s, 'a');
    if (s->detach_after_run)
        cr_assert_eq(loop_unobserve(loop, &s->obs), 0, "an observer may detach in its hook");
}

/* One shared log, so the order between observers shows. */
static char order[128];
static void ordered_before_run(void *ctx, struct loop *loop, const struct runnable *r) {
    (void)loop, (void)r;
    strncat(order, ctx, sizeof order - strlen(order) - 1);
}

static void nothing(void *arg) {
    (void)arg;
}

Test(loop_observer, all_called_in_attach_order,
     .description = "Q: are config.hooks and two attached observers all told, in that order?") {
    struct loop_clock clock;
    order[0] = '\0';
    struct loop *loop = test_virtual_loop(
        &clock, &(struct loop_config){.hooks = {.ctx = "C", .before_run = ordered_before_run}});
    struct loop_observer one = {.hooks = {.ctx = "1", .before_run = ordered_before_run}};
    struct loop_observer two = {.hooks = {.ctx = "2", .before_run = ordered_before_run}};
    cr_assert_eq(loop_observe(loop, &one), 0);
    cr_assert_eq(loop_observe(loop, &two), 0);
    struct runnable r;
    runnable_init(&r, nothing, NULL, "r");
    loop_call_soon(loop, &r, nothing, NULL);
    loop_run_once(loop);
    cr_assert_str_eq(order, "C12", "config.hooks first, then attach order (got %s)", order);
    cr_assert_eq(loop_unobserve(loop, &one), 0);
    loop_call_soon(loop, &r, nothing, NULL);
    loop_run_once(loop);
    cr_assert_str_eq(order, "C12C2", "a detached observer is told nothing more (got %s)", order);
    loop_free(loop);
    cr_assert_null(two.loop, "loop_free detaches the observers still attached");
}

Test(loop_observer, detach_from_own_hook,
     .description = "Q: may an observer detach itself from its own after_run hook?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct seen a = {.tag = 'A', .detach_after_run = true};
    struct seen b = {.tag = 'B'};
    a.obs.hooks =
        (struct loop_hooks){.ctx = &a, .before_run = on_before_run, .after_run = on_after_run};
    b.obs.hooks =
        (struct loop_hooks){.ctx = &b, .before_run = on_before_run, .after_run = on_after_run};
    cr_assert_eq(loop_observe(loop, &a.obs), 0);
    cr_assert_eq(loop_observe(loop, &b.obs), 0);
    struct runnable r;
    runnable_init(&r, nothing, NULL, "r");
    for (int i = 0; i < 2; i++) {
        loop_call_soon(loop, &r, nothing, NULL);
        loop_run_once(loop);
    }
    cr_assert_str_eq(a.log, "AbAa", "A saw one run, then left (got %s)", a.log);
    cr_assert_str_eq(b.log, "BbBaBbBa", "B, attached after A, still saw both (got %s)", b.log);
    loop_free(loop);
}

/* The first of two callbacks attaches an observer: the tick decides once per batch whether to
 * read the clock after each run, and attaching must change that decision at once. */
static struct seen late = {.tag = 'L'};
static void attach_late(void *arg) {
    late.obs.hooks =
        (struct loop_hooks){.ctx = &late, .before_run = on_before_run, .after_run = on_after_run};
    cr_assert_eq(loop_observe(arg, &late.obs), 0, "a callback may attach an observer");
}

Test(loop_observer, attached_during_a_batch,
     .description = "Q: does an observer attached by a callback hear the rest of that batch?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct runnable first, second;
    runnable_init(&first, attach_late, loop, "first");
    runnable_init(&second, nothing, NULL, "second");
    loop_call_soon(loop, &first, attach_late, loop);
    loop_call_soon(loop, &second, nothing, NULL);
    loop_run_once(loop); /* one batch runs both */
    cr_assert_str_eq(late.log, "LbLa",
                     "yes: before_run and after_run for the second run, in the same batch "
                     "(got %s)",
                     late.log);
    loop_free(loop);
}

/* A's hook detaches B, which comes after it in the list. */
static struct loop_observer *victim;
static void detach_victim(void *ctx, struct loop *loop, const struct runnable *r) {
    ordered_before_run(ctx, loop, r);
    if (victim)
        cr_assert_eq(loop_unobserve(loop, victim), 0, "a hook may detach another observer");
    victim = NULL;
}

Test(loop_observer, detach_another_from_a_hook, .timeout = 5,
     .description = "Q: may a hook detach the observer after its own, mid-notification?") {
    struct loop_clock clock;
    order[0] = '\0';
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct loop_observer a = {.hooks = {.ctx = "A", .before_run = detach_victim}};
    struct loop_observer b = {.hooks = {.ctx = "B", .before_run = ordered_before_run}};
    struct loop_observer c = {.hooks = {.ctx = "C", .before_run = ordered_before_run}};
    loop_observe(loop, &a);
    loop_observe(loop, &b);
    loop_observe(loop, &c);
    victim = &b;
    struct runnable r;
    runnable_init(&r, nothing, NULL, "r");
    for (int i = 0; i < 2; i++) {
        loop_call_soon(loop, &r, nothing, NULL);
        loop_run_once(loop);
    }
    cr_assert_str_eq(order, "ACAC",
                     "B, detached by A just before its turn, is skipped; C is still told, and "
                     "the walk ends (got %s)",
                     order);
    cr_assert_eq(loop_observe(loop, &b), 0, "a detached observer may be attached again");
    loop_free(loop);
}

Test(loop_observer, misuse,
     .description = "Q: what does attaching twice or detaching a stranger say?") {
    struct loop_clock c1, c2;
    struct loop *l1 = test_virtual_loop(&c1, NULL);
    struct loop *l2 = test_virtual_loop(&c2, NULL);
    struct loop_observer o = {0};
    cr_assert_eq(loop_observe(NULL, &o), -EINVAL, "no loop: -EINVAL");
    cr_assert_eq(loop_observe(l1, NULL), -EINVAL, "no observer: -EINVAL");
    cr_assert_eq(loop_unobserve(l1, &o), -EALREADY, "never attached: -EALREADY");
    cr_assert_eq(loop_observe(l1, &o), 0);
    cr_assert_eq(loop_observe(l1, &o), -EBUSY, "attached twice: -EBUSY");
    cr_assert_eq(loop_observe(l2, &o), -EBUSY, "attached to another loop too: -EBUSY");
    cr_assert_eq(loop_unobserve(l2, &o), -EALREADY, "l2 never had it: -EALREADY, l1 keeps it");
    cr_assert_eq(loop_unobserve(l1, &o), 0);
    loop_free(l1);
    loop_free(l2);
}

static struct loop_observer *queue_victim;
static int victim_after_queues;
static void detach_in_after_queue(void *ctx, struct loop *loop) {
    (void)ctx;
    loop_unobserve(loop, queue_victim);
}
static void count_after_queue(void *ctx, struct loop *loop) {
    (void)ctx, (void)loop;
    victim_after_queues++;
}

Test(loop_observer, detach_in_after_queue,
     .description = "Q: is an observer detached during step 3's hook told nothing more?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct loop_observer a = {.hooks = {.after_queue = detach_in_after_queue}};
    struct loop_observer b = {.hooks = {.after_queue = count_after_queue}};
    queue_victim = &b;
    victim_after_queues = 0;
    cr_assert_eq(loop_observe(loop, &a), 0);
    cr_assert_eq(loop_observe(loop, &b), 0);
    struct runnable r;
    runnable_init(&r, nothing, NULL, "r");
    cr_assert_eq(loop_call_soon(loop, &r, nothing, NULL), 0);
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(victim_after_queues, 0,
                 "no: A detached B in after_queue just before B's turn, and B was skipped");
    loop_free(loop);
}

/* ---- what after_run observers know of a runnable whose owner let go of it ------------------- */

static void toast(struct loop_timer *t) {
    loop_clock_advance(t->arg, 150 * INT64_C(1000000)); /* a callback that blocks 150 ms */
}

Test(loop_observer, slow_timer_named_as_callback,
     .description = "Q: is a slow timer callback reported by name, as a callback, though "
                    "after_run gets no runnable for it?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    struct observe_slow slow;
    cr_assert_eq(observe_slow_start(&slow, loop, 0, out), 0);
    struct loop_timer t;
    loop_timer_init(&t, "toast");
    cr_assert_eq(loop_timer_start(loop, &t, 0, toast, &clock), 0);
    cr_assert_eq(loop_run(loop), 0);
    fclose(out);
    cr_assert_str_eq(text, "slow: callback 'toast' ran 150 ms (threshold 100 ms)\n",
                     "the timer's name, noted before its run, and 'callback', not an ended "
                     "task (got %s)",
                     text);
    free(text);
    loop_free(loop);
}
