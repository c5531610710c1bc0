/* heap.c — the generic index-tracking d-ary min-heap (lesson 05). Every move writes the node's
 * new slot back into the node, which is what makes remove and update O(log n); a keyed heap
 * compares packed keys (and, when they are equal, packed ties), so sifting never reads a node. */
#include "sched/heap.h"

#include "sched/hints.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

void heap_init(struct heap *h, heap_before_fn before, const struct sched_alloc *alloc) {
    h->items = NULL;
    h->keys = NULL;
    h->count = 0;
    h->capacity = 0;
    h->pushes = 0;
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
    sched_dealloc(h->alloc, h->items); /* the keys live in the same block */
    h->items = NULL;
    h->keys = NULL;
    h->count = h->capacity = 0;
}

/* The cache line the key pairs are laid out for (64 bytes on every current x86 and ARM core). */
enum { HEAP_LINE = 64 };

/* Where the pairs go in a block whose first `capacity` slots are node pointers: after them,
 * pushed on so that slot 1 starts a cache line. The children of slot i are 4i+1 .. 4i+4, so
 * then they are always one whole line (4 pairs of 16 bytes): a level of a sift reads one line,
 * not two halves of two. */
static struct heap_key *keys_after(struct heap_node **items, size_t capacity) {
    char *end = (char *)(items + capacity);
    size_t pad = (HEAP_LINE - ((uintptr_t)end + sizeof(struct heap_key)) % HEAP_LINE) % HEAP_LINE;
    return (struct heap_key *)(void *)(end + pad);
}

int heap_reserve(struct heap *h, size_t n) {
    if (n <= h->capacity)
        return 0;
    size_t capacity = h->capacity ? h->capacity : 16;
    while (capacity < n)
        capacity *= 2;
    const size_t slot = sizeof h->items[0] + sizeof h->keys[0];
    if (capacity > (SIZE_MAX - HEAP_LINE) / slot)
        return -ENOMEM;
    /* One block: `capacity` node pointers, then the pairs (see keys_after). realloc keeps the
     * pointers where they were; the pairs, which sat behind the old capacity, move up behind
     * the new one, to their new alignment. */
    size_t old_offset = h->items ? (size_t)((char *)h->keys - (char *)h->items) : 0;
    struct heap_node **items = sched_realloc(h->alloc, h->items, capacity * slot + HEAP_LINE);
    if (!items)
        return -ENOMEM;
    struct heap_key *keys = keys_after(items, capacity);
    if (h->count)
        memmove(keys, (char *)items + old_offset, h->count * sizeof keys[0]);
    h->items = items;
    h->keys = keys;
    h->capacity = capacity;
    return 0;
}

static int64_t key_of(const struct heap *h, const struct heap_node *n) {
    return h->key ? h->key(n) : 0;
}

/* The pair a push gives n: its key, and the next number as its tie. */
static struct heap_key numbered(struct heap *h, const struct heap_node *n) {
    return (struct heap_key){key_of(h, n), h->pushes++};
}

/* Does the node in slot i come before `n` with key k? A keyed heap compares the packed keys,
 * then the packed ties when the keys are equal; only a heap without keys reads the nodes. */
static inline bool slot_before_key(const struct heap *h, size_t i, const struct heap_node *n,
                                   struct heap_key k) {
    if (!h->key)
        return h->before(h->items[i], n);
    return h->keys[i].key != k.key ? h->keys[i].key < k.key : h->keys[i].tie < k.tie;
}

/* The same question asked the other way round: does `n` with key k come before slot i? */
static inline bool key_before_slot(const struct heap *h, const struct heap_node *n,
                                   struct heap_key k, size_t i) {
    if (!h->key)
        return h->before(n, h->items[i]);
    return k.key != h->keys[i].key ? k.key < h->keys[i].key : k.tie < h->keys[i].tie;
}

static inline struct heap_key slot_key(const struct heap *h, size_t i) {
    return h->keys[i];
}

bool heap_slot_before(const struct heap *h, size_t i, size_t j) {
    return slot_before_key(h, i, h->items[j], slot_key(h, j));
}

static void place(struct heap *h, size_t i, struct heap_node *n, struct heap_key k) {
    h->items[i] = n;
    h->keys[i] = k;
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

/* Does pair a come before pair b? Without branches: which child of a slot comes first is as
 * good as random, and a mispredicted branch per child cost more than the arithmetic. */
static inline bool pair_before(struct heap_key a, struct heap_key b) {
    return (a.key < b.key) | ((a.key == b.key) & (a.tie < b.tie));
}

/* Starts loading slots from .. end - 1 of both arrays, one cache line at a time. */
static inline void prefetch_slots(const struct heap *h, size_t from, size_t end) {
    const size_t pairs_per_line = HEAP_LINE / sizeof h->keys[0];
    const size_t items_per_line = HEAP_LINE / sizeof h->items[0];
    for (size_t s = from; s < end; s += pairs_per_line)
        HINT_PREFETCH(&h->keys[s]);
    for (size_t s = from; s < end; s += items_per_line)
        HINT_PREFETCH(&h->items[s]);
    HINT_PREFETCH(&h->items[end - 1]); /* the pointers need not start a line */
}

/* The keyed heap's sift down, in two passes (Floyd's): first the hole at i goes all the way
 * down, the earliest child moving up into it at each level, without comparing with `moving`;
 * then `moving` climbs back up from that leaf to its place. A node sifted down after a pop
 * came from the last slot, so it belongs near the bottom: the climb is usually a step or none,
 * and each level costs HEAP_ARITY - 1 comparisons instead of HEAP_ARITY. The arrays are in
 * locals: the stores to ->index could alias h's fields as far as the compiler knows. */
static void sift_down_keyed(struct heap *h, size_t i) {
    struct heap_node **items = h->items;
    struct heap_key *keys = h->keys;
    const size_t count = h->count;
    const bool prefetch = count >= HEAP_PREFETCH_FROM;
    struct heap_node *moving = items[i];
    const struct heap_key key = keys[i];
    size_t hole = i;
    for (;;) {
        size_t first = HEAP_ARITY * hole + 1;
        if (first >= count)
            break; /* a leaf */
        size_t end = count - first < HEAP_ARITY ? count : first + HEAP_ARITY;
        /* Whichever child wins, the next level reads its children: among the grandchildren.
         * Asking for all of them now, while this level is compared, overlaps the trips to
         * memory that would otherwise come one after the other, one per level. */
        size_t grandchild = HEAP_ARITY * first + 1;
        if (prefetch && grandchild < count)
            prefetch_slots(h, grandchild,
                           count - grandchild < HEAP_ARITY * HEAP_ARITY
                               ? count
                               : grandchild + HEAP_ARITY * HEAP_ARITY);
        size_t best = first; /* the earliest of up to HEAP_ARITY children */
        for (size_t c = first + 1; c < end; c++)
            best = pair_before(keys[c], keys[best]) ? c : best;
        items[hole] = items[best]; /* the child comes up */
        keys[hole] = keys[best];
        items[hole]->index = hole;
        hole = best;
    }
    while (hole > i) { /* the climb back */
        size_t parent = (hole - 1) / HEAP_ARITY;
        if (!pair_before(key, keys[parent]))
            break;
        items[hole] = items[parent]; /* the parent comes down */
        keys[hole] = keys[parent];
        items[hole]->index = hole;
        hole = parent;
    }
    items[hole] = moving;
    keys[hole] = key;
    moving->index = hole;
}

void heap_sift_down(struct heap *h, size_t i) {
    if (h->key) {
        sift_down_keyed(h, i);
        return;
    }
    struct heap_node *moving = h->items[i];
    struct heap_key key = slot_key(h, i); /* key 0 here, but the tie is kept, as heap.h says */
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
        place(h, i, h->items[best], slot_key(h, best)); /* the child comes up */
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
    place(h, h->count, n, numbered(h, n));
    h->count++;
    heap_sift_up(h, n->index);
    return 0;
}

int heap_append(struct heap *h, struct heap_node *n) {
    if (heap_node_queued(n))
        return -EEXIST;
    int err = heap_reserve(h, h->count + 1);
    if (err)
        return err;
    place(h, h->count, n, numbered(h, n)); /* out of order until heap_update(n) */
    h->count++;
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
    h->keys[n->index].key = key_of(h, n); /* the owner may have changed it */
    resettle(h, n->index);
}

void heap_requeue(struct heap *h, struct heap_node *n) {
    h->keys[n->index] = numbered(h, n);
    resettle(h, n->index);
}
