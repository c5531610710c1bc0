/* soon.c — the call_soon + dispatch workload loop_bench.c and observe_bench.c share (lessons 04
 * and 15); see soon.h. */
#include "tests/bench/lib/soon.h"

#include "tests/bench/lib/bench.h"

static void bench_soon_count(void *arg) {
    ((struct bench_soon *)arg)->calls++;
}

int bench_soon_open(struct bench_soon *ctx) {
    ctx->calls = 0;
    int rc = loop_new(&ctx->loop, NULL);
    if (rc != 0)
        return rc;
    for (int i = 0; i < BENCH_SOON_BATCH; i++)
        runnable_init(&ctx->runs[i], NULL, NULL, "bench");
    return 0;
}

void bench_soon_body(void *p, long iterations) {
    struct bench_soon *ctx = p;
    for (long done = 0; done < iterations; done += BENCH_SOON_BATCH) {
        for (int i = 0; i < BENCH_SOON_BATCH; i++)
            loop_call_soon(ctx->loop, &ctx->runs[i], bench_soon_count, ctx);
        loop_run_once(ctx->loop);
    }
    bench_sink(ctx->calls);
}

void bench_soon_close(struct bench_soon *ctx) {
    loop_free(ctx->loop);
    ctx->loop = NULL;
}
