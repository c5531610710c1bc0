/* demo.c — lesson 04 (ready-queue): callbacks that schedule callbacks, narrated tick by tick.
 * Each tick prints the ready queue as the batch begins (so N, the batch size), every pick the
 * batch makes, and the queue it leaves for the next tick. Watch, under FIFO (asyncio's order):
 * work queued during a tick waits for the next one, and a callback taken off the queue
 * (loop_unqueue) that was counted in N makes the batch shorter. `--trace` prints only the
 * canonical event lines that asyncio_twin.py prints too. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "loop/loop.h"
#include "loop/observe/narrate.h"
#include "loop/observe/record_cli.h"
#include "sched/task/sched.h"

/* Every callback of the story is an `act`: a runnable plus what it does when it runs. */
struct act {
    struct runnable run;
    struct loop *loop;
    int countdown;        /* > 0: run again next tick, this many more times */
    struct act *spawn[2]; /* queued when this act runs */
    struct act *cancel;   /* taken off the ready queue when this act runs */
    int runs;             /* how many times it ran: the demo checks its story with these */
};

/* The story, or with --trace the canonical "tick T: ..." lines only (narrate.h). */
static struct narrator narrator;

/* One line: the ready queue in the order the policy will pick, each name with its tick stamp. */
static void print_one(const struct runnable *r, void *ctx) {
    int *first = ctx;
    printf("%s%s@%llu", *first ? "" : ", ", r->name, (unsigned long long)r->tick);
    *first = 0;
}

static void print_ready_queue(struct loop *loop, const char *label) {
    if (narrator.trace)
        return;
    const struct readyq *q = &loop_sched(loop)->ready;
    int first = 1;
    printf("  %-22s [", label);
    q->policy->ops->for_each(q->policy, print_one, &first);
    printf("]  (%zu ready)\n", readyq_count(q));
}

/* The loop calls this before each pick of step 4: the narrator sees what the batch does. */
static void before_run(void *ctx, struct loop *loop, const struct runnable *r) {
    (void)ctx;
    narrate_trace(&narrator, "run %s", r->name);
    narrate_story(
        &narrator,
        "    pick: %-10s (stamped for tick %llu; picks left in this batch after it: %zu)\n",
        r->name, (unsigned long long)r->tick, loop_sched(loop)->batch_left);
}

static void act_run(void *arg) {
    struct act *a = arg;
    a->runs++;
    if (a->cancel) {
        size_t left_before = loop_sched(a->loop)->batch_left;
        int rc = loop_unqueue(a->loop, &a->cancel->run);
        size_t left = loop_sched(a->loop)->batch_left;
        narrate_trace(&narrator, "%s cancels %s (the ready queue now holds %zu)", a->run.name,
                      a->cancel->run.name, loop_ready_count(a->loop));
        if (rc != 0)
            narrate_story(&narrator, "      %s cancels %s: it was not queued (%d)\n", a->run.name,
                          a->cancel->run.name, rc);
        else if (left < left_before)
            narrate_story(&narrator,
                          "      %s cancels %s: it was counted in this tick's N, so the batch\n"
                          "      shrinks by one: picks left now %zu\n",
                          a->run.name, a->cancel->run.name, left);
        else
            narrate_story(&narrator,
                          "      %s cancels %s: it was stamped for a later tick, so this batch\n"
                          "      keeps its length: picks left still %zu\n",
                          a->run.name, a->cancel->run.name, left);
    }
    for (int i = 0; i < 2; i++) {
        if (!a->spawn[i])
            continue;
        loop_call_soon(a->loop, &a->spawn[i]->run, act_run, a->spawn[i]);
        narrate_trace(&narrator, "%s schedules %s", a->run.name, a->spawn[i]->run.name);
        narrate_story(&narrator, "      %s schedules %s: queued now, stamped for tick %llu\n",
                      a->run.name, a->spawn[i]->run.name,
                      (unsigned long long)a->spawn[i]->run.tick);
    }
    if (!a->cancel && !a->spawn[0] && a->countdown == 0)
        narrate_story(&narrator, "      %s does its work and schedules nothing\n", a->run.name);
    if (a->countdown > 0) {
        a->countdown--;
        loop_call_soon(a->loop, &a->run, act_run, a);
        narrate_trace(&narrator, "%s schedules %s", a->run.name, a->run.name);
        narrate_story(&narrator, "      %s re-schedules itself (%d more time%s after this)\n",
                      a->run.name, a->countdown, a->countdown == 1 ? "" : "s");
    }
}

static void act_init(struct act *a, struct loop *loop, const char *name) {
    memset(a, 0, sizeof *a);
    runnable_init(&a->run, act_run, a, name);
    a->loop = loop;
}

/* --record FILE: the first loop's ticks, for the tick viewer (make view). */
static struct record_cli record;

int main(int argc, char **argv) {
    /* One line at a time even into a pipe, so the story interleaves in order with gdb's output
     * in the README's session. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *title = "Lesson 04: the ready queue and the batch rule";
    if (record_cli_parse(&record, &argc, argv, title) != 0) {
        fprintf(stderr, "usage: demo [--trace] [--record FILE]\n");
        return 2;
    }
    narrate_parse(&narrator, &argc, argv);
    struct loop *loop;
    struct loop_config config = {.hooks = {.before_run = before_run}};
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
    struct act hello, counter, parent, child_a, child_b, child_c;
    act_init(&hello, loop, "hello");
    act_init(&counter, loop, "counter");
    act_init(&parent, loop, "parent");
    act_init(&child_a, loop, "child-a");
    act_init(&child_b, loop, "child-b");
    act_init(&child_c, loop, "child-c");
    counter.countdown = 3;      /* runs in ticks 1, 2, 3 and 4 */
    parent.spawn[0] = &child_a; /* parent -> child-a, child-b during tick 1 */
    parent.spawn[1] = &child_b;
    child_a.cancel = &child_b;   /* child-a, in tick 2, cancels child-b ... */
    child_a.spawn[0] = &child_c; /* ... and schedules child-c: tick 3, not child-b's slot */

    narrate_story(
        &narrator,
        "Three callbacks are queued before the loop runs. name@T means: stamped for tick T\n"
        "(work queued outside a batch carries the current tick, 0 before the first one).\n");
    loop_call_soon(loop, &hello.run, act_run, &hello);
    loop_call_soon(loop, &counter.run, act_run, &counter);
    loop_call_soon(loop, &parent.run, act_run, &parent);

    while (loop_ready_count(loop) > 0) {
        size_t n = loop_ready_count(loop);
        if (narrator.trace)
            printf("tick %llu: batch of %zu\n", (unsigned long long)loop_tick(loop) + 1, n);
        narrate_story(&narrator, "\ntick %llu\n", (unsigned long long)loop_tick(loop) + 1);
        print_ready_queue(loop, "ready as it begins:");
        narrate_story(&narrator,
                      "  N = %zu: step 4 will pick at most %zu runnable%s in this tick\n", n, n,
                      n == 1 ? "" : "s");
        loop_run_once(loop);
        print_ready_queue(loop, "left for the next tick:");
    }
    /* What the story shows: four ticks; counter ran in each, child-b in none (cancelled). */
    bool ok = loop_tick(loop) == 4 && counter.runs == 4 && child_b.runs == 0 && child_c.runs == 1 &&
              hello.runs == 1;
    int written = record_cli_finish(&record);
    if (written != 0) {
        fprintf(stderr, "demo: cannot write %s: %s\n", record.path, strerror(-written));
        return 1;
    }
    loop_free(loop);
    if (!ok) {
        printf("\nThe demo did not see what it expected (above).\n");
        return 1;
    }
    narrate_story(
        &narrator,
        "\nThe ready queue is empty: nothing is armed or watched either, so loop_run would\n"
        "return now. Every callback queued during a tick ran in the next one, in FIFO order,\n"
        "and each batch stopped at its N, so the loop got to poll between batches.\n");
    return 0;
}
