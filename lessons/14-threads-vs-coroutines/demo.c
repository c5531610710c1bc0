/* demo.c — lesson 14: what does CPU-bound work do to the loop, and how is it moved off?
 * A heartbeat timer ticks every 10 ms and records how late it runs, while 200 ms of CPU-bound
 * work runs four ways: as one callback on the loop, in 10 ms chunks with a yield between, on the
 * executor's worker thread, in a worker process. A table compares them at the end. --trace
 * prints only the canonical lines the asyncio twin prints too. */
#include "lessons/14-threads-vs-coroutines/scenes.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MS INT64_C(1000000)

enum { WORK_MS = 200, CHUNK_MS = 10, PERIOD_MS = 10 };

static const char *const how[SCENE_COUNT] = {
    "one callback on the loop's thread burns 200 ms of CPU",
    "a task burns 10 ms and yields (asyncio.sleep(0)), 20 times",
    "a task awaits a job (EXECUTOR_AWAIT); a worker thread burns",
    "a task awaits a worker process (PROCWORKER_CALL); the child burns",
};

static const char *const lesson[SCENE_COUNT] = {
    "Nothing else ran meanwhile: every timer and every connection waited.",
    "The wait is bounded by a chunk or two; the work took a little longer.",
    "The loop stayed free: the thread burned while the loop slept in poll.",
    "The same, in another process: no shared memory, no shared lock (the GIL).",
};

static double ms(int64_t ns) {
    return (double)ns / 1e6;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    bool trace = argc > 1 && strcmp(argv[1], "--trace") == 0;
    struct loop *loop;
    if (loop_new(&loop, NULL) != 0) {
        fprintf(stderr, "demo: no loop\n");
        return 1;
    }
    if (!trace)
        printf("A heartbeat every %d ms records how late it runs. Meanwhile %d ms of CPU-bound\n"
               "work runs, four ways.\n",
               PERIOD_MS, WORK_MS);
    struct scene_result r[SCENE_COUNT];
    bool as_shown = true;
    for (int k = 0; k < SCENE_COUNT; k++) {
        int err =
            scene_run(loop, (enum scene_kind)k, WORK_MS * MS, CHUNK_MS * MS, PERIOD_MS * MS, &r[k]);
        if (err) {
            fprintf(stderr, "demo: scene %s failed: %s\n", scene_name((enum scene_kind)k),
                    loop_last_error(loop));
            loop_free(loop);
            return 1;
        }
        const char *bucket = scene_lateness_bucket(r[k].worst_late_ns, r[k].total_ns);
        /* Blocking delays the heartbeat by about the whole work; every remedy must not (how far
         * under it a remedy stays depends on how busy the machine is). */
        bool whole = strcmp(bucket, "about the whole work") == 0;
        bool expected = k == SCENE_BLOCKING ? whole : !whole;
        as_shown = as_shown && expected;
        if (trace) {
            printf("scene %s: heartbeat late by %s\n", scene_name((enum scene_kind)k), bucket);
            continue;
        }
        printf("\nScene %d, %s: %s.\n", k + 1, scene_name((enum scene_kind)k), how[k]);
        printf("  %d heartbeat%s ran; the latest was %.1f ms late: %s.\n", r[k].beats,
               r[k].beats == 1 ? "" : "s", ms(r[k].worst_late_ns), bucket);
        printf("  %s\n", lesson[k]);
    }
    if (!trace) {
        printf("\n  %-9s %15s %11s %11s\n", "scene", "worst lateness", "total", "CPU");
        for (int k = 0; k < SCENE_COUNT; k++)
            printf("  %-9s %12.1f ms %8.1f ms %8.1f ms\n", scene_name((enum scene_kind)k),
                   ms(r[k].worst_late_ns), ms(r[k].total_ns), ms(r[k].cpu_ns));
        printf("\nThe work costs about %d ms of CPU wherever it runs: moving it off the loop does\n"
               "not make it cheaper, it leaves the loop free to answer while it runs elsewhere.\n",
               WORK_MS);
        if (!as_shown)
            printf("\nThis run did not show it (a very busy machine?): run it again.\n");
    }
    loop_free(loop);
    return as_shown ? 0 : 1;
}
