/* scenes.h — lesson 14's four scenes, shared by the demo and the test: a heartbeat timer ticks
 * every period and records how late it ran, while CPU-bound work runs on the loop (blocking),
 * on the loop in chunks (chunked), on the executor's thread (executor) or in a worker process
 * (process). On a virtual clock "work" moves the clock instead of spinning, so the first two
 * scenes can be tested exactly. */
#ifndef LESSON14_SCENES_H
#define LESSON14_SCENES_H

#include <stdint.h>

#include "loop/loop.h"

enum scene_kind { SCENE_BLOCKING, SCENE_CHUNKED, SCENE_EXECUTOR, SCENE_PROCESS, SCENE_COUNT };

struct scene_result {
    enum scene_kind kind;
    int64_t worst_late_ns; /* the heartbeat's worst lateness */
    int64_t total_ns;      /* from the start of the work to its result on the loop */
    int64_t cpu_ns;        /* user + system CPU of this process and its reaped children */
    int beats;             /* heartbeats that ran */
    long checksum;         /* what the work computed, so it cannot be skipped */
};

/* Runs one scene on `loop`: work_ns of CPU-bound work (chunk_ns per chunk in the chunked scene),
 * a heartbeat every period_ns. 0, or the negative errno of what failed. */
int scene_run(struct loop *loop, enum scene_kind kind, int64_t work_ns, int64_t chunk_ns,
              int64_t period_ns, struct scene_result *out);

const char *scene_name(enum scene_kind kind);
/* The lateness in words, relative to the wall time the work took (total_ns), so that a fast, a
 * slow and a busy machine (and asyncio) say the same thing: "about the whole work" (half of it
 * or more), "a small part of the work" (under a quarter), or "in between". */
const char *scene_lateness_bucket(int64_t late_ns, int64_t total_ns);

/* Burns ns of CPU time on the calling thread (a real spin: no sleeping; on a busy machine it
 * takes longer than ns of wall time), and returns a checksum. */
long scene_burn(int64_t ns);

#endif
