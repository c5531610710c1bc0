/* demo.c — lesson 06: where a stackless coroutine resumes, and why its locals don't survive.
 * Steps the coroutines of generators.c (a Fibonacci generator, a generator pipeline, a running
 * average fed by send, and a counter kept in a local versus in the frame) and prints, at every
 * step, the source line the coroutine will resume at. `--trace` prints only the canonical lines
 * that asyncio_twin.py, the same scenes as Python generators, prints too. */
#include "lessons/06-coroutines/generators.h"

#include "loop/observe/narrate.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The story, or with --trace the canonical lines only (narrate.h). */
static struct narrator narrator;

/* "the top of the body" for a coroutine not started yet, else "after line N". */
static const char *resume_place(const struct coro *co, char *buf, size_t size) {
    if (coro_line(co) == 0)
        return "the top of the body";
    snprintf(buf, size, "after line %d", coro_line(co));
    return buf;
}

/* Each scene returns whether it saw what it shows. */
static bool fibonacci(void) {
    static const unsigned long long expected[8] = {0, 1, 1, 2, 3, 5, 8, 13};
    bool ok = true;
    narrate_story(&narrator,
                  "1. A Fibonacci generator: gen_fib_step in generators.c, stepped 8 times.\n");
    struct gen_fib fib = {0};
    char before[32], after[32];
    for (int step = 1; step <= 8; step++) {
        const char *from = resume_place(&fib.co, before, sizeof before);
        gen_fib_step(&fib);
        narrate_story(&narrator, "   step %d: ran from %-19s -> yielded %2llu, will resume %s\n",
                      step, from, (unsigned long long)fib.value,
                      resume_place(&fib.co, after, sizeof after));
        narrate_trace(&narrator, "fib: step %d yielded %llu", step, (unsigned long long)fib.value);
        ok = ok && fib.value == expected[step - 1];
    }
    narrate_story(&narrator,
                  "   It is still suspended (a generator ends when its consumer stops asking).\n"
                  "   Its whole state is the frame, %zu bytes, of which struct coro is %zu.\n\n",
                  sizeof fib, sizeof fib.co);
    narrate_trace(&narrator, "fib: %s", coro_state_name(coro_state(&fib.co)));
    return ok && coro_state(&fib.co) == CORO_STATE_SUSPENDED;
}

static bool pipeline(void) {
    narrate_story(&narrator,
                  "2. A pipeline: count 1..10 -> keep the even ones -> this loop adds them up.\n");
    struct gen_count count = {.limit = 10};
    struct gen_evens evens = {.source = &count};
    int sum = 0;
    char b1[32], b2[32];
    while (gen_evens_step(&evens) == CORO_SUSPENDED) {
        sum += evens.value;
        narrate_story(&narrator, "   got %2d (evens will resume %s, count %s)\n", evens.value,
                      resume_place(&evens.co, b1, sizeof b1),
                      resume_place(&count.co, b2, sizeof b2));
        narrate_trace(&narrator, "pipeline: got %d", evens.value);
    }
    narrate_story(
        &narrator, "   sum = %d. count is %s, evens is %s: a stage ends when its source does.\n\n",
        sum, coro_state_name(coro_state(&count.co)), coro_state_name(coro_state(&evens.co)));
    narrate_trace(&narrator, "pipeline: sum %d; count is %s, evens is %s", sum,
                  coro_state_name(coro_state(&count.co)), coro_state_name(coro_state(&evens.co)));
    return sum == 30 && coro_state(&evens.co) == CORO_STATE_DONE;
}

static bool averager(void) {
    narrate_story(&narrator, "3. send: a running average (gen_averager_step) receives numbers.\n");
    struct gen_averager avg = {0};
    char where[32];
    gen_averager_step(&avg); /* Python's priming next(): run up to the first CORO_RECEIVE */
    narrate_story(&narrator, "   first step runs to CORO_RECEIVE and parks %s\n",
                  resume_place(&avg.co, where, sizeof where));
    const double numbers[] = {10, 20, 60, 30};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        CORO_SEND(avg.inbox, numbers[i], gen_averager_step(&avg));
        narrate_story(&narrator, "   send %4.1f -> average %5.2f (will resume %s)\n", numbers[i],
                      avg.average, resume_place(&avg.co, where, sizeof where));
        narrate_trace(&narrator, "averager: send %.1f -> average %.2f", numbers[i], avg.average);
    }
    narrate_story(&narrator, "\n");
    return avg.average == 30.0 && avg.count == 4;
}

/* " 0 1 2": what a counter recorded. */
static const char *seen(const struct gen_counter *c, char *buf, size_t size) {
    buf[0] = '\0';
    for (int i = 0; i < c->seen_count; i++)
        snprintf(buf + strlen(buf), size - strlen(buf), " %d", c->seen[i]);
    return buf;
}

static bool locals_versus_frame(void) {
    narrate_story(
        &narrator,
        "4. Why don't locals survive? Each resume is a new call of the step function:\n"
        "   its C locals are born again, and the jump to the resume line skips their setup.\n");
    struct gen_counter local = {0}, frame = {0};
    char buf[64];
    int steps = 0;
    while (steps < 8 && gen_local_counter_step(&local) == CORO_SUSPENDED)
        steps++;
    const char *local_state = coro_state_name(coro_state(&local.co));
    narrate_story(&narrator, "   counter in a local: saw%s in %d steps, still %s\n",
                  seen(&local, buf, sizeof buf), steps, local_state);
    narrate_story(&narrator,
                  "   (i is 0 again at every call, and the resume lands on i++: 1, for ever)\n");
    narrate_trace(&narrator, "counter in a local: saw%s, %s after %d steps",
                  seen(&local, buf, sizeof buf), local_state, steps);
    bool ok = coro_state(&local.co) == CORO_STATE_SUSPENDED && local.seen_count == 8;
    steps = 1;
    while (gen_frame_counter_step(&frame) == CORO_SUSPENDED)
        steps++;
    const char *frame_state = coro_state_name(coro_state(&frame.co));
    narrate_story(&narrator, "   counter in the frame: saw%s and was %s after %d steps\n",
                  seen(&frame, buf, sizeof buf), frame_state, steps);
    narrate_trace(&narrator, "counter in the frame: saw%s, %s after %d steps",
                  seen(&frame, buf, sizeof buf), frame_state, steps);
    return ok && coro_state(&frame.co) == CORO_STATE_DONE && frame.seen_count == 3;
}

int main(int argc, char **argv) {
    /* One line at a time even into a pipe: under `gdb -batch` the story must interleave in order
     * with what gdb prints. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    narrate_parse(&narrator, &argc, argv);
    narrate_story(
        &narrator,
        "Lesson 06: a stackless coroutine is a function that returns at each suspension and,\n"
        "called again, jumps back to the line it left. Only its frame struct remembers.\n\n");
    bool ok = fibonacci();
    ok = pipeline() && ok;
    ok = averager() && ok;
    ok = locals_versus_frame() && ok;
    if (!ok) {
        printf("\nThe demo did not see what it expected (above).\n");
        return 1;
    }
    return 0;
}
