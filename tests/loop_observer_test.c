/* loop_observer_test.c — several observers on one loop (loop_observe, introduced for lesson 15):
 * each sees every step of the tick, in attach order after config.hooks; one may detach itself
 * from its own hook; misuse gets its clear answer. Virtual clock and the scripted backend. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "loop/loop.h"
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
    a.obs.hooks = (struct loop_hooks){.ctx = &a, .before_run = on_before_run,
                                      .after_run = on_after_run};
    b.obs.hooks = (struct loop_hooks){.ctx = &b, .before_run = on_before_run,
                                      .after_run = on_after_run};
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
