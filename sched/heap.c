/* heap.c — the generic index-tracking d-ary min-heap (lesson 05). Every move writes the node's
 * new slot back into the node, which is what makes remove and update O(log n); a keyed heap
 * compares packed keys (and, when they are equal, packed ties), so sifting never reads a node. */
#include "sched/heap.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

void heap_init(struct heap *h, heap_before_fn before, const struct sched_alloc *alloc) {
    h->items = NULL;
    h->keys = NULL;
    h->ties = NULL;
    h->count = 0;
    h->capacity = 0;
    h->key = NULL;
    h->before = before;
    h->alloc = alloc ? alloc : sched_alloc_libc();
}

void heap_init_keyed(struct heap *h, heap_key_fn key, const struct sched_alloc *alloc) {
    heap_init(h, NULL, alloc);
    h->key = key;
}

void heap_free(struct heap *h) {
    for (size_t i = 0; i < h->count; i++)
        h->items[i]->index = HEAP_NOT_IN;
    sched_dealloc(h->alloc, h->items); /* the keys and ties live in the same block */
    h->items = NULL;
    h->keys = NULL;
    h->ties = NULL;
    h->count = h->capacity = 0;
}

int heap_reserve(struct heap *h, size_t n) {
    if (n <= h->capacity)
        return 0;
    size_t capacity = h->capacity ? h->capacity : 16;
    while (capacity < n)
        capacity *= 2;
    const size_t slot = sizeof h->items[0] + sizeof h->keys[0] + sizeof h->ties[0];
    if (capacity > SIZE_MAX / slot)
        return -ENOMEM;
    /* One block: `capacity` node pointers, then `capacity` keys, then `capacity` ties (a power
     * of two >= 16 pointers keeps them 8-byte aligned). realloc keeps the pointers where they
     * were; the keys and ties, which sat behind the old capacity, move up behind the new one
     * (ties first: they move farther, and must not be overwritten by the keys). */
    struct heap_node **items = sched_realloc(h->alloc, h->items, capacity * slot);
    if (!items)
        return -ENOMEM;
    int64_t *keys = (int64_t *)(void *)(items + capacity);
    uint64_t *ties = (uint64_t *)(keys + capacity);
    if (h->count) {
        memmove(ties, (uint64_t *)((int64_t *)(void *)(items + h->capacity) + h->capacity),
                h->count * sizeof ties[0]);
        memmove(keys, items + h->capacity, h->count * sizeof keys[0]);
    }
    h->items = items;
    h->keys = keys;
    h->ties = ties;
    h->capacity = capacity;
    return 0;
}

static struct heap_key key_of(const struct heap *h, const struct heap_node *n) {
    return h->key ? h->key(n) : (struct heap_key){0, 0};
}

/* Does the node in slot i come before `n` with key k? A keyed heap compares the packed keys,
 * then the packed ties when the keys are equal; only a heap without keys reads the nodes. */
static inline bool slot_before_key(const struct heap *h, size_t i, const struct heap_node *n,
                                   struct heap_key k) {
    if (!h->key)
        return h->before(h->items[i], n);
    return h->keys[i] != k.key ? h->keys[i] < k.key : h->ties[i] < k.tie;
}

/* The same question asked the other way round: does `n` with key k come before slot i? */
static inline bool key_before_slot(const struct heap *h, const struct heap_node *n,
                                   struct heap_key k, size_t i) {
    if (!h->key)
        return h->before(n, h->items[i]);
    return k.key != h->keys[i] ? k.key < h->keys[i] : k.tie < h->ties[i];
}

static inline struct heap_key slot_key(const struct heap *h, size_t i) {
    return (struct heap_key){h->keys[i], h->ties[i]};
}

bool heap_slot_before(const struct heap *h, size_t i, size_t j) {
    return slot_before_key(h, i, h->items[j], slot_key(h, j));
}

static void place(struct heap *h, size_t i, struct heap_node *n, struct heap_key k) {
    h->items[i] = n;
    h->keys[i] = k.key;
    h->ties[i] = k.tie;
    n->index = i;
}

void heap_sift_up(struct heap *h, size_t i) {
    struct heap_node *moving = h->items[i];
    struct heap_key key = slot_key(h, i);
    while (i > 0) {
        size_t parent = (i - 1) / HEAP_ARITY;
        if (!key_before_slot(h, moving, key, parent))
            break;
        place(h, i, h->items[parent], slot_key(h, parent)); /* the parent comes down */
        i = parent;
    }
    place(h, i, moving, key);
}

/* Does (ka, ta) come before (kb, tb)? Without branches: which child of a slot comes first is
 * as good as random, and a mispredicted branch per child cost more than the arithmetic. */
static inline bool pair_before(int64_t ka, uint64_t ta, int64_t kb, uint64_t tb) {
    return (ka < kb) | ((ka == kb) & (ta < tb));
}

/* The keyed heap's sift down, with the arrays in locals: the stores to n->index could alias
 * h's fields as far as the compiler knows, and would reload them every level. */
static void sift_down_keyed(struct heap *h, size_t i) {
    struct heap_node **items = h->items;
    int64_t *keys = h->keys;
    uint64_t *ties = h->ties;
    const size_t count = h->count;
    struct heap_node *moving = items[i];
    const int64_t key = keys[i];
    const uint64_t tie = ties[i];
    for (;;) {
        size_t first = HEAP_ARITY * i + 1;
        if (first >= count)
            break; /* a leaf */
        size_t end = count - first < HEAP_ARITY ? count : first + HEAP_ARITY;
        size_t best = first; /* the earliest of up to HEAP_ARITY children */
        int64_t best_key = keys[first];
        uint64_t best_tie = ties[first];
        for (size_t c = first + 1; c < end; c++) {
            bool earlier = pair_before(keys[c], ties[c], best_key, best_tie);
            best = earlier ? c : best;
            best_key = earlier ? keys[c] : best_key;
            best_tie = earlier ? ties[c] : best_tie;
        }
        if (!pair_before(best_key, best_tie, key, tie))
            break;
        items[i] = items[best]; /* the child comes up; `moving` sinks */
        keys[i] = best_key;
        ties[i] = best_tie;
        items[i]->index = i;
        i = best;
    }
    items[i] = moving;
    keys[i] = key;
    ties[i] = tie;
    moving->index = i;
}

void heap_sift_down(struct heap *h, size_t i) {
    if (h->key) {
        sift_down_keyed(h, i);
        return;
    }
    struct heap_node *moving = h->items[i];
    for (;;) {
        size_t first = HEAP_ARITY * i + 1;
        if (first >= h->count)
            break; /* a leaf */
        size_t end = h->count - first < HEAP_ARITY ? h->count : first + HEAP_ARITY;
        size_t best = first; /* the earliest of up to HEAP_ARITY children */
        for (size_t c = first + 1; c < end; c++)
            if (h->before(h->items[c], h->items[best]))
                best = c;
        if (!h->before(h->items[best], moving))
            break;
        place(h, i, h->items[best], (struct heap_key){0, 0}); /* the child comes up */
        i = best;
    }
    place(h, i, moving, (struct heap_key){0, 0});
}

int heap_push(struct heap *h, struct heap_node *n) {
    if (heap_node_queued(n))
        return -EEXIST;
    int err = heap_reserve(h, h->count + 1);
    if (err)
        return err;
    place(h, h->count++, n, key_of(h, n));
    heap_sift_up(h, n->index);
    return 0;
}

int heap_append(struct heap *h, struct heap_node *n) {
    if (heap_node_queued(n))
        return -EEXIST;
    int err = heap_reserve(h, h->count + 1);
    if (err)
        return err;
    place(h, h->count++, n, key_of(h, n)); /* out of order until heap_update(n) */
    return 0;
}

struct heap_node *heap_pop(struct heap *h) {
    struct heap_node *top = heap_peek(h);
    if (top)
        heap_remove(h, top);
    return top;
}

/* Slot i holds a node whose key is already packed: move it up or down to its place. */
static void resettle(struct heap *h, size_t i) {
    if (i > 0 && heap_slot_before(h, i, (i - 1) / HEAP_ARITY))
        heap_sift_up(h, i);
    else
        heap_sift_down(h, i);
}

int heap_remove(struct heap *h, struct heap_node *n) {
    size_t i = n->index;
    if (i == HEAP_NOT_IN || i >= h->count || h->items[i] != n)
        return -EALREADY;
    n->index = HEAP_NOT_IN;
    struct heap_node *last = h->items[--h->count];
    if (last != n) {
        /* The last node fills the hole; it may belong above or below it. Its key is already
         * packed: asking its owner again would read the node, a cache miss per remove. */
        place(h, i, last, slot_key(h, h->count));
        resettle(h, i);
    }
    return 0;
}

void heap_update(struct heap *h, struct heap_node *n) {
    struct heap_key k = key_of(h, n); /* the owner may have changed it */
    h->keys[n->index] = k.key;
    h->ties[n->index] = k.tie;
    resettle(h, n->index);
}

static void dump_subtree(const struct heap *h, size_t i, int depth, FILE *out,
                         void (*print)(const struct heap_node *, FILE *, void *), void *ctx) {
    if (i >= h->count)
        return;
    fprintf(out, "%*s[%zu] ", depth * 4, "", i);
    print(h->items[i], out, ctx);
    fputc('\n', out);
    for (size_t c = HEAP_ARITY * i + 1; c <= HEAP_ARITY * i + HEAP_ARITY; c++)
        dump_subtree(h, c, depth + 1, out, print, ctx);
}

void heap_dump(const struct heap *h, FILE *out,
               void (*print)(const struct heap_node *n, FILE *out, void *ctx), void *ctx) {
    fprintf(out, "heap: %zu node%s (capacity %zu, %d-ary)\n", h->count, h->count == 1 ? "" : "s",
            h->capacity, HEAP_ARITY);
    dump_subtree(h, 0, 1, out, print, ctx);
    fflush(out);
}

bool heap_is_valid(const struct heap *h) {
    for (size_t i = 0; i < h->count; i++) {
        struct heap_key k = key_of(h, h->items[i]);
        if (h->items[i]->index != i || h->keys[i] != k.key || h->ties[i] != k.tie)
            return false;
        if (i > 0 && heap_slot_before(h, i, (i - 1) / HEAP_ARITY))
            return false;
    }
    return true;
}
