/* observe_bench.c — what watching the loop costs (lesson 15): call_soon + dispatch with no
 * observer attached, with the slow-callback check, and with the trace recording every run; the
 * same workload, measured in the same run, each with-observer row as a ratio of the bare one. */
#include "tests/bench/lib/bench.h"
#include "tests/bench/lib/soon.h"

#include <stdio.h>

#include "loop/loop.h"
#include "loop/observe/slow.h"
#include "loop/observe/trace.h"

enum {
    REPEATS = 5,
    RING = 4096,
};

enum watch { WATCH_NOTHING, WATCH_SLOW, WATCH_TRACE };

static double measure(enum watch watch) {
    static struct bench_soon ctx;
    static struct observe_trace_event ring[RING];
    struct observe_slow slow;
    struct observe_trace trace;
    if (bench_soon_open(&ctx) != 0)
        return -1;
    int rc = 0;
    if (watch == WATCH_SLOW)
        rc = observe_slow_start(&slow, ctx.loop, 0, stderr);
    else if (watch == WATCH_TRACE)
        rc = observe_trace_start(&trace, ctx.loop, ring, RING);
    double ns = -1;
    if (rc == 0) {
        bench_soon_body(&ctx, 100 * BENCH_SOON_BATCH); /* warm up */
        ns = bench_median_ns(bench_soon_body, &ctx, 1000 * BENCH_SOON_BATCH, REPEATS);
    }
    bench_soon_close(&ctx); /* loop_free detaches the observer */
    return ns;
}

int main(void) {
    double bare = measure(WATCH_NOTHING);
    double slow = measure(WATCH_SLOW);
    double trace = measure(WATCH_TRACE);
    bench_row("observe: call_soon + dispatch, no observer", bare, "ns/callback", "indirect call",
              bench_indirect_call_ns());
    bench_row("observe: the same, slow-callback check on", slow, "ns/callback", "no observer",
              bare);
    bench_row("observe: the same, trace recording every run", trace, "ns/callback", "no observer",
              bare);
    return 0;
}
