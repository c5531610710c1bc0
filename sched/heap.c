/* heap.c — the generic index-tracking binary min-heap (lesson 05). Every move writes the node's
 * new slot back into the node, which is what makes remove and update O(log n). */
#include "sched/heap.h"

#include <errno.h>
#include <stdint.h>

void heap_init(struct heap *h, heap_before_fn before, const struct sched_alloc *alloc) {
    h->items = NULL;
    h->count = 0;
    h->capacity = 0;
    h->before = before;
    h->alloc = alloc ? alloc : sched_alloc_libc();
}

void heap_free(struct heap *h) {
    for (size_t i = 0; i < h->count; i++)
        h->items[i]->index = HEAP_NOT_IN;
    sched_free(h->alloc, h->items);
    h->items = NULL;
    h->count = h->capacity = 0;
}

int heap_reserve(struct heap *h, size_t n) {
    if (n <= h->capacity)
        return 0;
    size_t capacity = h->capacity ? h->capacity : 16;
    while (capacity < n)
        capacity *= 2;
    if (capacity > SIZE_MAX / sizeof h->items[0])
        return -ENOMEM;
    struct heap_node **items = sched_realloc(h->alloc, h->items, capacity * sizeof items[0]);
    if (!items)
        return -ENOMEM;
    h->items = items;
    h->capacity = capacity;
    return 0;
}

static void place(struct heap *h, size_t i, struct heap_node *n) {
    h->items[i] = n;
    n->index = i;
}

void heap_sift_up(struct heap *h, size_t i) {
    struct heap_node *moving = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!h->before(moving, h->items[parent]))
            break;
        place(h, i, h->items[parent]); /* the parent comes down; `moving` keeps rising */
        i = parent;
    }
    place(h, i, moving);
}

void heap_sift_down(struct heap *h, size_t i) {
    struct heap_node *moving = h->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->count)
            break;
        if (child + 1 < h->count && h->before(h->items[child + 1], h->items[child]))
            child++; /* the earlier of the two children */
        if (!h->before(h->items[child], moving))
            break;
        place(h, i, h->items[child]); /* the child comes up; `moving` keeps sinking */
        i = child;
    }
    place(h, i, moving);
}

int heap_push(struct heap *h, struct heap_node *n) {
    if (heap_node_queued(n))
        return -EEXIST;
    int err = heap_reserve(h, h->count + 1);
    if (err)
        return err;
    place(h, h->count++, n);
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
        place(h, i, last);
        heap_update(h, last);
    }
    return 0;
}

void heap_update(struct heap *h, struct heap_node *n) {
    size_t i = n->index;
    if (i > 0 && h->before(n, h->items[(i - 1) / 2]))
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
    dump_subtree(h, 2 * i + 1, depth + 1, out, print, ctx);
    dump_subtree(h, 2 * i + 2, depth + 1, out, print, ctx);
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
        if (h->items[i]->index != i)
            return false;
        if (i > 0 && h->before(h->items[i], h->items[(i - 1) / 2]))
            return false;
    }
    return true;
}
