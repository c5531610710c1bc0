/* list_base.c — the list plumbing shared by the FIFO, LIFO and lottery policies (lesson 09).
 * Every operation is O(1) except the walk of for_each. */
#include "sched/policy/list_base.h"

#include <errno.h>

int policy_list_new(struct policy **out, size_t size, const struct policy_ops *ops,
                    const struct sched_alloc *alloc) {
    struct policy_list *pl = sched_alloc(alloc, size);
    if (!pl)
        return -ENOMEM;
    pl->base.ops = ops;
    pl->base.alloc = alloc;
    list_init(&pl->queue);
    pl->count = 0;
    *out = &pl->base;
    return 0;
}

void policy_list_free(struct policy *p) {
    sched_dealloc(p->alloc, p);
}

int policy_list_push(struct policy *p, struct runnable *r, int64_t now) {
    (void)now;
    policy_list_push_body((struct policy_list *)p, r);
    return 0;
}

struct runnable *policy_list_pop(struct policy *p, int64_t now) {
    (void)now;
    return policy_list_pop_body((struct policy_list *)p);
}

void policy_list_remove(struct policy *p, struct runnable *r) {
    list_remove(&r->node);
    ((struct policy_list *)p)->count--;
}

size_t policy_list_count(const struct policy *p) {
    return ((const struct policy_list *)p)->count;
}

void policy_list_for_each(const struct policy *p,
                          void (*visit)(const struct runnable *r, void *ctx), void *ctx) {
    const struct policy_list *pl = (const struct policy_list *)p;
    list_for_each(n, &pl->queue) visit(container_of(n, const struct runnable, node), ctx);
}
