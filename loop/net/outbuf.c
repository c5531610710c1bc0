/* outbuf.c — the output buffers' free list (lesson 12); see outbuf.h. A free buffer stores the
 * pointer to the next free one in its own first bytes: the list costs no memory of its own. */
#include "loop/net/outbuf.h"

#include <string.h>

void outbuf_pool_init(struct outbuf_pool *p, const struct sched_alloc *alloc, size_t keep) {
    *p = (struct outbuf_pool){.alloc = alloc ? alloc : sched_alloc_libc(), .keep = keep};
}

unsigned char *outbuf_take(struct outbuf_pool *p) {
    unsigned char *buf = p->free_list;
    if (buf) {
        memcpy(&p->free_list, buf, sizeof p->free_list); /* memcpy: the bytes may be unaligned */
        p->free_count--;
    } else {
        buf = sched_alloc(p->alloc, OUTBUF_SIZE);
        if (!buf)
            return NULL;
        p->allocations++;
    }
    if (++p->lent > p->peak_lent)
        p->peak_lent = p->lent;
    return buf;
}

void outbuf_give(struct outbuf_pool *p, unsigned char *buf) {
    if (!buf)
        return;
    p->lent--;
    if (p->free_count >= p->keep) {
        sched_dealloc(p->alloc, buf);
        return;
    }
    memcpy(buf, &p->free_list, sizeof p->free_list);
    p->free_list = buf;
    p->free_count++;
}

void outbuf_pool_release(struct outbuf_pool *p) {
    while (p->free_list) {
        unsigned char *buf = p->free_list;
        memcpy(&p->free_list, buf, sizeof p->free_list);
        sched_dealloc(p->alloc, buf);
    }
    p->free_count = 0;
}

void outbuf_pool_dump(const struct outbuf_pool *p, FILE *out) {
    if (!p)
        fprintf(out, "outbuf_pool: NULL\n");
    else
        fprintf(out, "outbuf_pool: %zu lent (peak %zu), %zu free of %zu kept; %llu allocations\n",
                p->lent, p->peak_lent, p->free_count, p->keep, p->allocations);
    fflush(out);
}
