/* channel.h — a channel between tasks, asyncio's Queue (lesson 10): a ring buffer, bounded
 * (put waits while it is full: that is backpressure) or unbounded by choice. get waits while it
 * is empty. close() lets getters drain what is left, then they see -EPIPE; put fails at once.
 * Gets take the oldest item (Queue), the newest (LifoQueue) or the first by priority on the
 * generic heap (PriorityQueue); task_done / join is the producer-consumer shutdown idiom. */
#ifndef LOOPSCHOOL_CHANNEL_H
#define LOOPSCHOOL_CHANNEL_H

#include "sched/alloc.h"
#include "sched/heap.h"
#include "sched/task/task.h"

enum channel_order {
    CHANNEL_FIFO,     /* asyncio.Queue: the oldest item first */
    CHANNEL_LIFO,     /* asyncio.LifoQueue: the newest item first (a stack) */
    CHANNEL_PRIORITY, /* asyncio.PriorityQueue: the first by `before`, on a heap */
};

struct channel {
    void **items;    /* the ring: items[(head + i) % capacity] for i < count (unused by PRIORITY) */
    size_t capacity; /* slots in `items` */
    size_t head;
    size_t count;
    bool bounded; /* false: the ring grows through `alloc` instead of making put wait */
    bool closed;
    unsigned char order;  /* enum channel_order */
    struct heap heap;     /* CHANNEL_PRIORITY's items, ordered by the caller's `before` */
    size_t unfinished;    /* items put and not yet marked done (channel_task_done) */
    struct waitq joiners; /* waiting in CHANNEL_JOIN for unfinished to reach 0 */
    const struct sched_alloc *alloc;
    struct waitq getters; /* waiting for an item */
    struct waitq putters; /* waiting for a free slot */
    const char *name;
};

/* Bounded: `storage` holds `capacity` items (caller-owned; capacity >= 1). -EINVAL otherwise. */
int channel_init(struct channel *q, void **storage, size_t capacity, const char *name);
/* Unbounded: the ring grows through alloc (NULL: libc). channel_free releases it. */
int channel_init_unbounded(struct channel *q, const struct sched_alloc *alloc, const char *name);
/* Makes a channel from channel_init or channel_init_unbounded (still empty) hand out the newest
 * item first: asyncio's LifoQueue. -EINVAL for NULL, -EBUSY once it holds an item. */
int channel_make_lifo(struct channel *q);
/* asyncio's PriorityQueue: get hands out the item that comes first by `before` (the smallest).
 * Each item put must be a struct heap_node * embedded in the caller's item (container_of gets
 * back to it; put a node in one channel at a time: -EEXIST otherwise). capacity 0: unbounded;
 * else put waits while `capacity` items are queued. The heap's array comes from alloc (NULL:
 * libc): channel_free releases it. asyncio differs: PriorityQueue compares the items
 * themselves (tuples such as (priority, seq, job)); here `before` decides, and equal items come
 * out in no promised order, as in a heap there: add a sequence number to break ties. */
int channel_init_priority(struct channel *q, heap_before_fn before, size_t capacity,
                          const struct sched_alloc *alloc, const char *name);
void channel_free(struct channel *q);

/* Put `item`, waiting while the channel is full. Result 0, -EPIPE if it is closed, -ENOMEM if an
 * unbounded channel cannot grow. A woken waiter looks again (-EAGAIN inside): an item or a slot
 * is taken by whoever runs first, and the items keep the channel's order. `item` is evaluated
 * again at each look: pass a value without side effects (not f->next++). */
#define CHANNEL_PUT(t, q, item) CHANNEL__LOOK(TASK_AWAIT, t, channel_put_begin((t), (q), (item)))
#define CHANNEL_PUT_CATCH(t, q, item)                                                              \
    CHANNEL__LOOK(TASK_AWAIT_CATCH, t, channel_put_begin((t), (q), (item)))
/* Get the next item in the channel's order (the oldest, the newest, or the first by `before`)
 * into `dest` (a void * lvalue in the frame), waiting while the channel is empty. Result 0, or
 * -EPIPE once it is closed and empty. */
#define CHANNEL_GET(t, q, dest) CHANNEL__LOOK(TASK_AWAIT, t, channel_get_begin((t), (q), &(dest)))
#define CHANNEL_GET_CATCH(t, q, dest)                                                              \
    CHANNEL__LOOK(TASK_AWAIT_CATCH, t, channel_get_begin((t), (q), &(dest)))
/* One await, repeated while the wake said "look again". */
#define CHANNEL__LOOK(await, t, begin_call)                                                        \
    do {                                                                                           \
        await(t, begin_call);                                                                      \
    } while (task_result(t) == -EAGAIN)

bool channel_put_begin(struct task *t, struct channel *q, void *item);
bool channel_get_begin(struct task *t, struct channel *q, void **dest);
/* Without waiting: 0, -EAGAIN (full / empty), -EPIPE (closed). */
int channel_try_put(struct channel *q, void *item);
int channel_try_get(struct channel *q, void **dest);
/* Closes it: waiting putters get -EPIPE now; every waiting getter looks again, and getters drain
 * what is left, then get -EPIPE. Closing twice is harmless. */
void channel_close(struct channel *q);

/* The shutdown idiom (asyncio's Queue.task_done / Queue.join): every put counts one unfinished
 * item; a consumer calls channel_task_done once per item it got, when it has finished with it;
 * CHANNEL_JOIN waits until every item put was marked done (at once if none is unfinished).
 * The producer puts, joins, then cancels its consumers. task_done: 0, or -EINVAL if called
 * more often than items were put (asyncio: ValueError). */
int channel_task_done(struct channel *q);
#define CHANNEL_JOIN(t, q)       TASK_AWAIT(t, channel_join_begin((t), (q)))
#define CHANNEL_JOIN_CATCH(t, q) TASK_AWAIT_CATCH(t, channel_join_begin((t), (q)))
bool channel_join_begin(struct task *t, struct channel *q);
static inline size_t channel_length(const struct channel *q) {
    return q->count;
}
void channel_dump(const struct channel *q, FILE *out);

#endif
