/* uring.h — io_uring through its raw system calls (lesson 18): a submission ring the program
 * fills, a completion ring the kernel fills, both shared memory. An operation (accept, recv,
 * send, timeout, cancel) is a caller-owned struct uring_op; its address is the SQE's user_data,
 * so each completion comes back to the op that asked. The ring's fd is an ordinary loop watcher:
 * readable means "completions are waiting". Linux only; elsewhere uring_open says -ENOSYS.
 *
 * The rule this model imposes: from submission until its completion is harvested, an op and its
 * buffer belong to the kernel. Preparing it again is -EBUSY; closing the ring with ops in flight
 * is -EBUSY; a cancel is itself an op that completes, and so does the op it cancels. */
#ifndef LOOPSCHOOL_URING_H
#define LOOPSCHOOL_URING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop/loop.h"

struct uring;
struct uring_op;
/* Called from inside uring_harvest with op->result set; it may prepare ops (even op itself). */
typedef void (*uring_done_fn)(struct uring_op *op);

enum uring_op_kind {
    URING_NONE,
    URING_ACCEPT,
    URING_RECV,
    URING_SEND,
    URING_TIMEOUT,
    URING_CANCEL
};

struct uring_op {
    const char *name;
    enum uring_op_kind kind;
    bool in_flight; /* true from prepare until its completion is harvested */
    int32_t result; /* the CQE's res: bytes, an fd, or a negative errno (-ECANCELED) */
    int fd;
    void *buf; /* owned by the kernel while in_flight */
    size_t len;
    uint64_t guard;          /* poison check: a send buffer's checksum when it was handed over */
    int64_t timespec[2];     /* a timeout's struct __kernel_timespec, also read by the kernel */
    struct uring_op *target; /* a cancel's target */
    struct list_node node;   /* in the ring's in-flight list */
    struct uring *ring;
    uring_done_fn done;
    void *arg;
};

/* Counted around the calls themselves, so the lesson compares them exactly. */
struct uring_counts {
    unsigned long enters;            /* io_uring_enter system calls */
    unsigned long submitted;         /* SQEs those calls carried */
    unsigned long completed;         /* CQEs harvested */
    unsigned long poison_violations; /* owned buffers found touched (debug poison check) */
};

struct uring {
    int fd;
    unsigned entries; /* SQ size; the CQ is twice that */
    void *sq_map, *cq_map, *sqe_map;
    size_t sq_map_len, cq_map_len, sqe_map_len;
    unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
    unsigned *cq_head, *cq_tail, *cq_mask;
    void *sqes, *cqes;
    unsigned to_submit; /* SQEs written since the last io_uring_enter */
    size_t in_flight;
    struct list_node ops; /* every op in flight */
    bool poison;          /* debug: fill recv buffers with a pattern, checksum send buffers */
    bool harvesting;
    struct uring_counts counts;
    struct loop *loop;
    struct loop_watcher watcher; /* on fd: readable when the completion ring is not empty */
};

/* The byte a poisoned recv buffer is filled with before the kernel gets it. */
#define URING_POISON 0xA5

/* Sets up a ring of `entries` (a power of two, 1..4096) and watches its fd on loop. 0, -EINVAL,
 * or why the kernel refused: -ENOSYS (no io_uring), -EPERM (io_uring_disabled, seccomp),
 * -ENOMEM. uring_unavailable says the refusal in one sentence. */
int uring_open(struct uring *ring, struct loop *loop, unsigned entries);
/* -EBUSY while any op is in flight (cancel them and let the cancellations complete first). */
int uring_close(struct uring *ring);
/* One sentence saying why io_uring cannot be used, for the error uring_open returned. */
const char *uring_unavailable(int error);

/* Marks op idle; call once before its first use. */
void uring_op_init(struct uring_op *op, const char *name, uring_done_fn done, void *arg);

/* Each writes one SQE (no system call yet): 0, -EBUSY (op, or its buffer, is the kernel's),
 * -EINVAL, or -EAGAIN (the submission ring is full: call uring_submit, then retry). */
int uring_prep_accept(struct uring *ring, struct uring_op *op, int listen_fd);
int uring_prep_recv(struct uring *ring, struct uring_op *op, int fd, void *buf, size_t len);
int uring_prep_send(struct uring *ring, struct uring_op *op, int fd, const void *buf, size_t len);
/* Completes with -ETIME after ns, or -ECANCELED. */
int uring_prep_timeout(struct uring *ring, struct uring_op *op, int64_t ns);
/* Asks the kernel to cancel target: cancel completes with 0, -ENOENT (target already done) or
 * -EALREADY (it is running and may still complete); target completes too, with -ECANCELED or
 * its own result. -EALREADY here if target is not in flight. */
int uring_prep_cancel(struct uring *ring, struct uring_op *cancel, struct uring_op *target);

/* Hands every prepared SQE to the kernel in ONE io_uring_enter: the number submitted, or a
 * negative errno. Nothing prepared: 0, and no system call. */
int uring_submit(struct uring *ring);
/* Delivers every completion waiting, then submits what the done callbacks prepared, and again
 * while completions arrive (bounded): the number delivered. The watcher calls it. */
int uring_harvest(struct uring *ring);
/* Blocks in io_uring_enter until at least one completion is waiting (tests and shutdown). */
int uring_wait(struct uring *ring);

/* The ring's sizes, heads and tails, counters and the ops in flight. Flushes. */
void uring_dump(const struct uring *ring, FILE *out);

#endif
