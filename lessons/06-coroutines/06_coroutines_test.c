/* 06_coroutines_test.c — lesson 06's question, answered by observation: a coroutine resumes
 * right after the suspension it last reached (its saved __LINE__), what lives in its frame
 * survives, and a C local does not. Also runs walkthrough.gdb and checks the lines it prints. */
#include "lessons/06-coroutines/generators.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/twin.h"

#ifndef LOOPSCHOOL_BUILD_DIR
#define LOOPSCHOOL_BUILD_DIR "build"
#endif

TestSuite(coroutines, .description = "Where does a stackless coroutine resume, and why don't its "
                                     "locals survive?");

/* Before each yield the body notes that yield's line, so the test knows where it is. */
struct trio {
    struct coro co;
    int yield_line[3];
    int after[3]; /* set to 1 when the code after yield k ran */
};

static enum coro_status trio_step(struct trio *t) {
    CORO_BEGIN(&t->co);
    t->yield_line[0] = __LINE__ + 1; /* the line of the yield below */
    CORO_YIELD(&t->co);
    t->after[0] = 1;
    t->yield_line[1] = __LINE__ + 1; /* the line of the yield below */
    CORO_YIELD(&t->co);
    t->after[1] = 1;
    t->yield_line[2] = __LINE__ + 1; /* the line of the yield below */
    CORO_YIELD(&t->co);
    t->after[2] = 1;
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(coroutines, resume_lines_in_order,
     .description = "Q: at which line does each resume continue, and in what order?") {
    struct trio t = {0};
    cr_assert_eq(coro_line(&t.co), 0, "a coroutine not yet started has resume line 0");
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(trio_step(&t), CORO_SUSPENDED, "each step stops at the next yield");
        cr_assert_eq(coro_line(&t.co), t.yield_line[k],
                     "after step %d the saved resume point is line %d, the line of yield %d", k + 1,
                     t.yield_line[k], k + 1);
        cr_assert_eq(t.after[k], 0, "the code after yield %d has not run yet", k + 1);
        if (k > 0)
            cr_assert_eq(t.after[k - 1], 1, "resuming continued right after yield %d", k);
    }
    cr_assert(t.yield_line[0] < t.yield_line[1] && t.yield_line[1] < t.yield_line[2],
              "the resume lines advance down the function: %d, %d, %d", t.yield_line[0],
              t.yield_line[1], t.yield_line[2]);
    cr_assert_eq(trio_step(&t), CORO_DONE, "the fourth step runs off the end");
    cr_assert_eq(t.after[2], 1, "the last resume continued after the third yield");
}

Test(coroutines, dump_names_the_resume_line,
     .description = "Q: what does coro_dump (callable from gdb) say about a parked coroutine?") {
    struct trio t = {0};
    trio_step(&t);
    char expected[128], got[256] = "";
    snprintf(expected, sizeof expected, "suspended at %s:%d\n", __FILE__, t.yield_line[0]);
    FILE *out = fmemopen(got, sizeof got, "w");
    cr_assert_not_null(out);
    coro_dump(&t.co, out);
    fclose(out);
    cr_assert_str_eq(got, expected, "coro_dump prints the file and line it will resume at");
}

Test(coroutines, fibonacci_values_and_lines,
     .description = "Q: what does the Fibonacci generator yield, and where does it park?") {
    static const unsigned long long expected[] = {0, 1, 1, 2, 3, 5, 8, 13, 21, 34};
    struct gen_fib fib = {0};
    int lines[10];
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(gen_fib_step(&fib), CORO_SUSPENDED, "a generator with no end keeps going");
        cr_assert_eq((unsigned long long)fib.value, expected[i], "F(%d) = %llu", i, expected[i]);
        lines[i] = coro_line(&fib.co);
    }
    cr_assert(0 < lines[0] && lines[0] < lines[1] && lines[1] < lines[2],
              "the first three steps park at three successive yields (%d, %d, %d)", lines[0],
              lines[1], lines[2]);
    for (int i = 3; i < 10; i++)
        cr_assert_eq(lines[i], lines[2], "from then on it parks at the yield inside the loop");
}

Test(coroutines, frame_counter_survives,
     .description = "Q: does a counter kept in the frame survive the yields?") {
    struct gen_counter c = {0};
    int steps = 1;
    while (gen_frame_counter_step(&c) == CORO_SUSPENDED)
        steps++;
    cr_assert_eq(c.seen_count, 3, "the loop ran three times");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(c.seen[i], i, "resume %d saw i = %d: the frame kept the count", i + 1, i);
    cr_assert_eq(steps, 4, "three yields, then a fourth step finishes it");
    cr_assert(coro_is_done(&c.co), "with its counter in the frame, the loop completes");
}

Test(coroutines, local_counter_restarts,
     .description = "Q: what happens to a loop counter kept in a C local instead?") {
    struct gen_counter c = {0};
    for (int step = 0; step < GEN_COUNTER_SEEN_MAX; step++)
        cr_assert_eq(gen_local_counter_step(&c), CORO_SUSPENDED,
                     "step %d: still suspended, the loop has not completed", step + 1);
    cr_assert_eq(c.seen_count, GEN_COUNTER_SEEN_MAX, "the body ran once per step");
    cr_assert_eq(c.seen[0], 0, "the first run starts the loop at 0");
    for (int i = 1; i < GEN_COUNTER_SEEN_MAX; i++)
        cr_assert_eq(c.seen[i], 1,
                     "resume %d saw 1: the local was reset to 0 by the call, then i++ ran once",
                     i + 1);
    cr_assert_not(coro_is_done(&c.co), "the loop never completes: 3 is never reached");
}

struct recorder {
    struct coro co;
    int inbox;
    int got[5];
    int count;
};

static enum coro_status recorder_step(struct recorder *r) {
    CORO_BEGIN(&r->co);
    while (r->count < 5)
        CORO_RECEIVE(&r->co, r->got[r->count++], r->inbox);
    CORO_CLEANUP(&r->co);
    CORO_END(&r->co);
}

Test(coroutines, send_delivers_in_order,
     .description = "Q: does send deliver each value, in order, to the parked coroutine?") {
    struct recorder r = {0};
    cr_assert_eq(recorder_step(&r), CORO_SUSPENDED, "the first step only primes it");
    cr_assert_eq(r.count, 0, "nothing was received by priming");
    for (int i = 0; i < 5; i++) {
        enum coro_status s = CORO_SEND(r.inbox, 10 * (i + 1), recorder_step(&r));
        cr_assert_eq(s, i < 4 ? CORO_SUSPENDED : CORO_DONE, "it finishes after the fifth value");
    }
    for (int i = 0; i < 5; i++)
        cr_assert_eq(r.got[i], 10 * (i + 1), "value %d arrived as sent: %d", i + 1, 10 * (i + 1));

    struct gen_averager avg = {0};
    gen_averager_step(&avg);
    CORO_SEND(avg.inbox, 10.0, gen_averager_step(&avg));
    CORO_SEND(avg.inbox, 20.0, gen_averager_step(&avg));
    cr_assert_float_eq(avg.average, 15.0, 1e-9, "the averager of 10 and 20 says 15");
}

Test(coroutines, pipeline_sequence,
     .description = "Q: does the generator pipeline yield exactly the expected sequence?") {
    struct gen_count count = {.limit = 10};
    struct gen_evens evens = {.source = &count};
    int got[10], n = 0;
    while (n < 10 && gen_evens_step(&evens) == CORO_SUSPENDED)
        got[n++] = evens.value;
    cr_assert_eq(n, 5, "count 1..10 holds five even numbers");
    for (int i = 0; i < n; i++)
        cr_assert_eq(got[i], 2 * (i + 1), "item %d is %d", i + 1, 2 * (i + 1));
    cr_assert(coro_is_done(&evens.co) && coro_is_done(&count.co),
              "the filter ended when its source did");
    cr_assert_eq(gen_evens_step(&evens), CORO_DONE, "stepping a finished stage is harmless");
}

/* The text of line `number` of a file, or "" if there is none. */
static void read_source_line(const char *path, int number, char *line, size_t size) {
    line[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    for (int i = 1; fgets(line, (int)size, f) != NULL; i++)
        if (i == number)
            break;
    fclose(f);
}

/* Is `program` an executable in a directory of $PATH? Searched here rather than with a shell:
 * under valgrind every extra child process leaves a log of its own. */
static bool on_path(const char *program) {
    const char *path = getenv("PATH");
    char dir[512], candidate[600];
    while (path != NULL && *path != '\0') {
        size_t len = strcspn(path, ":");
        snprintf(dir, sizeof dir, "%.*s", (int)len, path);
        snprintf(candidate, sizeof candidate, "%s/%s", len ? dir : ".", program);
        if (access(candidate, X_OK) == 0)
            return true;
        path += len + (path[len] == ':');
    }
    return false;
}

Test(coroutines, gdb_walkthrough, .timeout = 120,
     .description = "Q: does gdb, stopped in the coroutine, show the resume line advancing?") {
    cr_assert(on_path("gdb"),
              "gdb is not installed: this test runs walkthrough.gdb (make test installs gdb)");
    FILE *gdb =
        popen("gdb -batch -nx -x lessons/06-coroutines/walkthrough.gdb " LOOPSCHOOL_BUILD_DIR
              "/lessons/06-coroutines/demo 2>&1",
              "r");
    cr_assert_not_null(gdb, "popen could start a shell for gdb");
    char text[256];
    int lines[8], stops = 0;
    while (fgets(text, sizeof text, gdb) != NULL) {
        int line;
        if (sscanf(text, "stopped in gen_fib_step: f->co.line = %d", &line) == 1 && stops < 8)
            lines[stops++] = line;
    }
    int status = pclose(gdb);
    cr_assert_eq(status, 0, "gdb ran the walkthrough and exited cleanly (status %d)", status);
    cr_assert_eq(stops, 3, "gdb stopped in gen_fib_step three times");
    cr_assert_eq(lines[0], 0, "first stop: line 0, a new coroutine starts at the top");
    cr_assert(0 < lines[1] && lines[1] < lines[2],
              "then it resumes after line %d, then after line %d: advancing", lines[1], lines[2]);
    for (int i = 1; i < 3; i++) {
        char source[256];
        read_source_line("lessons/06-coroutines/generators.c", lines[i], source, sizeof source);
        cr_assert(strstr(source, "CORO_YIELD") != NULL,
                  "line %d of generators.c is a yield: \"%s\"", lines[i], source);
    }
}

/* ---- the asyncio twin ----------------------------------------------------------------------- */

Test(coroutines, python_generators_twin, .timeout = 60,
     .description = "Q: do Python generators yield, send and end the same, and where do their "
                    "locals differ?") {
    struct test_twin_output *c, *py;
    test_twin_pair("06-coroutines", &c, &py);
    cr_assert_eq(c->count, py->count, "both print one line per event: %zu and %zu", c->count,
                 py->count);
    int differences = 0;
    for (size_t i = 0; i < c->count; i++) {
        if (strncmp(c->lines[i], "counter in a local:", 19) != 0) {
            cr_assert_str_eq(c->lines[i], py->lines[i],
                             "line %zu is the same in both: loopschool \"%s\", Python \"%s\"",
                             i + 1, c->lines[i], py->lines[i]);
            continue;
        }
        /* The documented difference: a Python generator keeps its locals in its frame; a C
         * local is born again at every step, and the resume jumps past the loop's start. */
        differences++;
        cr_assert_str_eq(c->lines[i],
                         "counter in a local: saw 0 1 1 1 1 1 1 1, suspended after 8 steps",
                         "in C the local restarts at every call: the loop never ends");
        cr_assert_str_eq(py->lines[i], "counter in a local: saw 0 1 2, done after 4 steps",
                         "in Python the local survives in the generator's frame");
    }
    cr_assert_eq(differences, 1, "the counter in a local is the one line that differs");
    free(c);
    free(py);
}
