/* policy.c — finding a policy by name, and a dump that shows the fields each policy orders by
 * (lesson 09). The table is const: no state, so two loops may use different policies. */
#include "sched/policy/policy.h"

#include <errno.h>
#include <string.h>

/* In the order lesson 09 compares them: asyncio's order first. */
static const struct policy_ops *const all_policies[] = {
    &policy_fifo,    &policy_lifo, &policy_priority, &policy_stride,
    &policy_lottery, &policy_edf,  &policy_mlfq,
};

enum { POLICY_TOTAL = sizeof all_policies / sizeof all_policies[0] };

const struct policy_ops *policy_by_index(size_t i) {
    return i < POLICY_TOTAL ? all_policies[i] : NULL;
}

int policy_new(struct policy **out, const struct policy_ops *ops, const struct sched_alloc *alloc) {
    if (!out)
        return -EINVAL;
    *out = NULL;
    return (ops ? ops : &policy_fifo)->new (out, alloc ? alloc : sched_alloc_libc());
}

void policy_free(struct policy *p) {
    if (p)
        p->ops->free(p);
}

const struct policy_ops *policy_by_name(const char *name) {
    if (!name)
        return NULL;
    for (size_t i = 0; i < POLICY_TOTAL; i++)
        if (strcmp(all_policies[i]->name, name) == 0)
            return all_policies[i];
    return NULL;
}

struct dump_ctx {
    FILE *out;
    const struct policy_ops *ops;
    size_t position;
};

/* One line per runnable: its place in line, its name, and what this policy looks at. */
static void dump_runnable(const struct runnable *r, void *ctx) {
    struct dump_ctx *d = ctx;
    fprintf(d->out, "  %3zu. %-24s seq %llu", ++d->position, r->name, (unsigned long long)r->seq);
    if (d->ops->describe)
        d->ops->describe(r, d->out);
    fputc('\n', d->out);
}

void policy_dump(const struct policy *p, FILE *out) {
    if (!p) {
        fprintf(out, "policy: none (NULL)\n");
        fflush(out);
        return;
    }
    size_t n = p->ops->count(p);
    fprintf(out, "policy %s: %zu queued", p->ops->name, n);
    if (p->ops->describe_listing)
        p->ops->describe_listing(p, out);
    fputc('\n', out);
    struct dump_ctx d = {out, p->ops, 0};
    p->ops->for_each(p, dump_runnable, &d);
    fflush(out);
}
