/* generators.h — lesson 06's coroutines, shared by its demo and its tests: a Fibonacci generator,
 * a pipeline of two generators (count → keep the even numbers) that a loop consumes, a running
 * average fed by send, and the same counting loop with its counter in a local and in the frame. */
#ifndef LOOPSCHOOL_LESSON06_GENERATORS_H
#define LOOPSCHOOL_LESSON06_GENERATORS_H

#include "coro/coro.h"

#include <stdint.h>

/* Each frame embeds its struct coro; everything that must survive a yield is a field here. */
struct gen_fib {
    struct coro co;
    uint64_t value; /* the number just yielded */
    uint64_t a, b;  /* the two before it */
};
enum coro_status gen_fib_step(struct gen_fib *f);

struct gen_count { /* yields 1, 2, ..., limit */
    struct coro co;
    int limit;
    int value;
};
enum coro_status gen_count_step(struct gen_count *f);

struct gen_evens { /* yields the even values of its source */
    struct coro co;
    struct gen_count *source;
    int value;
};
enum coro_status gen_evens_step(struct gen_evens *f);

struct gen_averager { /* receives numbers by send and keeps their running average */
    struct coro co;
    double inbox;    /* the caller writes here, then steps: CORO_SEND */
    double received; /* the last value taken from the inbox */
    double sum;
    int count;
    double average;
};
enum coro_status gen_averager_step(struct gen_averager *f);

#define GEN_COUNTER_SEEN_MAX 8
struct gen_counter { /* counts 0, 1, 2 and records what it saw */
    struct coro co;
    int i; /* used by gen_frame_counter_step only */
    int seen[GEN_COUNTER_SEEN_MAX];
    int seen_count;
};
/* The pitfall: the loop counter is a C local, initialised at every call. */
enum coro_status gen_local_counter_step(struct gen_counter *f);
/* The fix: the loop counter is f->i, in the frame. */
enum coro_status gen_frame_counter_step(struct gen_counter *f);

#endif
