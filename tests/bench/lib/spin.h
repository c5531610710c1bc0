/* spin.h — the floor the coroutine and task rows are measured against (lessons 06 and 08): a
 * stackless coroutine that only counts and yields, resumed through a function pointer the way a
 * scheduler resumes a task's step. coro_bench.c and task_bench.c both print it. */
#ifndef LOOPSCHOOL_BENCH_SPIN_H
#define LOOPSCHOOL_BENCH_SPIN_H

#include <stdint.h>

#include "coro/coro.h"

struct bench_spin {
    struct coro co;
    uint64_t count; /* how often it has run */
};

/* A bench_median_ns body: n resumes (each a yield) of the bench_spin at ctx, zeroed at first. */
void bench_spin_resumes(void *ctx, long n);

#endif
