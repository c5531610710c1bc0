/* queue.c — the task queue on a ring buffer and two wait queues (lesson 10). A put wakes the
 * oldest getter and a get wakes the oldest putter; the woken task looks again when it runs. If it
 * is cancelled before it runs, the give-back passes the wake-up on, so no waiter is left asleep
 * beside an item (or a free slot) nobody was told about. */
#include "sched/sync/queue.h"

#include <errno.h>

int queue_init(struct queue *q, void **storage, size_t capacity, const char *name) {
    if (!q || !storage || capacity == 0)
        return -EINVAL;
    *q = (struct queue){.items = storage, .capacity = capacity, .bounded = true,
                        .name = name ? name : "queue"};
    waitq_init(&q->getters);
    waitq_init(&q->putters);
    return 0;
}

int queue_init_unbounded(struct queue *q, const struct sched_alloc *alloc, const char *name) {
    if (!q)
        return -EINVAL;
    *q = (struct queue){.alloc = alloc ? alloc : sched_alloc_libc(), .name = name ? name : "queue"};
    waitq_init(&q->getters);
    waitq_init(&q->putters);
    return 0;
}

void queue_free(struct queue *q) {
    if (!q->bounded)
        sched_free(q->alloc, q->items);
    q->items = NULL;
    q->capacity = q->count = 0;
}

/* An unbounded ring doubles, unrolling itself into the new array so head returns to 0. */
static int grow(struct queue *q) {
    size_t capacity = q->capacity ? q->capacity * 2 : 16;
    void **items = sched_alloc(q->alloc, capacity * sizeof *items);
    if (!items)
        return -ENOMEM;
    for (size_t i = 0; i < q->count; i++)
        items[i] = q->items[(q->head + i) % q->capacity];
    sched_free(q->alloc, q->items);
    q->items = items;
    q->capacity = capacity;
    q->head = 0;
    return 0;
}

static void wake_next(struct waitq *wq);

/* The give-back of a wake-up: the woken task was cancelled before it looked. */
static void pass_wake_on(struct waiter *w, void *arg) {
    (void)w;
    wake_next(arg);
}

static void wake_next(struct waitq *wq) {
    if (waitq_empty(wq))
        return; /* the usual case on a busy queue, checked inline: no call at all */
    waiter_hand(waitq_first(wq), -EAGAIN, pass_wake_on, wq);
}

/* The ring's index after i, without `%`: a division costs more than the rest of a put. */
static size_t ring_next(const struct queue *q, size_t i) {
    return i + 1 == q->capacity ? 0 : i + 1;
}

int queue_try_put(struct queue *q, void *item) {
    if (q->closed)
        return -EPIPE;
    if (q->count == q->capacity) {
        if (q->bounded)
            return -EAGAIN;
        int err = grow(q);
        if (err)
            return err;
    }
    size_t tail = q->head + q->count; /* < 2 * capacity: one subtraction wraps it */
    q->items[tail >= q->capacity ? tail - q->capacity : tail] = item;
    q->count++;
    wake_next(&q->getters);
    return 0;
}

int queue_try_get(struct queue *q, void **dest) {
    if (q->count == 0)
        return q->closed ? -EPIPE : -EAGAIN;
    *dest = q->items[q->head];
    q->head = ring_next(q, q->head);
    q->count--;
    wake_next(&q->putters);
    return 0;
}

bool queue_put_begin(struct task *t, struct queue *q, void *item) {
    int err = queue_try_put(q, item);
    if (err != -EAGAIN) {
        t->waiter.result = err;
        return false;
    }
    waitq_add(&q->putters, &t->waiter);
    task_park(t, q->name);
    return true;
}

bool queue_get_begin(struct task *t, struct queue *q, void **dest) {
    int err = queue_try_get(q, dest);
    if (err != -EAGAIN) {
        t->waiter.result = err;
        return false;
    }
    waitq_add(&q->getters, &t->waiter);
    task_park(t, q->name);
    return true;
}

void queue_close(struct queue *q) {
    q->closed = true;
    waitq_wake_all(&q->putters, -EPIPE);
    /* Every getter looks again: it takes what is left or, finding the queue empty, sees -EPIPE.
     * Waking only when empty would strand a getter that waits while an item is in flight to
     * another (woken, not yet run): no later put could ever wake it. */
    waitq_wake_all(&q->getters, -EAGAIN);
}

void queue_dump(const struct queue *q, FILE *out) {
    fprintf(out, "queue %s: %zu item%s", q->name, q->count, q->count == 1 ? "" : "s");
    if (q->bounded)
        fprintf(out, " of %zu", q->capacity);
    fprintf(out, "%s; getters ", q->closed ? ", closed" : "");
    waitq_dump(&q->getters, out);
    fprintf(out, "  putters ");
    waitq_dump(&q->putters, out);
}
