/* uring_prep.c — filling io_uring's submission queue (lesson 18): each uring_prep_* claims the
 * next free SQE for an op, fills it, and publishes it for the next io_uring_enter (uring.c).
 * Claiming is where the ownership rule is checked: an op in flight, or (with poison) a buffer
 * the kernel still owns, is refused with -EBUSY. Outside Linux every call answers -ENOSYS. */
#include "loop/net/uring.h"

#include <errno.h>

#ifndef __linux__

int uring_prep_accept(struct uring *r, struct uring_op *op, int fd) {
    (void)r, (void)op, (void)fd;
    return -ENOSYS;
}
int uring_prep_recv(struct uring *r, struct uring_op *op, int fd, void *b, size_t n) {
    (void)r, (void)op, (void)fd, (void)b, (void)n;
    return -ENOSYS;
}
int uring_prep_send(struct uring *r, struct uring_op *op, int fd, const void *b, size_t n) {
    (void)r, (void)op, (void)fd, (void)b, (void)n;
    return -ENOSYS;
}
int uring_prep_timeout(struct uring *r, struct uring_op *op, int64_t ns) {
    (void)r, (void)op, (void)ns;
    return -ENOSYS;
}
int uring_prep_cancel(struct uring *r, struct uring_op *c, struct uring_op *t) {
    (void)r, (void)c, (void)t;
    return -ENOSYS;
}
#else

#include <linux/io_uring.h>
#include <string.h>
#include <sys/socket.h>

#include "loop/net/uring_internal.h"
#include "sched/container_of.h"

/* Debug only: is [buf, buf+len) part of a buffer some op in flight owns? */
static bool buffer_owned(const struct uring *ring, const void *buf, size_t len) {
    const char *b = buf;
    list_for_each(n, &ring->ops) {
        const struct uring_op *op = container_of(n, struct uring_op, node);
        const char *o = op->buf;
        if (o && b < o + op->len && o < b + len)
            return true;
    }
    return false;
}

/* The next free SQE, zeroed, claimed for op; submits first if the ring is full. */
static struct io_uring_sqe *claim(struct uring *ring, struct uring_op *op, const void *buf,
                                  size_t len) {
    if (op->in_flight || (ring->poison && buf && buffer_owned(ring, buf, len))) {
        errno = EBUSY;
        return NULL;
    }
    unsigned tail = *ring->sq_tail;
    if (tail - __atomic_load_n(ring->sq_head, __ATOMIC_ACQUIRE) >= ring->entries) {
        if (uring_submit(ring) < 0 ||
            tail - __atomic_load_n(ring->sq_head, __ATOMIC_ACQUIRE) >= ring->entries) {
            errno = EAGAIN;
            return NULL;
        }
    }
    struct io_uring_sqe *sqe = (struct io_uring_sqe *)ring->sqes + (tail & *ring->sq_mask);
    memset(sqe, 0, sizeof *sqe);
    sqe->user_data = (uint64_t)(uintptr_t)op;
    op->ring = ring;
    op->in_flight = true;
    op->result = 0;
    op->buf = (void *)(uintptr_t)buf;
    op->len = len;
    list_push_back(&ring->ops, &op->node);
    ring->in_flight++;
    return sqe;
}

/* Publishes the SQE: the kernel sees it at the next io_uring_enter. */
static int publish(struct uring *ring) {
    __atomic_store_n(ring->sq_tail, *ring->sq_tail + 1, __ATOMIC_RELEASE);
    ring->to_submit++;
    return 0;
}

int uring_prep_accept(struct uring *ring, struct uring_op *op, int listen_fd) {
    if (!ring || !op || listen_fd < 0)
        return -EINVAL;
    struct io_uring_sqe *sqe = claim(ring, op, NULL, 0);
    if (!sqe)
        return -errno;
    op->kind = URING_ACCEPT;
    op->fd = listen_fd;
    sqe->opcode = IORING_OP_ACCEPT;
    sqe->fd = listen_fd;
    return publish(ring);
}

static int prep_io(struct uring *ring, struct uring_op *op, int fd, const void *buf, size_t len,
                   enum uring_op_kind kind) {
    if (!ring || !op || fd < 0 || !buf || len == 0 || len > UINT32_MAX)
        return -EINVAL;
    struct io_uring_sqe *sqe = claim(ring, op, buf, len);
    if (!sqe)
        return -errno;
    op->kind = kind;
    op->fd = fd;
    if (ring->poison && kind == URING_RECV)
        memset(op->buf, URING_POISON, len); /* what is not received must still read A5 */
    if (ring->poison && kind == URING_SEND)
        op->guard =
            uring_checksum(buf, len); /* what is sent must not change while the kernel has it */
    sqe->opcode = kind == URING_RECV ? IORING_OP_RECV : IORING_OP_SEND;
    sqe->fd = fd;
    sqe->addr = (uint64_t)(uintptr_t)buf;
    sqe->len = (uint32_t)len;
    sqe->msg_flags = kind == URING_SEND ? MSG_NOSIGNAL : 0;
    return publish(ring);
}

int uring_prep_recv(struct uring *ring, struct uring_op *op, int fd, void *buf, size_t len) {
    return prep_io(ring, op, fd, buf, len, URING_RECV);
}

int uring_prep_send(struct uring *ring, struct uring_op *op, int fd, const void *buf, size_t len) {
    return prep_io(ring, op, fd, buf, len, URING_SEND);
}

int uring_prep_timeout(struct uring *ring, struct uring_op *op, int64_t ns) {
    if (!ring || !op || ns < 0)
        return -EINVAL;
    /* The timespec lives in the op: the kernel reads it after this call returns. */
    struct io_uring_sqe *sqe = claim(ring, op, NULL, 0);
    if (!sqe)
        return -errno;
    op->kind = URING_TIMEOUT;
    op->timespec[0] = ns / 1000000000;
    op->timespec[1] = ns % 1000000000;
    sqe->opcode = IORING_OP_TIMEOUT;
    sqe->fd = -1;
    sqe->addr = (uint64_t)(uintptr_t)op->timespec;
    sqe->len = 1;
    return publish(ring);
}

int uring_prep_cancel(struct uring *ring, struct uring_op *cancel, struct uring_op *target) {
    if (!ring || !cancel || !target || cancel == target)
        return -EINVAL;
    if (!target->in_flight || target->ring != ring)
        return -EALREADY;
    struct io_uring_sqe *sqe = claim(ring, cancel, NULL, 0);
    if (!sqe)
        return -errno;
    cancel->kind = URING_CANCEL;
    cancel->target = target;
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = -1;
    sqe->addr = (uint64_t)(uintptr_t)target; /* the target's user_data */
    return publish(ring);
}

#endif
