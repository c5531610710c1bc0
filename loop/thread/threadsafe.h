/* threadsafe.h — loop_call_soon_threadsafe, the one loop function another thread may call
 * (lesson 14). Posts go into a locked inbox, and a wake-up descriptor the loop watches pulls the
 * loop out of its wait; the loop's thread then moves the inbox onto its ready queue. Every other
 * loop function belongs to the loop's thread (loop.h says which ones debug builds check). */
#ifndef LOOPSCHOOL_THREADSAFE_H
#define LOOPSCHOOL_THREADSAFE_H

#include <stdbool.h>
#include <stdio.h>

#include "loop/loop.h"

/* Loop's thread. Makes the loop's inbox and its wake-up descriptor (an eventfd, else a pipe;
 * use_pipe forces the pipe). 0, also if it exists already; -ENOMEM or the errno of eventfd/pipe.
 * loop_free frees it. */
int loop_threadsafe_enable(struct loop *loop, bool use_pipe);

/* ANY thread. Queues r to run fn(arg) on the loop's thread in a coming tick, and wakes the loop
 * if it waits: at most one write per wake-up, however many posts arrive before the loop drains
 * them. r is the caller's and must not be posted again before its callback has started. 0;
 * -EINVAL (NULL argument, or no loop_threadsafe_enable yet); -ENOMEM (the inbox could not grow). */
int loop_call_soon_threadsafe(struct loop *loop, struct runnable *r, runnable_fn fn, void *arg);

/* Loop's thread. While at least one hold is taken, the loop watches its wake-up descriptor, and
 * so loop_run does not return for lack of work: a post is expected (libuv's uv_ref). The
 * executor holds the loop for each job in flight. Each hold also reserves room in the inbox for
 * one post, so the post it stands for cannot fail for lack of memory. Posts made with no hold taken
 * wait in the inbox until the next hold. 0, -EINVAL without loop_threadsafe_enable, or
 * loop_watch_fd's error. */
int loop_threadsafe_hold(struct loop *loop);
void loop_threadsafe_release(struct loop *loop);

/* Loop's thread. Moves every post in the inbox onto the ready queue now; returns how many. */
size_t loop_threadsafe_drain(struct loop *loop);

/* Posts, drains, wake-ups written, holds, and what waits in the inbox. Flushes. */
void loop_threadsafe_dump(struct loop *loop, FILE *out);

#endif
