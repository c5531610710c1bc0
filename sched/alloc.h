/* alloc.h — the one allocator hook loopschool's growing arrays go through (lesson 08 counts its
 * calls to prove that spawning a task allocates nothing). A program may replace it, as libuv lets
 * a program replace malloc. The core never allocates per operation; only arrays grow. (Lesson
 * 12's echo server allocates a connection when it accepts one, and an output ring while bytes
 * wait: both where the caller can be told -ENOMEM, never inside a wake-up.) */
#ifndef LOOPSCHOOL_ALLOC_H
#define LOOPSCHOOL_ALLOC_H

#include <stddef.h>

/* realloc with a context: resize(ctx, NULL, n) allocates, resize(ctx, p, 0) frees and returns
 * NULL, anything else resizes. One function instead of three keeps a counting wrapper tiny. */
struct sched_alloc {
    void *(*resize)(void *ctx, void *ptr, size_t size);
    void *ctx;
};

/* libc's realloc/free. */
const struct sched_alloc *sched_alloc_libc(void);

/* Shorthands that read like malloc, realloc and free (dealloc: `_free` names freeing an
 * object, as loop_free does). */
void *sched_alloc(const struct sched_alloc *a, size_t size);
void *sched_realloc(const struct sched_alloc *a, void *ptr, size_t size);
void sched_dealloc(const struct sched_alloc *a, void *ptr);

#endif
