/* 04_ready_queue_test.c — lesson 04 (ready-queue), the answer asserted: no, a callback scheduled
 * during a tick runs in the next one. Each tick runs a batch of the N callbacks that were ready
 * when it began, in FIFO order; a callback cancelled before its turn lowers N; and because a batch
 * never grows, a callback that re-schedules itself forever cannot keep the loop from its fds. */
#include <criterion/criterion.h>

#include <string.h>
#include <unistd.h>

#include "loop/loop.h"
#include "tests/support/loop.h" /* test_virtual_loop, test_loop_new */
#include "tests/support/twin.h"

/* The scripted backend on a virtual clock: nothing here waits for real. */
static struct loop_clock test_clock;

/* Every callback here is a `step`: it notes (name, tick) in the journal, then does its job. */
struct step {
    struct runnable run;
    const char *name;
    struct loop *loop;
    struct step *schedules; /* queued by this step when it runs */
    struct step *cancels;   /* cancelled by this step when it runs */
    bool stops;             /* calls loop_stop */
    bool forever;           /* re-schedules itself every time */
    int calls;
};

enum { JOURNAL_MAX = 64 };
static struct {
    const char *name[JOURNAL_MAX];
    uint64_t tick[JOURNAL_MAX];
    int count;
} journal;

static void run_step(void *arg) {
    struct step *s = arg;
    s->calls++;
    if (journal.count < JOURNAL_MAX) {
        journal.name[journal.count] = s->name;
        journal.tick[journal.count] = loop_tick(s->loop);
        journal.count++;
    }
    if (s->cancels)
        cr_assert_eq(loop_unqueue(s->loop, &s->cancels->run), 0,
                     "%s cancels %s, which was still queued: 0", s->name, s->cancels->name);
    if (s->schedules)
        cr_assert_eq(loop_call_soon(s->loop, &s->schedules->run, run_step, s->schedules), 0,
                     "queueing a callback returns 0");
    if (s->forever)
        loop_call_soon(s->loop, &s->run, run_step, s);
    if (s->stops)
        loop_stop(s->loop);
}

static void step_init(struct step *s, struct loop *loop, const char *name) {
    memset(s, 0, sizeof *s);
    runnable_init(&s->run, run_step, s, name);
    s->name = name;
    s->loop = loop;
}

static void queue(struct step *s) {
    cr_assert_eq(loop_call_soon(s->loop, &s->run, run_step, s), 0, "queueing a callback returns 0");
}

/* The tick in which the journal says `name` ran (first time), or 0 if it never ran. */
static uint64_t tick_of(const char *name) {
    for (int i = 0; i < journal.count; i++)
        if (strcmp(journal.name[i], name) == 0)
            return journal.tick[i];
    return 0;
}

TestSuite(ready_queue,
          .description = "Does a callback scheduled during a tick run in that same tick?");

Test(
    ready_queue, scheduled_during_tick_runs_next_tick,
    .description = "Q: when a callback schedules another, does the new one run in the same tick?") {
    journal.count = 0;
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    struct step a, b, c;
    step_init(&a, loop, "A");
    step_init(&b, loop, "B");
    step_init(&c, loop, "C");
    a.schedules = &b; /* A -> B -> C: a chain of three ticks */
    b.schedules = &c;
    queue(&a);
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(journal.count, 1, "tick 1 runs A only: B, queued while A ran, waits");
    cr_assert_eq(loop_ready_count(loop), 1u, "B is on the ready queue at the end of tick 1");
    cr_assert_eq(loop_run(loop), 0, "loop_run returns 0");
    cr_assert_eq(tick_of("A"), 1u);
    cr_assert_eq(tick_of("B"), 2u, "B, scheduled during tick 1, runs in tick 2");
    cr_assert_eq(tick_of("C"), 3u, "C, scheduled during tick 2, runs in tick 3");
    loop_free(loop);
}

Test(ready_queue, fifo_order, .description = "Q: in what order does one batch run its callbacks?") {
    journal.count = 0;
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    static const char *const names[5] = {"first", "second", "third", "fourth", "fifth"};
    struct step s[5];
    for (int i = 0; i < 5; i++) {
        step_init(&s[i], loop, names[i]);
        queue(&s[i]);
    }
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(journal.count, 5, "all five, ready when the tick began, run in tick 1");
    for (int i = 0; i < 5; i++)
        cr_assert_str_eq(journal.name[i], names[i], "position %d runs %s: first in, first out", i,
                         names[i]);
    loop_free(loop);
}

struct reader {
    struct loop_watcher w;
    uint64_t served_in_tick;
};

static void read_byte(struct loop_watcher *w, unsigned ready) {
    struct reader *r = (struct reader *)w;
    char byte;
    cr_assert(ready & LOOP_READABLE, "the reader is told its pipe is readable");
    cr_assert_eq(read(w->fd, &byte, 1), 1, "the byte written is there to read");
    r->served_in_tick = loop_tick(w->loop);
}

Test(ready_queue, busy_callback_does_not_starve_io, .timeout = 30,
     .description = "Q: can a callback that re-schedules itself forever keep the loop from "
                    "serving a readable fd?") {
    journal.count = 0;
    struct loop *loop = test_loop_new(&backend_poll); /* a real pipe on the real clock */
    struct step spinner;
    step_init(&spinner, loop, "spinner");
    spinner.forever = true;
    queue(&spinner);
    int p[2];
    cr_assert_eq(pipe(p), 0, "pipe() succeeds");
    struct reader r = {.served_in_tick = 0};
    loop_watcher_init(&r.w, "reader");
    cr_assert_eq(loop_watch_fd(loop, &r.w, p[0], LOOP_READABLE, read_byte, NULL), 0,
                 "the pipe's read end is watched");
    cr_assert_eq(write(p[1], "x", 1), 1);
    /* Bounded: if the spinner could starve the fd, this loop ends and the assertion says so. */
    for (int tick = 0; tick < 10 && r.served_in_tick == 0; tick++)
        cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(r.served_in_tick, 1u,
                 "the readable pipe is served in tick 1, beside the "
                 "spinner: step 1 saw the ready queue non-empty and polled with timeout 0");
    cr_assert_eq(spinner.calls, 1,
                 "and the spinner ran once in that tick, not without end: its "
                 "re-queued self belongs to the next batch");
    for (int tick = 0; tick < 3; tick++)
        loop_run_once(loop);
    cr_assert_eq(spinner.calls, 4, "one spin per tick, tick after tick");
    loop_unwatch(loop, &r.w);
    close(p[0]);
    close(p[1]);
    loop_free(loop);
}

Test(ready_queue, stop_ends_run_after_the_tick,
     .description = "Q: when a callback calls loop_stop, when does loop_run return?") {
    journal.count = 0;
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    struct step a, b, c, later;
    step_init(&a, loop, "A");
    step_init(&b, loop, "B-stops");
    step_init(&c, loop, "C");
    step_init(&later, loop, "later");
    b.stops = true;
    b.schedules = &later;
    queue(&a);
    queue(&b);
    queue(&c);
    cr_assert_eq(loop_run(loop), 0, "loop_run returns 0");
    cr_assert_eq(loop_tick(loop), 1u,
                 "loop_run returns after tick 1, the tick loop_stop was "
                 "called in");
    cr_assert_eq(c.calls, 1, "C, after B in the same batch, still runs: the tick is finished");
    cr_assert_eq(later.calls, 0, "what B scheduled for the next tick has not run ...");
    cr_assert_eq(loop_ready_count(loop), 1u, "... it waits on the ready queue");
    cr_assert_eq(loop_run(loop), 0, "loop_run returns 0");
    cr_assert_eq(later.calls, 1, "the next loop_run picks it up: stop was a request for one run");
    loop_free(loop);
}

Test(ready_queue, cancel_lowers_n,
     .description = "Q: if A cancels B (counted in this tick's N) "
                    "and schedules C, does C take B's place?") {
    journal.count = 0;
    struct loop *loop = test_virtual_loop(&test_clock, NULL);
    struct step a, b, c;
    step_init(&a, loop, "A");
    step_init(&b, loop, "B");
    step_init(&c, loop, "C");
    a.cancels = &b;
    a.schedules = &c;
    queue(&a);
    queue(&b); /* N = 2 when tick 1 begins */
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(b.calls, 0, "B, cancelled before its turn, never runs");
    cr_assert_eq(c.calls, 0,
                 "C does not run in tick 1: cancelling B lowered N to 1, it did not "
                 "leave a free slot for newer work");
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(tick_of("C"), 2u, "C runs in tick 2");
    cr_assert_eq(journal.count, 2, "in all: A then C");
    loop_free(loop);
}

/* ---- the asyncio twin ----------------------------------------------------------------------- */

Test(ready_queue, asyncio_twin, .timeout = 60,
     .description = "Q: does asyncio's call_soon run the same callbacks in the same ticks, and "
                    "where does its cancel differ?") {
    struct test_twin_output *c, *py;
    test_twin_pair("04-ready-queue", &c, &py);
    cr_assert_eq(c->count, py->count, "both print one line per event: %zu and %zu", c->count,
                 py->count);
    int differences = 0;
    for (size_t i = 0; i < c->count; i++) {
        if (strstr(c->lines[i], " cancels ") == NULL) {
            cr_assert_str_eq(c->lines[i], py->lines[i],
                             "line %zu is the same in both: loopschool \"%s\", asyncio \"%s\"",
                             i + 1, c->lines[i], py->lines[i]);
            continue;
        }
        /* The documented difference: loop_unqueue unlinks the runnable, Handle.cancel() only
         * marks the handle, which stays in loop._ready until its turn comes and is skipped. */
        differences++;
        const char *cancel_line = "tick 2: child-a cancels child-b (the ready queue now holds ";
        char ours[TEST_TWIN_LINE], theirs[TEST_TWIN_LINE];
        snprintf(ours, sizeof ours, "%s1)", cancel_line);
        snprintf(theirs, sizeof theirs, "%s2)", cancel_line);
        cr_assert_str_eq(c->lines[i], ours,
                         "loopschool's cancel takes child-b off the queue at once: %s",
                         c->lines[i]);
        cr_assert_str_eq(py->lines[i], theirs,
                         "asyncio's cancelled handle stays queued until its turn: %s",
                         py->lines[i]);
    }
    cr_assert_eq(differences, 1, "the cancel is the one line that differs");
    free(c);
    free(py);
}
