/* policy_fifo.c — first in, first out: asyncio's order, and loopschool's default (lesson 04).
 * One intrusive list: push at the back, pop at the front, remove from anywhere, all O(1). */
#include <errno.h>

#include "sched/policy/policy.h"

struct fifo_policy {
    struct policy base;
    struct list_node queue;
    size_t count;
};

static int fifo_new(struct policy **out, const struct sched_alloc *alloc) {
    struct fifo_policy *f = sched_alloc(alloc, sizeof *f);
    if (!f)
        return -ENOMEM;
    f->base.ops = &policy_fifo;
    f->base.alloc = alloc;
    list_init(&f->queue);
    f->count = 0;
    *out = &f->base;
    return 0;
}

static void fifo_free(struct policy *p) {
    sched_dealloc(p->alloc, p);
}

static int fifo_push(struct policy *p, struct runnable *r, int64_t now) {
    (void)now;
    struct fifo_policy *f = (struct fifo_policy *)p;
    list_push_back(&f->queue, &r->node);
    f->count++;
    return 0;
}

static struct runnable *fifo_pop(struct policy *p, int64_t now) {
    (void)now;
    struct fifo_policy *f = (struct fifo_policy *)p;
    struct list_node *n = list_pop_front(&f->queue);
    if (!n)
        return NULL;
    f->count--;
    return LIST_ENTRY(n, struct runnable, node);
}

static void fifo_remove(struct policy *p, struct runnable *r) {
    struct fifo_policy *f = (struct fifo_policy *)p;
    list_remove(&r->node);
    f->count--;
}

static size_t fifo_count(const struct policy *p) {
    return ((const struct fifo_policy *)p)->count;
}

static void fifo_for_each(const struct policy *p, void (*visit)(const struct runnable *, void *),
                          void *ctx) {
    const struct fifo_policy *f = (const struct fifo_policy *)p;
    for (const struct list_node *n = f->queue.next; n != &f->queue; n = n->next)
        visit(LIST_ENTRY(n, const struct runnable, node), ctx);
}

const struct policy_ops policy_fifo = {
    .name = "fifo",
    .new = fifo_new,
    .free = fifo_free,
    .push = fifo_push,
    .pop = fifo_pop,
    .remove = fifo_remove,
    .count = fifo_count,
    .charge = NULL,
    .for_each = fifo_for_each,
};
