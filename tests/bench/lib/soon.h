/* soon.h — the call_soon + dispatch workload (lessons 04 and 15): BATCH callbacks queued with
 * loop_call_soon, then one loop_run_once dispatches them. loop_bench.c measures it bare and
 * observe_bench.c measures it again with each observer attached. */
#ifndef LOOPSCHOOL_BENCH_SOON_H
#define LOOPSCHOOL_BENCH_SOON_H

#include <stdint.h>

#include "loop/loop.h"

enum { BENCH_SOON_BATCH = 1000 }; /* callbacks queued before each tick */

struct bench_soon {
    struct loop *loop;
    struct runnable runs[BENCH_SOON_BATCH];
    uint64_t calls;
};

/* Makes the loop (the default backend) and the runnables: 0 or loop_new's error. */
int bench_soon_open(struct bench_soon *ctx);
/* A bench_median_ns body: `iterations` callbacks, BENCH_SOON_BATCH per tick (each tick asks the
 * backend with timeout 0 and reads the real clock). */
void bench_soon_body(void *ctx, long iterations);
void bench_soon_close(struct bench_soon *ctx);

#endif
