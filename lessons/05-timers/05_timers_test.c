/* 05_timers_test.c — lesson 05 (timers), the answer asserted on a virtual clock: timers fire by
 * deadline, equal deadlines in the order they were started; a timer stopped by a sibling due at
 * the same moment never runs; and the loop sleeps exactly until the next deadline, rounded up to
 * what the backend can express. The loop records the wait it would make, so the tests assert
 * those timeouts, never a real elapsed time. */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "loop/loop.h"
#include "tests/support/loop.h" /* test_virtual_loop */
#include "tests/support/twin.h"

#define MS     1000000LL
#define SECOND (1000 * MS)

static struct loop_clock test_clock;

/* What every before_wait hook saw: the timeout each tick computed. */
static struct {
    int64_t timeout[64];
    int count;
    long blocking; /* waits with timeout -1, all of them (the array keeps only the first 64) */
    long total;
} waits;

static void note_wait(void *ctx, struct loop *loop, int64_t timeout_ns) {
    (void)ctx;
    (void)loop;
    if (waits.count < 64)
        waits.timeout[waits.count++] = timeout_ns;
    if (timeout_ns < 0)
        waits.blocking++;
    waits.total++;
}

static struct loop *new_loop_on(const struct backend_ops *backend) {
    memset(&waits, 0, sizeof waits);
    struct loop_config config = {.backend = backend, .hooks = {.before_wait = note_wait}};
    return test_virtual_loop(&test_clock, &config);
}

/* Each timer notes its name and the virtual time it fired at. */
enum { FIRED_MAX = 16 };
static struct {
    const char *name[FIRED_MAX];
    int64_t at[FIRED_MAX];
    int count;
} fired;

static void note_fire(struct loop_timer *t) {
    struct loop *loop = t->arg;
    if (fired.count < FIRED_MAX) {
        fired.name[fired.count] = t->entry.name;
        fired.at[fired.count] = loop_now(loop);
        fired.count++;
    }
}

TestSuite(timers, .description = "In what order do timers fire, and how long does the loop sleep?");

Test(timers, deadline_order,
     .description = "Q: do timers fire in deadline order, whatever the "
                    "order they were started in?") {
    fired.count = 0;
    struct loop *loop = new_loop_on(&backend_script);
    struct loop_timer t[4];
    static const char *const names[4] = {"at-30ms", "at-10ms", "at-40ms", "at-20ms"};
    static const int64_t delays[4] = {30 * MS, 10 * MS, 40 * MS, 20 * MS};
    for (int i = 0; i < 4; i++) {
        loop_timer_init(&t[i], names[i]);
        cr_assert_eq(loop_timer_start(loop, &t[i], delays[i], note_fire, loop), 0,
                     "starting a timer returns 0");
    }
    cr_assert_eq(loop_run(loop), 0, "loop_run returns 0");
    cr_assert_eq(fired.count, 4, "all four timers fire");
    static const char *const expected[4] = {"at-10ms", "at-20ms", "at-30ms", "at-40ms"};
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(fired.name[i], expected[i], "timer %d to fire is %s", i, expected[i]);
        cr_assert_eq(fired.at[i], (i + 1) * 10 * MS,
                     "%s fires when the clock reads exactly "
                     "%d ms",
                     expected[i], (i + 1) * 10);
    }
    loop_free(loop);
}

Test(timers, equal_deadlines_fifo,
     .description = "Q: in what order do timers with the same "
                    "deadline fire?") {
    fired.count = 0;
    struct loop *loop = new_loop_on(&backend_script);
    static const char *const names[5] = {"one", "two", "three", "four", "five"};
    struct loop_timer t[5];
    for (int i = 0; i < 5; i++) {
        loop_timer_init(&t[i], names[i]);
        loop_timer_start_at(loop, &t[i], 7 * MS, note_fire, loop);
    }
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(fired.count, 5, "all five fire in the one tick that reaches 7 ms");
    for (int i = 0; i < 5; i++)
        cr_assert_str_eq(fired.name[i], names[i],
                         "position %d is %s: equal deadlines fire in "
                         "the order the timers were started",
                         i, names[i]);
    loop_free(loop);
}

static struct loop_timer victim;
static int stop_rc = 1;

static void stop_the_victim(struct loop_timer *t) {
    note_fire(t);
    stop_rc = loop_timer_stop(t->arg, &victim);
}

Test(timers, stopped_by_sibling_at_same_deadline,
     .description = "Q: if a timer's callback stops another timer due at the same moment, does "
                    "the stopped one still run?") {
    fired.count = 0;
    struct loop *loop = new_loop_on(&backend_script);
    struct loop_timer killer;
    loop_timer_init(&killer, "killer");
    loop_timer_init(&victim, "victim");
    loop_timer_start(loop, &killer, 5 * MS, stop_the_victim, loop);
    loop_timer_start(loop, &victim, 5 * MS, note_fire, loop);
    cr_assert_eq(loop_run(loop), 0, "loop_run returns 0");
    cr_assert_eq(stop_rc, 0, "stopping it returns 0: it was due, its callback queued, not run");
    cr_assert_eq(fired.count, 1, "only the killer ran; the victim was taken off the ready queue");
    cr_assert_str_eq(fired.name[0], "killer");
    loop_free(loop);
}

Test(timers, rearm_moves_the_deadline,
     .description = "Q: when an armed timer is started again, "
                    "does it fire once, at the new deadline?") {
    fired.count = 0;
    struct loop *loop = new_loop_on(&backend_script);
    struct loop_timer t;
    loop_timer_init(&t, "moved");
    loop_timer_start(loop, &t, 10 * MS, note_fire, loop);
    loop_timer_start(loop, &t, 25 * MS, note_fire, loop);
    cr_assert_eq(loop_timer_count(loop), 1u, "re-arming does not add a second timer");
    cr_assert_eq(loop_run(loop), 0, "loop_run returns 0");
    cr_assert_eq(fired.count, 1, "it fires once");
    cr_assert_eq(fired.at[0], 25 * MS, "at the new deadline, 25 ms");
    loop_free(loop);
}

Test(timers, waits_until_next_deadline,
     .description = "Q: how long does each tick wait when only "
                    "timers are pending?") {
    fired.count = 0;
    struct loop *loop = new_loop_on(&backend_script); /* resolution 1 ns: no rounding */
    struct loop_timer t[4];
    static const int64_t at[4] = {5 * MS, 12 * MS, 12 * MS, 40 * MS};
    for (int i = 0; i < 4; i++) {
        loop_timer_init(&t[i], "t");
        loop_timer_start_at(loop, &t[i], at[i], note_fire, loop);
    }
    cr_assert_eq(loop_run(loop), 0, "loop_run returns 0");
    cr_assert_eq(fired.count, 4, "all four timers fire");
    cr_assert_eq(waits.count, 3, "three waits for three distinct deadlines (got %d)", waits.count);
    cr_assert_eq(waits.timeout[0], 5 * MS, "first wait: 5 ms, until the first deadline");
    cr_assert_eq(waits.timeout[1], 7 * MS, "second: 7 ms, from 5 ms to the two timers at 12 ms");
    cr_assert_eq(waits.timeout[2], 28 * MS, "third: 28 ms, from 12 ms to 40 ms");
    /* On virtual time the backend itself was only asked to look, never to sleep. */
    const int64_t *asked;
    int n = backend_script_timeouts(loop_backend(loop), &asked);
    cr_assert_eq(n, 3, "the backend was asked three times");
    for (int i = 0; i < n; i++)
        cr_assert_eq(asked[i], 0,
                     "on a virtual clock the backend is asked with timeout 0, and "
                     "time jumps instead (wait %d)",
                     i);
    loop_free(loop);
}

Test(timers, poll_wait_rounds_up,
     .description = "Q: with poll's millisecond timeouts, how does "
                    "the loop wait for a timer 1.5 ms away?") {
    fired.count = 0;
    struct loop *loop = new_loop_on(&backend_poll); /* resolution 1 ms, on virtual time */
    struct loop_timer t;
    loop_timer_init(&t, "in-1.5ms");
    loop_timer_start(loop, &t, 1500000, note_fire, loop);
    cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
    cr_assert_eq(loop_last_timeout(loop), 2 * MS,
                 "one wait of 2 ms: 1.5 ms rounded UP to "
                 "poll's resolution (got %lld ns)",
                 (long long)loop_last_timeout(loop));
    cr_assert_eq(fired.count, 1,
                 "and the timer fired in that same tick: no 1 ms wait that wakes "
                 "early, then a spin of 0 ms waits until the deadline");
    cr_assert_eq(waits.count, 1, "exactly one wait");
    loop_free(loop);

    /* The edges: a whole number of ms stays as it is, 1 ns becomes 1 ms. */
    static const int64_t delays[3] = {3 * MS, 1, MS + 1};
    static const int64_t rounded[3] = {3 * MS, MS, 2 * MS};
    for (int i = 0; i < 3; i++) {
        loop = new_loop_on(&backend_poll);
        loop_timer_init(&t, "edge");
        loop_timer_start(loop, &t, delays[i], note_fire, loop);
        cr_assert_eq(loop_run_once(loop), 0, "the tick returns 0");
        cr_assert_eq(loop_last_timeout(loop), rounded[i],
                     "a timer %lld ns away gives a wait of "
                     "%lld ns on poll",
                     (long long)delays[i], (long long)rounded[i]);
        loop_free(loop);
    }
}

/* ---- an hour of periodic timers -------------------------------------------------------------- */

struct periodic {
    struct loop_timer timer;
    int64_t period;
    long fires;
};

static void tick_periodic(struct loop_timer *t) {
    struct periodic *p = (struct periodic *)t;
    p->fires++;
    /* From the old deadline, not from now: a late tick must not make the period drift. */
    loop_timer_start_at(t->loop, t, t->entry.deadline + p->period, tick_periodic, NULL);
}

static struct periodic clocks[3];

static void end_of_hour(struct loop_timer *t) {
    for (int i = 0; i < 3; i++)
        loop_timer_stop(t->loop, &clocks[i].timer);
}

Test(timers, an_hour_without_blocking, .timeout = 120,
     .description = "Q: can an hour of periodic timers run on virtual time, with the backend "
                    "never asked to block?") {
    struct loop *loop = new_loop_on(&backend_script);
    static const int64_t periods[3] = {100 * MS, 200 * MS, SECOND};
    for (int i = 0; i < 3; i++) {
        loop_timer_init(&clocks[i].timer, "periodic");
        clocks[i].period = periods[i];
        clocks[i].fires = 0;
        loop_timer_start(loop, &clocks[i].timer, periods[i], tick_periodic, NULL);
    }
    /* Half a step past the hour, so every periodic fire due at or before 3600 s happens. */
    struct loop_timer end;
    loop_timer_init(&end, "end-of-hour");
    loop_timer_start(loop, &end, 3600 * SECOND + 50 * MS, end_of_hour, NULL);
    cr_assert_eq(loop_run(loop), 0, "loop_run ends by itself once the hour is over");
    cr_assert_eq(loop_now(loop), 3600 * SECOND + 50 * MS,
                 "virtual time stands at one hour and 50 ms");
    cr_assert_eq(clocks[0].fires, 36000, "the 100 ms timer fired 36,000 times (%ld)",
                 clocks[0].fires);
    cr_assert_eq(clocks[1].fires, 18000, "the 200 ms timer 18,000 times (%ld)", clocks[1].fires);
    cr_assert_eq(clocks[2].fires, 3600, "the 1 s timer 3,600 times (%ld)", clocks[2].fires);
    cr_assert_eq(waits.total, 36001,
                 "one wait per 100 ms step, plus the last 50 ms: the other "
                 "deadlines fall on the same steps and share their ticks (%ld waits)",
                 waits.total);
    cr_assert_eq(waits.blocking, 0, "the loop never computed a blocking wait");
    const int64_t *asked;
    int n = backend_script_timeouts(loop_backend(loop), &asked);
    int blocked = 0;
    for (int i = 0; i < n; i++)
        blocked += asked[i] != 0;
    cr_assert_eq(blocked, 0,
                 "the backend was asked %d times, every time with timeout 0: it "
                 "never blocked",
                 n);
    loop_free(loop);
}

/* ---- the asyncio twin ----------------------------------------------------------------------- */

Test(timers, asyncio_twin, .timeout = 60,
     .description = "Q: do asyncio's call_later timers fire in the same ticks at the same "
                    "virtual times, and how does its wait differ?") {
    struct test_twin_output *c, *py;
    test_twin_pair("05-timers", &c, &py);
    cr_assert_eq(c->count, py->count, "both print one line per event: %zu and %zu", c->count,
                 py->count);
    int waits = 0;
    for (size_t i = 0; i < c->count; i++) {
        unsigned ct, pt;
        double c_ms, py_ms;
        if (sscanf(c->lines[i], "tick %u: wait %lf ms", &ct, &c_ms) != 2) {
            cr_assert_str_eq(c->lines[i], py->lines[i],
                             "line %zu is the same in both: loopschool \"%s\", asyncio \"%s\"",
                             i + 1, c->lines[i], py->lines[i]);
            continue;
        }
        /* The documented difference: poll's whole milliseconds, rounded up in step 1 here;
         * asyncio hands select() the exact float (its PollSelector rounds up later). */
        waits++;
        cr_assert_eq(sscanf(py->lines[i], "tick %u: wait %lf ms", &pt, &py_ms), 2,
                     "asyncio waits in the same place: \"%s\"", py->lines[i]);
        cr_assert_eq(ct, pt, "in the same tick");
        cr_assert_float_eq(c_ms, ceil(py_ms - 1e-9), 1e-9,
                           "loopschool's wait (%.3f ms) is asyncio's (%.3f ms) rounded up to "
                           "whole ms",
                           c_ms, py_ms);
    }
    cr_assert_eq(waits, 4, "four waits: one per tick");
    cr_assert(strcmp(c->lines[1], py->lines[1]) == 0 && strstr(c->lines[0], "2.000") &&
                  strstr(py->lines[0], "1.500"),
              "tick 1 shows it: asyncio waits 1.500 ms, loopschool 2 ms, and both run blink at "
              "+1.500 ms");
    free(c);
    free(py);
}
