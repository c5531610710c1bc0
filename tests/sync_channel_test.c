/* sync_channel_test.c — the library's own tests of lesson 10's channel (sched/sync/channel.*): bad
 * arguments, the try-variants across the ring's wrap-around, close (with waiters, and with an
 * item in flight), the dump, a get or put wake-up handed to a task cancelled before it runs, the
 * unbounded queue, and many producers and consumers at random paces. Virtual clock, script
 * backend. Suite sync_primitives, declared in sync_lock_test.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/sync/channel.h"
#include "tests/support/tasks.h"

#define MS INT64_C(1000000)

/* Puts first, first + 1, ... (`count` items), noting how many went in. */
struct putter {
    struct task task;
    struct channel *q;
    long first;
    int count;
    int put;
    int result;
    int cleanups;
};

static enum coro_status putter_step(struct task *t) {
    struct putter *f = TASK_FRAME(t, struct putter, task);
    CORO_BEGIN(&t->co);
    while (f->put < f->count) {
        CHANNEL_PUT(t, f->q, (void *)(intptr_t)(f->first + f->put));
        f->result = task_result(t);
        if (f->result != 0)
            CORO_RETURN(&t->co);
        f->put++;
    }
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

static void spawn_putter(struct loop *loop, struct putter *f, struct channel *q, const char *name,
                         long first, int count) {
    *f = (struct putter){.q = q, .first = first, .count = count, .result = 1};
    cr_assert_eq(loop_spawn(loop, &f->task, putter_step, name, NULL), 0);
}

/* ---- queue ----------------------------------------------------------------------------------- */

/* Where the wake-up tests start: queue q with `capacity` slots (at most 4) and two getters, each
 * wanting `want` items, that have run and now wait on it, empty. */
struct two_getters {
    struct loop_clock clock;
    struct loop *loop;
    struct channel q;
    void *slots[4];
    struct test_getter g[2];
};

static void two_getters_start(struct two_getters *s, size_t capacity, int want, const char *name0,
                              const char *name1) {
    s->loop = test_virtual_loop(&s->clock, NULL);
    cr_assert_eq(channel_init(&s->q, s->slots, capacity, "q"), 0);
    test_spawn_getter(s->loop, &s->g[0], &s->q, name0, want);
    test_spawn_getter(s->loop, &s->g[1], &s->q, name1, want);
    cr_assert_eq(loop_run(s->loop), 0);
}

Test(sync_primitives, channel_init_bad_arguments,
     .description = "Q: which channel_init arguments are refused?") {
    struct channel q;
    void *slots[4];
    cr_assert_eq(channel_init(NULL, slots, 4, "q"), -EINVAL, "a NULL queue is -EINVAL");
    cr_assert_eq(channel_init(&q, NULL, 4, "q"), -EINVAL, "NULL storage is -EINVAL");
    cr_assert_eq(channel_init(&q, slots, 0, "q"), -EINVAL, "capacity 0 is -EINVAL");
    cr_assert_eq(channel_init_unbounded(NULL, NULL, "q"), -EINVAL, "a NULL queue is -EINVAL");
    cr_assert_eq(channel_init(&q, slots, 4, NULL), 0);
    cr_assert_str_eq(q.name, "channel");
    channel_free(&q);
}

Test(sync_primitives, channel_try_variants,
     .description = "Q: do try_put and try_get say -EAGAIN when full or empty, and keep FIFO "
                    "order across the ring's wrap-around?") {
    struct channel q;
    void *slots[3];
    cr_assert_eq(channel_init(&q, slots, 3, "ring"), 0);
    void *item = (void *)1;
    cr_assert_eq(channel_try_get(&q, &item), -EAGAIN, "empty: -EAGAIN");
    cr_assert_eq(item, (void *)1, "and dest was not touched");
    long next_in = 1, next_out = 1;
    for (int round = 0; round < 5; round++) { /* 5 x (fill 3, drain 2): the head wraps often */
        while (channel_try_put(&q, (void *)(intptr_t)next_in) == 0)
            next_in++;
        cr_assert_eq(channel_length(&q), 3, "full at its bound, never past it");
        cr_assert_eq(channel_try_put(&q, (void *)99), -EAGAIN, "full: -EAGAIN");
        for (int i = 0; i < 2; i++) {
            cr_assert_eq(channel_try_get(&q, &item), 0);
            cr_assert_eq((long)(intptr_t)item, next_out, "items come out in the order put");
            next_out++;
        }
    }
    channel_free(&q);
}

Test(sync_primitives, channel_closed,
     .description = "Q: after close, does put fail with -EPIPE at once, and get drain what is "
                    "left before it says -EPIPE?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct channel q;
    void *slots[2];
    cr_assert_eq(channel_init(&q, slots, 2, "q"), 0);
    struct putter p, late_p;
    spawn_putter(loop, &p, &q, "p", 1, 3); /* puts 1 and 2, then waits while full */
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(p.put, 2);
    cr_assert_eq(p.task.state, TASK_WAITING);
    channel_close(&q);
    cr_assert_eq(channel_try_put(&q, (void *)7), -EPIPE, "try_put on a closed queue is -EPIPE");
    spawn_putter(loop, &late_p, &q, "late", 10, 1);
    struct test_getter g;
    test_spawn_getter(loop, &g, &q, "g", 10);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(p.result, -EPIPE, "the waiting putter was woken with -EPIPE");
    cr_assert_eq(late_p.result, -EPIPE, "a put after close fails at once with -EPIPE");
    cr_assert_eq(g.count, 2, "the getter drained both items left");
    cr_assert(g.got[0] == 1 && g.got[1] == 2);
    cr_assert_eq(g.result, -EPIPE, "then it was told the queue is closed");
    void *item;
    cr_assert_eq(channel_try_get(&q, &item), -EPIPE, "try_get on a closed, empty queue: -EPIPE");
    loop_free(loop);
    channel_free(&q);
}

Test(sync_primitives, channel_close_wakes_getters,
     .description = "Q: are getters waiting on an empty queue woken with -EPIPE by close?") {
    struct two_getters s;
    two_getters_start(&s, 2, 1, "g0", "g1");
    struct test_getter *g = s.g;
    cr_assert(g[0].task.state == TASK_WAITING && g[1].task.state == TASK_WAITING);
    channel_close(&s.q);
    channel_close(&s.q); /* twice: harmless */
    cr_assert_eq(loop_run(s.loop), 0);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(g[i].result, -EPIPE, "g%d was told the queue is closed", i);
        cr_assert_eq(g[i].task.state, TASK_DONE);
    }
    loop_free(s.loop);
}

Test(sync_primitives, channel_close_with_an_item_in_flight,
     .description = "Q: two getters wait, one item is put, then the queue is closed: does the "
                    "getter that gets nothing still learn that the queue is closed?") {
    struct two_getters s;
    two_getters_start(&s, 2, 5, "g0", "g1");
    struct test_getter *g = s.g;
    cr_assert_eq(channel_try_put(&s.q, (void *)7), 0, "the put wakes g0 only");
    channel_close(&s.q); /* the item is still in the queue: g0 has not run yet */
    cr_assert_eq(loop_run(s.loop), 0);
    cr_assert_eq(g[0].count + g[1].count, 1, "the one item was got once");
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(g[i].task.state, TASK_DONE, "g%d was not left waiting on a closed queue", i);
        cr_assert_eq(g[i].result, -EPIPE, "g%d ended on -EPIPE, after the drain", i);
    }
    loop_free(s.loop);
}

Test(sync_primitives, channel_dump_names_waiters,
     .description = "Q: does channel_dump show length, bound, getters and putters by name?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct channel in, out_q;
    void *in_slots[1], *out_slots[1];
    cr_assert_eq(channel_init(&in, in_slots, 1, "jobs"), 0);
    cr_assert_eq(channel_init(&out_q, out_slots, 1, "results"), 0);
    cr_assert_eq(channel_try_put(&out_q, (void *)1), 0, "results is full before anyone puts");
    struct test_getter g1, g2;
    struct putter p1, p2;
    test_spawn_getter(loop, &g1, &in, "reader-1", 1);
    test_spawn_getter(loop, &g2, &in, "reader-2", 1);
    spawn_putter(loop, &p1, &out_q, "writer-1", 2, 1);
    spawn_putter(loop, &p2, &out_q, "writer-2", 3, 1);
    cr_assert_eq(loop_run(loop), 0);
    char buf[256];
    TEST_DUMP_INTO(buf, channel_dump(&in, out));
    cr_assert_str_eq(buf,
                     "channel jobs: 0 items of 1; getters 2 waiters: reader-1, reader-2\n"
                     "  putters 0 waiters\n",
                     "%s", buf);
    TEST_DUMP_INTO(buf, channel_dump(&out_q, out));
    cr_assert_str_eq(buf,
                     "channel results: 1 item of 1; getters 0 waiters\n"
                     "  putters 2 waiters: writer-1, writer-2\n",
                     "%s", buf);
    channel_close(&in);
    TEST_DUMP_INTO(buf, channel_dump(&in, out));
    cr_assert(strstr(buf, "0 items of 1, closed"), "a closed queue says so: %s", buf);
    channel_close(&out_q);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert(g1.result == -EPIPE && g2.result == -EPIPE && p1.result == -EPIPE &&
                  p2.result == -EPIPE,
              "closing woke everyone with -EPIPE");
    loop_free(loop);
}

Test(sync_primitives, channel_getter_wakeup_handed_then_cancelled,
     .description = "Q: when the getter woken for an item is cancelled before it runs, does the "
                    "next getter get the item?") {
    struct two_getters s;
    two_getters_start(&s, 4, 1, "a", "b");
    struct test_getter *a = &s.g[0], *b = &s.g[1];
    cr_assert_eq(channel_try_put(&s.q, (void *)42), 0);
    cr_assert_eq(a->task.state, TASK_READY, "the put woke a");
    cr_assert_eq(b->task.state, TASK_WAITING, "and only a");
    task_cancel(&a->task);
    cr_assert_eq(loop_run(s.loop), 0);
    cr_assert_eq(a->task.state, TASK_CANCELLED);
    cr_assert_eq(a->count, 0, "a took nothing");
    cr_assert_eq(b->count, 1,
                 "a passed its wake-up on: b got the item instead of sleeping "
                 "beside it");
    cr_assert_eq(b->got[0], 42);
    cr_assert_eq(channel_length(&s.q), 0, "nothing was lost or left behind");
    loop_free(s.loop);
}

Test(sync_primitives, channel_putter_wakeup_handed_then_cancelled,
     .description = "Q: when the putter woken for a free slot is cancelled before it runs, does "
                    "the next putter get the slot?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct channel q;
    void *slots[1];
    cr_assert_eq(channel_init(&q, slots, 1, "q"), 0);
    cr_assert_eq(channel_try_put(&q, (void *)1), 0);
    struct putter a, b;
    spawn_putter(loop, &a, &q, "a", 100, 1);
    spawn_putter(loop, &b, &q, "b", 200, 1);
    cr_assert_eq(loop_run(loop), 0);
    void *item;
    cr_assert_eq(channel_try_get(&q, &item), 0);
    cr_assert_eq(a.task.state, TASK_READY, "the get woke a");
    task_cancel(&a.task);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(a.task.state, TASK_CANCELLED);
    cr_assert_eq(a.put, 0);
    cr_assert_eq(b.put, 1, "b got the slot a was woken for");
    cr_assert_eq(channel_try_get(&q, &item), 0);
    cr_assert_eq((long)(intptr_t)item, 200);
    loop_free(loop);
}

Test(sync_primitives, channel_woken_getter_overtaken,
     .description = "Q: if a running task takes the item a woken getter was woken for, does the "
                    "getter simply wait again?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct channel q;
    void *slots[2];
    cr_assert_eq(channel_init(&q, slots, 2, "q"), 0);
    struct test_getter a;
    test_spawn_getter(loop, &a, &q, "a", 1);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(channel_try_put(&q, (void *)5), 0);
    void *item;
    cr_assert_eq(channel_try_get(&q, &item), 0, "someone else takes it first");
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(a.task.state, TASK_WAITING, "a looked again, found nothing, and waits again");
    cr_assert_eq(a.count, 0);
    cr_assert_eq(channel_try_put(&q, (void *)6), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert(a.count == 1 && a.got[0] == 6, "the next put reaches it");
    loop_free(loop);
}

Test(sync_primitives, channel_unbounded,
     .description = "Q: does an unbounded queue grow and keep order, and fail cleanly with "
                    "-ENOMEM when it cannot?") {
    struct test_alloc budget; /* refuses to grow past 64 items */
    test_alloc_init(&budget, 64 * sizeof(void *));
    struct channel q;
    cr_assert_eq(channel_init_unbounded(&q, &budget.base, "u"), 0);
    long in = 0, out = 0;
    void *item;
    for (int i = 0; i < 10; i++) /* a head away from 0, so growing must unroll the ring */
        cr_assert_eq(channel_try_put(&q, (void *)(intptr_t)in++), 0);
    for (int i = 0; i < 7; i++) {
        cr_assert_eq(channel_try_get(&q, &item), 0);
        cr_assert_eq((long)(intptr_t)item, out++);
    }
    while (channel_length(&q) < 64)
        cr_assert_eq(channel_try_put(&q, (void *)(intptr_t)in++), 0, "it grows instead of waiting");
    cr_assert_eq(channel_try_put(&q, (void *)(intptr_t)in), -ENOMEM, "no memory to grow: -ENOMEM");
    cr_assert_eq(budget.refusals, 1);
    cr_assert_eq(channel_length(&q), 64, "and the queue is as it was");
    while (channel_try_get(&q, &item) == 0)
        cr_assert_eq((long)(intptr_t)item, out++, "order survived every growth");
    cr_assert_eq(out, in, "every item came out once");
    channel_free(&q);
}

/* Many producers and consumers with random sleeps: every item once, each producer's in order. */
struct busy_getter {
    struct task task;
    struct channel *q;
    void *item;
    long *seen;    /* seen[item]++ */
    long *last_of; /* the last sequence number seen per producer */
    bool out_of_order;
    uint64_t seed;
    int result;
};

/* Items are producer * 1000 + sequence number. */
static void busy_getter_note(struct busy_getter *f) {
    long v = (long)(intptr_t)f->item, producer = v / 1000, seq = v % 1000;
    f->seen[v]++;
    if (seq <= f->last_of[producer])
        f->out_of_order = true;
    f->last_of[producer] = seq;
}

static enum coro_status busy_getter_step(struct task *t) {
    struct busy_getter *f = TASK_FRAME(t, struct busy_getter, task);
    CORO_BEGIN(&t->co);
    for (;;) {
        CHANNEL_GET(t, f->q, f->item);
        if (task_result(t) != 0)
            break;
        busy_getter_note(f);
        LOOP_SLEEP(t, (int64_t)(test_random(&f->seed) % 3) * MS);
    }
    f->result = task_result(t);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

struct pacing_putter {
    struct task task;
    struct channel *q;
    long base;
    int count, i;
    uint64_t seed;
};

static enum coro_status pacing_putter_step(struct task *t) {
    struct pacing_putter *f = TASK_FRAME(t, struct pacing_putter, task);
    CORO_BEGIN(&t->co);
    for (f->i = 0; f->i < f->count; f->i++) {
        CHANNEL_PUT(t, f->q, (void *)(intptr_t)(f->base + f->i));
        cr_assert_eq(task_result(t), 0);
        if (test_random(&f->seed) % 2)
            LOOP_SLEEP(t, (int64_t)(test_random(&f->seed) % 2) * MS);
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(sync_primitives, channel_many_to_many,
     .description = "Q: with 4 producers and 3 consumers at random paces, is every item got "
                    "exactly once, each producer's in order, and the bound never passed?") {
    enum { PRODUCERS = 4, CONSUMERS = 3, EACH = 150, CAPACITY = 5 };
    struct channel q;
    void *slots[CAPACITY];
    cr_assert_eq(channel_init(&q, slots, CAPACITY, "q"), 0);
    struct test_queue_watch watch = {.q = &q};
    struct loop_hooks hooks = {.ctx = &watch, .after_run = test_queue_watch_after_run};
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.hooks = hooks});
    static long seen[PRODUCERS * 1000];
    long last_of[PRODUCERS];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < PRODUCERS; i++)
        last_of[i] = -1;
    struct pacing_putter p[PRODUCERS];
    struct busy_getter g[CONSUMERS];
    for (int i = 0; i < PRODUCERS; i++) {
        p[i] = (struct pacing_putter){
            .q = &q, .base = i * 1000, .count = EACH, .seed = 0x9e3779b97f4a7c15u + (uint64_t)i};
        loop_spawn(loop, &p[i].task, pacing_putter_step, "producer", NULL);
    }
    for (int i = 0; i < CONSUMERS; i++) {
        g[i] = (struct busy_getter){
            .q = &q, .seen = seen, .last_of = last_of, .seed = 0x12345u + (uint64_t)i, .result = 1};
        loop_spawn(loop, &g[i].task, busy_getter_step, "consumer", NULL);
    }
    for (int i = 0; i < PRODUCERS; i++)
        cr_assert_eq(loop_run_until_complete(loop, &p[i].task), 0);
    channel_close(&q);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(watch.max, CAPACITY, "the queue filled up to its bound of %d, never past it",
                 CAPACITY);
    for (int i = 0; i < PRODUCERS; i++)
        for (int k = 0; k < EACH; k++)
            cr_assert_eq(seen[i * 1000 + k], 1, "item %d of producer %d was got exactly once", k,
                         i);
    for (int i = 0; i < CONSUMERS; i++) {
        cr_assert(!g[i].out_of_order, "consumer %d saw each producer's items in order", i);
        cr_assert_eq(g[i].result, -EPIPE, "after the close, consumer %d drained and stopped", i);
    }
    loop_free(loop);
}
