/* sigdump.h — "what are you doing?" for a program that seems stuck (lesson 15): on SIGUSR1 the
 * task dump is printed, and the loop goes on. As loop/signal.h does for SIGINT, the handler only
 * writes a byte into a self-pipe; the dump runs later from an ordinary callback, where printing
 * is allowed. The `kill -USR1 <pid>` answer to py-spy dump. */
#ifndef LOOPSCHOOL_OBSERVE_SIGDUMP_H
#define LOOPSCHOOL_OBSERVE_SIGDUMP_H

#include <signal.h>
#include <stdio.h>

#include "loop/loop.h"
#include "loop/observe/tasks.h"

struct observe_sigdump {
    struct loop_watcher watcher; /* on the pipe's read end */
    struct loop *loop;
    const struct observe_tasks *tasks; /* may be NULL: no wait durations, no chains */
    FILE *out;
    int read_fd, write_fd; /* -1 while closed */
    struct sigaction previous;
    unsigned dumps; /* dumps printed so far */
};

/* Installs the SIGUSR1 handler and watches the pipe. out NULL means stderr. -EINVAL, -EBUSY if
 * one is open already in this process (a signal's handler is process-wide), or an errno. */
int observe_sigdump_open(struct observe_sigdump *d, struct loop *loop,
                         const struct observe_tasks *tasks, FILE *out);
/* Restores the previous handler, unwatches and closes the pipe. 0, or -EALREADY. */
int observe_sigdump_close(struct observe_sigdump *d);
/* Open or closed, its pipe, and how many dumps it printed. Flushes. */
void observe_sigdump_dump(const struct observe_sigdump *d, FILE *out);

#endif
