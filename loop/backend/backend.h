/* backend.h — the one interface behind which the loop asks "which fds are ready?": select
 * (lesson 02), poll (lesson 03), a scripted one for tests, and epoll (lesson 16, Linux only). A
 * backend is a table of functions plus a state struct that starts with struct backend. */
#ifndef LOOPSCHOOL_BACKEND_H
#define LOOPSCHOOL_BACKEND_H

#include <stdint.h>
#include <stdio.h>

#include "sched/alloc.h"

/* Interest and readiness bits. BACKEND_HANGUP is folded into READABLE by every backend (the
 * reader drains what is left, then reads end-of-file); BACKEND_INVALID means the fd is not open
 * at all (poll's POLLNVAL): the loop unwatches it rather than spin on it. */
enum {
    BACKEND_READABLE = 1u << 0,
    BACKEND_WRITABLE = 1u << 1,
    BACKEND_INVALID = 1u << 2,
};

/* One fd the backend found ready, and how: READABLE | WRITABLE | INVALID. */
struct backend_ready {
    int fd;
    unsigned readiness;
};

struct backend_ops;

/* The common head of every backend's state. */
struct backend {
    const struct backend_ops *ops;
    const struct sched_alloc *alloc;
    char why[160]; /* the reason for the last refusal, in words (loop_last_error shows it) */
    /* The work counters lesson 16 reads: calls into the kernel's wait, and the fds those calls
     * were handed and scanned (select and poll: every fd watched) or, for epoll, which keeps its
     * interest list in the kernel, the ready fds it handed back. Totals since new. */
    uint64_t kernel_calls;
    uint64_t kernel_fds;
};

struct backend_ops {
    const char *name;
    /* The finest timeout it can express: the loop rounds every wait UP to a multiple of it. */
    int64_t resolution_ns;
    int (*new)(struct backend **out, const struct sched_alloc *alloc);
    /* Interest in fd (READABLE|WRITABLE, at least one). The fd must not be watched already.
     * 0, or a negative errno with b->why filled: -EBADF for a negative fd; -EEXIST if it is
     * watched already; -EINVAL for bad interest bits; select gives -ERANGE for fd >= FD_SETSIZE;
     * -ENOMEM. set_interest: the same checks, and -ENOENT if fd is not watched. */
    int (*watch)(struct backend *b, int fd, unsigned interest);
    int (*set_interest)(struct backend *b, int fd, unsigned interest);
    /* 0, or -ENOENT if fd was not watched. */
    int (*unwatch)(struct backend *b, int fd);
    /* Waits at most timeout_ns (-1: until something is ready; 0: just look), retrying EINTR with
     * the time that is left. Fills out[0..n) with ready fds, n <= max, and returns n, or a
     * negative errno. */
    int (*wait)(struct backend *b, int64_t timeout_ns, struct backend_ready *out, int max);
    void (*free)(struct backend *b);
    /* What it watches, in its own terms (fd_set bits, the pollfd array...), flushed. */
    void (*dump)(const struct backend *b, FILE *out);
};

extern const struct backend_ops backend_select;
extern const struct backend_ops backend_poll;
extern const struct backend_ops backend_script;
#ifdef __linux__
/* Lesson 16: epoll, level-triggered (the default backend on Linux), and its edge-triggered
 * variant, whose readers must read until EAGAIN. Only where epoll exists. */
extern const struct backend_ops backend_epoll;
extern const struct backend_ops backend_epoll_edge;
#endif

/* The backend a loop gets when its config names none: epoll where it exists, else poll. */
const struct backend_ops *backend_default(void);

/* Finds a backend by name ("select", "poll", "epoll", "epoll-edge", "script"); NULL if unknown
 * (or not on this system). */
const struct backend_ops *backend_by_name(const char *name);

/* The scripted backend, for tests: each wait returns the next answer the test queued (even if
 * the fds are not watched: the loop must cope), and records the timeout it was asked for. With
 * no answer left it returns 0 ready fds, or -EDEADLK if asked to block forever (nothing could ever
 * wake it). watch/unwatch only keep a set, so any fd number works. */
int backend_script_add(struct backend *b, const struct backend_ready *ready, int n);
/* The timeouts of every wait so far, oldest first. */
int backend_script_timeouts(const struct backend *b, const int64_t **timeouts);

/* ---- shared by the backends' own files (backend.c) ---------------------------------------- */

/* Fills b->why (printf-style) and returns err, so a refusal is one line: return
 * backend_refuse(b, -EBADF, "...", fd). */
int backend_refuse(struct backend *b, int err, const char *fmt, ...);
/* The checks every watch/set_interest makes: -EBADF for a negative fd, -EINVAL for no interest bits
 * or bits other than READABLE|WRITABLE (each with b->why filled); 0 if fine. */
int backend_check_interest(struct backend *b, int fd, unsigned interest);
/* ns in units of unit_ns, rounded UP (a wait may end late, never early); ns >= 0. */
int64_t backend_ns_to_units(int64_t ns, int64_t unit_ns);
/* The one wait path: checks the arguments (-EINVAL), then calls once(b, timeout, out, max) and,
 * each time it returns -EINTR, calls it again with the time that is left (CLOCK_MONOTONIC). */
int backend_wait_retrying(struct backend *b, int64_t timeout_ns,
                          int (*once)(struct backend *b, int64_t timeout_ns,
                                      struct backend_ready *out, int max),
                          struct backend_ready *out, int max);

#endif
