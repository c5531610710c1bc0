/* lag.c — the lag monitor of lesson 15; see lag.h. The beat re-arms itself from its own due
 * time, not from when it ran, so one late beat is measured once and does not shift the rest. */
#include "loop/observe/lag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int64_t observe_lag_bucket_limit(int i) {
    static const int64_t limits[OBSERVE_LAG_BUCKETS] = {1000000, 10000000, 100000000, 1000000000,
                                                        INT64_MAX};
    return i >= 0 && i < OBSERVE_LAG_BUCKETS ? limits[i] : INT64_MAX;
}

static void on_beat(struct loop_timer *t) {
    struct observe_lag *lag = t->arg;
    int64_t now = loop_now(lag->loop);
    int64_t late = now > lag->due ? now - lag->due : 0;
    lag->samples[lag->count % OBSERVE_LAG_SAMPLES] = late;
    lag->count++;
    if (late > lag->max_ns)
        lag->max_ns = late;
    int b = 0;
    while (late >= observe_lag_bucket_limit(b))
        b++;
    lag->histogram[b]++;
    /* The next beat is one interval after this one was due; if the loop was blocked past it,
     * one interval from now (the beats that could not happen are not owed). */
    lag->due += lag->interval_ns;
    if (lag->due <= now)
        lag->due = now + lag->interval_ns;
    (void)loop_timer_start_at(lag->loop, &lag->beat, lag->due, on_beat, lag);
}

int observe_lag_start(struct observe_lag *lag, struct loop *loop, int64_t interval_ns) {
    if (!lag || !loop || interval_ns <= 0)
        return -EINVAL;
    memset(lag, 0, sizeof *lag);
    lag->loop = loop;
    lag->interval_ns = interval_ns;
    loop_timer_init(&lag->beat, "lag heartbeat");
    lag->due = loop_deadline_after(loop, interval_ns);
    return loop_timer_start_at(loop, &lag->beat, lag->due, on_beat, lag);
}

int observe_lag_stop(struct observe_lag *lag) {
    if (!lag || !lag->loop)
        return -EINVAL;
    return loop_timer_stop(lag->loop, &lag->beat);
}

static int compare_ns(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t observe_lag_percentile(const struct observe_lag *lag, int pct) {
    size_t n = lag->count < OBSERVE_LAG_SAMPLES ? (size_t)lag->count : OBSERVE_LAG_SAMPLES;
    if (n == 0)
        return 0;
    int64_t sorted[OBSERVE_LAG_SAMPLES];
    memcpy(sorted, lag->samples, n * sizeof sorted[0]);
    qsort(sorted, n, sizeof sorted[0], compare_ns); /* only when asked: never on the beat */
    pct = pct < 0 ? 0 : pct > 100 ? 100 : pct;
    size_t rank = ((size_t)pct * n + 99) / 100; /* nearest rank: ceil(pct/100 * n) */
    return sorted[rank ? rank - 1 : 0];
}

void observe_lag_dump(const struct observe_lag *lag, FILE *out) {
    static const char *const names[OBSERVE_LAG_BUCKETS] = {"< 1 ms", "< 10 ms", "< 100 ms", "< 1 s",
                                                           ">= 1 s"};
    fprintf(out, "lag: %llu beats every %lld ms, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
            (unsigned long long)lag->count, (long long)(lag->interval_ns / 1000000),
            (double)observe_lag_percentile(lag, 50) / 1e6,
            (double)observe_lag_percentile(lag, 99) / 1e6, (double)lag->max_ns / 1e6);
    for (int i = 0; i < OBSERVE_LAG_BUCKETS; i++) {
        fprintf(out, "  %-8s %5llu", names[i], (unsigned long long)lag->histogram[i]);
        uint64_t bar = lag->histogram[i] > 40 ? 40 : lag->histogram[i];
        if (bar)
            fputc(' ', out);
        for (uint64_t j = 0; j < bar; j++)
            fputc('#', out);
        fputc('\n', out);
    }
    fflush(out);
}
