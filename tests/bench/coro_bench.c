/* coro_bench.c — what a stackless coroutine costs (lessons 06 and 07): one resume + yield against
 * an indirect call; a three-stage generator pipeline against the same work as one plain loop; and
 * a resume through an await chain 10 deep (await re-enters every level: O(depth)). */
#include "coro/coro.h"
#include "tests/bench/lib/bench.h"
#include "tests/bench/lib/spin.h" /* resume + yield: a coroutine that only counts */

#include <stdint.h>

/* ---- generator pipeline: produce 0..n-1 -> keep x with x % 4 != 0, yield x * x -> sum ------- */
struct produce {
    struct coro co;
    uint64_t limit, value;
};

static enum coro_status produce_step(struct produce *p) {
    CORO_BEGIN(&p->co);
    for (p->value = 0; p->value < p->limit; p->value++)
        CORO_YIELD(&p->co);
    CORO_CLEANUP(&p->co);
    CORO_END(&p->co);
}

struct square_some {
    struct coro co;
    struct produce *source;
    uint64_t value;
};

static enum coro_status square_some_step(struct square_some *f) {
    CORO_BEGIN(&f->co);
    while (produce_step(f->source) == CORO_SUSPENDED) {
        if (f->source->value % 4 != 0)
            CORO_YIELD_VALUE(&f->co, f->value, f->source->value * f->source->value);
    }
    CORO_CLEANUP(&f->co);
    CORO_END(&f->co);
}

static void pipeline(void *ctx, long n) {
    (void)ctx;
    struct produce p = {.limit = (uint64_t)n};
    struct square_some f = {.source = &p};
    uint64_t sum = 0;
    while (square_some_step(&f) == CORO_SUSPENDED) /* the third stage: the consumer */
        sum += f.value;
    bench_sink(sum);
}

static void plain_loop(void *ctx, long n) {
    (void)ctx;
    uint64_t sum = 0;
    for (uint64_t x = 0; x < (uint64_t)n; x++)
        if (x % 4 != 0)
            sum += x * x;
    bench_sink(sum);
}

/* ---- an await chain: each link awaits the next, the last one yields ------------------------- */
#define CHAIN_DEPTH 10
/* The row's label follows CHAIN_DEPTH (lesson 07's exercise changes it). */
#define CORO_BENCH_STR(x)   #x
#define CORO_BENCH_LABEL(d) "coro: resume through an await chain " CORO_BENCH_STR(d) " deep"

struct link {
    struct coro co;
    struct link *child; /* NULL: the innermost link */
    uint64_t count;
};

static enum coro_status link_step(struct link *l) {
    CORO_BEGIN(&l->co);
    if (l->child == NULL) {
        for (;;) {
            l->count++;
            CORO_YIELD(&l->co);
        }
    }
    CORO_AWAIT(&l->co, &l->child->co, link_step(l->child));
    CORO_CLEANUP(&l->co);
    CORO_END(&l->co);
}

/* Through a volatile pointer, as the spin is resumed: a real indirect call. */
static enum coro_status (*volatile link_target)(struct link *) = link_step;

static void chain_resumes(void *ctx, long n) {
    struct link *chain = ctx;
    for (long i = 0; i < n; i++)
        link_target(&chain[0]);
    bench_sink(chain[CHAIN_DEPTH - 1].count);
}

int main(void) {
    double indirect = bench_indirect_call_ns();

    struct bench_spin s = {0};
    double resume = bench_median_ns(bench_spin_resumes, &s, 20000000, 7);
    bench_row("coro: resume + yield (step via pointer)", resume, "ns/resume", "indirect call",
              indirect);

    const long items = 10000000;
    double plain = bench_median_ns(plain_loop, NULL, items, 5);
    double piped = bench_median_ns(pipeline, NULL, items, 5);
    bench_row("coro: 3-stage generator pipeline, 10M items", piped, "ns/item", "one plain loop",
              plain);

    struct link chain[CHAIN_DEPTH] = {0};
    for (int i = 0; i + 1 < CHAIN_DEPTH; i++)
        chain[i].child = &chain[i + 1];
    double deep = bench_median_ns(chain_resumes, chain, 2000000, 7);
    bench_row(CORO_BENCH_LABEL(CHAIN_DEPTH), deep, "ns/resume", "resume + yield", resume);
    return 0;
}
