/* misuse_free_in_callback_test.c — an owner may free a handle inside its own callback, under every
 * policy and with every hook (DESIGN.md, "Misuse gets a clear error"; lessons 05, 08 and 09):
 * after the callback returns, the loop must not charge it (stride, MLFQ) nor show it to the
 * after_run hook. Each handle's memory is poisoned in place of free(), so that a write into it
 * shows in a plain build too (and after_run is watched for the freed address); it is freed for
 * real once the loop has finished. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/net/stream.h"
#include "tests/support/tasks.h"

TestSuite(misuse_free_in_callback, .description = "May an owner free a timer, a watcher, a plain "
                                                  "runnable or a task inside its own callback?");

enum { POISON = 0xa5, RAN_NS = 1000000 };

/* The hooks, on or off: after_run must never be handed memory its owner freed. */
struct seen {
    const void *poisoned[4];
    int n_poisoned;
    bool handed_freed;
    int after_runs;
};
static void after_run(void *ctx, struct loop *loop, const struct runnable *r, int64_t ran_ns) {
    (void)loop, (void)ran_ns;
    struct seen *s = ctx;
    s->after_runs++;
    for (int i = 0; i < s->n_poisoned; i++)
        if ((const void *)r == s->poisoned[i])
            s->handed_freed = true;
}
static void before_run(void *ctx, struct loop *loop, const struct runnable *r) {
    (void)ctx, (void)loop, (void)r;
}

/* What every handle's callback does last: run for a while (so stride and MLFQ have something to
 * charge), then poison the memory in place of free(), remembering it for the checks. */
struct world {
    struct loop *loop;
    struct loop_clock clock;
    struct seen seen;
    void *blocks[4];
    size_t sizes[4];
    int n_blocks;
};
static struct world *the_world;

static void give_up(void *block, size_t size) {
    struct world *w = the_world;
    w->clock.virtual_ns += RAN_NS;
    memset(block, POISON, size);
    w->blocks[w->n_blocks] = block;
    w->sizes[w->n_blocks++] = size;
}

static void timer_fired(struct loop_timer *t) {
    the_world->seen.poisoned[the_world->seen.n_poisoned++] = &t->run;
    give_up(t, sizeof *t);
}

static void watcher_ready(struct loop_watcher *w, unsigned ready) {
    (void)ready;
    loop_unwatch(w->loop, w);
    the_world->seen.poisoned[the_world->seen.n_poisoned++] = &w->run;
    give_up(w, sizeof *w);
}

static void runnable_ran(void *arg) {
    struct runnable *r = arg;
    loop_runnable_gone(the_world->loop, r); /* a bare runnable says so: see loop.h */
    the_world->seen.poisoned[the_world->seen.n_poisoned++] = r;
    give_up(r, sizeof *r);
}

static enum coro_status short_task(struct task *t) {
    CORO_BEGIN(&t->co);
    the_world->clock.virtual_ns += RAN_NS;
    CORO_END(&t->co);
}
static void task_done_free(struct task *t) {
    the_world->seen.poisoned[the_world->seen.n_poisoned++] = &t->run;
    memset(t, POISON, sizeof *t);
    the_world->blocks[the_world->n_blocks] = t;
    the_world->sizes[the_world->n_blocks++] = sizeof *t;
}

static bool still_poisoned(const void *block, size_t size) {
    const unsigned char *b = block;
    for (size_t i = 0; i < size; i++)
        if (b[i] != POISON)
            return false;
    return true;
}

static void free_in_callback(const struct policy_ops *policy, bool hooks) {
    struct world w = {0};
    the_world = &w;
    struct loop_config config = {.policy = policy};
    if (hooks)
        config.hooks =
            (struct loop_hooks){.ctx = &w.seen, .before_run = before_run, .after_run = after_run};
    w.loop = test_virtual_loop(&w.clock, &config);

    struct loop_timer *t = malloc(sizeof *t);
    struct loop_watcher *wa = malloc(sizeof *wa);
    struct runnable *r = malloc(sizeof *r);
    struct task *task = calloc(1, sizeof *task);
    loop_timer_init(t, "timer");
    loop_watcher_init(wa, "watcher");
    runnable_init(r, runnable_ran, r, "runnable");
    cr_assert_eq(loop_timer_start(w.loop, t, 0, timer_fired, NULL), 0);
    cr_assert_eq(loop_watch_fd(w.loop, wa, 7, LOOP_READABLE, watcher_ready, NULL), 0);
    backend_script_add(loop_backend(w.loop), &(struct backend_ready){7, LOOP_READABLE}, 1);
    cr_assert_eq(loop_call_soon(w.loop, r, runnable_ran, r), 0);
    cr_assert_eq(loop_spawn(w.loop, task, short_task, "task", task_done_free), 0);

    /* Meanwhile other work goes on and must come out right. */
    struct test_sleeper other;
    test_spawn_sleeper(w.loop, &other, "other", 5 * RAN_NS, 0);
    cr_assert_eq(loop_run(w.loop), 0, "%s: loop_run returns 0", policy->name);

    cr_assert_eq(w.n_blocks, 4, "%s: all four handles ran their callback", policy->name);
    for (int i = 0; i < w.n_blocks; i++) {
        cr_assert(still_poisoned(w.blocks[i], w.sizes[i]),
                  "%s%s: handle %d was not written to after its owner freed it", policy->name,
                  hooks ? " with hooks" : "", i);
        free(w.blocks[i]);
    }
    cr_assert(!w.seen.handed_freed, "%s: after_run was never handed a freed handle", policy->name);
    if (hooks)
        cr_assert_gt(w.seen.after_runs, 0, "%s: after_run ran", policy->name);
    cr_assert_eq(other.task.state, TASK_DONE, "%s: the other task ran to its end", policy->name);
    cr_assert_eq(loop_free(w.loop), 0);
}

Test(misuse_free_in_callback, every_policy_no_hooks,
     .description = "Q: under each of the seven policies, may an owner free its handle in its "
                    "own callback?") {
    for (size_t i = 0; policy_by_index(i); i++)
        free_in_callback(policy_by_index(i), false);
}

Test(misuse_free_in_callback, every_policy_with_hooks,
     .description = "Q: and with the before_run and after_run hooks on?") {
    for (size_t i = 0; policy_by_index(i); i++)
        free_in_callback(policy_by_index(i), true);
}

/* ---- a stream freed in its on_close, which loop/net/stream.h explicitly allows --------------- */

static void ignore_data(struct stream *st, const char *data, size_t len) {
    (void)st, (void)data, (void)len;
}
static void stream_closed(struct stream *st, int error) {
    (void)error;
    the_world->seen.poisoned[the_world->seen.n_poisoned++] = &st->close_run;
    give_up(st, sizeof *st);
}

static void stream_freed_in_on_close(const struct policy_ops *policy) {
    struct world w = {0};
    the_world = &w;
    struct loop_config config = {
        .backend = &backend_poll, /* a real socket: the script backend only pretends */
        .policy = policy,
        .hooks = {.ctx = &w.seen, .before_run = before_run, .after_run = after_run}};
    w.loop = test_virtual_loop(&w.clock, &config);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct stream *st = malloc(sizeof *st);
    cr_assert_eq(stream_open(st, w.loop, sv[0], "conn", ignore_data, stream_closed, NULL), 0);
    close(sv[1]); /* the peer leaves: the stream reads end-of-file and closes */
    cr_assert_eq(loop_run(w.loop), 0, "%s: loop_run returns 0", policy->name);
    cr_assert_eq(w.n_blocks, 1, "%s: on_close ran", policy->name);
    cr_assert(still_poisoned(w.blocks[0], w.sizes[0]),
              "%s: the stream was not written to after on_close freed it", policy->name);
    cr_assert(!w.seen.handed_freed, "%s: after_run was never handed the freed stream",
              policy->name);
    free(w.blocks[0]);
    cr_assert_eq(loop_free(w.loop), 0);
}

Test(misuse_free_in_callback, stream_in_on_close_every_policy,
     .description = "Q: under each of the seven policies, with hooks on, may an owner free a "
                    "stream in its on_close?") {
    for (size_t i = 0; policy_by_index(i); i++)
        stream_freed_in_on_close(policy_by_index(i));
}
