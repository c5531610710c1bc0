/* bench.h — what every loopschool benchmark shares: a monotonic nanosecond clock, a
 * repeat-and-take-the-median runner, a sink the optimiser cannot delete, and the one row format
 * `make bench` prints (figure beside a baseline measured in the same run). Introduced with the
 * call-cost rows, the physical floor every later row is compared against. */
#ifndef LOOPSCHOOL_BENCH_H
#define LOOPSCHOOL_BENCH_H

#include <stdint.h>

/* Monotonic time in nanoseconds. */
int64_t bench_now_ns(void);

/* Runs body(ctx, iterations) `repeats` times and returns the median nanoseconds per iteration.
 * The median, not the mean: on a shared, noisy machine one slow repeat must not move the figure. */
double bench_median_ns(void (*body)(void *ctx, long iterations), void *ctx, long iterations,
                       int repeats);

/* Consumes a value so the compiler must compute it. */
void bench_sink(uint64_t value);

/* Defined in bench.c, another translation unit: without link-time optimisation the compiler
 * cannot inline it, so calling it costs a real call. */
uint64_t bench_opaque_add(uint64_t a, uint64_t b);

/* One table row: the figure, its unit, and the baseline (name and value, same unit) it is compared
 * with; the ratio printed is figure / baseline. A row without a baseline passes NULL. */
void bench_row(const char *name, double figure, const char *unit, const char *baseline_name,
               double baseline);

/* The same row, followed by asyncio's figure for the same workload (`key` names it in
 * tests/bench/asyncio_bench.py's output, which `make bench` collects first) and how many times
 * ours it is. Without python3 the column says so and the row is printed all the same. */
void bench_row_vs_asyncio(const char *name, double figure, const char *unit,
                          const char *baseline_name, double baseline, const char *asyncio_key);

/* The two call-cost floors, measured here so any benchmark can print them beside its own figure:
 * ns per direct call to an opaque function, and ns per call through a function pointer. */
double bench_direct_call_ns(void);
double bench_indirect_call_ns(void);

#endif
