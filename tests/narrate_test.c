/* narrate_test.c — the demos' two voices (loop/observe/narrate.*, lesson 04): --trace taken out
 * of argv, the narration silent in trace mode, and each event line stamped from the loop. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "loop/observe/narrate.h"
#include "tests/support/loop.h"

TestSuite(narrate, .description = "Does a demo print its story, or with --trace its events only?");

Test(narrate, parse_takes_trace_out,
     .description = "Q: Is --trace taken out of argv wherever it stands, leaving the rest?") {
    char a0[] = "demo", a1[] = "--record", a2[] = "x.html", a3[] = "--trace";
    char *argv[] = {a0, a3, a1, a2, NULL};
    int argc = 4;
    struct narrator n;
    cr_assert(narrate_parse(&n, &argc, argv), "--trace in second place is seen");
    cr_assert_eq(argc, 3, "one argument fewer: got %d", argc);
    cr_assert_str_eq(argv[1], "--record", "the rest moves down in order");
    cr_assert_str_eq(argv[2], "x.html", "the rest moves down in order");
    cr_assert_null(argv[3], "argv stays NULL-terminated");

    char *plain[] = {a0, a1, a2, NULL};
    argc = 3;
    cr_assert_not(narrate_parse(&n, &argc, plain), "without --trace, the story is told");
    cr_assert_eq(argc, 3, "nothing is taken out without --trace");
}

/* A demo's own helper, naming who acts. */
static void narrate_as(const struct narrator *n, const char *who, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    narrate_vtrace(n, who, fmt, ap);
    va_end(ap);
}

Test(narrate, story_or_trace,
     .description =
         "Q: Does story mode print only the narration, and trace mode only the events, "
         "each stamped with the loop's tick or virtual milliseconds and the actor's name?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop_at(&clock, 20 * 1000000LL, NULL);
    char *buf = NULL;
    size_t len = 0;

    FILE *out = open_memstream(&buf, &len);
    struct narrator n = {.out = out, .clock = loop, .stamp = NARRATE_MS};
    narrate_story(&n, "told %d\n", 1);
    narrate_trace(&n, "event %d", 1);
    fclose(out);
    cr_assert_str_eq(buf, "told 1\n", "story mode prints the story and no event (got \"%s\")", buf);
    free(buf);

    out = open_memstream(&buf, &len);
    n = (struct narrator){.out = out, .trace = true, .clock = loop, .stamp = NARRATE_MS};
    narrate_story(&n, "told %d\n", 2);
    narrate_trace(&n, "fetch %s", "ends");
    narrate_as(&n, "boss", "joins %s", "reader");
    n.stamp = NARRATE_TICK;
    narrate_trace(&n, "runs");
    n.stamp = NARRATE_PLAIN;
    narrate_trace(&n, "plain");
    fclose(out);
    cr_assert_str_eq(buf, "20 ms: fetch ends\n20 ms: boss joins reader\ntick 0: runs\nplain\n",
                     "trace mode prints only stamped event lines (got \"%s\")", buf);
    free(buf);
    loop_free(loop);
}
