/* outbuf.h — output buffers lent to streams only while bytes wait for the kernel (lesson 12). An
 * idle connection holds no buffer at all; a few free ones are kept on a list, so a busy server
 * does not call the allocator on every short write. */
#ifndef LOOPSCHOOL_OUTBUF_H
#define LOOPSCHOOL_OUTBUF_H

#include <stddef.h>
#include <stdio.h>

#include "sched/alloc.h"

/* Every buffer is this big: the stream's ring (stream.h says why 16 KiB). */
enum { OUTBUF_SIZE = 16384 };

/* Caller-owned. Read the counters, never write them. */
struct outbuf_pool {
    const struct sched_alloc *alloc;
    void *free_list;   /* free buffers, linked through their first bytes */
    size_t free_count; /* on the list now */
    size_t keep;       /* the most kept on the list; more are given back to the allocator */
    size_t lent;       /* held by streams now */
    size_t peak_lent;
    unsigned long long allocations; /* times the allocator was asked: the free list's saving */
};

/* keep: how many free buffers to hold on to (0 gives every one back at once). */
void outbuf_pool_init(struct outbuf_pool *p, const struct sched_alloc *alloc, size_t keep);
/* A buffer of OUTBUF_SIZE bytes (contents undefined), or NULL when the allocator refuses. */
unsigned char *outbuf_take(struct outbuf_pool *p);
/* Returns a buffer taken from p. NULL is ignored. */
void outbuf_give(struct outbuf_pool *p, unsigned char *buf);
/* Frees the buffers on the free list (those still lent stay the borrowers'). */
void outbuf_pool_release(struct outbuf_pool *p);
/* One line: lent, free, kept, allocations. Flushes. */
void outbuf_pool_dump(const struct outbuf_pool *p, FILE *out);

#endif
