/* policy_lifo.c — last in, first out: the newest runnable runs next (lesson 09). One intrusive
 * list used as a stack, all O(1). Fresh work (a callback woken by I/O) always goes first; but a
 * callback that re-queues itself goes back on top every time, so whatever lies under it waits
 * until it stops: LIFO starves old work, and lesson 09 shows it. */
#include <errno.h>

#include "sched/policy/policy.h"

struct lifo_policy {
    struct policy base;
    struct list_node stack; /* the front is the top */
    size_t count;
};

static int lifo_new(struct policy **out, const struct sched_alloc *alloc) {
    struct lifo_policy *l = sched_alloc(alloc, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->base.ops = &policy_lifo;
    l->base.alloc = alloc;
    list_init(&l->stack);
    l->count = 0;
    *out = &l->base;
    return 0;
}

static void lifo_free(struct policy *p) {
    sched_dealloc(p->alloc, p);
}

static int lifo_push(struct policy *p, struct runnable *r, int64_t now) {
    (void)now;
    struct lifo_policy *l = (struct lifo_policy *)p;
    list_push_front(&l->stack, &r->node); /* the only difference from FIFO: front, not back */
    l->count++;
    return 0;
}

static struct runnable *lifo_pop(struct policy *p, int64_t now) {
    (void)now;
    struct lifo_policy *l = (struct lifo_policy *)p;
    struct list_node *n = list_pop_front(&l->stack);
    if (!n)
        return NULL;
    l->count--;
    return LIST_ENTRY(n, struct runnable, node);
}

static void lifo_remove(struct policy *p, struct runnable *r) {
    struct lifo_policy *l = (struct lifo_policy *)p;
    list_remove(&r->node);
    l->count--;
}

static size_t lifo_count(const struct policy *p) {
    return ((const struct lifo_policy *)p)->count;
}

static void lifo_for_each(const struct policy *p, void (*visit)(const struct runnable *, void *),
                          void *ctx) {
    const struct lifo_policy *l = (const struct lifo_policy *)p;
    for (const struct list_node *n = l->stack.next; n != &l->stack; n = n->next)
        visit(LIST_ENTRY(n, const struct runnable, node), ctx);
}

const struct policy_ops policy_lifo = {
    .name = "lifo",
    .new = lifo_new,
    .free = lifo_free,
    .push = lifo_push,
    .pop = lifo_pop,
    .remove = lifo_remove,
    .count = lifo_count,
    .charge = NULL,
    .for_each = lifo_for_each,
};
