/* uring.c — io_uring with nothing but libc (lesson 18): io_uring_setup, mmap of the two rings
 * and the SQE array, io_uring_enter to submit, and a loop watcher on the ring's fd that harvests
 * completions. Filling the SQEs is uring_prep.c. See uring.h for the ownership rule they
 * enforce. Outside Linux every entry point answers -ENOSYS. */
#ifdef __linux__
#define _DEFAULT_SOURCE /* syscall() */
#endif
#include "loop/net/uring.h"

#include <errno.h>
#include <string.h>

#include "loop/net/uring_internal.h"
#include "sched/container_of.h"

const char *uring_unavailable(int error) {
    switch (error) {
    case -ENOSYS:
        return "io_uring is not available: this kernel (or system) has no io_uring_setup, so "
               "only the readiness model can be shown here.";
    case -EPERM:
    case -EACCES:
        return "io_uring is not available: it is switched off here (kernel.io_uring_disabled or "
               "a seccomp filter refused io_uring_setup), so only the readiness model can be "
               "shown here.";
    default:
        return "io_uring is not available: io_uring_setup failed, so only the readiness model "
               "can be shown here.";
    }
}

void uring_op_init(struct uring_op *op, const char *name, uring_done_fn done, void *arg) {
    memset(op, 0, sizeof *op);
    op->name = name;
    op->done = done;
    op->arg = arg;
    op->fd = -1;
}

#ifndef __linux__

int uring_open(struct uring *ring, struct loop *loop, unsigned entries) {
    (void)loop, (void)entries;
    memset(ring, 0, sizeof *ring);
    ring->fd = -1;
    return -ENOSYS;
}
int uring_close(struct uring *ring) {
    (void)ring;
    return -ENOSYS;
}
int uring_submit(struct uring *ring) {
    (void)ring;
    return -ENOSYS;
}
int uring_harvest(struct uring *ring) {
    (void)ring;
    return -ENOSYS;
}
int uring_wait(struct uring *ring) {
    (void)ring;
    return -ENOSYS;
}
void uring_dump(const struct uring *ring, FILE *out) {
    (void)ring;
    fprintf(out, "uring: not on this system\n");
    fflush(out);
}

#else

#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One io_uring_enter: submits every prepared SQE (and counts what the kernel took), and waits
 * for min_complete completions. How many were submitted, or a negative errno. */
static int ring_enter(struct uring *ring, unsigned min_complete, unsigned flags) {
    ring->counts.enters++;
    long n;
    do
        n = syscall(__NR_io_uring_enter, ring->fd, ring->to_submit, min_complete, flags, NULL, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    ring->to_submit -= (unsigned)n;
    ring->counts.submitted += (unsigned)n;
    return (int)n;
}

static void *map_ring(int fd, size_t len, uint64_t offset) {
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, (off_t)offset);
    return p == MAP_FAILED ? NULL : p;
}

static void unmap_all(struct uring *ring) {
    if (ring->sq_map)
        munmap(ring->sq_map, ring->sq_map_len);
    if (ring->cq_map)
        munmap(ring->cq_map, ring->cq_map_len);
    if (ring->sqe_map)
        munmap(ring->sqe_map, ring->sqe_map_len);
    if (ring->fd >= 0)
        close(ring->fd);
    ring->sq_map = ring->cq_map = ring->sqe_map = NULL;
    ring->fd = -1;
}

static void on_ring_readable(struct loop_watcher *w, unsigned ready) {
    (void)ready;
    uring_harvest(w->arg);
}

int uring_open(struct uring *ring, struct loop *loop, unsigned entries) {
    if (!ring || !loop || entries == 0 || entries > 4096 || (entries & (entries - 1)))
        return -EINVAL;
    memset(ring, 0, sizeof *ring);
    list_init(&ring->ops);
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    /* A completion ring 8x the submission ring: every op in flight must find a CQE slot. */
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 8;
    long fd = syscall(__NR_io_uring_setup, entries, &p);
    if (fd < 0)
        return -errno;
    ring->fd = (int)fd;
    ring->entries = p.sq_entries;
    ring->sq_map_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    ring->cq_map_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    ring->sqe_map_len = p.sq_entries * sizeof(struct io_uring_sqe);
    ring->sq_map = map_ring(ring->fd, ring->sq_map_len, IORING_OFF_SQ_RING);
    ring->cq_map = map_ring(ring->fd, ring->cq_map_len, IORING_OFF_CQ_RING);
    ring->sqe_map = map_ring(ring->fd, ring->sqe_map_len, IORING_OFF_SQES);
    if (!ring->sq_map || !ring->cq_map || !ring->sqe_map) {
        int err = -errno;
        unmap_all(ring);
        return err ? err : -ENOMEM;
    }
    char *sq = ring->sq_map, *cq = ring->cq_map;
    ring->sq_head = (unsigned *)(sq + p.sq_off.head);
    ring->sq_tail = (unsigned *)(sq + p.sq_off.tail);
    ring->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    ring->sq_array = (unsigned *)(sq + p.sq_off.array);
    ring->cq_head = (unsigned *)(cq + p.cq_off.head);
    ring->cq_tail = (unsigned *)(cq + p.cq_off.tail);
    ring->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    ring->cqes = cq + p.cq_off.cqes;
    ring->sqes = ring->sqe_map;
    /* Slot i of the SQE array always holds SQE i: the indirection is never needed here. */
    for (unsigned i = 0; i < p.sq_entries; i++)
        ring->sq_array[i] = i;
    ring->loop = loop;
    loop_watcher_init(&ring->watcher, "io_uring completions");
    int rc = loop_watch_fd(loop, &ring->watcher, ring->fd, LOOP_READABLE, on_ring_readable, ring);
    if (rc < 0)
        unmap_all(ring);
    return rc;
}

int uring_close(struct uring *ring) {
    if (!ring || ring->fd < 0)
        return -EINVAL;
    if (ring->in_flight > 0)
        return -EBUSY; /* the kernel still owns their buffers: cancel, then harvest */
    loop_unwatch(ring->loop, &ring->watcher);
    unmap_all(ring);
    return 0;
}

int uring_submit(struct uring *ring) {
    if (!ring || ring->fd < 0)
        return -EINVAL;
    return ring->to_submit == 0 ? 0 : ring_enter(ring, 0, 0);
}

/* The op is the program's again: check the poison, then tell its owner. */
static void deliver(struct uring *ring, struct uring_op *op, int32_t res) {
    op->in_flight = false;
    op->result = res;
    list_remove(&op->node);
    ring->in_flight--;
    ring->counts.completed++;
    if (ring->poison && op->kind == URING_RECV) {
        size_t got = res > 0 ? (size_t)res : 0;
        for (size_t i = got; i < op->len; i++)
            if (((unsigned char *)op->buf)[i] != URING_POISON) {
                ring->counts.poison_violations++;
                break;
            }
    }
    if (ring->poison && op->kind == URING_SEND && uring_checksum(op->buf, op->len) != op->guard)
        ring->counts.poison_violations++;
    if (op->done)
        op->done(op); /* may free op: not touched after this */
}

int uring_harvest(struct uring *ring) {
    if (!ring || ring->fd < 0)
        return -EINVAL;
    int delivered = 0;
    /* Deliver, submit what the callbacks prepared (one io_uring_enter for all of them), and
     * deliver what that submission completed at once; a few rounds, then let the loop breathe:
     * the fd stays readable while completions wait. */
    for (int round = 0; round < 4; round++) {
        unsigned head = *ring->cq_head;
        unsigned tail = __atomic_load_n(ring->cq_tail, __ATOMIC_ACQUIRE);
        while (head != tail) {
            struct io_uring_cqe *cqe = (struct io_uring_cqe *)ring->cqes + (head & *ring->cq_mask);
            struct uring_op *op = (struct uring_op *)(uintptr_t)cqe->user_data;
            int32_t res = cqe->res;
            head++;
            __atomic_store_n(ring->cq_head, head, __ATOMIC_RELEASE); /* the slot is free again */
            deliver(ring, op, res);
            delivered++;
        }
        if (ring->to_submit == 0 || uring_submit(ring) < 0)
            break;
    }
    return delivered;
}

int uring_wait(struct uring *ring) {
    if (!ring || ring->fd < 0)
        return -EINVAL;
    int n = ring_enter(ring, 1, IORING_ENTER_GETEVENTS);
    return n < 0 ? n : 0;
}

void uring_dump(const struct uring *ring, FILE *out) {
    if (ring->fd < 0) {
        fprintf(out, "uring: closed\n");
        fflush(out);
        return;
    }
    fprintf(out,
            "uring fd %d: %u SQEs, sq head %u tail %u, cq head %u tail %u, %u prepared, "
            "%zu in flight; %lu enters, %lu submitted, %lu completed, %lu poison violations\n",
            ring->fd, ring->entries, *ring->sq_head, *ring->sq_tail, *ring->cq_head, *ring->cq_tail,
            ring->to_submit, ring->in_flight, ring->counts.enters, ring->counts.submitted,
            ring->counts.completed, ring->counts.poison_violations);
    int shown = 0;
    list_for_each(n, &ring->ops) {
        const struct uring_op *op = container_of(n, struct uring_op, node);
        if (shown++ == 8) {
            fprintf(out, "  ...\n");
            break;
        }
        fprintf(out, "  in flight: %s (kind %d, fd %d, %zu bytes owned by the kernel)\n",
                op->name ? op->name : "?", (int)op->kind, op->fd, op->len);
    }
    fflush(out);
}

#endif
