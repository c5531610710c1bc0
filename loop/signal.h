/* signal.h — stopping a loop program on SIGINT/SIGTERM with the self-pipe trick (lesson 02).
 * The handler only writes one byte into a pipe the loop watches; the program reacts later, from an
 * ordinary callback where it may do anything (a signal handler may call almost nothing). */
#ifndef LOOPSCHOOL_SIGNAL_H
#define LOOPSCHOOL_SIGNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "loop/loop.h"

struct loop_signal;
/* Runs from the loop, once per signal byte read: signo is SIGINT or SIGTERM. */
typedef void (*loop_signal_fn)(struct loop_signal *s, int signo);

/* Caller-owned. Only one may be open at a time in a process (see signal.c for why). */
struct loop_signal {
    struct loop_watcher watcher; /* on the pipe's read end */
    struct loop *loop;
    int read_fd, write_fd;                        /* the self-pipe; -1 while closed */
    struct sigaction previous_int, previous_term; /* restored by loop_signal_close */
    loop_signal_fn callback;
    void *arg;
    unsigned received; /* signals seen by the callback so far */
    int last_signo;
    bool open;
};

/* Creates the pipe, watches its read end and installs the SIGINT and SIGTERM handlers.
 * -EINVAL (NULL loop, s or callback), -EBUSY if another loop_signal is already open, or the
 * errno of pipe()/sigaction()/loop_watch_fd. Nothing is left installed on failure. */
int loop_signal_open(struct loop *loop, struct loop_signal *s, loop_signal_fn callback, void *arg);
/* Restores the previous handlers, unwatches and closes the pipe. 0, or -EALREADY. May be called
 * from the callback itself. */
int loop_signal_close(struct loop_signal *s);
/* Whether this process has a loop_signal open now. */
bool loop_signal_installed(void);
void loop_signal_dump(const struct loop_signal *s, FILE *out);

#endif
