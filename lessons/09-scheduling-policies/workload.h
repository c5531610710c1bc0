/* workload.h — lesson 09's fixed workload: a handful of tasks that burn simulated CPU on the
 * virtual clock, run under one scheduling policy, with what each task got out of it (its CPU
 * share, its longest wait for the CPU, its missed deadlines) and every run slice, for the
 * table and the Gantt charts. The same workload under every policy is the whole lesson. */
#ifndef LOOPSCHOOL_LESSON09_WORKLOAD_H
#define LOOPSCHOOL_LESSON09_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sched/policy/policy.h"
#include "sched/policy/mlfq.h"

/* How a task releases its jobs. A job is `units` units of CPU work; each unit advances virtual
 * time by unit_ns inside one step (the CPU is "busy"), then the task yields. */
enum workload_kind {
    WORKLOAD_ALWAYS_READY, /* CPU-bound: the next job is released the moment one ends */
    WORKLOAD_PERIODIC,     /* a job every period_ns, from start_ns on; sleeps in between */
    WORKLOAD_INTERACTIVE,  /* a short job, then it sleeps period_ns ("waits for the user") */
};

struct workload_task_spec {
    const char *name;
    enum workload_kind kind;
    int64_t unit_ns;     /* CPU time of one unit of work: > 0 */
    int units;           /* units per job: > 0 */
    int64_t period_ns;   /* periodic: between releases; interactive: the sleep; else unused */
    int64_t start_ns;    /* the first release (0: at once) */
    int64_t deadline_ns; /* each job must end within this of its release: > 0 */
    int16_t priority;    /* what strict priority looks at */
    uint32_t tickets;    /* what stride and lottery look at: > 0 */
};

enum { WORKLOAD_MAX_TASKS = 16 };

struct workload_spec {
    const struct workload_task_spec *tasks;
    size_t task_count;  /* 1 .. WORKLOAD_MAX_TASKS */
    int64_t horizon_ns; /* no unit of work starts unless it can end by then: > 0 */
    uint64_t lottery_seed;
    const struct policy_mlfq_config *mlfq; /* NULL: MLFQ's defaults */
};

/* One run of one task: [start_ns, start_ns + ran_ns) on the virtual clock. */
struct workload_slice {
    int64_t start_ns;
    int64_t ran_ns;
    uint16_t task; /* index in the spec */
    uint8_t level; /* its MLFQ level as it was picked (0 under the other policies) */
};

/* A time a task was ready but not running: [from_ns, to_ns), ended by a run (its first steps
 * and its last, which do no work, included). */
struct workload_wait {
    int64_t from_ns;
    int64_t to_ns;
    uint16_t task;
};

/* A job that ended after its deadline, or had not ended when the run did though its deadline
 * had passed. */
struct workload_miss {
    int64_t deadline_ns;
    uint16_t task;
};

struct workload_task_stats {
    int64_t cpu_ns;               /* CPU time it used */
    int64_t longest_wait_ns;      /* the longest time it was ready but not running */
    int64_t longest_wait_from_ns; /* when that wait began */
    int jobs_done;
    int jobs_missed;
    uint8_t deepest_level; /* the deepest MLFQ level it was picked at */
};

struct workload_result {
    const char *policy;
    size_t task_count;
    int64_t end_ns; /* when the last task ended: the whole run */
    int64_t cpu_ns; /* all the tasks' CPU time together */
    struct workload_task_stats stats[WORKLOAD_MAX_TASKS];
    struct workload_slice *slices; /* in time order */
    size_t slice_count, slice_capacity;
    struct workload_wait *waits; /* in the order they ended */
    size_t wait_count, wait_capacity;
    struct workload_miss *misses; /* in the order they were found */
    size_t miss_count, miss_capacity;
};

/* The workload the demo runs and the charts show: five tasks, 200 ms of virtual time. */
const struct workload_spec *workload_standard(void);

/* Runs spec under `policy` on a fresh loop with a virtual clock starting at 0, until every task
 * has ended; fills *out (release it with workload_result_free, also after an error). 0, -EINVAL
 * for a NULL argument or a spec out of range, -ENOMEM, or the loop's error. */
int workload_run(const struct workload_spec *spec, const struct policy_ops *policy,
                 struct workload_result *out);
void workload_result_free(struct workload_result *result);

/* A task's share of all the CPU the tasks used, in percent. */
double workload_share_percent(const struct workload_result *result, size_t task);

/* What a task does, in a few words: "3 x 1 ms every 20 ms; priority 2, 100 tickets, deadline
 * 10 ms" (no characters that XML would need escaped). */
void workload_describe(const struct workload_task_spec *task, FILE *out);
/* A duration in milliseconds, to the microsecond: "1 ms", "0.5 ms", "0.25 ms". */
void workload_print_ms(int64_t ns, FILE *out);

/* Per task: CPU time, longest wait, jobs done and missed; then the slice count. Flushes. */
void workload_dump(const struct workload_spec *spec, const struct workload_result *result,
                   FILE *out);

#endif
