/* tasks.h — the task dump (lesson 15): every live task, its state, what it waits for, how long
 * it has waited, and its await chain as file:line lines, innermost last — loopschool's
 * Task.print_stack, aiomonitor's `where`. An observer notes when each task parks, so the dump can
 * say "for 212 ms"; without it attached the dump still lists everything but the durations. */
#ifndef LOOPSCHOOL_OBSERVE_TASKS_H
#define LOOPSCHOOL_OBSERVE_TASKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "loop/loop.h"
#include "sched/task/task.h"

/* A struct coro keeps only its own resume point (16 bytes, lesson 06): which child a frame is
 * awaiting with CORO_AWAIT is the frame's knowledge. A chain function says it: it fills out[]
 * with the coroutines t is inside, outermost first, after t's own, and returns how many. */
typedef size_t (*observe_chain_fn)(const struct task *t, const struct coro **out, size_t max);

enum { OBSERVE_TASKS_SLOTS = 64, OBSERVE_CHAIN_MAX = 8 };

struct observe_tasks {
    struct loop_observer obs;
    struct loop *loop;
    observe_chain_fn chain; /* may be NULL: the chain is then the task's own resume point */
    struct {
        const struct task *task;
        int64_t since;             /* when it parked: the end of its last run */
    } parked[OBSERVE_TASKS_SLOTS]; /* a small table; the oldest slot is reused when full */
    unsigned next_slot;
};

/* Attaches the parking notes to loop. chain may be NULL. 0, -EINVAL, or -EBUSY if ot is
 * running on loop already. */
int observe_tasks_start(struct observe_tasks *ot, struct loop *loop, observe_chain_fn chain);
int observe_tasks_stop(struct observe_tasks *ot);

/* The task whose runnable r is, or NULL (a plain callback, a timer, a watcher; or r NULL). */
struct task *observe_task_of(struct loop *loop, const struct runnable *r);
/* Is r a task's runnable? One comparison, where observe_task_of walks the live tasks. Observers
 * ask it in before_run: after the run, a runnable whose owner let go of it is gone (after_run
 * gets NULL), so what an observer will say about it, it notes before. */
bool observe_is_task(struct loop *loop, const struct runnable *r);

/* Every live task of loop, then the chain of each, innermost last. ot may be NULL (no wait
 * durations, no chain function). For gdb: `call observe_tasks_dump(&ot, loop, stdout)`.
 * Flushes. */
void observe_tasks_dump(const struct observe_tasks *ot, struct loop *loop, FILE *out);

#endif
