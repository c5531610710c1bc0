/* channel.c — the channel between tasks (asyncio's Queue) on a ring buffer, or a heap for the
 * priority order, and two wait queues (lesson 10). A put wakes the oldest getter and a get wakes
 * the oldest putter; the woken task looks again when it runs. If it is cancelled before it
 * runs, the give-back passes the wake-up on, so no waiter is left asleep beside an item (or a
 * free slot) nobody was told about. */
#include "sched/sync/channel.h"

#include <errno.h>

/* The three wait queues every channel has, after the fields were set. */
static void init_queues(struct channel *q) {
    waitq_init(&q->getters);
    waitq_init(&q->putters);
    waitq_init(&q->joiners);
}

int channel_init(struct channel *q, void **storage, size_t capacity, const char *name) {
    if (!q || !storage || capacity == 0)
        return -EINVAL;
    *q = (struct channel){
        .items = storage, .capacity = capacity, .bounded = true, .name = name ? name : "channel"};
    init_queues(q);
    return 0;
}

int channel_init_unbounded(struct channel *q, const struct sched_alloc *alloc, const char *name) {
    if (!q)
        return -EINVAL;
    *q = (struct channel){.alloc = alloc ? alloc : sched_alloc_libc(),
                          .name = name ? name : "channel"};
    init_queues(q);
    return 0;
}

int channel_make_lifo(struct channel *q) {
    if (!q || q->order == CHANNEL_PRIORITY)
        return -EINVAL;
    if (q->count)
        return -EBUSY; /* the items in it went in as a queue's */
    q->order = CHANNEL_LIFO;
    return 0;
}

int channel_init_priority(struct channel *q, heap_before_fn before, size_t capacity,
                          const struct sched_alloc *alloc, const char *name) {
    if (!q || !before)
        return -EINVAL;
    *q = (struct channel){.capacity = capacity,
                          .bounded = capacity > 0,
                          .order = CHANNEL_PRIORITY,
                          .name = name ? name : "channel"};
    heap_init(&q->heap, before, alloc);
    init_queues(q);
    return 0;
}

void channel_free(struct channel *q) {
    if (q->order == CHANNEL_PRIORITY)
        heap_free(&q->heap);
    else if (!q->bounded)
        sched_dealloc(q->alloc, q->items);
    q->items = NULL;
    q->capacity = q->count = 0;
}

/* An unbounded ring doubles, unrolling itself into the new array so head returns to 0. */
static int grow(struct channel *q) {
    size_t capacity = q->capacity ? q->capacity * 2 : 16;
    void **items = sched_alloc(q->alloc, capacity * sizeof *items);
    if (!items)
        return -ENOMEM;
    for (size_t i = 0; i < q->count; i++)
        items[i] = q->items[(q->head + i) % q->capacity];
    sched_dealloc(q->alloc, q->items);
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
        return; /* the usual case on a busy channel, checked inline: no call at all */
    waiter_hand(waitq_first(wq), -EAGAIN, pass_wake_on, wq);
}

/* The ring's index after i, without `%`: a division costs more than the rest of a put. */
static size_t ring_next(const struct channel *q, size_t i) {
    return i + 1 == q->capacity ? 0 : i + 1;
}

/* The heap holds the priority order's items; count mirrors its size. */
static int priority_put(struct channel *q, void *item) {
    if (q->bounded && q->count == q->capacity)
        return -EAGAIN;
    int err = item ? heap_push(&q->heap, item) : -EINVAL; /* -EEXIST: in a heap already */
    if (err)
        return err;
    q->count++;
    q->unfinished++;
    wake_next(&q->getters);
    return 0;
}

int channel_try_put(struct channel *q, void *item) {
    if (q->closed)
        return -EPIPE;
    if (q->order == CHANNEL_PRIORITY)
        return priority_put(q, item);
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
    q->unfinished++;
    wake_next(&q->getters);
    return 0;
}

int channel_try_get(struct channel *q, void **dest) {
    if (q->count == 0)
        return q->closed ? -EPIPE : -EAGAIN;
    if (q->order == CHANNEL_PRIORITY) {
        *dest = heap_pop(&q->heap);
    } else if (q->order == CHANNEL_LIFO) {
        size_t top = q->head + q->count - 1; /* the newest: the ring's tail end */
        *dest = q->items[top >= q->capacity ? top - q->capacity : top];
    } else {
        *dest = q->items[q->head];
        q->head = ring_next(q, q->head);
    }
    q->count--;
    wake_next(&q->putters);
    return 0;
}

bool channel_put_begin(struct task *t, struct channel *q, void *item) {
    int err = channel_try_put(q, item);
    if (err != -EAGAIN) {
        t->waiter.result = err;
        return false;
    }
    return task_wait_on(t, &q->putters, q->name);
}

bool channel_get_begin(struct task *t, struct channel *q, void **dest) {
    int err = channel_try_get(q, dest);
    if (err != -EAGAIN) {
        t->waiter.result = err;
        return false;
    }
    return task_wait_on(t, &q->getters, q->name);
}

void channel_close(struct channel *q) {
    q->closed = true;
    waitq_wake_all(&q->putters, -EPIPE);
    /* Every getter looks again: it takes what is left or, finding the channel empty, sees -EPIPE.
     * Waking only when empty would strand a getter that waits while an item is in flight to
     * another (woken, not yet run): no later put could ever wake it. */
    waitq_wake_all(&q->getters, -EAGAIN);
}

void channel_dump(const struct channel *q, FILE *out) {
    fprintf(out, "channel %s: %zu item%s", q->name, q->count, q->count == 1 ? "" : "s");
    if (q->bounded)
        fprintf(out, " of %zu", q->capacity);
    static const char *const orders[] = {"", ", lifo", ", priority"};
    fprintf(out, "%s%s", orders[q->order % 3], q->closed ? ", closed" : "");
    if (!waitq_empty(&q->joiners)) /* only then does the count matter to anyone */
        fprintf(out, ", %zu unfinished", q->unfinished);
    fprintf(out, "; getters ");
    waitq_dump(&q->getters, out);
    fprintf(out, "  putters ");
    waitq_dump(&q->putters, out);
}

int channel_task_done(struct channel *q) {
    if (!q || q->unfinished == 0)
        return -EINVAL; /* more task_done calls than items put */
    if (--q->unfinished == 0)
        waitq_wake_all(&q->joiners, 0);
    return 0;
}

bool channel_join_begin(struct task *t, struct channel *q) {
    if (q->unfinished == 0) {
        t->waiter.result = 0;
        return false;
    }
    return task_wait_on(t, &q->joiners, q->name);
}
