/* demo.c — lesson 05 (timers): six timers, one stopped and one re-armed by another's callback,
 * on the real clock (about 35 ms of real sleeping). Each tick draws the timer heap as a tree
 * before step 3 pops what is due, and shows the wait the backend was asked for. With --virtual
 * the same story runs on virtual time: the loop computes the same waits, asks poll with timeout
 * 0, and jumps the clock instead of sleeping. `--trace` (the canonical event lines
 * asyncio_twin.py prints too) and `--record` (make view) run on virtual time as well. */
#include <stdio.h>
#include <string.h>

#include "loop/loop.h"
#include "loop/observe/narrate.h"
#include "loop/observe/record_cli.h"
#include "sched/task/sched.h"

#define MS 1000000LL

/* What the hooks remember between steps, to narrate a tick and check the story. */
struct timeline {
    int64_t start; /* the clock when the story began */
    bool virtual_time;
    size_t armed_before;    /* timers armed as the tick's wait began */
    uint64_t narrated_tick; /* the last tick whose step 3 was drawn */
    int64_t wait_began;
    char fired[128]; /* the names of the timers that ran, in order: the demo checks its story */
};

static struct timeline timeline;
/* The story, or with --trace the canonical "tick T: ..." lines only (narrate.h). */
static struct narrator narrator;

static double ms_since(const struct timeline *n, int64_t t) {
    return (double)(t - n->start) / 1e6;
}

/* The tree, each deadline shown relative to `now`. */
static void draw_heap(struct loop *loop, int64_t now) {
    if (!narrator.trace)
        timerq_dump(&loop_sched(loop)->timers, now, stdout);
}

/* Step 1 has computed the timeout; step 2 is about to wait. */
static void before_wait(void *ctx, struct loop *loop, int64_t timeout) {
    struct timeline *n = ctx;
    const struct sched *s = loop_sched(loop);
    const struct timerq_entry *next = timerq_peek(&s->timers);
    narrate_story(&narrator, "\ntick %llu, at +%.3f ms. The heap before step 3 pops anything:\n",
                  (unsigned long long)loop_tick(loop), ms_since(n, s->now));
    draw_heap(loop, s->now);
    n->armed_before = timerq_count(&s->timers);
    narrate_trace(&narrator, "wait %.3f ms", (double)timeout / 1e6);
    if (loop_ready_count(loop) > 0) {
        narrate_story(&narrator, "step 1: callbacks are ready already: timeout 0\n");
    } else if (next && next->deadline <= s->now) {
        narrate_story(&narrator, "step 1: the root, %s, is due already: timeout 0\n", next->name);
    } else if (next) {
        /* Says what the loop did, not what it should do: after the exercise's change to round
         * down, this line says so. */
        int64_t due = next->deadline - s->now;
        const char *how = timeout > due   ? "rounded UP to poll's whole ms"
                          : timeout < due ? "rounded DOWN to poll's whole ms"
                                          : "whole ms already";
        narrate_story(&narrator, "step 1: the root, %s, is due in %.3f ms; %s: %lld ms\n",
                      next->name, (double)due / 1e6, how, (long long)(timeout / MS));
    }
    if (n->virtual_time)
        narrate_story(&narrator,
                      "step 2: poll(fds, 0 fds, timeout 0): on virtual time the loop only looks\n");
    else
        narrate_story(&narrator, "step 2: poll(fds, 0 fds, timeout %lld ms) sleeps ...\n",
                      (long long)(timeout / MS));
    n->wait_began = loop_now(loop);
}

static void after_wait(void *ctx, struct loop *loop, const struct backend_ready *ready, int count) {
    struct timeline *n = ctx;
    (void)ready;
    int64_t now = loop_now(loop);
    if (n->virtual_time)
        narrate_story(
            &narrator,
            "        nothing ready, so virtual time jumps to the root's deadline: +%.3f ms\n",
            ms_since(n, now));
    else
        narrate_story(&narrator, "        ... and returns %d after %.3f ms of real time\n", count,
                      (double)(now - n->wait_began) / 1e6);
}

/* The first pick of a tick comes right after step 3: that is when it says what step 3 did. */
static void before_run(void *ctx, struct loop *loop, const struct runnable *r) {
    struct timeline *n = ctx;
    if (n->narrated_tick != loop_tick(loop)) {
        n->narrated_tick = loop_tick(loop);
        size_t popped = n->armed_before - timerq_count(&loop_sched(loop)->timers);
        narrate_story(&narrator,
                      "step 3: popped %zu due timer%s onto the ready queue; %zu left in the heap\n",
                      popped, popped == 1 ? "" : "s", timerq_count(&loop_sched(loop)->timers));
        narrate_story(&narrator, "step 4: run the batch\n");
    }
    narrate_story(&narrator, "        runs %s at +%.3f ms\n", r->name, ms_since(n, loop_now(loop)));
    narrate_trace(&narrator, "run %s at +%.3f ms", r->name, ms_since(n, loop_now(loop)));
    size_t used = strlen(n->fired);
    snprintf(n->fired + used, sizeof n->fired - used, "%s%s", used ? " " : "", r->name);
}

static struct loop_timer blink, email, snooze, alarm_clock, coffee, tea;

static void just_fire(struct loop_timer *t) {
    (void)t;
}

/* email's callback changes the plan: the alarm is off, and snooze moves later. */
static void read_email(struct loop_timer *t) {
    struct loop *loop = t->arg;
    int rc = loop_timer_stop(loop, &alarm_clock);
    narrate_story(
        &narrator,
        "        email stops alarm (loop_timer_stop returns %d): heap_remove takes it out\n", rc);
    narrate_trace(&narrator, "email cancels alarm");
    loop_timer_start(loop, &snooze, 25 * MS, just_fire, NULL);
    narrate_story(&narrator,
                  "        email re-arms snooze for 25 ms from now: heap_requeue moves it down\n");
    narrate_trace(&narrator, "email re-arms snooze for +%.3f ms",
                  ms_since(&timeline, snooze.entry.deadline));
}

int main(int argc, char **argv) {
    /* One line at a time even into a pipe, so the story interleaves in order with what gdb
     * prints when the README's session stops inside the heap. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct timeline *n = &timeline;
    struct record_cli record;
    if (record_cli_parse(&record, &argc, argv, "Lesson 05: six timers on the heap") != 0) {
        fprintf(stderr, "usage: demo [--virtual | --trace] [--record FILE]\n");
        return 2;
    }
    /* A recording runs on virtual time too: the page then shows the same waits on every run. */
    n->virtual_time = narrate_parse(&narrator, &argc, argv) ||
                      (argc > 1 && strcmp(argv[1], "--virtual") == 0) || record.path;
    struct loop_clock virtual_clock;
    loop_clock_init_virtual(&virtual_clock, 0);
    struct loop_config config = {
        .backend = &backend_poll,
        .clock = n->virtual_time ? &virtual_clock : NULL,
        .hooks = {.ctx = n,
                  .before_wait = before_wait,
                  .after_wait = after_wait,
                  .before_run = before_run},
    };
    struct loop *loop;
    if (loop_new(&loop, &config) != 0) {
        fprintf(stderr, "demo: cannot create the loop\n");
        return 1;
    }
    if (record_cli_attach(&record, loop) != 0) {
        fprintf(stderr, "demo: cannot record the loop\n");
        return 1;
    }
    narrator.stamp = NARRATE_TICK;
    narrator.clock = loop;
    narrate_story(&narrator, "Six timers on the %s clock, the poll backend (1 ms resolution).\n",
                  n->virtual_time ? "virtual" : "real");
    loop_timer_init(&blink, "blink");
    loop_timer_init(&email, "email");
    loop_timer_init(&snooze, "snooze");
    loop_timer_init(&alarm_clock, "alarm");
    loop_timer_init(&coffee, "coffee");
    loop_timer_init(&tea, "tea");
    n->start = loop_now(loop);
    loop_timer_start(loop, &snooze, 15 * MS, just_fire, NULL);
    loop_timer_start(loop, &email, 10 * MS, read_email, loop);
    loop_timer_start(loop, &alarm_clock, 20 * MS, just_fire, NULL);
    loop_timer_start_at(loop, &coffee, n->start + 30 * MS, just_fire, NULL);
    loop_timer_start_at(loop, &tea, n->start + 30 * MS, just_fire, NULL); /* a tie: FIFO */
    loop_timer_start(loop, &blink, 1500000, just_fire, NULL);             /* 1.5 ms: rounding */
    narrate_story(&narrator,
                  "Started: snooze 15 ms, email 10 ms, alarm 20 ms, coffee and tea both at 30 ms,\n"
                  "blink 1.5 ms. Each push sifts up; the earliest deadline is always the root.\n");

    int rc = loop_run(loop);
    double end_ms = ms_since(n, loop_now(loop));
    int written = record_cli_finish(&record);
    loop_free(loop);
    if (written != 0) {
        fprintf(stderr, "demo: cannot write %s: %s\n", record.path, strerror(-written));
        return 1;
    }
    if (rc != 0 || strcmp(n->fired, "blink email coffee tea snooze") != 0) {
        printf("\nThe demo did not see what it expected: loop_run returned %d; the timers ran in\n"
               "the order \"%s\", not \"blink email coffee tea snooze\".\n",
               rc, n->fired);
        return 1;
    }
    narrate_story(
        &narrator,
        "\nloop_run returned %d at +%.3f ms: no timer is left armed. The order was blink,\n"
        "email, coffee, tea (a tie, in the order started), snooze (moved to ~35 ms); the\n"
        "alarm never ran. Each wait was the time to the root: on poll, whole ms.\n",
        rc, end_ms);
    return 0;
}
