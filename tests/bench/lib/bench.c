/* bench.c — the shared benchmark helper: clock, median of repeats, sink, the row format and the
 * call-cost floors (see bench.h). */
#define _POSIX_C_SOURCE 200809L
#include "tests/bench/lib/bench.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* asyncio's figure for `key`, from the file `make bench` wrote by running asyncio_bench.py just
 * before (its path in LOOPSCHOOL_ASYNCIO_FIGURES; lines `key<TAB>value<TAB>unit<TAB>what`).
 * Returns false with `why` filled when there is no figure to show. */
static bool asyncio_figure(const char *key, double *value, char *why, size_t why_size) {
    const char *path = getenv("LOOPSCHOOL_ASYNCIO_FIGURES");
    FILE *in = path ? fopen(path, "r") : NULL;
    if (!in) {
        snprintf(why, why_size, "run through make bench");
        return false;
    }
    char line[256];
    bool found = false;
    snprintf(why, why_size, "not measured");
    while (!found && fgets(line, sizeof line, in)) {
        if (strncmp(line, "python3 not found", 17) == 0)
            snprintf(why, why_size, "python3 not found");
        char *tab = strchr(line, '\t');
        if (tab && (size_t)(tab - line) == strlen(key) && strncmp(line, key, strlen(key)) == 0) {
            *value = strtod(tab + 1, NULL);
            found = *value > 0;
        }
    }
    fclose(in);
    return found;
}

static void print_row(const char *name, double figure, const char *unit, const char *baseline_name,
                      double baseline, const char *asyncio_key) {
    char base[64] = "-";
    char ratio[32] = "-";
    char vs_asyncio[48] = "";
    if (baseline_name) {
        snprintf(base, sizeof base, "%s = %.4g", baseline_name, baseline);
        if (baseline > 0)
            snprintf(ratio, sizeof ratio, "%.2fx", figure / baseline);
    }
    if (asyncio_key) {
        double theirs = 0;
        char why[32];
        if (asyncio_figure(asyncio_key, &theirs, why, sizeof why))
            snprintf(vs_asyncio, sizeof vs_asyncio, " | asyncio = %.4g (%.3gx ours)", theirs,
                     theirs / figure);
        else
            snprintf(vs_asyncio, sizeof vs_asyncio, " | asyncio: %s", why);
    }
    printf("%-46s | %12.4g | %-8s | %-40s | %-*s%s\n", name, figure, unit, base,
           vs_asyncio[0] ? 8 : 0, ratio, vs_asyncio);
    fflush(stdout);
}

void bench_row(const char *name, double figure, const char *unit, const char *baseline_name,
               double baseline) {
    print_row(name, figure, unit, baseline_name, baseline, NULL);
}

void bench_row_vs_asyncio(const char *name, double figure, const char *unit,
                          const char *baseline_name, double baseline, const char *asyncio_key) {
    print_row(name, figure, unit, baseline_name, baseline, asyncio_key);
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
