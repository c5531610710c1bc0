/* queue.h — a FIFO queue between tasks, as asyncio.Queue (lesson 10): a ring buffer, bounded
 * (put waits while it is full: that is backpressure) or unbounded by choice. get waits while it
 * is empty. close() lets getters drain what is left, then they see -EPIPE; put fails at once. */
#ifndef LOOPSCHOOL_QUEUE_H
#define LOOPSCHOOL_QUEUE_H

#include "sched/alloc.h"
#include "sched/task/task.h"

struct queue {
    void **items;    /* the ring: items[(head + i) % capacity] for i < count */
    size_t capacity; /* slots in `items` */
    size_t head;
    size_t count;
    bool bounded;    /* false: the ring grows through `alloc` instead of making put wait */
    bool closed;
    const struct sched_alloc *alloc;
    struct waitq getters; /* waiting for an item */
    struct waitq putters; /* waiting for a free slot */
    const char *name;
};

/* Bounded: `storage` holds `capacity` items (caller-owned; capacity >= 1). -EINVAL otherwise. */
int queue_init(struct queue *q, void **storage, size_t capacity, const char *name);
/* Unbounded: the ring grows through alloc (NULL: libc). queue_free releases it. */
int queue_init_unbounded(struct queue *q, const struct sched_alloc *alloc, const char *name);
void queue_free(struct queue *q);

/* Put `item`, waiting while the queue is full. Result 0, -EPIPE if it is closed, -ENOMEM if an
 * unbounded queue cannot grow. A woken waiter looks again (-EAGAIN inside): an item or a slot
 * is taken by whoever runs first, and the queue keeps FIFO order of items. `item` is evaluated
 * again at each look: pass a value without side effects (not f->next++). */
#define QUEUE_PUT(t, q, item)       QUEUE__LOOK(TASK_AWAIT, t, queue_put_begin((t), (q), (item)))
#define QUEUE_PUT_CATCH(t, q, item) QUEUE__LOOK(TASK_AWAIT_CATCH, t, queue_put_begin((t), (q), (item)))
/* Get the oldest item into `dest` (a void * lvalue in the frame), waiting while the queue is
 * empty. Result 0, or -EPIPE once it is closed and empty. */
#define QUEUE_GET(t, q, dest)       QUEUE__LOOK(TASK_AWAIT, t, queue_get_begin((t), (q), &(dest)))
#define QUEUE_GET_CATCH(t, q, dest) QUEUE__LOOK(TASK_AWAIT_CATCH, t, queue_get_begin((t), (q), &(dest)))
/* One await, repeated while the wake said "look again". */
#define QUEUE__LOOK(await, t, begin_call)                                                          \
    do {                                                                                           \
        await(t, begin_call);                                                                      \
    } while (task_result(t) == -EAGAIN)

bool queue_put_begin(struct task *t, struct queue *q, void *item);
bool queue_get_begin(struct task *t, struct queue *q, void **dest);
/* Without waiting: 0, -EAGAIN (full / empty), -EPIPE (closed). */
int queue_try_put(struct queue *q, void *item);
int queue_try_get(struct queue *q, void **dest);
/* Closes it: waiting putters get -EPIPE now; every waiting getter looks again, and getters drain
 * what is left, then get -EPIPE. Closing twice is harmless. */
void queue_close(struct queue *q);
static inline size_t queue_length(const struct queue *q) {
    return q->count;
}
void queue_dump(const struct queue *q, FILE *out);

#endif
