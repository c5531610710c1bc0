/* bench.c — the shared benchmark helper: clock, median of repeats, sink, the row format and the
 * call-cost floors (see bench.h). */
#define _POSIX_C_SOURCE 200809L
#include "tests/bench/lib/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median_ns(void (*body)(void *ctx, long iterations), void *ctx, long iterations,
                       int repeats) {
    double samples[64];
    if (repeats > 64)
        repeats = 64;
    if (repeats < 1)
        repeats = 1;
    for (int i = 0; i < repeats; i++) {
        int64_t start = bench_now_ns();
        body(ctx, iterations);
        samples[i] = (double)(bench_now_ns() - start) / (double)iterations;
    }
    qsort(samples, (size_t)repeats, sizeof samples[0], compare_doubles);
    return samples[repeats / 2];
}

/* volatile: every store is a side effect the compiler must keep. */
static volatile uint64_t bench_sink_slot;
void bench_sink(uint64_t value) {
    bench_sink_slot = value;
}

uint64_t bench_opaque_add(uint64_t a, uint64_t b) {
    return a + b;
}

void bench_row(const char *name, double figure, const char *unit, const char *baseline_name,
               double baseline) {
    char base[64] = "-";
    char ratio[32] = "-";
    if (baseline_name) {
        snprintf(base, sizeof base, "%s = %.4g", baseline_name, baseline);
        if (baseline > 0)
            snprintf(ratio, sizeof ratio, "%.2fx", figure / baseline);
    }
    printf("%-46s | %12.4g | %-8s | %-40s | %s\n", name, figure, unit, base, ratio);
    fflush(stdout);
}

static void direct_calls(void *ctx, long n) {
    (void)ctx;
    uint64_t acc = 0;
    for (long i = 0; i < n; i++)
        acc = bench_opaque_add(acc, (uint64_t)i);
    bench_sink(acc);
}

/* The pointer is read through volatile on every iteration, so the call cannot be resolved at
 * compile time: this is the price of calling a callback. */
static uint64_t (*volatile indirect_target)(uint64_t, uint64_t) = bench_opaque_add;
static void indirect_calls(void *ctx, long n) {
    (void)ctx;
    uint64_t acc = 0;
    for (long i = 0; i < n; i++)
        acc = indirect_target(acc, (uint64_t)i);
    bench_sink(acc);
}

double bench_direct_call_ns(void) {
    return bench_median_ns(direct_calls, NULL, 20000000, 7);
}

double bench_indirect_call_ns(void) {
    return bench_median_ns(indirect_calls, NULL, 20000000, 7);
}
