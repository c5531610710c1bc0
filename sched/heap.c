/* heap.c — the generic index-tracking binary min-heap (lesson 05). Every move writes the node's
 * new slot back into the node, which is what makes remove and update O(log n); every comparison
 * reads the packed keys first, so sifting touches a node only when two keys tie. */
#include "sched/heap.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

void heap_init_keyed(struct heap *h, heap_key_fn key, heap_before_fn before,
                     const struct sched_alloc *alloc) {
    h->items = NULL;
    h->keys = NULL;
    h->count = 0;
    h->capacity = 0;
    h->key = key;
    h->before = before;
    h->alloc = alloc ? alloc : sched_alloc_libc();
}

void heap_init(struct heap *h, heap_before_fn before, const struct sched_alloc *alloc) {
    heap_init_keyed(h, NULL, before, alloc);
}

void heap_free(struct heap *h) {
    for (size_t i = 0; i < h->count; i++)
        h->items[i]->index = HEAP_NOT_IN;
    sched_dealloc(h->alloc, h->items); /* the keys live in the same block */
    h->items = NULL;
    h->keys = NULL;
    h->count = h->capacity = 0;
}

int heap_reserve(struct heap *h, size_t n) {
    if (n <= h->capacity)
        return 0;
    size_t capacity = h->capacity ? h->capacity : 16;
    while (capacity < n)
        capacity *= 2;
    const size_t slot = sizeof h->items[0] + sizeof h->keys[0];
    if (capacity > SIZE_MAX / slot)
        return -ENOMEM;
    /* One block: `capacity` node pointers, then `capacity` keys (a power of two >= 16 pointers
     * keeps the keys 8-byte aligned). realloc keeps the pointers where they were; the keys,
     * which sat right after the old capacity, move up behind the new one. */
    struct heap_node **items = sched_realloc(h->alloc, h->items, capacity * slot);
    if (!items)
        return -ENOMEM;
    int64_t *keys = (int64_t *)(void *)(items + capacity);
    if (h->count)
        memmove(keys, items + h->capacity, h->count * sizeof keys[0]);
    h->items = items;
    h->keys = keys;
    h->capacity = capacity;
    return 0;
}

static int64_t key_of(const struct heap *h, const struct heap_node *n) {
    return h->key ? h->key(n) : 0;
}

/* Does (key_a, a) come before (key_b, b)? The packed keys decide; the owner's before() is asked
 * only on a tie, so most comparisons never read a node. */
static inline bool comes_before(const struct heap *h, int64_t key_a, const struct heap_node *a,
                                int64_t key_b, const struct heap_node *b) {
    return key_a != key_b ? key_a < key_b : h->before(a, b);
}

static void place(struct heap *h, size_t i, struct heap_node *n, int64_t key) {
    h->items[i] = n;
    h->keys[i] = key;
    n->index = i;
}

void heap_sift_up(struct heap *h, size_t i) {
    struct heap_node *moving = h->items[i];
    int64_t key = h->keys[i];
    while (i > 0) {
        size_t parent = (i - 1) / HEAP_ARITY; /* (i-1)/2 in a binary heap */
        if (!comes_before(h, key, moving, h->keys[parent], h->items[parent]))
            break;
        place(h, i, h->items[parent], h->keys[parent]); /* the parent comes down */
        i = parent;
    }
    place(h, i, moving, key);
}

void heap_sift_down(struct heap *h, size_t i) {
    struct heap_node *moving = h->items[i];
    int64_t key = h->keys[i];
    for (;;) {
        size_t first = HEAP_ARITY * i + 1; /* binary: the children are 2i+1 and 2i+2 */
        if (first >= h->count)
            break; /* a leaf */
        size_t end = h->count - first < HEAP_ARITY ? h->count : first + HEAP_ARITY;
        size_t best = first; /* the earlier of the two (of up to HEAP_ARITY, in general) */
        for (size_t c = first + 1; c < end; c++)
            if (comes_before(h, h->keys[c], h->items[c], h->keys[best], h->items[best]))
                best = c;
        if (!comes_before(h, h->keys[best], h->items[best], key, moving))
            break;
        place(h, i, h->items[best], h->keys[best]); /* the child comes up; `moving` sinks */
        i = best;
    }
    place(h, i, moving, key);
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

struct heap_node *heap_pop(struct heap *h) {
    struct heap_node *top = heap_peek(h);
    if (top)
        heap_remove(h, top);
    return top;
}

int heap_remove(struct heap *h, struct heap_node *n) {
    size_t i = n->index;
    if (i == HEAP_NOT_IN || i >= h->count || h->items[i] != n)
        return -EALREADY;
    n->index = HEAP_NOT_IN;
    struct heap_node *last = h->items[--h->count];
    if (last != n) {
        /* The last node fills the hole; it may belong above or below it. */
        place(h, i, last, h->keys[h->count]);
        heap_update(h, last);
    }
    return 0;
}

void heap_update(struct heap *h, struct heap_node *n) {
    size_t i = n->index;
    int64_t key = key_of(h, n);
    h->keys[i] = key; /* the owner may have changed it */
    size_t parent = i > 0 ? (i - 1) / HEAP_ARITY : 0;
    if (i > 0 && comes_before(h, key, n, h->keys[parent], h->items[parent]))
        heap_sift_up(h, i);
    else
        heap_sift_down(h, i);
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
    fprintf(out, "heap: %zu node%s (capacity %zu)\n", h->count, h->count == 1 ? "" : "s",
            h->capacity);
    dump_subtree(h, 0, 1, out, print, ctx);
    fflush(out);
}

bool heap_is_valid(const struct heap *h) {
    for (size_t i = 0; i < h->count; i++) {
        if (h->items[i]->index != i || h->keys[i] != key_of(h, h->items[i]))
            return false;
        if (i == 0)
            continue;
        size_t parent = (i - 1) / HEAP_ARITY;
        if (comes_before(h, h->keys[i], h->items[i], h->keys[parent], h->items[parent]))
            return false;
    }
    return true;
}
