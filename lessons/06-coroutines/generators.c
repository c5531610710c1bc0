/* generators.c — lesson 06's coroutines (see generators.h). Each step function is called once
 * per resume; CORO_BEGIN jumps to the line it last suspended at. The demo narrates them, the
 * tests check them, and walkthrough.gdb stops in gen_fib_step. */
#include "lessons/06-coroutines/generators.h"

/* Python: def fib(): yield 0; yield 1; a, b = 0, 1; while True: a, b = b, a + b; yield b */
enum coro_status gen_fib_step(struct gen_fib *f) {
    CORO_BEGIN(&f->co);
    CORO_YIELD_VALUE(&f->co, f->value, 0);
    CORO_YIELD_VALUE(&f->co, f->value, 1);
    f->a = 0;
    f->b = 1;
    for (;;) {
        f->value = f->a + f->b;
        f->a = f->b;
        f->b = f->value;
        CORO_YIELD(&f->co);
    }
    CORO_CLEANUP(&f->co);
    CORO_END(&f->co);
}

enum coro_status gen_count_step(struct gen_count *f) {
    CORO_BEGIN(&f->co);
    for (f->value = 1; f->value <= f->limit; f->value++)
        CORO_YIELD(&f->co);
    CORO_CLEANUP(&f->co);
    CORO_END(&f->co);
}

/* A middle stage pulls from its source one item at a time: when the source is done, so is it. */
enum coro_status gen_evens_step(struct gen_evens *f) {
    CORO_BEGIN(&f->co);
    while (gen_count_step(f->source) == CORO_SUSPENDED) {
        if (f->source->value % 2 == 0)
            CORO_YIELD_VALUE(&f->co, f->value, f->source->value);
    }
    CORO_CLEANUP(&f->co);
    CORO_END(&f->co);
}

/* Python: total = count = 0; while True: x = yield; total += x; count += 1; average = total/count
 * The first step runs up to CORO_RECEIVE (Python's priming next()); each send resumes it. */
enum coro_status gen_averager_step(struct gen_averager *f) {
    CORO_BEGIN(&f->co);
    for (;;) {
        CORO_RECEIVE(&f->co, f->received, f->inbox);
        f->sum += f->received;
        f->count++;
        f->average = f->sum / f->count;
    }
    CORO_CLEANUP(&f->co);
    CORO_END(&f->co);
}

static void gen_counter_record(struct gen_counter *f, int value) {
    if (f->seen_count < GEN_COUNTER_SEEN_MAX)
        f->seen[f->seen_count++] = value;
}

enum coro_status gen_local_counter_step(struct gen_counter *f) {
    int i = 0; /* a fresh C local on every call: the resume jumps past the loop's start */
    CORO_BEGIN(&f->co);
    for (; i < 3; i++) {
        gen_counter_record(f, i);
        CORO_YIELD(&f->co);
    }
    CORO_CLEANUP(&f->co);
    CORO_END(&f->co);
}

enum coro_status gen_frame_counter_step(struct gen_counter *f) {
    CORO_BEGIN(&f->co);
    for (f->i = 0; f->i < 3; f->i++) {
        gen_counter_record(f, f->i);
        CORO_YIELD(&f->co);
    }
    CORO_CLEANUP(&f->co);
    CORO_END(&f->co);
}
