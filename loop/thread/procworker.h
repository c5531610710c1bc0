/* procworker.h — a worker process for work that must not share memory with the loop (lesson
 * 14): Python's ProcessPoolExecutor, with one worker. fork() makes the child; a socketpair (a
 * pipe in each direction) carries each request's bytes to it and the result's bytes back, and
 * the loop watches its end. A worker that dies mid-call ends the call with an error, never a
 * hang: the loop sees end-of-file, reaps the child and says how it died. */
#ifndef LOOPSCHOOL_PROCWORKER_H
#define LOOPSCHOOL_PROCWORKER_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "loop/loop.h"
#include "sched/task/task.h"

enum { PROCWORKER_MAX_BYTES = 65536 }; /* the largest request or result */

/* Runs in the child: reads in_len bytes at `in`, writes at most out_cap bytes at `out`, and
 * returns how many it wrote, or a negative errno. It shares no memory with the parent after the
 * fork: only the returned bytes come back. The child has one thread (fork copies only the
 * caller's), so fn must not wait for a lock another thread of the parent might have held. */
typedef int (*procworker_fn)(const void *in, size_t in_len, void *out, size_t out_cap);

struct procworker {
    struct loop *loop;
    procworker_fn fn;
    const char *name;
    pid_t pid;                   /* 0 once reaped */
    int fd;                      /* the parent's end of the socketpair */
    struct loop_watcher watcher; /* watching fd while a call is in flight */
    struct waiter *waiter;       /* the task awaiting the call in flight, if any */
    void *out;
    size_t out_cap;
    unsigned char *reply; /* status (4 bytes) and result bytes, as they arrive */
    size_t got;
    bool busy;   /* a call is in flight */
    bool broken; /* the child died: every call fails with -EPIPE (Python: BrokenProcessPool) */
    unsigned long calls;
    char why[120]; /* how the child ended, once it has */
};

/* Forks the child, which waits for requests and runs fn on each. Loop's thread. 0, -EINVAL, or
 * the errno of socketpair/fork/malloc. */
int procworker_start(struct procworker *w, struct loop *loop, procworker_fn fn, const char *name);
/* Ends the child (end-of-file on its socket: it finishes its call and exits) and reaps it; a task
 * still awaiting a call is woken with -ECANCELED. 0, or -ECHILD if the child had died. */
int procworker_stop(struct procworker *w);

/* Await one call: send len bytes at `in`, and wait for the result, copied to `out` (at most cap
 * bytes). The result is the number of bytes, fn's negative errno, -EPIPE if the child died
 * (w->why says how), -EBUSY if a call is already in flight, -EMSGSIZE if len or cap is over
 * PROCWORKER_MAX_BYTES. A cancelled caller leaves at once; the child's answer is dropped. */
#define PROCWORKER_CALL(t, w, in, len, out, cap)                                                   \
    TASK_AWAIT(t, procworker_call_begin((t), (w), (in), (len), (out), (cap)))
#define PROCWORKER_CALL_CATCH(t, w, in, len, out, cap)                                             \
    TASK_AWAIT_CATCH(t, procworker_call_begin((t), (w), (in), (len), (out), (cap)))
bool procworker_call_begin(struct task *t, struct procworker *w, const void *in, size_t len,
                           void *out, size_t cap);

/* Pid, state, calls made, and how the child ended. Flushes. */
void procworker_dump(const struct procworker *w, FILE *out);

#endif
