/* loop_bench.c — what the loop's two queues cost (lessons 04 and 05): a callback queued with
 * call_soon and dispatched by the tick, against the bare indirect call; a million timers put in
 * order and fired, against qsort of the same deadlines (sorting is the floor for ordering n
 * deadlines); and a million timers stopped from the middle of the heap. */
#include "tests/bench/lib/bench.h"
#include "tests/bench/lib/soon.h"

#include <stdio.h>
#include <stdlib.h>

#include "loop/loop.h"
#include "tests/support/random.h"

enum {
    TIMERS = 1000000,
    REPEATS = 5,
};

/* ---- call_soon + dispatch (the workload is tests/bench/lib/soon.c) -------------------------- */

static double bench_call_soon(void) {
    static struct bench_soon ctx;
    if (bench_soon_open(&ctx) != 0)
        return -1;
    bench_soon_body(&ctx, 100 * BENCH_SOON_BATCH); /* warm up */
    double ns = bench_median_ns(bench_soon_body, &ctx, 2000 * BENCH_SOON_BATCH, REPEATS);
    bench_soon_close(&ctx);
    return ns;
}

/* ---- a million timers ------------------------------------------------------------------------ */

static uint64_t timer_fires;
static void count_fire(struct loop_timer *t) {
    (void)t;
    timer_fires++;
}

static int compare_deadlines(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int compare_samples(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *samples, int n) {
    qsort(samples, (size_t)n, sizeof samples[0], compare_samples);
    return samples[n / 2];
}

struct timer_bench {
    struct loop_timer *timers; /* TIMERS caller-owned handles, as a program would hold them */
    int64_t *deadlines;        /* random, within about 17 minutes of virtual time */
    int64_t *sorted;           /* a copy for qsort */
};

/* A loop on virtual time: step 1 never sleeps, and the clock is moved by hand. */
static struct loop *new_virtual_loop(struct loop_clock *clock) {
    loop_clock_init_virtual(clock, 0);
    clock->autojump = false;
    struct loop_config config = {.clock = clock};
    struct loop *loop = NULL;
    return loop_new(&loop, &config) == 0 ? loop : NULL;
}

static void start_all(struct loop *loop, struct timer_bench *b) {
    for (int i = 0; i < TIMERS; i++)
        loop_timer_start_at(loop, &b->timers[i], b->deadlines[i], count_fire, NULL);
}

/* Started, then time jumps past the last deadline and one tick fires them all: step 3 pops every
 * timer off the heap in deadline order onto the ready queue, step 4 runs each callback. */
static double fire_once(struct timer_bench *b) {
    struct loop_clock clock;
    struct loop *loop = new_virtual_loop(&clock);
    if (!loop)
        return -1;
    timer_fires = 0;
    int64_t start = bench_now_ns();
    start_all(loop, b);
    loop_clock_advance(&clock, INT64_C(1) << 40);
    loop_run_once(loop);
    int64_t ns = bench_now_ns() - start;
    loop_free(loop);
    if (timer_fires != TIMERS) {
        fprintf(stderr, "loop_bench: %llu of %d timers fired\n", (unsigned long long)timer_fires,
                TIMERS);
        return -1;
    }
    return (double)ns / TIMERS;
}

static double qsort_once(struct timer_bench *b) {
    for (int i = 0; i < TIMERS; i++)
        b->sorted[i] = b->deadlines[i];
    int64_t start = bench_now_ns();
    qsort(b->sorted, TIMERS, sizeof b->sorted[0], compare_deadlines);
    int64_t ns = bench_now_ns() - start;
    bench_sink((uint64_t)b->sorted[TIMERS / 2]);
    return (double)ns / TIMERS;
}

/* Started (timed apart: the baseline), then stopped in the order started: each stop takes a
 * timer from a random place in the heap and moves the last node into the hole. */
static double stop_once(struct timer_bench *b, double *start_ns) {
    struct loop_clock clock;
    struct loop *loop = new_virtual_loop(&clock);
    if (!loop)
        return -1;
    int64_t start = bench_now_ns();
    start_all(loop, b);
    int64_t stop = bench_now_ns();
    for (int i = 0; i < TIMERS; i++)
        loop_timer_stop(loop, &b->timers[i]);
    int64_t end = bench_now_ns();
    size_t left = loop_timer_count(loop);
    loop_free(loop);
    if (left != 0) {
        fprintf(stderr, "loop_bench: %zu timers still armed after stopping all\n", left);
        return -1;
    }
    *start_ns = (double)(stop - start) / TIMERS;
    return (double)(end - stop) / TIMERS;
}

static int bench_timers(void) {
    struct timer_bench b = {
        .timers = malloc(TIMERS * sizeof *b.timers),
        .deadlines = malloc(TIMERS * sizeof *b.deadlines),
        .sorted = malloc(TIMERS * sizeof *b.sorted),
    };
    if (!b.timers || !b.deadlines || !b.sorted) {
        fprintf(stderr, "loop_bench: out of memory\n");
        return 1;
    }
    uint64_t rng = 0x5eed5eed;
    for (int i = 0; i < TIMERS; i++) {
        loop_timer_init(&b.timers[i], "bench");
        b.deadlines[i] = (int64_t)(test_random(&rng) % 1000000000000u) + 1;
    }
    double fire[REPEATS], sort[REPEATS], stop[REPEATS], start[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        fire[r] = fire_once(&b);
        sort[r] = qsort_once(&b);
        stop[r] = stop_once(&b, &start[r]);
    }
    bench_row_vs_asyncio("loop: 1M random timers, started then fired", median(fire, REPEATS),
                         "ns/timer", "qsort of the same deadlines", median(sort, REPEATS),
                         "timers");
    bench_row("loop: 1M timers started, then all stopped", median(stop, REPEATS), "ns/stop",
              "starting them", median(start, REPEATS));
    free(b.timers);
    free(b.deadlines);
    free(b.sorted);
    return 0;
}

int main(void) {
    double indirect = bench_indirect_call_ns();
    bench_row_vs_asyncio("loop: call_soon + dispatch, 1,000 per tick", bench_call_soon(), "ns/call",
                         "indirect call", indirect, "call_soon");
    return bench_timers();
}
