/* twin.h — what a lesson's asyncio-twin test needs: run the lesson's demo in --trace mode and its
 * asyncio_twin.py, each as a child process, and compare the canonical event lines they print.
 * Header only, `static inline`. Where python3 cannot be had the test is skipped with a sentence
 * saying what to install, never silently passed (DESIGN.md, "asyncio twins"). */
#ifndef LOOPSCHOOL_TESTS_SUPPORT_TWIN_H
#define LOOPSCHOOL_TESTS_SUPPORT_TWIN_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#ifndef LOOPSCHOOL_BUILD_DIR
#define LOOPSCHOOL_BUILD_DIR "build"
#endif

enum { TEST_TWIN_MAX_LINES = 512, TEST_TWIN_LINE = 160 };

/* The lines one program printed on stdout, and how it exited. */
struct test_twin_output {
    char lines[TEST_TWIN_MAX_LINES][TEST_TWIN_LINE];
    size_t count;
    int exit_status; /* the shell's status: 0 when the program exited 0 */
};

/* Skips the calling test when python3 is missing: the twin cannot run, and saying so beats a
 * pass that compared nothing. */
static inline void test_twin_require_python(void) {
    if (system("command -v python3 >/dev/null 2>&1") != 0)
        cr_skip_test("python3 is not installed, so the asyncio twin cannot run: "
                     "install it (apt-get install python3) or run `make test`, which does");
}

/* Runs `command` through the shell and keeps the lines it prints (newline stripped). The output
 * is heap-allocated because it is large; free it with free(). */
static inline struct test_twin_output *test_twin_run(const char *command) {
    struct test_twin_output *out = calloc(1, sizeof *out);
    cr_assert_not_null(out, "memory for a program's output");
    FILE *p = popen(command, "r");
    cr_assert_not_null(p, "popen could start a shell for: %s", command);
    char line[TEST_TWIN_LINE * 2];
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        /* Cut to the slot's size by hand: snprintf's truncation trips -Wformat-truncation. */
        if (out->count < TEST_TWIN_MAX_LINES)
            memcpy(out->lines[out->count++], line, strnlen(line, TEST_TWIN_LINE - 1));
    }
    out->exit_status = pclose(p);
    return out;
}

/* Runs a lesson's demo with --trace and its twin, e.g. test_twin_pair("04-ready-queue", &c, &py):
 * both must exit 0. The caller compares the lines (all of them, or all but the documented
 * differences) and frees both. */
static inline void test_twin_pair(const char *lesson, struct test_twin_output **c,
                                  struct test_twin_output **py) {
    test_twin_require_python();
    char command[512];
    snprintf(command, sizeof command, "%s/lessons/%s/demo --trace", LOOPSCHOOL_BUILD_DIR, lesson);
    *c = test_twin_run(command);
    cr_assert_eq((*c)->exit_status, 0, "the demo in --trace mode exits 0 (%s)", command);
    snprintf(command, sizeof command, "python3 lessons/%s/asyncio_twin.py", lesson);
    *py = test_twin_run(command);
    cr_assert_eq((*py)->exit_status, 0, "the asyncio twin exits 0 (%s)", command);
}

/* Asserts that both programs printed exactly the same lines, naming the first that differs. */
static inline void test_twin_assert_same(const struct test_twin_output *c,
                                         const struct test_twin_output *py) {
    size_t n = c->count < py->count ? c->count : py->count;
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(c->lines[i], py->lines[i],
                         "line %zu: loopschool printed \"%s\", asyncio printed \"%s\"", i + 1,
                         c->lines[i], py->lines[i]);
    cr_assert_eq(c->count, py->count, "loopschool printed %zu trace lines, asyncio %zu", c->count,
                 py->count);
    cr_assert_gt(c->count, 0, "the trace is not empty");
}

#endif
