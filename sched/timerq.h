/* timerq.h — the timer queue: entries ordered by (deadline, arming order) on the generic heap,
 * so equal deadlines fire in the order they were armed (lesson 05). Entries are caller-owned;
 * add, remove and re-arm are O(log n). What "firing" means is the entry's own on_due function:
 * a loop timer moves its callback to the ready queue, a sleeping task is woken. */
#ifndef LOOPSCHOOL_TIMERQ_H
#define LOOPSCHOOL_TIMERQ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sched/heap.h"

struct timerq_entry;
typedef void (*timerq_due_fn)(struct timerq_entry *e, void *ctx);

/* 32 bytes. The order of arming, which breaks ties between equal deadlines, is not stored
 * here: the heap numbers its pushes itself and keeps the number beside its copy of the key. */
struct timerq_entry {
    struct heap_node heap;
    int64_t deadline; /* absolute, in the loop clock's nanoseconds; kept after it fires */
    timerq_due_fn on_due;
    const char *name;
};

struct timerq {
    struct heap heap;
};

void timerq_init(struct timerq *q, const struct sched_alloc *alloc);
void timerq_free(struct timerq *q);
void timerq_entry_init(struct timerq_entry *e, timerq_due_fn on_due, const char *name);

/* Arms e for `deadline`; if it is already armed it is re-armed (moved, and it now counts as
 * added last among equal deadlines). 0 or -ENOMEM. */
int timerq_add(struct timerq *q, struct timerq_entry *e, int64_t deadline);
/* 0, or -EALREADY if e was not armed. */
int timerq_remove(struct timerq *q, struct timerq_entry *e);
static inline bool timerq_armed(const struct timerq_entry *e) {
    return heap_node_queued(&e->heap);
}
struct timerq_entry *timerq_peek(const struct timerq *q);
/* The earliest entry if its deadline is <= now, removed; NULL otherwise. */
struct timerq_entry *timerq_pop_due(struct timerq *q, int64_t now);
size_t timerq_count(const struct timerq *q);
/* Draws the heap as a tree: each entry's deadline relative to `now`, its name, and its arming
 * number, the heap's tie ("tie 3": heap_tie). */
void timerq_dump(const struct timerq *q, int64_t now, FILE *out);

#endif
