/* heap.h — a generic d-ary min-heap over caller-owned nodes (lesson 05: the timer queue; lesson
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

/* The tree lives in an array. With HEAP_ARITY d, the children of slot i are d*i+1 .. d*i+d and
 * its parent is (i-1)/d. d = 4, not the textbook 2: a pop walks half as many levels (10 instead
 * of 20 for a million timers) and the four children's (key, tie) pairs fill one cache line.
 * Below the first levels every level is a trip to main memory, so halving the levels wins
 * although each compares four children instead of two. Any d >= 2 works: lesson 05's exercise
 * sets it back to 2 and measures the difference with `make bench`. */
enum { HEAP_ARITY = 4 };

/* A heap of fewer slots than this stays in a core's cache (24 bytes a slot: 768 KiB), and
 * there prefetching costs more than it saves; beyond it, each level of a sift is a trip to
 * memory, and so is each node it hands out: prefetches win. */
enum { HEAP_PREFETCH_FROM = 1 << 15 };

/* Embed this in the struct the heap orders; container_of gets back to it. */
struct heap_node {
    size_t index; /* slot in heap->items, or HEAP_NOT_IN */
};

/* Strict "a comes before b", for a heap without keys. A heap is not stable by itself: if order
 * among equals matters, the caller breaks ties (a sequence number). */
typedef bool (*heap_before_fn)(const struct heap_node *a, const struct heap_node *b);

/* A keyed heap's order is (key, tie): a node's key (a timer's deadline, a runnable's priority
 * or pass), asked of its owner when it is pushed or updated, and a tie-breaker the heap gives
 * it itself: the number of its push (0, 1, 2, ...). So equal keys come out in the order they
 * went in — a keyed heap is stable — and no owner has to store a sequence number. The tie is
 * 64 bits and only counts up: at a billion pushes a second it wraps after 584 years, so a wrap
 * is not handled. The heap keeps a packed copy of each pair: ordering never reads a node. */
struct heap_key {
    int64_t key;
    uint64_t tie;
};
typedef int64_t (*heap_key_fn)(const struct heap_node *n);

struct heap {
    struct heap_node **items; /* items[0] is the minimum; see HEAP_ARITY for the tree shape */
    struct heap_key *keys;    /* keys[i] is items[i]'s (key, tie); key 0 in a heap without keys;
                               * in the same block as items, placed so that the HEAP_ARITY
                               * children of a slot share one cache line (see heap_reserve) */
    size_t count;
    size_t capacity;
    uint64_t pushes;       /* pushes so far: the next push's tie */
    heap_key_fn key;       /* NULL: before() decides everything */
    heap_before_fn before; /* NULL in a keyed heap */
    const struct sched_alloc *alloc;
};

/* A heap ordered by before() alone: simple, and slower on a large heap (a comparison reads two
 * nodes). */
void heap_init(struct heap *h, heap_before_fn before, const struct sched_alloc *alloc);
/* A heap ordered by packed (key, tie) pairs: what a large heap wants. */
void heap_init_keyed(struct heap *h, heap_key_fn key, const struct sched_alloc *alloc);
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
/* Puts n in the last slot without sifting: for an owner that is about to change n's key and
 * call heap_update(n), which then sifts once, from the bottom, with the new key (a push now
 * would sift with the old key, then the update would sift back). Until that update the heap
 * is out of order: pop, push and remove must wait. 0, -ENOMEM or -EEXIST. */
int heap_append(struct heap *h, struct heap_node *n);
struct heap_node *heap_pop(struct heap *h);
/* Removes n if it is in this heap: 0, or -EALREADY if it was not queued. */
int heap_remove(struct heap *h, struct heap_node *n);
/* Call after changing n's order (its key, or what before() reads) while it is in the heap: it
 * moves up or down to its place, and keeps its tie (its place in line among equal keys). */
void heap_update(struct heap *h, struct heap_node *n);
/* heap_update, but n also goes to the back of the line among equal keys, as if it had been
 * removed and pushed again (a re-armed timer): a new tie, in one sift instead of two. */
void heap_requeue(struct heap *h, struct heap_node *n);
/* n's tie: the number of the push that put it in (a dump prints it). n must be in h. */
static inline uint64_t heap_tie(const struct heap *h, const struct heap_node *n) {
    return h->keys[n->index].tie;
}

/* The two moves every operation is made of; public so a debugger can break on them. */
void heap_sift_up(struct heap *h, size_t i);
void heap_sift_down(struct heap *h, size_t i);

/* Draws the heap as a tree, one node per line, indented by depth, each printed by print().
 * (This and heap_is_valid live in sched/heap_dump.c.) */
void heap_dump(const struct heap *h, FILE *out,
               void (*print)(const struct heap_node *n, FILE *out, void *ctx), void *ctx);

/* True when no child comes before its parent, and every node's index and cached key are
 * right: tests check this. */
bool heap_is_valid(const struct heap *h);
/* Does the node in slot i come before the one in slot j? (A dump lists a heap in pop order.) */
bool heap_slot_before(const struct heap *h, size_t i, size_t j);

#endif
