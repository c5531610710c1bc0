/* demo.c — lesson 09: which policy lets a busy task starve the others, and which gives each task
 * the share it is owed? One fixed workload (workload.c) on the virtual clock, run under each of
 * the seven policies: the first picks of each, one table (CPU share, longest wait, missed
 * deadlines per task), and a Gantt chart per policy written to build/ as SVG. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lessons/09-scheduling-policies/gantt.h"
#include "lessons/09-scheduling-policies/workload.h"
#include "loop/observe/xmlcheck.h"
#include "loop/observe/record_cli.h"
#include "sched/policy/mlfq.h"

#define OUT_DIR    "build/lessons/09-scheduling-policies"
#define LESSON_DIR "lessons/09-scheduling-policies"

enum { POLICIES = 7, FIRST_PICKS = 10 };

static void describe_workload(const struct workload_spec *spec) {
    printf("The workload: %zu tasks on the virtual clock for ", spec->task_count);
    workload_print_ms(spec->horizon_ns, stdout);
    printf(". A unit of work moves virtual time\nforward inside the task's step (the CPU is "
           "busy), then the task yields; the loop\ncharges the policy for it.\n\n");
    for (size_t i = 0; i < spec->task_count; i++) {
        printf("  %-8s ", spec->tasks[i].name);
        workload_describe(&spec->tasks[i], stdout);
        printf("\n");
    }
    if (spec->mlfq) {
        printf("\nMLFQ runs with allotments of ");
        for (int i = 0; i < POLICY_MLFQ_LEVELS; i++) {
            workload_print_ms(spec->mlfq->allotment_ns[i], stdout);
            printf(i + 1 < POLICY_MLFQ_LEVELS ? ", " : " (top to bottom) and a boost every ");
        }
        workload_print_ms(spec->mlfq->boost_period_ns, stdout);
        printf(",\nscaled to this short run.");
    }
    printf(" Lottery draws from seed 0x%llx.\n", (unsigned long long)spec->lottery_seed);
    printf("\nEach task's first step only sets its priority, tickets and deadline (it is on no\n"
           "queue while it runs), so the policies differ from the first unit of work on.\n\n");
}

/* Who got the CPU first: the first units of work, in order. */
static void first_picks(const struct workload_spec *spec, const struct workload_result *r) {
    int used = printf("  %-9s", r->policy);
    for (size_t k = 0; k < r->slice_count && k < FIRST_PICKS; k++) {
        const char *name = spec->tasks[r->slices[k].task].name;
        if (used + 1 + (int)strlen(name) + 4 > 90)
            break; /* the rest would not fit on the line */
        used += printf(" %s", name);
    }
    printf(" ...\n");
}

/* Two tables, so that each fits a screen: CPU share and longest wait, then missed deadlines. */
static void print_table(const struct workload_spec *spec, const struct workload_result *runs) {
    printf("\n%-10s", "");
    for (size_t i = 0; i < spec->task_count; i++) /* the last name unpadded: no trailing blanks */
        printf(i + 1 < spec->task_count ? " %-12s" : " %s", spec->tasks[i].name);
    printf("\n%-10s", "policy");
    for (size_t i = 0; i < spec->task_count; i++)
        printf("%s cpu%%  wait", i ? "  " : " ");
    printf("\n");
    for (int p = 0; p < POLICIES; p++) {
        printf("%-10s", runs[p].policy);
        for (size_t i = 0; i < spec->task_count; i++)
            printf("%s%5.1f %5.1f", i ? "  " : " ", workload_share_percent(&runs[p], i),
                   (double)runs[p].stats[i].longest_wait_ns / 1e6);
        printf("\n");
    }
    printf("\ncpu%%: its share of the CPU the tasks used. wait: the longest it was ready and not\n"
           "running, in ms. Missed deadlines (jobs that ended after their deadline, or had not\n"
           "ended when it passed):\n\n%-10s",
           "policy");
    for (size_t i = 0; i < spec->task_count; i++)
        printf(" %8s", spec->tasks[i].name);
    printf("\n");
    for (int p = 0; p < POLICIES; p++) {
        printf("%-10s", runs[p].policy);
        for (size_t i = 0; i < spec->task_count; i++)
            printf(" %8d", runs[p].stats[i].jobs_missed);
        printf("\n");
    }
}

/* The story the table tells, read off the results rather than written in advance. */
static void verdicts(const struct workload_spec *spec, const struct workload_result *runs) {
    printf("\nRead off the tables:\n");
    for (int p = 0; p < POLICIES; p++) {
        const struct workload_result *r = &runs[p];
        printf("  %-9s", r->policy);
        int starved = 0, missed = 0;
        for (size_t i = 0; i < spec->task_count; i++) {
            missed += r->stats[i].jobs_missed;
            if (r->stats[i].longest_wait_ns * 2 >= r->end_ns) {
                printf("%s%s", starved++ ? ", " : "starves ", spec->tasks[i].name);
            }
        }
        printf("%s%d missed deadline%s\n", starved ? "; " : "nobody starves; ", missed,
               missed == 1 ? "" : "s");
    }
    printf("  (starves: ready, yet waited at least half the run)\n");
}

/* mkdir -p for the output folder, from the repository root. */
static int make_out_dir(void) {
    static const char *const parts[] = {"build", "build/lessons", OUT_DIR};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (mkdir(parts[i], 0777) != 0 && errno != EEXIST)
            return -errno;
    return 0;
}

/* The whole file as a string (malloc'd), or NULL. */
static char *read_text(const char *path) {
    FILE *in = fopen(path, "rb");
    if (!in)
        return NULL;
    size_t len = 0, cap = 4096;
    char *text = malloc(cap);
    int c;
    while (text && (c = getc(in)) != EOF) {
        if (len + 1 == cap) {
            char *grown = realloc(text, cap *= 2);
            if (!grown) {
                free(text);
                text = NULL;
                break;
            }
            text = grown;
        }
        text[len++] = (char)c;
    }
    fclose(in);
    if (text)
        text[len] = '\0';
    return text;
}

/* Writes the charts and checks each against the committed copy; false if any could not be
 * written, is not well-formed, or differs from (or lacks) its copy. */
static bool save_charts(const struct workload_spec *spec, const struct workload_result *runs) {
    int err = make_out_dir();
    if (err) {
        printf("\ncould not create %s/: %s (run the demo from the repository root)\n", OUT_DIR,
               strerror(-err));
        return false;
    }
    bool all_good = true;
    printf("\nThe Gantt charts (one row per task, one bar per run), written to\n" OUT_DIR
           "/ and compared with the committed\ncopies in " LESSON_DIR "/:\n");
    for (int p = 0; p < POLICIES; p++) {
        char path[128], committed[128];
        snprintf(path, sizeof path, OUT_DIR "/gantt-%s.svg", runs[p].policy);
        snprintf(committed, sizeof committed, LESSON_DIR "/gantt-%s.svg", runs[p].policy);
        err = gantt_save_svg(spec, &runs[p], path);
        if (err) {
            printf("  %s: could not write it: %s\n", path, strerror(-err));
            all_good = false;
            continue;
        }
        char *drawn = read_text(path), *copy = read_text(committed);
        const char *problem = drawn ? xmlcheck_problem(drawn) : "it cannot be read back";
        bool same = drawn && copy && strcmp(drawn, copy) == 0;
        all_good = all_good && !problem && same;
        printf("  %-19s %s; %s\n", strrchr(path, '/') + 1,
               problem ? "NOT well-formed XML" : "well-formed XML",
               !drawn || !copy ? "no committed copy to compare"
               : same          ? "identical to the committed copy"
                               : "DIFFERS from the committed copy");
        if (problem)
            printf("    the XML checker says: %s\n", problem);
        free(drawn);
        free(copy);
    }
    return all_good;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line, also into a pipe or under gdb -batch */
    /* --record FILE: the first run's ticks (FIFO), for the tick viewer (make view). */
    struct record_cli record;
    if (record_cli_parse(&record, &argc, argv, "Lesson 09: the workload under FIFO") != 0 ||
        argc > 1) {
        fprintf(stderr, "usage: demo [--record FILE]\n");
        return 2;
    }
    const struct workload_spec *spec = workload_standard();
    struct workload_result runs[POLICIES];
    describe_workload(spec);
    printf("The first units of work under each policy:\n");
    for (int p = 0; p < POLICIES; p++) {
        int err = workload_run_recorded(spec, policy_by_index((size_t)p), &runs[p], &record);
        if (err) {
            fprintf(stderr, "demo: the %s run failed: %s\n", policy_by_index((size_t)p)->name,
                    strerror(-err));
            for (int q = 0; q <= p; q++)
                workload_result_free(&runs[q]);
            return 1;
        }
        first_picks(spec, &runs[p]);
    }
    int written = record_cli_finish(&record);
    if (written != 0)
        fprintf(stderr, "demo: cannot write %s: %s\n", record.path, strerror(-written));
    print_table(spec, runs);
    verdicts(spec, runs);
    bool charts_ok = save_charts(spec, runs);
    for (int p = 0; p < POLICIES; p++)
        workload_result_free(&runs[p]);
    if (!charts_ok)
        fprintf(stderr, "demo: a chart was not written as committed (see above); if the change\n"
                        "is meant, copy the new charts from " OUT_DIR "/ into " LESSON_DIR "/\n");
    return charts_ok && written == 0 ? 0 : 1;
}
