/* uring_internal.h — what uring.c and uring_prep.c share and nobody else needs (lesson 18). */
#ifndef LOOPSCHOOL_URING_INTERNAL_H
#define LOOPSCHOOL_URING_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a over a send's buffer: prepared, then checked at completion (poison mode), it shows a
 * program that wrote into a buffer the kernel owned. */
static inline uint64_t uring_checksum(const void *buf, size_t len) {
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ ((const unsigned char *)buf)[i]) * 1099511628211u;
    return h;
}

#endif
