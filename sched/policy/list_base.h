/* list_base.h — what the list-based policies share (lesson 09): FIFO, LIFO and lottery keep
 * their runnables on one intrusive list and differ only in where a push goes (FIFO and lottery:
 * the back; LIFO: the front) or how a pop picks (lottery: a draw). Each of their state structs
 * starts with a struct policy_list. */
#ifndef LOOPSCHOOL_POLICY_LIST_H
#define LOOPSCHOOL_POLICY_LIST_H

#include "sched/policy/policy.h"

struct policy_list {
    struct policy base;
    struct list_node queue; /* pop order: the front runs next (lottery: push order) */
    size_t count;
};

/* Allocates `size` bytes (the policy's whole state struct) and sets up base and list. */
int policy_list_new(struct policy **out, size_t size, const struct policy_ops *ops,
                    const struct sched_alloc *alloc);
void policy_list_free(struct policy *p);
/* At the back, O(1): round robin among equals. */
int policy_list_push(struct policy *p, struct runnable *r, int64_t now);
/* From the front, O(1); NULL when empty. */
struct runnable *policy_list_pop(struct policy *p, int64_t now);
/* The bodies of those two, inline: the ready queue runs them in place of the call through the
 * ops table when a policy's push or pop IS policy_list_push or policy_list_pop (readyq.h says
 * why). One body for both ways in, so the two can never disagree. */
static inline void policy_list_push_body(struct policy_list *pl, struct runnable *r) {
    list_push_back(&pl->queue, &r->node);
    pl->count++;
}
static inline struct runnable *policy_list_pop_body(struct policy_list *pl) {
    struct list_node *n = list_pop_front(&pl->queue);
    if (!n)
        return NULL;
    pl->count--;
    return container_of(n, struct runnable, node);
}
void policy_list_remove(struct policy *p, struct runnable *r);
size_t policy_list_count(const struct policy *p);
/* Front to back. */
void policy_list_for_each(const struct policy *p,
                          void (*visit)(const struct runnable *r, void *ctx), void *ctx);

#endif
