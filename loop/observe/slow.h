/* slow.h — the slow-callback report (lesson 15), asyncio's debug-mode warning: a runnable that
 * ran longer than a threshold is reported once, with its name and, for a task, the file:line it
 * will resume at — the await right after the code that blocked. */
#ifndef LOOPSCHOOL_OBSERVE_SLOW_H
#define LOOPSCHOOL_OBSERVE_SLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "loop/loop.h"

enum { OBSERVE_SLOW_DEFAULT_NS = 100 * 1000 * 1000 }; /* asyncio's slow_callback_duration */

struct observe_slow {
    struct loop_observer obs;
    struct loop *loop;
    FILE *out;
    int64_t threshold_ns;
    const char *running_name; /* the runnable running now, noted before its run: its owner */
    bool running_task;        /* may let go of it during the run (after_run then gets NULL) */
    unsigned reported;        /* how many slow runs so far */
    char last[160];           /* the last report, without its newline (tests and demos read it) */
};

/* Attaches the check. threshold_ns <= 0 means the default; out NULL means stderr. 0, -EINVAL,
 * or -EBUSY if s is running on loop already. */
int observe_slow_start(struct observe_slow *s, struct loop *loop, int64_t threshold_ns, FILE *out);
int observe_slow_stop(struct observe_slow *s);
void observe_slow_dump(const struct observe_slow *s, FILE *out);

#endif
