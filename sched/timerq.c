/* timerq.c — the timer queue on the generic heap (lesson 05). The order is (deadline, the number
 * the heap gives each push): timers due at the same moment fire in the order they were armed.
 * (asyncio's heap compares deadlines alone, so it does not promise that.) */
#include "sched/timerq.h"

#include <errno.h>

/* The heap's key is the deadline; it keeps a packed copy, with its own tie beside it, and never
 * reads an entry while sifting. */
static int64_t deadline_of(const struct heap_node *n) {
    return container_of(n, const struct timerq_entry, heap)->deadline;
}

void timerq_init(struct timerq *q, const struct sched_alloc *alloc) {
    heap_init_keyed(&q->heap, deadline_of, alloc);
}

void timerq_free(struct timerq *q) {
    heap_free(&q->heap);
}

void timerq_entry_init(struct timerq_entry *e, timerq_due_fn on_due, const char *name) {
    heap_node_init(&e->heap);
    e->deadline = 0;
    e->on_due = on_due;
    e->name = name ? name : "(unnamed)";
}

int timerq_add(struct timerq *q, struct timerq_entry *e, int64_t deadline) {
    e->deadline = deadline;
    if (timerq_armed(e)) {
        /* Re-arm in place, O(log n), nothing allocated; it now counts as armed last. */
        heap_requeue(&q->heap, &e->heap);
        return 0;
    }
    return heap_push(&q->heap, &e->heap);
}

int timerq_remove(struct timerq *q, struct timerq_entry *e) {
    return heap_remove(&q->heap, &e->heap);
}

struct timerq_entry *timerq_peek(const struct timerq *q) {
    struct heap_node *n = heap_peek(&q->heap);
    return n ? container_of(n, struct timerq_entry, heap) : NULL;
}

struct timerq_entry *timerq_pop_due(struct timerq *q, int64_t now) {
    struct timerq_entry *e = timerq_peek(q);
    if (!e || e->deadline > now)
        return NULL;
    heap_remove(&q->heap, &e->heap);
    return e;
}

size_t timerq_count(const struct timerq *q) {
    return heap_count(&q->heap);
}

struct dump_ctx {
    const struct timerq *q;
    int64_t now;
};

static void print_entry(const struct heap_node *n, FILE *out, void *ctx) {
    const struct dump_ctx *d = ctx;
    const struct timerq_entry *e = container_of(n, struct timerq_entry, heap);
    double in_ms = (double)(e->deadline - d->now) / 1e6;
    fprintf(out, "%s in %+.3f ms (tie %llu)", e->name, in_ms,
            (unsigned long long)heap_tie(&d->q->heap, n));
}

void timerq_dump(const struct timerq *q, int64_t now, FILE *out) {
    fprintf(out, "timer queue: ");
    heap_dump(&q->heap, out, print_entry, &(struct dump_ctx){q, now});
}
