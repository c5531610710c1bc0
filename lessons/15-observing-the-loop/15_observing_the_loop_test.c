/* 15_observing_the_loop_test.c — lesson 15's questions, on the virtual clock: is a slow run
 * reported once with its name and line, and a quick one never; is lag measured to the backend's
 * resolution; does the task dump list every live task with its await chain; is the trace valid
 * JSON whose events balance; is the committed timeline what the code draws; does SIGUSR1 give a
 * dump and leave the loop running; does the demo agree with its asyncio twin? */
#include <criterion/criterion.h>

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop/observe/xmlcheck.h"
#include "lessons/15-observing-the-loop/service.h"
#include "lessons/15-observing-the-loop/timeline.h"
#include "loop/observe/lag.h"
#include "loop/observe/sigdump.h"
#include "loop/observe/slow.h"
#include "loop/observe/tasks.h"
#include "loop/observe/trace.h"
#include "tests/support/files.h"
#include "tests/support/loop.h"
#include "tests/support/twin.h"

#define MS           SERVICE_MS
#define SERVICE_FILE "lessons/15-observing-the-loop/service.c"

TestSuite(observing_the_loop, .description = "How do you find the callback that blocks your loop?");

/* The line of service.c that carries `marker` (a comment such as @resizer-yield): the test
 * asserts file:line without hard-coding a number that any edit above would shift. */
static int service_line(const char *marker) {
    FILE *in = fopen(SERVICE_FILE, "r");
    cr_assert_not_null(in, "%s can be read (the runner runs from the repository root)",
                       SERVICE_FILE);
    char line[256];
    int n = 0, found = 0;
    while (!found && fgets(line, sizeof line, in)) {
        n++;
        if (strstr(line, marker))
            found = n;
    }
    fclose(in);
    cr_assert(found, "%s marks a line with %s", SERVICE_FILE, marker);
    return found;
}

/* Text a FILE * collected (open_memstream), owned by the caller. */
struct capture {
    char *text;
    size_t len;
    FILE *out;
};
static void capture_open(struct capture *c) {
    c->text = NULL;
    c->out = open_memstream(&c->text, &c->len);
    cr_assert_not_null(c->out, "a memory stream to capture output");
}
static void capture_close(struct capture *c) {
    fclose(c->out);
}

/* ---- the slow-callback report ------------------------------------------------------------ */

struct hog {
    struct runnable r;
    struct loop_clock *clock;
    int64_t cpu_ns;
};
static void hog_run(void *arg) {
    struct hog *h = arg;
    loop_clock_advance(h->clock, h->cpu_ns); /* CPU time on the virtual clock */
}

Test(observing_the_loop, slow_reported_once_with_name_and_line,
     .description = "Q: is a run over the threshold reported exactly once, with its name and "
                    "line, and one under it never?") {
    struct service s;
    cr_assert_eq(service_init(&s, false), 0);
    struct capture cap;
    capture_open(&cap);
    struct observe_slow slow;
    cr_assert_eq(observe_slow_start(&slow, s.loop, 0, cap.out), 0);
    cr_assert_eq(slow.threshold_ns, 100 * MS, "the default threshold is asyncio's 100 ms");
    cr_assert_eq(service_run(&s), 0, "the service runs to its end");
    capture_close(&cap);
    char want[200];
    snprintf(want, sizeof want, "slow: task 'resizer' ran 212 ms at %s:%d (threshold 100 ms)\n",
             SERVICE_FILE, service_line("@resizer-yield"));
    cr_assert_str_eq(cap.text, want,
                     "one report, the 212 ms thumbnail, at the await right after it; the four "
                     "4 ms thumbnails are never reported");
    cr_assert_eq(slow.reported, 1, "exactly one slow run is counted");
    free(cap.text);
    service_free(&s);

    cr_assert_eq(service_init(&s, true), 0);
    cr_assert_eq(observe_slow_start(&slow, s.loop, 0, stderr), 0);
    cr_assert_eq(service_run(&s), 0);
    cr_assert_eq(s.thumbnails, SERVICE_JOBS, "the fixed service still makes all 5 thumbnails");
    cr_assert_eq(slow.reported, 0,
                 "the fixed service makes them on the executor's thread: no run is reported");
    service_free(&s);
}

Test(observing_the_loop, slow_plain_callback_and_threshold,
     .description = "Q: is a plain callback named too, and does the threshold decide?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct observe_slow slow;
    struct capture cap;
    capture_open(&cap);
    cr_assert_eq(observe_slow_start(&slow, loop, 50 * MS, cap.out), 0);
    struct hog quick = {.clock = &clock, .cpu_ns = 50 * MS - 1};
    struct hog heavy = {.clock = &clock, .cpu_ns = 50 * MS};
    runnable_init(&quick.r, hog_run, &quick, "quick");
    runnable_init(&heavy.r, hog_run, &heavy, "heavy");
    loop_call_soon(loop, &quick.r, hog_run, &quick);
    loop_call_soon(loop, &heavy.r, hog_run, &heavy);
    loop_run(loop);
    capture_close(&cap);
    cr_assert_str_eq(cap.text, "slow: callback 'heavy' ran 50 ms (threshold 50 ms)\n",
                     "1 ns under the threshold is quiet; at the threshold it is reported");
    cr_assert_eq(observe_slow_stop(&slow), 0);
    cr_assert_eq(observe_slow_stop(&slow), -EALREADY, "stopping twice says so");
    cr_assert_eq(observe_slow_start(NULL, loop, 0, NULL), -EINVAL, "NULL: -EINVAL");
    free(cap.text);
    loop_free(loop);
}

struct one_shot {
    struct task task;
    struct loop_clock *clock;
};
static enum coro_status one_shot_step(struct task *t) {
    struct one_shot *f = TASK_FRAME(t, struct one_shot, task);
    CORO_BEGIN(&t->co);
    loop_clock_advance(f->clock, 150 * MS); /* blocks, then ends without another await */
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(observing_the_loop, slow_task_that_ends,
     .description = "Q: is a task that blocks and then ends still named?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct observe_slow slow;
    struct capture cap;
    capture_open(&cap);
    cr_assert_eq(observe_slow_start(&slow, loop, 0, cap.out), 0);
    struct one_shot f = {.clock = &clock};
    cr_assert_eq(loop_spawn(loop, &f.task, one_shot_step, "exporter", NULL), 0);
    cr_assert_eq(loop_run_until_complete(loop, &f.task), 0);
    capture_close(&cap);
    cr_assert_str_eq(cap.text, "slow: task 'exporter' ran 150 ms and ended (threshold 100 ms)\n",
                     "named, though the tick hands after_run no runnable for an ended task");
    free(cap.text);
    loop_free(loop);
}

/* ---- the lag monitor --------------------------------------------------------------------- */

struct blocker {
    struct loop_timer timer;
    struct loop_clock *clock;
};
static void block_57ms(struct loop_timer *t) {
    struct blocker *b = t->arg;
    loop_clock_advance(b->clock, 57 * MS);
}

Test(observing_the_loop, lag_within_resolution,
     .description = "Q: is the lag measured within the backend's resolution on a virtual "
                    "clock?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.backend = &backend_poll});
    int64_t res = backend_poll.resolution_ns;
    struct observe_lag lag;
    cr_assert_eq(observe_lag_start(&lag, loop, 10 * MS), 0);
    struct blocker b = {.clock = &clock};
    loop_timer_init(&b.timer, "blocker");
    loop_timer_start(loop, &b.timer, 25 * MS, block_57ms, &b);
    while (loop_now(loop) < 200 * MS)
        cr_assert_eq(loop_run_once(loop), 0);
    observe_lag_stop(&lag);
    /* The beat due at 30 ms fires when the blocker lets go, at 25 + 57 = 82 ms: 52 ms late. */
    cr_assert(lag.max_ns >= 52 * MS - res && lag.max_ns <= 52 * MS + res,
              "the late beat is measured 52 ms late, within %lld ns (got %lld)", (long long)res,
              (long long)lag.max_ns);
    cr_assert_leq(observe_lag_percentile(&lag, 50), res, "the other beats are on time");
    cr_assert_eq(lag.histogram[2], 1, "exactly one beat in the 10..100 ms bucket");
    cr_assert_eq(lag.histogram[0], lag.count - 1, "every other beat under 1 ms");
    cr_assert_eq(observe_lag_percentile(&lag, 100), lag.max_ns, "p100 is the maximum");
    cr_assert_eq(observe_lag_start(&lag, loop, 0), -EINVAL, "a zero interval: -EINVAL");
    loop_free(loop);
}

/* ---- the task dump ----------------------------------------------------------------------- */

Test(observing_the_loop, dump_lists_tasks_and_chains,
     .description = "Q: does the task dump list every live task with its await chain?") {
    struct service s;
    cr_assert_eq(service_init(&s, false), 0);
    struct observe_tasks ot;
    cr_assert_eq(observe_tasks_start(&ot, s.loop, service_chain), 0);
    /* The clock jumps from 104 ms (job 1's thumbnail done) to the health check's beat at 150. */
    while (loop_now(s.loop) < 120 * MS)
        cr_assert_eq(loop_run_once(s.loop), 0);
    struct capture cap;
    capture_open(&cap);
    observe_tasks_dump(&ot, s.loop, cap.out);
    capture_close(&cap);
    char want[1024];
    snprintf(want, sizeof want,
             "3 live tasks at tick %llu:\n"
             "task 'producer' waiting on sleep for 50 ms\n    %s:%d\n"
             "task 'resizer' waiting on jobs for 46 ms\n    %s:%d\n    %s:%d\n"
             "task 'health' waiting on sleep for 0 ms\n    %s:%d\n",
             (unsigned long long)loop_tick(s.loop), SERVICE_FILE, service_line("@producer-sleep"),
             SERVICE_FILE, service_line("@resizer-fetch"), SERVICE_FILE,
             service_line("@fetch-wait"), SERVICE_FILE, service_line("@health-sleep"));
    cr_assert_str_eq(cap.text, want,
                     "every live task, what it waits for, for how long, and its chain: the "
                     "resizer is inside fetch, innermost last (got:\n%s)",
                     cap.text);
    free(cap.text);
    cr_assert_eq(service_run(&s), 0);
    capture_open(&cap);
    observe_tasks_dump(NULL, s.loop, cap.out);
    capture_close(&cap);
    cr_assert(strncmp(cap.text, "0 live tasks", 12) == 0, "once all ended, none is listed");
    free(cap.text);
    observe_tasks_stop(&ot);
    service_free(&s);
}

/* ---- SIGUSR1 ----------------------------------------------------------------------------- */

static void raise_usr1(struct loop_timer *t) {
    (void)t;
    raise(SIGUSR1);
}
static void note_later(struct loop_timer *t) {
    *(bool *)t->arg = true;
}

Test(observing_the_loop, sigusr1_dumps_and_loop_goes_on, .timeout = 10,
     .description = "Q: does SIGUSR1 produce a dump and leave the loop running?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.backend = &backend_poll});
    struct observe_sigdump d;
    struct capture cap;
    capture_open(&cap);
    cr_assert_eq(observe_sigdump_open(&d, loop, NULL, cap.out), 0);
    struct observe_sigdump second;
    cr_assert_eq(observe_sigdump_open(&second, loop, NULL, NULL), -EBUSY,
                 "one SIGUSR1 dump per process: -EBUSY");
    struct loop_timer now, later;
    bool ran_later = false;
    loop_timer_init(&now, "raise");
    loop_timer_init(&later, "later");
    loop_timer_start(loop, &now, 10 * MS, raise_usr1, NULL);
    loop_timer_start(loop, &later, 50 * MS, note_later, &ran_later);
    while (!ran_later)
        cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(d.dumps, 1, "one signal, one dump");
    cr_assert(ran_later, "the loop ran on after the dump, to the timer 40 ms later");
    cr_assert_eq(observe_sigdump_close(&d), 0, "closing restores the signal: 0");
    cr_assert_eq(observe_sigdump_close(&d), -EALREADY, "a second close: -EALREADY");
    capture_close(&cap);
    cr_assert(strncmp(cap.text, "SIGUSR1: task dump\n0 live tasks", 31) == 0,
              "the dump was printed (got: %s)", cap.text);
    free(cap.text);
    loop_free(loop);
}

/* ---- the trace: a small JSON parser, enough to validate it -------------------------------- */

enum { MAX_EVENTS = 2048 };
struct json {
    const char *p;
    const char *error;
    int depth;
    /* The fields of the trace events (objects at depth 2), in order. */
    struct json_event {
        char ph;
        double ts;
        long tid;
        bool has_ts;
    } ev[MAX_EVENTS];
    size_t n;
};

static bool json_value(struct json *j);

static void json_ws(struct json *j) {
    while (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')
        j->p++;
}
static bool json_fail(struct json *j, const char *why) {
    if (!j->error)
        j->error = why;
    return false;
}
/* A string into buf (cut to size); escapes are checked, \uXXXX kept as is. */
static bool json_string(struct json *j, char *buf, size_t size) {
    size_t n = 0;
    if (*j->p != '"')
        return json_fail(j, "a string must start with a quote");
    for (j->p++; *j->p != '"'; j->p++) {
        if (!*j->p || (unsigned char)*j->p < 0x20)
            return json_fail(j, "an unterminated string or a raw control character");
        if (*j->p == '\\') {
            j->p++;
            if (*j->p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)j->p[i]))
                        return json_fail(j, "a bad \\u escape");
                j->p += 4;
            } else if (!strchr("\"\\/bfnrt", *j->p)) {
                return json_fail(j, "a bad escape");
            }
        }
        if (buf && n + 1 < size)
            buf[n++] = *j->p;
    }
    j->p++;
    if (buf)
        buf[n] = '\0';
    return true;
}
static bool json_number(struct json *j, double *out) {
    const char *start = j->p;
    if (*j->p == '-')
        j->p++;
    if (!isdigit((unsigned char)*j->p))
        return json_fail(j, "a number must start with a digit");
    if (*j->p == '0' && isdigit((unsigned char)j->p[1]))
        return json_fail(j, "no leading zeros in JSON numbers");
    while (isdigit((unsigned char)*j->p))
        j->p++;
    if (*j->p == '.') {
        j->p++;
        if (!isdigit((unsigned char)*j->p))
            return json_fail(j, "a digit must follow the decimal point");
        while (isdigit((unsigned char)*j->p))
            j->p++;
    }
    if (*j->p == 'e' || *j->p == 'E') {
        j->p++;
        if (*j->p == '+' || *j->p == '-')
            j->p++;
        if (!isdigit((unsigned char)*j->p))
            return json_fail(j, "a digit must follow the exponent");
        while (isdigit((unsigned char)*j->p))
            j->p++;
    }
    if (out)
        *out = strtod(start, NULL);
    return true;
}
static bool json_object(struct json *j) {
    bool event = j->depth == 3 && j->n < MAX_EVENTS; /* {"traceEvents":[ {event} ]} */
    if (event)
        j->ev[j->n] = (struct json_event){0};
    j->p++;
    json_ws(j);
    if (*j->p == '}') {
        j->p++;
        return true;
    }
    for (;;) {
        char key[32];
        json_ws(j);
        if (!json_string(j, key, sizeof key))
            return false;
        json_ws(j);
        if (*j->p++ != ':')
            return json_fail(j, "a ':' must follow a key");
        json_ws(j);
        if (event && strcmp(key, "ph") == 0) {
            char ph[4];
            if (!json_string(j, ph, sizeof ph))
                return false;
            j->ev[j->n].ph = ph[0];
        } else if (event && (strcmp(key, "ts") == 0 || strcmp(key, "tid") == 0)) {
            double v;
            if (!json_number(j, &v))
                return false;
            if (key[1] == 's') {
                j->ev[j->n].ts = v;
                j->ev[j->n].has_ts = true;
            } else {
                j->ev[j->n].tid = (long)v;
            }
        } else if (!json_value(j)) {
            return false;
        }
        json_ws(j);
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p++ != '}')
            return json_fail(j, "an object needs ',' or '}' after a member");
        if (event)
            j->n++;
        return true;
    }
}
static bool json_array(struct json *j) {
    j->p++;
    json_ws(j);
    if (*j->p == ']') {
        j->p++;
        return true;
    }
    for (;;) {
        json_ws(j);
        if (!json_value(j))
            return false;
        json_ws(j);
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p++ != ']')
            return json_fail(j, "an array needs ',' or ']' after an element");
        return true;
    }
}
static bool json_value(struct json *j) {
    json_ws(j);
    bool ok;
    switch (*j->p) {
    case '{':
        j->depth++;
        ok = json_object(j);
        j->depth--;
        return ok;
    case '[':
        j->depth++;
        ok = json_array(j);
        j->depth--;
        return ok;
    case '"':
        return json_string(j, NULL, 0);
    default:
        if (strncmp(j->p, "true", 4) == 0 || strncmp(j->p, "null", 4) == 0) {
            j->p += 4;
            return true;
        }
        if (strncmp(j->p, "false", 5) == 0) {
            j->p += 5;
            return true;
        }
        return json_number(j, NULL);
    }
}
/* NULL when text is one JSON value and nothing else, else what is wrong. */
static const char *json_check(struct json *j, const char *text) {
    j->p = text;
    j->error = NULL;
    j->depth = 0;
    j->n = 0;
    if (json_value(j)) {
        json_ws(j);
        if (*j->p)
            json_fail(j, "text after the JSON value");
    }
    return j->error;
}

Test(observing_the_loop, json_checker_catches_mistakes,
     .description = "Q: does the test's JSON checker reject what is not JSON?") {
    static struct json j;
    cr_assert_null(json_check(&j, "{\"a\":[1,-2.5e3,\"x\\n\\u00e9\",true,null,{}]}"),
                   "valid JSON passes");
    static const char *const bad[] = {"{",     "{\"a\" 1}", "[1,]", "{\"a\":01}", "\"\\q\"",
                                      "[1] 2", "{'a':1}",   "[1.]", "",           "[\"a\nb\"]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not_null(json_check(&j, bad[i]), "rejected: %s", bad[i]);
}

static char *trace_json_of(const struct observe_trace *tr) {
    struct capture cap;
    capture_open(&cap);
    cr_assert_eq(observe_trace_write_json(tr, cap.out), 0, "the trace can be written");
    capture_close(&cap);
    return cap.text;
}

Test(observing_the_loop, trace_is_valid_balanced_monotonic,
     .description = "Q: is the trace valid JSON, with balanced begin/end events and monotonic "
                    "timestamps?") {
    static struct observe_trace_event ring[512];
    static struct json j;
    for (int fixed = 0; fixed <= 1; fixed++) {
        struct service s;
        struct observe_trace tr;
        cr_assert_eq(service_init(&s, fixed), 0);
        cr_assert_eq(observe_trace_start(&tr, s.loop, ring, 512), 0);
        cr_assert_eq(service_run(&s), 0);
        cr_assert_eq(tr.dropped, 0, "512 events hold the whole run");
        char *text = trace_json_of(&tr);
        const char *problem = json_check(&j, text);
        cr_assert_null(problem, "the trace is valid JSON (%s)", problem ? problem : "");
        size_t begins = 0, ends = 0;
        int open[64] = {0};
        double last = -1;
        for (size_t i = 0; i < j.n; i++) {
            if (j.ev[i].ph == 'M')
                continue;
            cr_assert(j.ev[i].has_ts, "every B and E event has a timestamp");
            cr_assert_geq(j.ev[i].ts, last, "timestamps never go back (event %zu)", i);
            last = j.ev[i].ts;
            cr_assert(j.ev[i].tid >= 0 && j.ev[i].tid < 64,
                      "every event sits on a lane 0..63 (tid %ld)", j.ev[i].tid);
            if (j.ev[i].ph == 'B') {
                begins++;
                open[j.ev[i].tid]++;
                cr_assert_eq(open[j.ev[i].tid], 1, "slices on one row do not overlap");
            } else {
                cr_assert_eq(j.ev[i].ph, 'E', "only B, E and M events");
                ends++;
                cr_assert_eq(open[j.ev[i].tid]--, 1, "an E closes an open B on its row");
            }
        }
        cr_assert_eq(begins, observe_trace_count(&tr), "one B per recorded event");
        cr_assert_eq(begins, ends, "every begin has its end");
        free(text);
        service_free(&s);
    }
}

Test(observing_the_loop, trace_ring_is_bounded,
     .description = "Q: does a full ring keep the newest events and count the dropped?") {
    struct observe_trace_event ring[8];
    struct service s;
    struct observe_trace tr;
    cr_assert_eq(service_init(&s, false), 0);
    cr_assert_eq(observe_trace_start(&tr, s.loop, ring, 8), 0);
    cr_assert_eq(service_run(&s), 0);
    cr_assert_eq(observe_trace_count(&tr), 8, "never more than the ring holds");
    cr_assert_gt(tr.dropped, 0, "the older events were dropped, and counted");
    for (size_t i = 1; i < 8; i++)
        cr_assert_geq(observe_trace_at(&tr, i)->start, observe_trace_at(&tr, i - 1)->start,
                      "kept oldest first");
    cr_assert_null(observe_trace_at(&tr, 8), "past the newest of 8 kept events: NULL");
    cr_assert_eq(observe_trace_start(&tr, s.loop, ring, 0), -EINVAL, "an empty ring: -EINVAL");
    service_free(&s);
}

/* ---- the committed timeline --------------------------------------------------------------- */

Test(observing_the_loop, timeline_matches_committed,
     .description = "Q: is each committed SVG timeline exactly what the demo draws now?") {
    static struct observe_trace_event ring[512];
    for (int fixed = 0; fixed <= 1; fixed++) {
        struct service s;
        struct observe_trace tr;
        cr_assert_eq(service_init(&s, fixed), 0);
        cr_assert_eq(observe_trace_start(&tr, s.loop, ring, 512), 0);
        cr_assert_eq(service_run(&s), 0);
        struct capture cap;
        capture_open(&cap);
        cr_assert_eq(timeline_write_svg(&tr, OBSERVE_SLOW_DEFAULT_NS,
                                        fixed ? SERVICE_TITLE_FIXED : SERVICE_TITLE, cap.out),
                     0);
        capture_close(&cap);
        const char *path = fixed ? "lessons/15-observing-the-loop/timeline-fixed.svg"
                                 : "lessons/15-observing-the-loop/timeline.svg";
        char *committed = test_read_file(path, NULL);
        cr_assert_not_null(committed, "%s is committed", path);
        cr_assert_null(xmlcheck_problem(cap.text), "the timeline is well-formed XML");
        size_t at = 0;
        while (cap.text[at] && cap.text[at] == committed[at])
            at++;
        cr_assert(cap.text[at] == committed[at],
                  "%s is byte for byte what the demo draws (first difference at byte %zu; run "
                  "`make lesson L=15` and copy the new one if the change is meant)",
                  path, at);
        cr_assert_eq(strstr(cap.text, "#D62728") != NULL, !fixed,
                     "a red bar exactly when a run took 100 ms or more");
        free(cap.text);
        free(committed);
        service_free(&s);
    }
}

Test(observing_the_loop, misuse,
     .description = "Q: what does each instrument say to a NULL or a bad argument?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct observe_tasks ot;
    struct observe_trace tr;
    struct observe_trace_event ring[4];
    struct observe_sigdump d;
    cr_assert_eq(observe_tasks_start(NULL, loop, NULL), -EINVAL, "no struct: -EINVAL");
    cr_assert_eq(observe_tasks_start(&ot, NULL, NULL), -EINVAL, "no loop: -EINVAL");
    cr_assert_eq(observe_trace_start(&tr, loop, NULL, 4), -EINVAL, "no ring: -EINVAL");
    cr_assert_eq(observe_trace_write_json(NULL, stdout), -EINVAL, "no trace: -EINVAL");
    cr_assert_eq(observe_trace_start(&tr, loop, ring, 4), 0);
    cr_assert_eq(observe_trace_start(&tr, loop, ring, 4), -EBUSY,
                 "starting a trace that is recording: -EBUSY, and it goes on recording");
    cr_assert_eq(observe_trace_stop(&tr), 0, "and it stops once");
    cr_assert_eq(observe_trace_stop(&tr), -EALREADY);
    cr_assert_eq(observe_tasks_start(&ot, loop, NULL), 0);
    cr_assert_eq(observe_tasks_start(&ot, loop, NULL), -EBUSY, "the dump's notes: -EBUSY too");
    cr_assert_eq(observe_tasks_stop(&ot), 0);
    cr_assert_eq(observe_sigdump_open(&d, NULL, NULL, NULL), -EINVAL, "no loop: -EINVAL");
    cr_assert_eq(observe_lag_stop(NULL), -EINVAL);
    cr_assert_eq(timeline_write_svg(&tr, 1, "empty", stdout), -EINVAL,
                 "an empty trace draws nothing: -EINVAL");
    loop_free(loop);
}

/* ---- the asyncio twin --------------------------------------------------------------------- */

Test(observing_the_loop, asyncio_twin_agrees, .timeout = 60,
     .description = "Q: does asyncio's debug mode point at the same culprit?") {
    struct test_twin_output *c, *py;
    test_twin_pair("15-observing-the-loop", &c, &py);
    test_twin_assert_same(c, py);
    free(c);
    free(py);
}
