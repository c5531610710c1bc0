/* workload_report.c — lesson 09's standard workload, and words about workloads and their runs:
 * what a task does, durations for people, a task's CPU share, and workload_dump for gdb. The
 * running itself is in workload.c. */
#include "lessons/09-scheduling-policies/workload.h"
#include "sched/policy/lottery.h"
#include "sched/policy/mlfq.h"

#include <stdbool.h>
#include <string.h>

#define MS INT64_C(1000000)
#define US INT64_C(1000)

/* The story of the lesson: one task the user is waiting for, one with a frame deadline, three
 * that would each happily take the whole CPU. Each has a priority, tickets and a deadline, so
 * every policy finds what it orders by. */
/* clang-format off */
static const struct workload_task_spec standard_tasks[] = {
    {.name = "shell", .kind = WORKLOAD_INTERACTIVE, .unit_ns = 500 * US, .units = 1,
     .period_ns = 10 * MS, .deadline_ns = 5 * MS, .priority = 3, .tickets = 100},
    {.name = "render", .kind = WORKLOAD_PERIODIC, .unit_ns = 1 * MS, .units = 3,
     .period_ns = 20 * MS, .deadline_ns = 10 * MS, .priority = 2, .tickets = 100},
    {.name = "compile", .kind = WORKLOAD_ALWAYS_READY, .unit_ns = 1 * MS, .units = 1,
     .deadline_ns = 30 * MS, .priority = 1, .tickets = 300},
    {.name = "backup", .kind = WORKLOAD_ALWAYS_READY, .unit_ns = 1 * MS, .units = 1,
     .deadline_ns = 60 * MS, .priority = 0, .tickets = 200},
    {.name = "indexer", .kind = WORKLOAD_ALWAYS_READY, .unit_ns = 1 * MS, .units = 1,
     .deadline_ns = 120 * MS, .priority = -1, .tickets = 100},
};
/* clang-format on */

/* MLFQ's knobs scaled to a 200 ms run (its defaults suit longer ones): a task that uses 4 ms of
 * CPU at the top moves down, 8 ms more and it is at the bottom, and every 50 ms all go back up. */
static const struct policy_mlfq_config standard_mlfq = {
    .allotment_ns = {4 * MS, 8 * MS, 16 * MS},
    .boost_period_ns = 50 * MS,
};

static const struct workload_spec standard = {
    .tasks = standard_tasks,
    .task_count = sizeof standard_tasks / sizeof standard_tasks[0],
    .horizon_ns = 200 * MS,
    .lottery_seed = POLICY_LOTTERY_DEFAULT_SEED,
    .mlfq = &standard_mlfq,
};

const struct workload_spec *workload_standard(void) {
    return &standard;
}

double workload_share_percent(const struct workload_result *result, size_t task) {
    if (!result || task >= result->task_count || result->cpu_ns == 0)
        return 0.0;
    return 100.0 * (double)result->stats[task].cpu_ns / (double)result->cpu_ns;
}

void workload_print_ms(int64_t ns, FILE *out) {
    int64_t us = ns / US;
    fprintf(out, "%lld", (long long)(us / 1000));
    if (us % 1000) {
        char frac[8];
        snprintf(frac, sizeof frac, "%03d", (int)(us % 1000));
        for (int end = 2; end > 0 && frac[end] == '0'; end--)
            frac[end] = '\0'; /* 0.500 -> 0.5 */
        fprintf(out, ".%s", frac);
    }
    fputs(" ms", out);
}

void workload_describe(const struct workload_task_spec *t, FILE *out) {
    switch (t->kind) {
    case WORKLOAD_PERIODIC:
        fprintf(out, "%d x ", t->units);
        workload_print_ms(t->unit_ns, out);
        fputs(" every ", out);
        workload_print_ms(t->period_ns, out);
        break;
    case WORKLOAD_INTERACTIVE:
        fprintf(out, "%d x ", t->units);
        workload_print_ms(t->unit_ns, out);
        fputs(", then sleeps ", out);
        workload_print_ms(t->period_ns, out);
        break;
    case WORKLOAD_ALWAYS_READY:
    default:
        fputs("always ready, units of ", out);
        workload_print_ms(t->unit_ns, out);
        break;
    }
    if (t->start_ns > 0) {
        fputs(", from ", out);
        workload_print_ms(t->start_ns, out);
    }
    fprintf(out, "; priority %d, %lu tickets, deadline ", t->priority, (unsigned long)t->tickets);
    workload_print_ms(t->deadline_ns, out);
}

void workload_dump(const struct workload_spec *spec, const struct workload_result *result,
                   FILE *out) {
    bool mlfq = result->policy && strcmp(result->policy, "mlfq") == 0;
    fprintf(out, "workload under %s: ", result->policy ? result->policy : "?");
    if (result->end_ns > 0)
        fprintf(out, "ended at %.3f ms", (double)result->end_ns / 1e6);
    else
        fprintf(out, "still running");
    fprintf(out, ", %zu slices, %zu missed deadlines\n", result->slice_count, result->miss_count);
    for (size_t i = 0; i < result->task_count && spec && i < spec->task_count; i++) {
        const struct workload_task_stats *st = &result->stats[i];
        fprintf(out,
                "  %-10s cpu %7.3f ms (%5.1f%%), longest wait %7.3f ms (from %.3f), jobs done %d,"
                " missed %d",
                spec->tasks[i].name, (double)st->cpu_ns / 1e6, workload_share_percent(result, i),
                (double)st->longest_wait_ns / 1e6, (double)st->longest_wait_from_ns / 1e6,
                st->jobs_done, st->jobs_missed);
        if (mlfq)
            fprintf(out, ", deepest level %u", st->deepest_level);
        fputc('\n', out);
    }
    fflush(out);
}
