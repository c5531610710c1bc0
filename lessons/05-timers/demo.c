/* demo.c — lesson 05 (timers): six timers, one stopped and one re-armed by another's callback,
 * on the real clock (about 35 ms of real sleeping). Each tick draws the timer heap as a tree
 * before and after step 3 pops what is due, and shows the wait the backend was asked for. With
 * --virtual the same story runs on virtual time: the loop computes the same waits, asks poll with
 * timeout 0, and jumps the clock instead of sleeping. */
#include <stdio.h>
#include <string.h>

#include "loop/loop.h"
#include "sched/task/sched.h"

#define MS 1000000LL

struct narrator {
    int64_t start; /* the clock when the story began */
    bool virtual_time;
    size_t armed_before;    /* timers armed as the tick's wait began */
    uint64_t narrated_tick; /* the last tick whose step 3 was drawn */
    int64_t wait_began;
};

static double ms_since(const struct narrator *n, int64_t t) {
    return (double)(t - n->start) / 1e6;
}

/* The tree, each deadline shown relative to `now`. */
static void draw_heap(struct loop *loop, int64_t now) {
    timerq_dump(&loop_sched(loop)->timers, now, stdout);
}

/* Step 1 has computed the timeout; step 2 is about to wait. */
static void before_wait(void *ctx, struct loop *loop, int64_t timeout) {
    struct narrator *n = ctx;
    const struct sched *s = loop_sched(loop);
    const struct timerq_entry *next = timerq_peek(&s->timers);
    printf("\ntick %llu, at +%.3f ms. The heap before step 3 pops anything:\n",
           (unsigned long long)loop_tick(loop), ms_since(n, s->now));
    draw_heap(loop, s->now);
    n->armed_before = timerq_count(&s->timers);
    if (next && timeout > 0)
        printf("step 1: the root, %s, is due in %.3f ms; rounded UP to poll's whole ms: %lld ms\n",
               next->name, (double)(next->deadline - s->now) / 1e6, (long long)(timeout / MS));
    else
        printf("step 1: something is due already: timeout 0\n");
    if (n->virtual_time)
        printf("step 2: poll(fds, 0 fds, timeout 0): on virtual time the loop only looks\n");
    else
        printf("step 2: poll(fds, 0 fds, timeout %lld ms) sleeps ...\n", (long long)(timeout / MS));
    n->wait_began = loop_now(loop);
}

static void after_wait(void *ctx, struct loop *loop, const struct backend_ready *ready, int count) {
    struct narrator *n = ctx;
    (void)ready;
    int64_t now = loop_now(loop);
    if (n->virtual_time)
        printf("        nothing ready, so virtual time jumps to the root's deadline: +%.3f ms\n",
               ms_since(n, now));
    else
        printf("        ... and returns %d after %.3f ms of real time\n", count,
               (double)(now - n->wait_began) / 1e6);
}

/* The first pick of a tick comes right after step 3: that is when the heap is drawn again. */
static void before_run(void *ctx, struct loop *loop, const struct runnable *r) {
    struct narrator *n = ctx;
    if (n->narrated_tick != loop_tick(loop)) {
        n->narrated_tick = loop_tick(loop);
        size_t popped = n->armed_before - timerq_count(&loop_sched(loop)->timers);
        printf("step 3: popped %zu due timer%s onto the ready queue. The heap after:\n", popped,
               popped == 1 ? "" : "s");
        draw_heap(loop, loop_now(loop));
        printf("step 4: run the batch\n");
    }
    printf("        runs %s at +%.3f ms\n", r->name, ms_since(n, loop_now(loop)));
}

static struct loop_timer blink, email, snooze, alarm_clock, coffee, tea;

static void just_fire(struct loop_timer *t) {
    (void)t;
}

/* email's callback changes the plan: the alarm is off, and snooze moves later. */
static void read_email(struct loop_timer *t) {
    struct loop *loop = t->arg;
    int rc = loop_timer_stop(loop, &alarm_clock);
    printf("        email stops alarm (loop_timer_stop returns %d): heap_remove takes it out\n",
           rc);
    loop_timer_start(loop, &snooze, 25 * MS, just_fire, NULL);
    printf("        email re-arms snooze for 25 ms from now: heap_update moves it down\n");
}

int main(int argc, char **argv) {
    /* One line at a time even into a pipe, so the story interleaves in order with what gdb
     * prints when the README's session stops inside the heap. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct narrator n = {.virtual_time = argc > 1 && strcmp(argv[1], "--virtual") == 0};
    struct loop_clock virtual_clock;
    loop_clock_init_virtual(&virtual_clock, 0);
    struct loop_config config = {
        .backend = &backend_poll,
        .clock = n.virtual_time ? &virtual_clock : NULL,
        .hooks = {.ctx = &n,
                  .before_wait = before_wait,
                  .after_wait = after_wait,
                  .before_run = before_run},
    };
    struct loop *loop;
    if (loop_new(&loop, &config) != 0) {
        fprintf(stderr, "demo: cannot create the loop\n");
        return 1;
    }
    printf("Six timers on the %s clock, the poll backend (1 ms resolution).\n",
           n.virtual_time ? "virtual" : "real");
    loop_timer_init(&blink, "blink");
    loop_timer_init(&email, "email");
    loop_timer_init(&snooze, "snooze");
    loop_timer_init(&alarm_clock, "alarm");
    loop_timer_init(&coffee, "coffee");
    loop_timer_init(&tea, "tea");
    n.start = loop_now(loop);
    loop_timer_start(loop, &snooze, 15 * MS, just_fire, NULL);
    loop_timer_start(loop, &email, 10 * MS, read_email, loop);
    loop_timer_start(loop, &alarm_clock, 20 * MS, just_fire, NULL);
    loop_timer_start_at(loop, &coffee, n.start + 30 * MS, just_fire, NULL);
    loop_timer_start_at(loop, &tea, n.start + 30 * MS, just_fire, NULL); /* a tie: FIFO */
    loop_timer_start(loop, &blink, 1500000, just_fire, NULL);            /* 1.5 ms: rounding */
    puts("Started: snooze 15 ms, email 10 ms, alarm 20 ms, coffee and tea both at 30 ms,"
         "\nblink 1.5 ms. Each push sifts up; the earliest deadline is always the root.");

    int rc = loop_run(loop);
    printf("\nloop_run returned %d at +%.3f ms: no timer is left armed. The order was blink,\n"
           "email, coffee, tea (a tie, in the order started), snooze (moved to ~35 ms); the\n"
           "alarm never ran. Each wait was the time to the root, rounded up, never a spin.\n",
           rc, ms_since(&n, loop_now(loop)));
    loop_free(loop);
    return rc == 0 ? 0 : 1;
}
