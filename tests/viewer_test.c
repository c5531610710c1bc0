/* viewer_test.c — the tick viewer (lessons 02-10's `make view`): lesson 05's recording on the
 * virtual clock is the committed one, so a change in what a tick does shows up as a diff; its
 * page is well-formed, embeds the recording byte for byte and loads nothing from outside; and,
 * where Chromium is installed, the page shows each tick's counter and ready queue as recorded. */
#include <criterion/criterion.h>

#include <errno.h>
#include <limits.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop/observe/record.h"
#include "loop/observe/viewer_page.h"
#include "loop/observe/xmlcheck.h"
#include "tests/support/loop.h"

#ifndef LOOPSCHOOL_BUILD_DIR
#define LOOPSCHOOL_BUILD_DIR "build"
#endif

#define EXPECTED "tests/viewer/05-timers.rec"
#define DEMO05   LOOPSCHOOL_BUILD_DIR "/lessons/05-timers/demo --virtual --record "

TestSuite(viewer, .description = "Can a class step through a real run of the loop, tick by tick?");

/* The whole file, NUL-terminated; NULL if it cannot be read. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

/* Runs lesson 05's demo with --record into a fresh file named like `suffix`; returns its text. */
static char *record_05(const char *suffix, char *path, size_t size, size_t *len) {
    snprintf(path, size, "%s/tests/viewer-%ld%s", LOOPSCHOOL_BUILD_DIR, (long)getpid(), suffix);
    char command[512];
    snprintf(command, sizeof command, DEMO05 "%s >/dev/null", path);
    cr_assert_eq(system(command), 0, "lesson 05's demo records and exits 0 (%s)", command);
    char *text = slurp(path, len);
    cr_assert_not_null(text, "the demo wrote %s", path);
    return text;
}

Test(viewer, recording_is_the_committed_one,
     .description = "Q: does lesson 05 on the virtual clock still tick exactly as recorded?") {
    char path[256];
    size_t len, expected_len;
    char *got = record_05(".rec", path, sizeof path, &len);
    char *expected = slurp(EXPECTED, &expected_len);
    cr_assert_not_null(expected, EXPECTED " is committed");
    /* The first line that differs, so the failure says which step of which tick changed. */
    size_t line = 1, i = 0;
    while (i < len && i < expected_len && got[i] == expected[i])
        line += got[i++] == '\n';
    cr_assert(len == expected_len && i == len,
              "the recording equals " EXPECTED " (it differs at line %zu; if the change is meant, "
              "copy %s over it)",
              line, path);
    cr_assert(strstr(got, "W 2000000 timer blink\n"),
              "tick 1 waits 2 ms for blink, due in 1.5 ms: rounded up to poll's whole ms");
    cr_assert(strstr(got, "M timer coffee\nM timer tea\nN 2\n"),
              "coffee and tea tie at 30 ms and move to the ready queue in the order started");
    cr_assert_null(strstr(got, "A gone"), "a timer's callback is recorded as a callback, not as a "
                                          "task that ended (the loop lets go of every timer)");
    unlink(path);
    free(got);
    free(expected);
}

/* ---- a page is well-formed: every chart's checker, plus the page's own first line ------------ */

static const char *check_page(const char *page) {
    if (strncmp(page, "<!DOCTYPE html>", 15) != 0)
        return "the page does not begin with <!DOCTYPE html>";
    return xmlcheck_problem(page);
}

Test(viewer, checker_catches_bad_pages,
     .description = "Q: does the page checker itself refuse a broken page?") {
    cr_assert_null(check_page("<!DOCTYPE html><html><p a=\"1\">x &amp; y</p></html>"),
                   "a good page passes");
    cr_assert_not_null(check_page("<!DOCTYPE html><html><p>x</html>"), "an unclosed <p> fails");
    cr_assert_not_null(check_page("<!DOCTYPE html><p>a & b</p>"), "a bare & fails");
    cr_assert_not_null(check_page("<!DOCTYPE html><p a=1></p>"), "an unquoted value fails");
    cr_assert_not_null(check_page("<html></html>"), "a page without its DOCTYPE fails");
    cr_assert_null(check_page("<!DOCTYPE html><html><script>//<![CDATA[\nif(a<b&&c)f();\n//]]>"
                              "</script></html>"),
                   "a script in CDATA may hold < and &&");
    cr_assert_not_null(check_page("<!DOCTYPE html><html><script>if(a<b)f();</script></html>"),
                       "a script outside CDATA may not");
}

Test(viewer, page_is_self_contained,
     .description = "Q: is the page well-formed, the recording inside it exact, nothing fetched?") {
    char rec_path[256], page_path[256];
    size_t rec_len, page_len;
    char *rec = record_05(".rec", rec_path, sizeof rec_path, &rec_len);
    char *page = record_05(".html", page_path, sizeof page_path, &page_len);
    const char *problem = check_page(page);
    cr_assert_null(problem, "the page is well-formed (%s)", problem ? problem : "");
    const char *open = "<script type=\"text/plain\" id=\"recording\">";
    const char *at = strstr(page, open);
    cr_assert_not_null(at, "the page holds the recording in one text/plain script");
    at += strlen(open);
    cr_assert(strncmp(at, rec, rec_len) == 0 && strncmp(at + rec_len, "</script>", 9) == 0,
              "the recording is embedded byte for byte");
    cr_assert_null(strstr(page, " src=\""), "no element loads a file (no src=\"...\")");
    cr_assert_null(strstr(page, " href=\""), "no link to anything (no href=\"...\")");
    cr_assert_null(strstr(page, "url("), "no style fetches anything (no url()");
    cr_assert_null(strstr(page, "@import"), "no style imports anything");
    /* The one address in the page names SVG's namespace, which is a name, never fetched. */
    for (const char *h = strstr(page, "http"); h; h = strstr(h + 1, "http"))
        cr_assert(strncmp(h, "http://www.w3.org/2000/svg", 26) == 0,
                  "no address but SVG's namespace name (found: %.40s)", h);
    cr_assert(strstr(page, "<noscript>") && strstr(page, "tick 4 at +30.000 ms:"),
              "without scripts, a text timeline shows every tick");
    unlink(rec_path);
    unlink(page_path);
    free(rec);
    free(page);
}

static void fire(struct loop_timer *t) {
    (void)t;
}

Test(viewer, recorder_misuse_and_bound,
     .description = "Q: does the recorder refuse bad input and stay within its size?") {
    struct recorder *rec;
    cr_assert_eq(recorder_new(NULL, 0), -EINVAL, "nowhere to put it: -EINVAL");
    cr_assert_eq(recorder_new(&rec, 10), -EINVAL, "a 10-byte buffer is too small: -EINVAL");
    cr_assert_eq(recorder_new(&rec, 200), 0, "a 200-byte recorder is made");
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    cr_assert_eq(recorder_start(rec, loop), 0, "it attaches to a loop");
    cr_assert_eq(recorder_start(rec, loop), -EBUSY, "twice: -EBUSY");
    static struct loop_timer t[8];
    for (int i = 0; i < 8; i++) {
        loop_timer_init(&t[i], "a-timer-with-a-long-name");
        loop_timer_start(loop, &t[i], i * 1000000, fire, NULL);
    }
    cr_assert_eq(loop_run_once(loop), 0);
    size_t len;
    const char *text = recorder_text(rec, &len);
    cr_assert(len < 200 && recorder_truncated(rec) && strstr(text, "E truncated\n"),
              "past its size it stops, and says so in its last line (%zu bytes)", len);
    loop_free(loop);
    recorder_free(rec);
    cr_assert_eq(viewer_page_write(NULL, "t", "", 0), -EINVAL, "no page to write to: -EINVAL");
}

/* ---- the page in a real browser ------------------------------------------------------------- */

/* The ready queue as step 3 leaves it in tick `tick`: the Q lines after that tick's N line. */
static void queue_after_step3(const char *rec, unsigned tick, char *out, size_t size) {
    char head[32];
    snprintf(head, sizeof head, "T %u ", tick);
    const char *t = strstr(rec, head);
    out[0] = '\0';
    if (!t)
        return;
    const char *p = strstr(t, "\nN ");
    p = p ? strchr(p + 1, '\n') + 1 : NULL;
    for (; p && *p && *p != 'T'; p = strchr(p, '\n') + 1) {
        if (*p == 'Q') {
            size_t n = strcspn(p + 2, "\n");
            snprintf(out + strlen(out), size - strlen(out), "%.*s;", (int)n, p + 2);
        }
        if (!strchr(p, '\n'))
            break;
    }
}

/* The texts of the <li> items of <ol id="queue"> in the browser's DOM, each followed by ';'. */
static void queue_in_dom(const char *dom, char *out, size_t size) {
    out[0] = '\0';
    const char *p = strstr(dom, "<ol id=\"queue\">");
    const char *end = p ? strstr(p, "</ol>") : NULL;
    while (p && (p = strstr(p, "<li")) != NULL && p < end) {
        p = strchr(p, '>') + 1;
        size_t n = strcspn(p, "<");
        if (strncmp(p, "(empty)", n) != 0)
            snprintf(out + strlen(out), size - strlen(out), "%.*s;", (int)n, p);
    }
}

Test(viewer, page_in_chromium, .timeout = 120,
     .description = "Q: opened in a browser, does the page show each tick's counter and queue?") {
    const char *browser = system("command -v chromium >/dev/null 2>&1") == 0 ? "chromium"
                          : system("command -v chromium-browser >/dev/null 2>&1") == 0
                              ? "chromium-browser"
                              : NULL;
    if (!browser)
        cr_skip_test("no browser to run the page in: install Chromium (apt-get install chromium) "
                     "for this check");
    char rec_path[256], page_path[256], abs[PATH_MAX];
    size_t len;
    char *rec = record_05(".rec", rec_path, sizeof rec_path, &len);
    free(record_05(".html", page_path, sizeof page_path, &len));
    char cwd[PATH_MAX - 300];
    cr_assert_not_null(getcwd(cwd, sizeof cwd), "the test knows where it runs");
    snprintf(abs, sizeof abs, "%s%s%s", page_path[0] == '/' ? "" : cwd,
             page_path[0] == '/' ? "" : "/", page_path);
    char profile[] = "/tmp/loopschool-chromium-XXXXXX";
    cr_assert_not_null(mkdtemp(profile), "a throwaway browser profile");
    /* Under make check one tick is enough: the browser is the slow part, and it is not ours. */
    unsigned last = getenv("LOOPSCHOOL_CHECK") ? 1 : 4;
    for (unsigned tick = 1; tick <= last; tick++) {
        char command[PATH_MAX + 512], dom_path[300];
        snprintf(dom_path, sizeof dom_path, "%s.dom", page_path);
        snprintf(command, sizeof command,
                 "%s --headless --no-sandbox --disable-gpu --disable-background-networking "
                 "--disable-component-update --disable-sync --no-first-run --user-data-dir=%s "
                 "--dump-dom 'file://%s?tick=%u&step=3' >%s 2>/dev/null",
                 browser, profile, abs, tick, dom_path);
        cr_assert_eq(system(command), 0, "the browser ran the page (%s)", command);
        char *dom = slurp(dom_path, NULL);
        cr_assert_not_null(dom, "the browser printed the page's DOM");
        char want[64], shown[512], expected[512];
        snprintf(want, sizeof want, "<b id=\"tick\">%u</b>", tick);
        cr_assert(strstr(dom, want), "the page's tick counter says %u (?tick=%u)", tick, tick);
        queue_after_step3(rec, tick, expected, sizeof expected);
        queue_in_dom(dom, shown, sizeof shown);
        cr_assert_str_eq(shown, expected,
                         "tick %u, step 3: the page's ready queue is the recorded one", tick);
        free(dom);
        unlink(dom_path);
    }
    char cleanup[300];
    snprintf(cleanup, sizeof cleanup, "rm -rf %s", profile);
    cr_assert_eq(system(cleanup), 0);
    unlink(rec_path);
    unlink(page_path);
    free(rec);
}
