/* sync_bench.c — what lesson 10's primitives cost. An uncontended lock acquire + release by a
 * task, against the price of one indirect call; and moving items from a producer task to a
 * consumer task through a queue of 64 slots, against two threads moving the same items through a
 * 64-slot bounded buffer guarded by a pthread mutex and two condition variables. */
#include "loop/await.h"
#include "loop/loop.h"
#include "sched/sync/lock.h"
#include "sched/sync/channel.h"
#include "tests/bench/lib/bench.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CAPACITY = 64 };

static void die(const char *what, int err) {
    fprintf(stderr, "sync_bench: %s failed (%d: %s)\n", what, err, strerror(err < 0 ? -err : err));
    exit(1);
}

/* ---- a lock nobody else wants: acquire (never suspends) + release, n times in one step ------ */
struct lock_spinner {
    struct task task;
    struct lock *lock;
    long n, i;
};

static enum coro_status lock_spinner_step(struct task *t) {
    struct lock_spinner *f = TASK_FRAME(t, struct lock_spinner, task);
    CORO_BEGIN(&t->co);
    for (f->i = 0; f->i < f->n; f->i++) {
        LOCK_ACQUIRE(t, f->lock);
        lock_release(f->lock, t);
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static void lock_pairs(void *ctx, long n) {
    struct loop *loop = ctx;
    struct lock l;
    lock_init(&l, "bench");
    struct lock_spinner s = {.lock = &l, .n = n};
    int err = loop_spawn(loop, &s.task, lock_spinner_step, "spinner", NULL);
    if (err || (err = loop_run_until_complete(loop, &s.task)) != 0)
        die("the lock task", err);
    bench_sink((uint64_t)s.i);
}

/* ---- tasks: a producer and a consumer on one queue of 64 ------------------------------------- */
struct channel_producer {
    struct task task;
    struct channel *q;
    long n, i;
};

static enum coro_status channel_producer_step(struct task *t) {
    struct channel_producer *f = TASK_FRAME(t, struct channel_producer, task);
    CORO_BEGIN(&t->co);
    for (f->i = 1; f->i <= f->n; f->i++)
        CHANNEL_PUT(t, f->q, (void *)(intptr_t)f->i);
    channel_close(f->q);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

struct channel_consumer {
    struct task task;
    struct channel *q;
    void *item;
    uint64_t sum;
    long got;
};

static enum coro_status channel_consumer_step(struct task *t) {
    struct channel_consumer *f = TASK_FRAME(t, struct channel_consumer, task);
    CORO_BEGIN(&t->co);
    for (;;) {
        CHANNEL_GET(t, f->q, f->item);
        if (task_result(t) != 0)
            break; /* -EPIPE: closed and drained */
        f->sum += (uint64_t)(intptr_t)f->item;
        f->got++;
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static void task_handoffs(void *ctx, long n) {
    struct loop *loop = ctx;
    void *slots[CAPACITY];
    struct channel q;
    int err = channel_init(&q, slots, CAPACITY, "bench");
    if (err)
        die("channel_init", err);
    struct channel_producer p = {.q = &q, .n = n};
    struct channel_consumer c = {.q = &q};
    loop_spawn(loop, &p.task, channel_producer_step, "producer", NULL);
    loop_spawn(loop, &c.task, channel_consumer_step, "consumer", NULL);
    if ((err = loop_run_until_complete(loop, &c.task)) != 0)
        die("the consumer task", err);
    if (c.got != n || c.sum != (uint64_t)n * (uint64_t)(n + 1) / 2)
        die("the queue lost or duplicated items", -EIO);
    bench_sink(c.sum);
}

/* ---- threads: the textbook bounded buffer ---------------------------------------------------- */
struct thread_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_full, not_empty;
    void *items[CAPACITY];
    size_t head, count;
    long n;
    uint64_t sum;
};

static void thread_put(struct thread_queue *q, void *item) {
    pthread_mutex_lock(&q->lock);
    while (q->count == CAPACITY)
        pthread_cond_wait(&q->not_full, &q->lock);
    q->items[(q->head + q->count++) % CAPACITY] = item;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

static void *thread_get(struct thread_queue *q) {
    pthread_mutex_lock(&q->lock);
    while (q->count == 0)
        pthread_cond_wait(&q->not_empty, &q->lock);
    void *item = q->items[q->head];
    q->head = (q->head + 1) % CAPACITY;
    q->count--;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->lock);
    return item;
}

static void *consumer_thread(void *arg) {
    struct thread_queue *q = arg;
    for (long i = 0; i < q->n; i++)
        q->sum += (uint64_t)(intptr_t)thread_get(q);
    return NULL;
}

static void thread_handoffs(void *ctx, long n) {
    (void)ctx;
    struct thread_queue q = {.n = n};
    pthread_mutex_init(&q.lock, NULL);
    pthread_cond_init(&q.not_full, NULL);
    pthread_cond_init(&q.not_empty, NULL);
    pthread_t consumer;
    int err = pthread_create(&consumer, NULL, consumer_thread, &q);
    if (err)
        die("pthread_create", err);
    for (long i = 1; i <= n; i++)
        thread_put(&q, (void *)(intptr_t)i);
    pthread_join(consumer, NULL);
    if (q.sum != (uint64_t)n * (uint64_t)(n + 1) / 2)
        die("the thread queue lost or duplicated items", -EIO);
    bench_sink(q.sum);
    pthread_cond_destroy(&q.not_empty);
    pthread_cond_destroy(&q.not_full);
    pthread_mutex_destroy(&q.lock);
}

int main(void) {
    struct loop *loop;
    int err = loop_new(&loop, NULL); /* what a program gets: the default backend, FIFO */
    if (err)
        die("loop_new", err);
    double indirect = bench_indirect_call_ns();
    double lock_ns = bench_median_ns(lock_pairs, loop, 20000000, 5);
    double task_ns = bench_median_ns(task_handoffs, loop, 5000000, 5);
    double thread_ns = bench_median_ns(thread_handoffs, NULL, 300000, 5);
    loop_free(loop);
    bench_row_vs_asyncio("sync: lock acquire+release, uncontended task", lock_ns, "ns/pair",
                         "indirect call", indirect, "lock");
    bench_row_vs_asyncio("sync: queue hand-off task->task, cap 64", task_ns, "ns/item",
                         "indirect call", indirect, "queue");
    bench_row("threads: mutex+condvar queue, cap 64", thread_ns, "ns/item", "task queue hand-off",
              task_ns);
    return 0;
}
