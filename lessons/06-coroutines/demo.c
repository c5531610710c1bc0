/* demo.c — lesson 06: where a stackless coroutine resumes, and why its locals don't survive.
 * Steps the coroutines of generators.c (a Fibonacci generator, a generator pipeline, a running
 * average fed by send, and a counter kept in a local versus in the frame) and prints, at every
 * step, the source line the coroutine will resume at. */
#include "lessons/06-coroutines/generators.h"

#include <stdio.h>

/* "the top of the body" for a coroutine not started yet, else "after line N". */
static const char *resume_place(const struct coro *co, char *buf, size_t size) {
    if (coro_line(co) == 0)
        return "the top of the body";
    snprintf(buf, size, "after line %d", coro_line(co));
    return buf;
}

static void fibonacci(void) {
    printf("1. A Fibonacci generator: gen_fib_step in generators.c, stepped 8 times.\n");
    struct gen_fib fib = {0};
    char before[32], after[32];
    for (int step = 1; step <= 8; step++) {
        const char *from = resume_place(&fib.co, before, sizeof before);
        gen_fib_step(&fib);
        printf("   step %d: ran from %-19s -> yielded %2llu, will resume %s\n", step, from,
               (unsigned long long)fib.value, resume_place(&fib.co, after, sizeof after));
    }
    printf("   It is still suspended (a generator ends when its consumer stops asking).\n"
           "   Its whole state is the frame, %zu bytes, of which struct coro is %zu.\n\n",
           sizeof fib, sizeof fib.co);
}

static void pipeline(void) {
    printf("2. A pipeline: count 1..10 -> keep the even ones -> this loop adds them up.\n");
    struct gen_count count = {.limit = 10};
    struct gen_evens evens = {.source = &count};
    int sum = 0;
    char b1[32], b2[32];
    while (gen_evens_step(&evens) == CORO_SUSPENDED) {
        sum += evens.value;
        printf("   got %2d (evens will resume %s, count %s)\n", evens.value,
               resume_place(&evens.co, b1, sizeof b1), resume_place(&count.co, b2, sizeof b2));
    }
    printf("   sum = %d. count is %s, evens is %s: a stage ends when its source does.\n\n", sum,
           coro_state_name(coro_state(&count.co)), coro_state_name(coro_state(&evens.co)));
}

static void averager(void) {
    printf("3. send: a running average (gen_averager_step) receives numbers.\n");
    struct gen_averager avg = {0};
    char where[32];
    gen_averager_step(&avg); /* Python's priming next(): run up to the first CORO_RECEIVE */
    printf("   first step runs to CORO_RECEIVE and parks %s\n",
           resume_place(&avg.co, where, sizeof where));
    const double numbers[] = {10, 20, 60, 30};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        CORO_SEND(avg.inbox, numbers[i], gen_averager_step(&avg));
        printf("   send %4.1f -> average %5.2f (will resume %s)\n", numbers[i], avg.average,
               resume_place(&avg.co, where, sizeof where));
    }
    printf("\n");
}

static void print_seen(const struct gen_counter *c) {
    for (int i = 0; i < c->seen_count; i++)
        printf(" %d", c->seen[i]);
}

static void locals_versus_frame(void) {
    printf("4. Why don't locals survive? Each resume is a new call of the step function:\n"
           "   its C locals are born again, and the jump to the resume line skips their setup.\n");
    struct gen_counter local = {0}, frame = {0};
    int steps = 0;
    while (steps < 8 && gen_local_counter_step(&local) == CORO_SUSPENDED)
        steps++;
    printf("   counter in a local: saw");
    print_seen(&local);
    printf(" in %d steps, still %s: the loop never ends\n", steps,
           coro_state_name(coro_state(&local.co)));
    steps = 1;
    while (gen_frame_counter_step(&frame) == CORO_SUSPENDED)
        steps++;
    printf("   counter in the frame: saw");
    print_seen(&frame);
    printf(" and was %s after %d steps\n", coro_state_name(coro_state(&frame.co)), steps);
}

int main(void) {
    printf("Lesson 06: a stackless coroutine is a function that returns at each suspension and,\n"
           "called again, jumps back to the line it left. Only its frame struct remembers.\n\n");
    fibonacci();
    pipeline();
    averager();
    locals_versus_frame();
    return 0;
}
