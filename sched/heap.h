/* heap.h — a generic binary min-heap over caller-owned nodes (lesson 05: the timer queue; lesson
 * 09: the priority, stride and EDF policies). Each node remembers its own index in the array, so
 * removing or re-keying any node is O(log n) instead of a search. */
#ifndef LOOPSCHOOL_HEAP_H
#define LOOPSCHOOL_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sched/alloc.h"
#include "sched/container_of.h"

#define HEAP_NOT_IN ((size_t)-1)

/* The tree lives in the array: the children of slot i are 2i+1 and 2i+2, its parent is (i-1)/2.
 *
 * HEAP_ARITY is the one constant to change for a d-ary heap (children d*i+1 .. d*i+d, parent
 * (i-1)/d). 4 would halve the levels a pop walks down (10 instead of 20 for a million timers)
 * and put the four children's keys in one cache line, at the price of more comparisons per
 * level; whether that wins is measured by `make bench` (lesson 05's exercise). */
enum { HEAP_ARITY = 2 };

/* Embed this in the struct the heap orders; container_of gets back to it. */
struct heap_node {
    size_t index; /* slot in heap->items, or HEAP_NOT_IN */
};

/* Strict "a comes before b". Ties must be broken by the caller (a sequence number) if order
 * among equals matters: a heap is not stable by itself. */
typedef bool (*heap_before_fn)(const struct heap_node *a, const struct heap_node *b);

/* Optional: a node's primary key (the timer queue's is the deadline). The heap keeps a packed
 * copy of every key and compares those first, so sifting reads a node only when two keys tie;
 * before() then decides, and must agree with the keys (it may only refine their order). */
typedef int64_t (*heap_key_fn)(const struct heap_node *n);

struct heap {
    struct heap_node **items; /* items[0] is the minimum; see HEAP_ARITY for the tree shape */
    int64_t *keys;            /* keys[i] is items[i]'s key (all 0 without a key function); it
                               * lives in the same block as items: one allocation per doubling */
    size_t count;
    size_t capacity;
    heap_key_fn key; /* NULL: before() decides everything */
    heap_before_fn before;
    const struct sched_alloc *alloc;
};

void heap_init(struct heap *h, heap_before_fn before, const struct sched_alloc *alloc);
/* The same, with a key function (see heap_key_fn): what a large heap wants. */
void heap_init_keyed(struct heap *h, heap_key_fn key, heap_before_fn before,
                     const struct sched_alloc *alloc);
void heap_free(struct heap *h);
static inline void heap_node_init(struct heap_node *n) {
    n->index = HEAP_NOT_IN;
}
static inline bool heap_node_queued(const struct heap_node *n) {
    return n->index != HEAP_NOT_IN;
}
static inline size_t heap_count(const struct heap *h) {
    return h->count;
}
static inline struct heap_node *heap_peek(const struct heap *h) {
    return h->count ? h->items[0] : NULL;
}

/* Grows the array to hold at least n nodes: 0 or -ENOMEM. */
int heap_reserve(struct heap *h, size_t n);
/* 0, -ENOMEM, or -EEXIST if the node is already in a heap. */
int heap_push(struct heap *h, struct heap_node *n);
struct heap_node *heap_pop(struct heap *h);
/* Removes n if it is in this heap: 0, or -EALREADY if it was not queued. */
int heap_remove(struct heap *h, struct heap_node *n);
/* Call after changing n's order (its key, or what before() reads) while it is in the heap: it
 * moves up or down to its place. */
void heap_update(struct heap *h, struct heap_node *n);

/* The two moves every operation is made of; public so a debugger can break on them. */
void heap_sift_up(struct heap *h, size_t i);
void heap_sift_down(struct heap *h, size_t i);

/* Draws the heap as a tree, one node per line, indented by depth, each printed by print(). */
void heap_dump(const struct heap *h, FILE *out,
               void (*print)(const struct heap_node *n, FILE *out, void *ctx), void *ctx);

/* True when every parent comes before (or ties with) its children, and every node's index and
 * cached key are right: tests check this. */
bool heap_is_valid(const struct heap *h);

#endif
