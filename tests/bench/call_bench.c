/* call_bench.c — the physical floor: what one function call costs, direct and through a pointer.
 * Every later row (a callback dispatch, a coroutine resume, a task switch) is read against these.
 */
#include "tests/bench/lib/bench.h"

#include <time.h>

/* The clock read itself: every timed benchmark pays it at its edges. */
static void clock_reads(void *ctx, long n) {
    (void)ctx;
    int64_t acc = 0;
    for (long i = 0; i < n; i++)
        acc += bench_now_ns();
    bench_sink((uint64_t)acc);
}

int main(void) {
    double direct = bench_direct_call_ns();
    double indirect = bench_indirect_call_ns();
    bench_row("call: direct call to an opaque function", direct, "ns/call", NULL, 0);
    bench_row("call: indirect call through a pointer", indirect, "ns/call", "direct call", direct);
    bench_row("call: clock_gettime(CLOCK_MONOTONIC)",
              bench_median_ns(clock_reads, NULL, 2000000, 5), "ns/read", "indirect call", indirect);
    return 0;
}
