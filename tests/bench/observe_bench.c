/* observe_bench.c — what watching the loop costs (lesson 15): call_soon + dispatch with no
 * observer attached, with the slow-callback check, and with the trace recording every run; the
 * same workload, measured in the same run, each with-observer row as a ratio of the bare one. */
#include "tests/bench/lib/bench.h"

#include <stdio.h>

#include "loop/loop.h"
#include "loop/observe/slow.h"
#include "loop/observe/trace.h"

enum {
    BATCH = 1000, /* callbacks queued before each tick */
    REPEATS = 5,
    RING = 4096,
};

struct soon_ctx {
    struct loop *loop;
    struct runnable runs[BATCH];
    uint64_t calls;
};

static void count_call(void *arg) {
    ((struct soon_ctx *)arg)->calls++;
}

/* `iterations` callbacks, BATCH per tick: each queued with loop_call_soon, one loop_run_once
 * (poll with timeout 0) dispatches the batch. */
static void soon_body(void *p, long iterations) {
    struct soon_ctx *ctx = p;
    for (long done = 0; done < iterations; done += BATCH) {
        for (int i = 0; i < BATCH; i++)
            loop_call_soon(ctx->loop, &ctx->runs[i], count_call, ctx);
        loop_run_once(ctx->loop);
    }
    bench_sink(ctx->calls);
}

enum watch { WATCH_NOTHING, WATCH_SLOW, WATCH_TRACE };

static double measure(enum watch watch) {
    static struct soon_ctx ctx;
    static struct observe_trace_event ring[RING];
    struct observe_slow slow;
    struct observe_trace trace;
    if (loop_new(&ctx.loop, NULL) != 0)
        return -1;
    for (int i = 0; i < BATCH; i++)
        runnable_init(&ctx.runs[i], NULL, NULL, "bench");
    int rc = 0;
    if (watch == WATCH_SLOW)
        rc = observe_slow_start(&slow, ctx.loop, 0, stderr);
    else if (watch == WATCH_TRACE)
        rc = observe_trace_start(&trace, ctx.loop, ring, RING);
    double ns = -1;
    if (rc == 0) {
        soon_body(&ctx, 100 * BATCH); /* warm up */
        ns = bench_median_ns(soon_body, &ctx, 1000 * BATCH, REPEATS);
    }
    loop_free(ctx.loop); /* detaches the observer */
    return ns;
}

int main(void) {
    double bare = measure(WATCH_NOTHING);
    double slow = measure(WATCH_SLOW);
    double trace = measure(WATCH_TRACE);
    bench_row("observe: call_soon + dispatch, no observer", bare, "ns/callback", NULL, 0);
    bench_row("observe: the same, slow-callback check on", slow, "ns/callback", "no observer",
              bare);
    bench_row("observe: the same, trace recording every run", trace, "ns/callback", "no observer",
              bare);
    return 0;
}
