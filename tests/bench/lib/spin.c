/* spin.c — the counting coroutine of spin.h and the loop that resumes it (see spin.h). */
#include "tests/bench/lib/spin.h"

#include "tests/bench/lib/bench.h"

static enum coro_status bench_spin_step(struct bench_spin *s) {
    CORO_BEGIN(&s->co);
    for (;;) {
        s->count++;
        CORO_YIELD(&s->co);
    }
    CORO_CLEANUP(&s->co);
    CORO_END(&s->co);
}

/* Called through a volatile pointer, as a scheduler calls a task's step: a real indirect call
 * that the compiler cannot inline, like the indirect-call baseline's. */
static enum coro_status (*volatile bench_spin_target)(struct bench_spin *) = bench_spin_step;

void bench_spin_resumes(void *ctx, long n) {
    struct bench_spin *s = ctx;
    for (long i = 0; i < n; i++)
        bench_spin_target(s);
    bench_sink(s->count);
}
