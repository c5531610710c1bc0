/* alloc.c — the default allocator (libc) behind struct sched_alloc; see alloc.h. Lesson 08
 * replaces it with a counting one. */
#include "sched/alloc.h"

#include <stdlib.h>

static void *libc_resize(void *ctx, void *ptr, size_t size) {
    (void)ctx;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, size);
}

/* const: a table, not state, so two loops in one process never share anything mutable. */
static const struct sched_alloc libc_allocator = {libc_resize, NULL};

const struct sched_alloc *sched_alloc_libc(void) {
    return &libc_allocator;
}

void *sched_alloc(const struct sched_alloc *a, size_t size) {
    return size ? a->resize(a->ctx, NULL, size) : NULL;
}

void *sched_realloc(const struct sched_alloc *a, void *ptr, size_t size) {
    return a->resize(a->ctx, ptr, size);
}

void sched_dealloc(const struct sched_alloc *a, void *ptr) {
    if (ptr)
        a->resize(a->ctx, ptr, 0);
}
