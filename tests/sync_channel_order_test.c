/* sync_channel_order_test.c — the channel's other orders and its shutdown idiom (lesson 10):
 * LIFO (asyncio's LifoQueue), priority on the generic heap (PriorityQueue), and task_done /
 * join (Queue.task_done / Queue.join). Virtual clock. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/sync/channel.h"
#include "tests/support/tasks.h"

#define MS 1000000LL

TestSuite(channel_order, .description = "Do LIFO and priority channels hand items out in their "
                                        "order, and does join wait for every task_done?");

Test(channel_order, lifo_hands_out_the_newest_first,
     .description = "Q: does a LIFO channel give back 1, 2, 3 put in that order as 3, 2, 1, "
                    "also after its ring wrapped around?") {
    struct channel q;
    void *slots[3];
    cr_assert_eq(channel_init(&q, slots, 3, "stack"), 0);
    /* Wrap the ring first: head moves to 2 while it is still a FIFO. */
    for (intptr_t i = 0; i < 2; i++) {
        void *out;
        cr_assert_eq(channel_try_put(&q, (void *)i), 0);
        cr_assert_eq(channel_try_get(&q, &out), 0);
    }
    cr_assert_eq(channel_make_lifo(&q), 0, "an empty channel can become a LIFO");
    for (intptr_t i = 1; i <= 3; i++)
        cr_assert_eq(channel_try_put(&q, (void *)i), 0);
    cr_assert_eq(channel_try_put(&q, (void *)4), -EAGAIN, "bounded: full at 3");
    for (intptr_t want = 3; want >= 1; want--) {
        void *out = NULL;
        cr_assert_eq(channel_try_get(&q, &out), 0);
        cr_assert_eq((intptr_t)out, want, "the newest first: %ld, not %ld", (long)want,
                     (long)(intptr_t)out);
    }
    cr_assert_eq(channel_make_lifo(NULL), -EINVAL, "NULL: -EINVAL");
    cr_assert_eq(channel_try_put(&q, (void *)9), 0);
    cr_assert_eq(channel_make_lifo(&q), -EBUSY, "a channel holding items cannot change order");
}

Test(channel_order, unbounded_lifo_grows,
     .description = "Q: does an unbounded LIFO channel keep its order across growing?") {
    struct channel q;
    cr_assert_eq(channel_init_unbounded(&q, NULL, "stack"), 0);
    cr_assert_eq(channel_make_lifo(&q), 0);
    for (intptr_t i = 0; i < 100; i++)
        cr_assert_eq(channel_try_put(&q, (void *)i), 0);
    for (intptr_t want = 99; want >= 0; want--) {
        void *out = NULL;
        cr_assert_eq(channel_try_get(&q, &out), 0);
        cr_assert_eq((intptr_t)out, want, "item %ld comes out at its turn", (long)want);
    }
    channel_free(&q);
}

/* A priority item: the heap node inside it, ordered by (priority, seq) as Python's tuples. */
struct job {
    struct heap_node node;
    int priority;
    int seq;
};

static bool job_before(const struct heap_node *a, const struct heap_node *b) {
    const struct job *x = container_of(a, struct job, node), *y = container_of(b, struct job, node);
    return x->priority != y->priority ? x->priority < y->priority : x->seq < y->seq;
}

Test(channel_order, priority_hands_out_the_smallest_first,
     .description = "Q: does a priority channel hand out the job with the smallest (priority, "
                    "seq) first, whatever the order of the puts?") {
    struct channel q;
    cr_assert_eq(channel_init_priority(&q, job_before, 0, NULL, "jobs"), 0);
    static const int prio[] = {5, 1, 3, 1, 4};
    struct job jobs[5];
    for (int i = 0; i < 5; i++) {
        jobs[i] = (struct job){.priority = prio[i], .seq = i};
        heap_node_init(&jobs[i].node);
        cr_assert_eq(channel_try_put(&q, &jobs[i].node), 0);
    }
    cr_assert_eq(channel_try_put(&q, &jobs[0].node), -EEXIST, "a node already queued: -EEXIST");
    cr_assert_eq(channel_length(&q), 5, "the five jobs are queued (the refused one is not)");
    static const int want_seq[] = {1, 3, 2, 4, 0}; /* (1,1) (1,3) (3,2) (4,4) (5,0) */
    for (int i = 0; i < 5; i++) {
        void *out = NULL;
        cr_assert_eq(channel_try_get(&q, &out), 0);
        const struct job *j = container_of((struct heap_node *)out, struct job, node);
        cr_assert_eq(j->seq, want_seq[i], "get %d is job %d (priority %d), not job %d", i,
                     want_seq[i], prio[want_seq[i]], j->seq);
    }
    void *out;
    cr_assert_eq(channel_try_get(&q, &out), -EAGAIN, "empty: -EAGAIN");
    cr_assert_eq(channel_init_priority(&q, NULL, 0, NULL, "x"), -EINVAL, "no order: -EINVAL");
    channel_free(&q);
}

/* Puts its jobs one after the other into q, then closes it. */
struct job_putter {
    struct task task;
    struct channel *q;
    struct job *jobs;
    int n, i;
    int64_t last_put_at;
};

static enum coro_status job_putter_step(struct task *t) {
    struct job_putter *f = TASK_FRAME(t, struct job_putter, task);
    CORO_BEGIN(&t->co);
    for (f->i = 0; f->i < f->n; f->i++)
        CHANNEL_PUT(t, f->q, &f->jobs[f->i].node);
    f->last_put_at = loop_now(task_loop(t));
    channel_close(f->q);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* Gets one job every 10 ms until the channel is closed and empty, and logs their seq. */
struct job_getter {
    struct task task;
    struct channel *q;
    void *item;
    int log[8], n;
};

static enum coro_status job_getter_step(struct task *t) {
    struct job_getter *f = TASK_FRAME(t, struct job_getter, task);
    CORO_BEGIN(&t->co);
    for (;;) {
        LOOP_SLEEP(t, 10 * MS);
        CHANNEL_GET(t, f->q, f->item);
        if (task_result(t) == -EPIPE)
            break;
        f->log[f->n++] = container_of((struct heap_node *)f->item, struct job, node)->seq;
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(channel_order, bounded_priority_put_waits,
     .description = "Q: does a put on a full bounded priority channel wait for a get, and do "
                    "the jobs still come out by priority among those queued?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct channel q;
    cr_assert_eq(channel_init_priority(&q, job_before, 2, NULL, "jobs"), 0);
    struct job jobs[4];
    static const int prio[] = {3, 2, 1, 0};
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){.priority = prio[i], .seq = i};
        heap_node_init(&jobs[i].node);
    }
    struct job_putter p = {.q = &q, .jobs = jobs, .n = 4};
    struct job_getter g = {.q = &q};
    cr_assert_eq(loop_spawn(loop, &p.task, job_putter_step, "putter", NULL), 0);
    cr_assert_eq(loop_spawn(loop, &g.task, job_getter_step, "getter", NULL), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(g.n, 4, "every job came out");
    cr_assert_eq(p.last_put_at, 20 * MS, "the putter waited for two gets: its last put at 20 ms");
    /* Priorities 3, 2 are queued first; the getter takes 2 (job 1) at 10 ms, the freed slot
     * lets 1 in (job 2), taken at 20 ms; then 0 (job 3) at 30 ms; job 0, priority 3, waited
     * behind every later and smaller one until 40 ms. */
    static const int want[] = {1, 2, 3, 0};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(g.log[i], want[i], "get %d is job %d, not %d", i, want[i], g.log[i]);
    channel_free(&q);
    loop_free(loop);
}

/* ---- task_done / join ---------------------------------------------------------------------- */

/* The producer of the shutdown idiom: puts n items, joins the queue, then cancels its workers. */
struct producer {
    struct task task;
    struct channel *q;
    struct task **workers;
    int n, i, nworkers;
    int joined;
    int64_t joined_at;
};

static enum coro_status producer_step(struct task *t) {
    struct producer *f = TASK_FRAME(t, struct producer, task);
    CORO_BEGIN(&t->co);
    for (f->i = 0; f->i < f->n; f->i++)
        CHANNEL_PUT(t, f->q, (void *)(intptr_t)(f->i + 1));
    CHANNEL_JOIN(t, f->q);
    f->joined = task_result(t);
    f->joined_at = loop_now(task_loop(t));
    for (f->i = 0; f->i < f->nworkers; f->i++)
        task_cancel(f->workers[f->i]);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* Gets an item, works on it 10 ms, marks it done; forever, until cancelled. */
struct worker {
    struct task task;
    struct channel *q;
    void *item;
    int handled;
    int cleanups;
};

static enum coro_status worker_step(struct task *t) {
    struct worker *f = TASK_FRAME(t, struct worker, task);
    CORO_BEGIN(&t->co);
    for (;;) {
        CHANNEL_GET(t, f->q, f->item);
        LOOP_SLEEP(t, 10 * MS);
        f->handled++;
        channel_task_done(f->q);
    }
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    CORO_END(&t->co);
}

Test(channel_order, join_waits_for_every_task_done,
     .description = "Q: does CHANNEL_JOIN return only when every item put was marked done, so "
                    "that the producer can then cancel the idle workers?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct channel q;
    void *slots[2];
    cr_assert_eq(channel_init(&q, slots, 2, "work"), 0);
    struct worker w[2] = {{.q = &q}, {.q = &q}};
    struct task *workers[2] = {&w[0].task, &w[1].task};
    struct producer p = {.q = &q, .workers = workers, .n = 5, .nworkers = 2, .joined = 1};
    cr_assert_eq(loop_spawn(loop, &p.task, producer_step, "producer", NULL), 0);
    cr_assert_eq(loop_spawn(loop, &w[0].task, worker_step, "w0", NULL), 0);
    cr_assert_eq(loop_spawn(loop, &w[1].task, worker_step, "w1", NULL), 0);
    cr_assert_eq(loop_run(loop), 0, "the loop ends: the workers were cancelled after the join");
    cr_assert_eq(p.joined, 0, "the join returned 0");
    cr_assert_eq(w[0].handled + w[1].handled, 5, "every item was handled before the join ended");
    cr_assert_eq(p.joined_at, 30 * MS, "two workers, five 10 ms items: all done at 30 ms");
    cr_assert_eq(q.unfinished, 0, "nothing is left unfinished");
    cr_assert(w[0].task.state == TASK_CANCELLED && w[1].task.state == TASK_CANCELLED,
              "both workers were cancelled in their get, idle");
    cr_assert_eq(w[0].cleanups + w[1].cleanups, 2, "each cleaned up once");
    loop_free(loop);
}

Test(channel_order, join_with_nothing_unfinished_and_misuse,
     .description = "Q: does a join with nothing unfinished return at once, and is a "
                    "task_done without an item refused with -EINVAL?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct channel q;
    void *slots[1];
    cr_assert_eq(channel_init(&q, slots, 1, "work"), 0);
    cr_assert_eq(channel_task_done(&q), -EINVAL, "task_done with nothing put: -EINVAL");
    cr_assert_eq(channel_task_done(NULL), -EINVAL, "NULL: -EINVAL");
    struct producer p = {.q = &q, .n = 0, .joined = 1};
    cr_assert_eq(loop_spawn(loop, &p.task, producer_step, "producer", NULL), 0);
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert(task_done(&p.task), "nothing put, nothing unfinished: the join did not wait");
    cr_assert_eq(p.joined, 0, "and it returned 0 (got %d)", p.joined);
    cr_assert_eq(channel_try_put(&q, &q), 0);
    void *out;
    cr_assert_eq(channel_try_get(&q, &out), 0);
    cr_assert_eq(q.unfinished, 1, "a get does not finish an item: task_done does");
    cr_assert_eq(channel_task_done(&q), 0, "one task_done for the one item got: 0");
    cr_assert_eq(channel_task_done(&q), -EINVAL, "one item, one task_done: the second fails");
    loop_free(loop);
}
