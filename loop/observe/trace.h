/* trace.h — the trace recorder (lesson 15): every wait of the tick (with the timeout it was
 * given) and every run (name, start, duration) kept in a bounded ring, the newest overwriting
 * the oldest, and written as Chrome trace-event JSON — the format Perfetto (ui.perfetto.dev)
 * and chrome://tracing open. One row for the loop's waits, one row per runnable name. */
#ifndef LOOPSCHOOL_OBSERVE_TRACE_H
#define LOOPSCHOOL_OBSERVE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop/loop.h"

enum observe_trace_kind { OBSERVE_TRACE_WAIT, OBSERVE_TRACE_RUN };
enum { OBSERVE_TRACE_NAME = 24 };

struct observe_trace_event {
    int64_t start, duration; /* ns on the loop's clock */
    int64_t timeout;         /* a wait's timeout (-1: block); 0 for a run */
    uint64_t tick;
    uint8_t kind;                  /* enum observe_trace_kind */
    bool task;                     /* a run of a task (not a plain callback, timer or watcher) */
    char name[OBSERVE_TRACE_NAME]; /* copied: the runnable may be gone when the trace is read */
};

struct observe_trace {
    struct loop_observer obs;
    struct loop *loop;
    struct observe_trace_event *ring;   /* the caller's array of cap events */
    size_t cap, head, count;            /* head: where the next event goes */
    uint64_t dropped;                   /* overwritten because the ring was full */
    struct observe_trace_event pending; /* the wait or run under way */
};

/* Records into ring[cap] (cap > 0), caller-owned. 0, -EINVAL, or -EBUSY if tr is recording
 * on loop already. */
int observe_trace_start(struct observe_trace *tr, struct loop *loop,
                        struct observe_trace_event *ring, size_t cap);
int observe_trace_stop(struct observe_trace *tr);
/* How many events are kept, and the i-th oldest (NULL past the end). */
size_t observe_trace_count(const struct observe_trace *tr);
const struct observe_trace_event *observe_trace_at(const struct observe_trace *tr, size_t i);

/* Writes the kept events as Chrome trace-event JSON: a begin ("B") and an end ("E") per event,
 * timestamps in microseconds from the first event. 0, -EINVAL or -EIO. (trace_json.c) */
int observe_trace_write_json(const struct observe_trace *tr, FILE *out);
/* The same into the file at path (replaced). 0 or a negative errno. */
int observe_trace_save_json(const struct observe_trace *tr, const char *path);
/* Counts, and the last few events one per line. Flushes. */
void observe_trace_dump(const struct observe_trace *tr, FILE *out);

#endif
