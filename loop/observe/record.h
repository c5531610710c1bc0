/* record.h — the tick recorder (the tick viewer; lessons 02, 04, 05, 08, 09, 10 use it through
 * --record): an observer that writes every step of every tick as text lines into a bounded
 * buffer, for a page to replay. Not attached, it costs nothing. */
#ifndef LOOPSCHOOL_RECORD_H
#define LOOPSCHOOL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "loop/loop.h"

/* The line format (one event a line, fields separated by one space, names last):
 *   T tick now_ns                     a tick begins (step 1)
 *   W timeout_ns why [name]           step 1's answer; why: ready, due, timer, nothing, stop
 *   H slot parent rel_ns name         the timer heap, in array order (parent -1 for the root)
 *   Q name [policy's fields]          the ready queue, in the order the policy will pick
 *   F fd rw|r-|-w queued|- name       a watched descriptor
 *   B returned                        step 2: what the backend returned; then its fds:
 *   R fd r|w|rw|x                     one ready descriptor
 *   M timer|fd name                   step 3: moved to the ready queue
 *   N count                           step 4: the batch's N
 *   P name                            one pick, in order
 *   K state file:line|start           if the pick is a task: its state and resume point
 *   A gone|callback|state file:line   after the pick ran (gone: the task ended and was freed)
 *   E truncated                       the buffer was full: nothing after this
 * Snapshots (H, Q, F) follow T (as step 1 sees them) and M (as step 4 begins). */

struct recorder;

/* cap: the most bytes it keeps (0: 4 MiB). 0, -EINVAL or -ENOMEM. */
int recorder_new(struct recorder **out, size_t cap);
void recorder_free(struct recorder *rec);
/* Starts recording loop's ticks (loop_observe's errors). Detaching is recorder_stop. */
int recorder_start(struct recorder *rec, struct loop *loop);
void recorder_stop(struct recorder *rec);
/* The text so far (NUL-terminated) and its length. */
const char *recorder_text(const struct recorder *rec, size_t *len);
bool recorder_truncated(const struct recorder *rec);
/* Its size, fill and whether it is attached: for gdb's `call`. Flushes. */
void recorder_dump(const struct recorder *rec, FILE *out);

#endif
