/* lag.h — the lag monitor (lesson 15): a heartbeat timer that measures how late it fires. A loop
 * that nothing blocks runs it on time (within the backend's resolution); a callback that holds
 * the loop for 200 ms makes the next beat 200 ms late, whoever the culprit is. Keeps the recent
 * samples for p50/p99, the maximum, and a small histogram. */
#ifndef LOOPSCHOOL_OBSERVE_LAG_H
#define LOOPSCHOOL_OBSERVE_LAG_H

#include <stdint.h>
#include <stdio.h>

#include "loop/loop.h"

enum {
    OBSERVE_LAG_SAMPLES = 256, /* the most recent beats kept for the percentiles */
    OBSERVE_LAG_BUCKETS = 5,   /* < 1 ms, < 10 ms, < 100 ms, < 1 s, and the rest */
};

struct observe_lag {
    struct loop_timer beat;
    struct loop *loop;
    int64_t interval_ns;
    int64_t due; /* when the armed beat should fire */
    int64_t samples[OBSERVE_LAG_SAMPLES];
    uint64_t count; /* beats measured in all; the last min(count, SAMPLES) are in samples */
    int64_t max_ns;
    uint64_t histogram[OBSERVE_LAG_BUCKETS];
};

/* Starts the heartbeat, one beat every interval_ns (> 0). 0, -EINVAL, or the timer's error.
 * Stop a running monitor before starting it again: its timer is reset here.
 * The beat is a timer, so a loop with a lag monitor never runs out of work: stop it to let
 * loop_run return. */
int observe_lag_start(struct observe_lag *lag, struct loop *loop, int64_t interval_ns);
int observe_lag_stop(struct observe_lag *lag);
/* The pct-th percentile (0..100) of the kept samples, nearest rank; 0 before the first beat. */
int64_t observe_lag_percentile(const struct observe_lag *lag, int pct);
/* The upper edge of bucket i in ns (INT64_MAX for the last). */
int64_t observe_lag_bucket_limit(int i);
/* Beats, p50, p99, max and the histogram as a bar per bucket. Flushes. */
void observe_lag_dump(const struct observe_lag *lag, FILE *out);

#endif
