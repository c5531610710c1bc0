/* heap_dump.c — the heap as a debugger and a test see it (lesson 05): heap_dump draws the tree
 * (gdb: `call heap_dump(...)`), heap_is_valid checks every promise sched/heap.c keeps. */
#include "sched/heap.h"

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
        int64_t key = h->key ? h->key(h->items[i]) : 0;
        if (h->items[i]->index != i || h->keys[i].key != key)
            return false;
        if (i > 0 && heap_slot_before(h, i, (i - 1) / HEAP_ARITY))
            return false;
    }
    return true;
}
