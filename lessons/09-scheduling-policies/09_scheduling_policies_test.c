/* 09_scheduling_policies_test.c — lesson 09's question, answered by running workloads on the
 * virtual clock: strict priority starves, FIFO and stride give the shares they promise, lottery
 * does on average and reproducibly, EDF keeps deadlines FIFO misses, MLFQ sorts tasks by how they
 * behave and its boost ends starvation. Also: the committed charts are what the code draws. */
#include "lessons/09-scheduling-policies/gantt.h"
#include "lessons/09-scheduling-policies/workload.h"
#include "loop/observe/xmlcheck.h"
#include "sched/policy/lottery.h"
#include "sched/policy/mlfq.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/files.h"

#define MS INT64_C(1000000)

TestSuite(scheduling_policies, .description = "Which policy lets a busy task starve the others, "
                                              "and which gives each task the share it is owed?");

/* ---- helpers ------------------------------------------------------------------------------ */

static void run_or_fail(const struct workload_spec *spec, const struct policy_ops *ops,
                        struct workload_result *r) {
    int err = workload_run(spec, ops, r);
    cr_assert_eq(err, 0, "the workload runs under %s (got %d)", ops->name, err);
}

static size_t task_named(const struct workload_spec *spec, const char *name) {
    for (size_t i = 0; i < spec->task_count; i++)
        if (strcmp(spec->tasks[i].name, name) == 0)
            return i;
    cr_assert_fail("the workload has a task named %s", name);
    return 0;
}

/* ---- starvation and shares ---------------------------------------------------------------- */

Test(scheduling_policies, priority_starves,
     .description = "Q: under strict priority, how long does an always-ready low-priority task "
                    "wait?") {
    const struct workload_spec *spec = workload_standard();
    struct workload_result r;
    run_or_fail(spec, &policy_priority, &r);
    size_t compile = task_named(spec, "compile");
    const char *starved[] = {"backup", "indexer"};
    for (int k = 0; k < 2; k++) {
        size_t i = task_named(spec, starved[k]);
        cr_assert(spec->tasks[i].kind == WORKLOAD_ALWAYS_READY &&
                  spec->tasks[i].priority < spec->tasks[compile].priority);
        cr_assert_eq(r.stats[i].longest_wait_ns, r.end_ns,
                     "%s, always ready below compile's priority, waited the whole run: %.1f ms of "
                     "%.1f ms",
                     starved[k], (double)r.stats[i].longest_wait_ns / 1e6, (double)r.end_ns / 1e6);
        cr_assert_eq(r.stats[i].longest_wait_from_ns, 0, "its wait began at the start");
        cr_assert_eq(r.stats[i].cpu_ns, 0, "%s never got the CPU while compile had work",
                     starved[k]);
    }
    cr_assert_eq(r.stats[task_named(spec, "shell")].jobs_missed, 0,
                 "the highest priority (shell) missed nothing: priority serves whoever is on top");
    workload_result_free(&r);
}

/* Every prefix of the run, the always-ready tasks' CPU against what each is owed (weight over
 * the total weight, times what they used together): the largest difference, in ns. */
static int64_t worst_share_error(const struct workload_spec *spec, const struct workload_result *r,
                                 bool by_tickets) {
    int64_t cpu[WORKLOAD_MAX_TASKS] = {0}, total = 0, weights = 0, worst = 0;
    for (size_t i = 0; i < spec->task_count; i++)
        if (spec->tasks[i].kind == WORKLOAD_ALWAYS_READY)
            weights += by_tickets ? spec->tasks[i].tickets : 1;
    for (size_t k = 0; k < r->slice_count; k++) {
        const struct workload_slice *s = &r->slices[k];
        if (spec->tasks[s->task].kind != WORKLOAD_ALWAYS_READY)
            continue;
        cpu[s->task] += s->ran_ns;
        total += s->ran_ns;
        for (size_t i = 0; i < spec->task_count; i++) {
            if (spec->tasks[i].kind != WORKLOAD_ALWAYS_READY)
                continue;
            int64_t weight = by_tickets ? spec->tasks[i].tickets : 1;
            int64_t error = llabs(cpu[i] * weights - total * weight) / weights;
            if (error > worst)
                worst = error;
        }
    }
    return worst;
}

Test(scheduling_policies, fifo_equal_shares,
     .description = "Q: does FIFO give every always-ready task the same share?") {
    const struct workload_spec *spec = workload_standard();
    struct workload_result r;
    run_or_fail(spec, &policy_fifo, &r);
    int64_t worst = worst_share_error(spec, &r, false);
    cr_assert_leq(worst, 1 * MS,
                  "yes: at every moment each CPU-bound task is within one 1 ms unit of an equal "
                  "share (worst %.3f ms)",
                  (double)worst / 1e6);
    for (size_t i = 0; i < spec->task_count; i++)
        cr_assert_lt(r.stats[i].longest_wait_ns, 10 * MS,
                     "and nobody waits long: %s waited at most %.1f ms", spec->tasks[i].name,
                     (double)r.stats[i].longest_wait_ns / 1e6);
    workload_result_free(&r);
}

Test(scheduling_policies, stride_proportional,
     .description = "Q: does stride give each always-ready task a share proportional to its "
                    "tickets?") {
    const struct workload_spec *spec = workload_standard();
    struct workload_result r;
    run_or_fail(spec, &policy_stride, &r);
    int64_t worst = worst_share_error(spec, &r, true);
    cr_assert_leq(worst, 1 * MS,
                  "yes: at every moment compile, backup and indexer (300, 200, 100 tickets) are "
                  "within one unit of their 3:2:1 share (worst %.3f ms)",
                  (double)worst / 1e6);
    size_t c = task_named(spec, "compile"), i = task_named(spec, "indexer");
    cr_assert_gt(r.stats[c].cpu_ns, 2 * r.stats[i].cpu_ns,
                 "unequal tickets, unequal shares: compile %.0f ms, indexer %.0f ms",
                 (double)r.stats[c].cpu_ns / 1e6, (double)r.stats[i].cpu_ns / 1e6);
    workload_result_free(&r);
}

/* Three CPU-bound tasks with 300, 200 and 100 tickets for 3 s of virtual time: 3000 draws. */
/* clang-format off */
static const struct workload_task_spec lottery_tasks[] = {
    {.name = "a", .kind = WORKLOAD_ALWAYS_READY, .unit_ns = MS, .units = 1,
     .deadline_ns = 1000 * MS, .tickets = 300},
    {.name = "b", .kind = WORKLOAD_ALWAYS_READY, .unit_ns = MS, .units = 1,
     .deadline_ns = 1000 * MS, .tickets = 200},
    {.name = "c", .kind = WORKLOAD_ALWAYS_READY, .unit_ns = MS, .units = 1,
     .deadline_ns = 1000 * MS, .tickets = 100},
};
/* clang-format on */

Test(scheduling_policies, lottery_proportional,
     .description = "Q: over a long run, is lottery's share proportional to tickets, and how "
                    "close?",
     .timeout = 60) {
    struct workload_spec spec = {lottery_tasks, 3, 3000 * MS, POLICY_LOTTERY_DEFAULT_SEED, NULL};
    struct workload_result r;
    run_or_fail(&spec, &policy_lottery, &r);
    for (size_t i = 0; i < 3; i++) {
        double owed = 100.0 * lottery_tasks[i].tickets / 600.0;
        double got = workload_share_percent(&r, i);
        /* 3000 draws: one standard deviation of a share is under 1 point; allow about 2.5. */
        cr_assert(got > owed - 2.5 && got < owed + 2.5,
                  "over 3000 draws, %s (%u of 600 tickets) got %.2f%% of the CPU, within 2.5 "
                  "points of the %.2f%% it is owed",
                  lottery_tasks[i].name, lottery_tasks[i].tickets, got, owed);
    }
    workload_result_free(&r);
}

static bool same_slices(const struct workload_result *a, const struct workload_result *b) {
    if (a->slice_count != b->slice_count)
        return false;
    for (size_t k = 0; k < a->slice_count; k++)
        if (a->slices[k].task != b->slices[k].task ||
            a->slices[k].start_ns != b->slices[k].start_ns ||
            a->slices[k].ran_ns != b->slices[k].ran_ns)
            return false;
    return true;
}

Test(scheduling_policies, lottery_reproducible,
     .description = "Q: does the same seed give the same lottery run, and another seed another "
                    "run?") {
    struct workload_spec spec = {lottery_tasks, 3, 200 * MS, 42, NULL};
    struct workload_result first, again, other;
    run_or_fail(&spec, &policy_lottery, &first);
    run_or_fail(&spec, &policy_lottery, &again);
    spec.lottery_seed = 43;
    run_or_fail(&spec, &policy_lottery, &other);
    cr_assert(same_slices(&first, &again), "seed 42 twice: the same %zu slices, slice by slice",
              first.slice_count);
    cr_assert_not(same_slices(&first, &other), "seed 43 draws another order");
    workload_result_free(&first);
    workload_result_free(&again);
    workload_result_free(&other);
}

/* ---- deadlines ---------------------------------------------------------------------------- */

/* A periodic set using 75% of the CPU, each deadline at most its period. */
/* clang-format off */
static const struct workload_task_spec periodic_tasks[] = {
    {.name = "audio", .kind = WORKLOAD_PERIODIC, .unit_ns = MS, .units = 2, .period_ns = 10 * MS,
     .deadline_ns = 6 * MS, .tickets = 100},
    {.name = "video", .kind = WORKLOAD_PERIODIC, .unit_ns = MS, .units = 4, .period_ns = 20 * MS,
     .deadline_ns = 10 * MS, .tickets = 100},
    {.name = "telemetry", .kind = WORKLOAD_PERIODIC, .unit_ns = MS, .units = 6,
     .period_ns = 40 * MS, .deadline_ns = 30 * MS, .tickets = 100},
    {.name = "logger", .kind = WORKLOAD_PERIODIC, .unit_ns = MS, .units = 10,
     .period_ns = 50 * MS, .deadline_ns = 50 * MS, .tickets = 100},
};
/* clang-format on */

Test(scheduling_policies, edf_meets_deadlines,
     .description = "Q: does EDF meet every deadline of a periodic set that FIFO misses?") {
    struct workload_spec spec = {periodic_tasks, 4, 400 * MS, 1, NULL};
    /* The loop is not preemptive: a job released while a batch runs waits for that batch, and a
     * batch picks at most one unit per task. So each job needs that much slack. */
    int64_t batch = (int64_t)spec.task_count * MS;
    for (size_t i = 0; i < spec.task_count; i++)
        cr_assert_geq(periodic_tasks[i].deadline_ns - periodic_tasks[i].units * MS, batch,
                      "%s has at least one batch of slack", periodic_tasks[i].name);
    struct workload_result edf, fifo;
    run_or_fail(&spec, &policy_edf, &edf);
    run_or_fail(&spec, &policy_fifo, &fifo);
    for (size_t i = 0; i < spec.task_count; i++) {
        int jobs = (int)(spec.horizon_ns / periodic_tasks[i].period_ns);
        cr_assert_eq(edf.stats[i].jobs_done, jobs, "EDF finished all %d jobs of %s", jobs,
                     periodic_tasks[i].name);
        cr_assert_eq(edf.stats[i].jobs_missed, 0, "EDF: %s missed no deadline",
                     periodic_tasks[i].name);
    }
    cr_assert_eq(edf.miss_count, 0, "EDF meets every deadline");
    cr_assert_gt(fifo.miss_count, 0, "FIFO, same set, same CPU, misses %zu of these deadlines",
                 fifo.miss_count);
    workload_result_free(&edf);
    workload_result_free(&fifo);
}

/* ---- MLFQ --------------------------------------------------------------------------------- */

Test(scheduling_policies, mlfq_sorts_by_behaviour,
     .description = "Q: does MLFQ sink the CPU-bound tasks and keep the interactive one on "
                    "top?") {
    const struct workload_spec *spec = workload_standard();
    struct workload_result r;
    run_or_fail(spec, &policy_mlfq, &r);
    for (size_t i = 0; i < spec->task_count; i++)
        if (spec->tasks[i].kind == WORKLOAD_ALWAYS_READY)
            cr_assert_eq(r.stats[i].deepest_level, POLICY_MLFQ_LEVELS - 1,
                         "%s, CPU-bound, was demoted to the bottom level", spec->tasks[i].name);
    size_t shell = task_named(spec, "shell");
    /* Its CPU use in each boost period stays under the top level's allotment... */
    int64_t used[8] = {0};
    int64_t period = spec->mlfq->boost_period_ns;
    for (size_t k = 0; k < r.slice_count; k++) {
        if (r.slices[k].task != shell)
            continue;
        int64_t b = r.slices[k].start_ns / period;
        cr_assert_lt(b, 8, "the run spans at most 8 boost periods");
        used[b] += r.slices[k].ran_ns;
    }
    for (int b = 0; b < 4; b++)
        cr_assert_lt(used[b], spec->mlfq->allotment_ns[0],
                     "shell used %.1f ms in boost period %d, under the %.0f ms allotment",
                     (double)used[b] / 1e6, b, (double)spec->mlfq->allotment_ns[0] / 1e6);
    /* ... so every one of its runs was at the top. */
    cr_assert_eq(r.stats[shell].deepest_level, 0, "shell was always picked at level 0");
    cr_assert_gt(r.stats[shell].jobs_done, 10, "and it ran all along (%d jobs)",
                 r.stats[shell].jobs_done);
    workload_result_free(&r);
}

/* `long` runs alone and sinks to the bottom by 30 ms; then three CPU-bound newcomers arrive at
 * the top and take every pick. Only a boost (every 100 ms by default) lifts `long` again. */
/* clang-format off */
static const struct workload_task_spec rescue_tasks[] = {
    {.name = "long", .kind = WORKLOAD_ALWAYS_READY, .unit_ns = MS, .units = 1,
     .deadline_ns = 1000 * MS, .tickets = 100},
    {.name = "new-1", .kind = WORKLOAD_ALWAYS_READY, .unit_ns = MS, .units = 1,
     .start_ns = 30 * MS, .deadline_ns = 1000 * MS, .tickets = 100},
    {.name = "new-2", .kind = WORKLOAD_ALWAYS_READY, .unit_ns = MS, .units = 1,
     .start_ns = 30 * MS, .deadline_ns = 1000 * MS, .tickets = 100},
    {.name = "new-3", .kind = WORKLOAD_ALWAYS_READY, .unit_ns = MS, .units = 1,
     .start_ns = 30 * MS, .deadline_ns = 1000 * MS, .tickets = 100},
};
/* clang-format on */

/* When a task first runs at or after `from` (-1: never). */
static int64_t first_run_after(const struct workload_result *r, size_t task, int64_t from) {
    for (size_t k = 0; k < r->slice_count; k++)
        if (r->slices[k].task == task && r->slices[k].start_ns >= from)
            return r->slices[k].start_ns;
    return -1;
}

Test(scheduling_policies, mlfq_boost_rescues,
     .description = "Q: does MLFQ's boost rescue a task that was starving?") {
    struct workload_spec spec = {rescue_tasks, 4, 200 * MS, 1, NULL};
    struct workload_result with_boost, without;
    run_or_fail(&spec, &policy_mlfq, &with_boost);
    struct policy_mlfq_config no_boost = {
        .allotment_ns = {POLICY_MLFQ_DEFAULT_TOP_ALLOTMENT_NS,
                         POLICY_MLFQ_DEFAULT_TOP_ALLOTMENT_NS * 2,
                         POLICY_MLFQ_DEFAULT_TOP_ALLOTMENT_NS * 4},
        .boost_period_ns = 10000 * MS, /* never within the run */
    };
    spec.mlfq = &no_boost;
    run_or_fail(&spec, &policy_mlfq, &without);

    int64_t sunk = POLICY_MLFQ_DEFAULT_TOP_ALLOTMENT_NS * 3; /* the top and middle allotments */
    int64_t used = 0;
    for (size_t k = 0; k < with_boost.slice_count; k++)
        if (with_boost.slices[k].task == 0 && with_boost.slices[k].start_ns < 30 * MS)
            used += with_boost.slices[k].ran_ns;
    cr_assert_eq(used, sunk,
                 "alone, long used %.0f ms by 30 ms: both upper allotments, so it sits at the "
                 "bottom",
                 (double)used / 1e6);
    int64_t boost = POLICY_MLFQ_DEFAULT_BOOST_PERIOD_NS;
    int64_t rescued = first_run_after(&with_boost, 0, 30 * MS);
    cr_assert(rescued >= boost && rescued <= boost + 4 * MS,
              "long starved from 30 ms and ran again at %.0f ms: within one round after the "
              "boost at %.0f ms",
              (double)rescued / 1e6, (double)boost / 1e6);
    cr_assert_eq(with_boost.stats[0].longest_wait_from_ns, 30 * MS,
                 "its longest wait began when the newcomers arrived");
    int64_t unrescued = first_run_after(&without, 0, 30 * MS);
    cr_assert_gt(unrescued, rescued,
                 "without the boost it waits longer, until the newcomers have sunk to its level "
                 "too (%.0f ms)",
                 (double)unrescued / 1e6);
    workload_result_free(&with_boost);
    workload_result_free(&without);
}

/* ---- the charts --------------------------------------------------------------------------- */

/* The chart of one run, in memory; the caller frees it. */
static char *chart_of(const struct workload_spec *spec, const struct workload_result *r,
                      size_t *len) {
    char *text = NULL;
    FILE *out = open_memstream(&text, len);
    cr_assert_not_null(out);
    cr_assert_eq(gantt_write_svg(spec, r, out), 0, "the %s chart can be written", r->policy);
    fclose(out);
    return text;
}

Test(scheduling_policies, charts_match_committed,
     .description = "Q: are the charts in the lesson folder exactly what the code draws now?") {
    const struct workload_spec *spec = workload_standard();
    /* This file's folder is the lesson folder (the runner runs from the repository root). */
    char folder[256];
    snprintf(folder, sizeof folder, "%s", __FILE__);
    char *slash = strrchr(folder, '/');
    cr_assert_not_null(slash);
    *slash = '\0';
    for (size_t p = 0; policy_by_index(p); p++) {
        struct workload_result r;
        run_or_fail(spec, policy_by_index(p), &r);
        size_t drawn_len, committed_len;
        char *drawn = chart_of(spec, &r, &drawn_len);
        char path[512];
        snprintf(path, sizeof path, "%s/gantt-%s.svg", folder, r.policy);
        char *committed = test_read_file(path, &committed_len);
        cr_assert_not_null(committed, "%s is committed", path);
        size_t at = 0;
        while (at < drawn_len && at < committed_len && drawn[at] == committed[at])
            at++;
        cr_assert(drawn_len == committed_len && at == drawn_len,
                  "%s is byte for byte what `make lesson L=09` draws (first difference at byte "
                  "%zu; rerun the demo and copy the chart if the change is meant)",
                  path, at);
        free(drawn);
        free(committed);
        workload_result_free(&r);
    }
}

Test(scheduling_policies, checker_catches_mistakes,
     .description = "Q: does the XML checker (xmlcheck.c) reject what is not well-formed?") {
    cr_assert_null(
        xmlcheck_problem("<?xml version=\"1.0\"?>\n<a x=\"1\" y='2'><b/>t &amp; &#65;</a>\n"),
        "a small well-formed document passes");
    static const char *const bad[] = {
        "<a><b></a></b>",
        "<a>",
        "<a x=1/>",
        "<a x=\"1\" x=\"2\"/>",
        "<a>fish & chips</a>",
        "<a x=\"<\"/>",
        "<a/><b/>",
        "text<a/>",
        "<a x=\"1\"y=\"2\"/>",
        "",
        "<a><!-- a -- b --></a>",
        "<a>&nbsp;</a>",
        "<1a/>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not_null(xmlcheck_problem(bad[i]), "'%s' is rejected", bad[i]);
}

Test(scheduling_policies, charts_well_formed,
     .description = "Q: is every chart well-formed XML, even for names XML must escape?") {
    const struct workload_spec *spec = workload_standard();
    for (size_t p = 0; policy_by_index(p); p++) {
        struct workload_result r;
        run_or_fail(spec, policy_by_index(p), &r);
        size_t len;
        char *svg = chart_of(spec, &r, &len);
        const char *problem = xmlcheck_problem(svg);
        cr_assert_null(problem, "the %s chart is well-formed XML (checker says: %s)", r.policy,
                       problem);
        cr_assert(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""), "it is an SVG");
        free(svg);
        workload_result_free(&r);
    }
    /* clang-format off */
    static const struct workload_task_spec awkward[] = {
        {.name = "<fish & \"chips\">", .kind = WORKLOAD_ALWAYS_READY, .unit_ns = MS, .units = 1,
         .deadline_ns = MS, .tickets = 1},
        {.name = "it's", .kind = WORKLOAD_INTERACTIVE, .unit_ns = MS, .units = 1,
         .period_ns = 3 * MS, .deadline_ns = MS, .tickets = 1},
    };
    /* clang-format on */
    struct workload_spec tricky = {awkward, 2, 20 * MS, 7, NULL};
    struct workload_result r;
    run_or_fail(&tricky, &policy_lottery, &r);
    size_t len;
    char *svg = chart_of(&tricky, &r, &len);
    cr_assert_null(xmlcheck_problem(svg), "names with < & \" ' > are escaped: %s",
                   xmlcheck_problem(svg));
    cr_assert(strstr(svg, "&lt;fish &amp; &quot;chips&quot;&gt;"), "the name is there, escaped");
    cr_assert_gt(r.miss_count, 0, "and the chart had missed deadlines to draw");
    free(svg);
    workload_result_free(&r);
}

/* ---- misuse ------------------------------------------------------------------------------- */

Test(scheduling_policies, misuse_refused,
     .description = "Q: what do the workload and the chart writer say to bad input?") {
    const struct workload_spec *spec = workload_standard();
    struct workload_result r;
    cr_assert_eq(workload_run(NULL, &policy_fifo, &r), -EINVAL, "no spec: -EINVAL");
    cr_assert_eq(workload_run(spec, NULL, &r), -EINVAL, "no policy: -EINVAL");
    cr_assert_eq(workload_run(spec, &policy_fifo, NULL), -EINVAL, "nowhere to put it: -EINVAL");
    struct workload_task_spec bad = lottery_tasks[0];
    struct workload_spec one = {&bad, 1, 10 * MS, 1, NULL};
    bad.tickets = 0;
    cr_assert_eq(workload_run(&one, &policy_fifo, &r), -EINVAL, "0 tickets: -EINVAL");
    bad = lottery_tasks[0];
    bad.unit_ns = 0;
    cr_assert_eq(workload_run(&one, &policy_fifo, &r), -EINVAL, "a unit of no time: -EINVAL");
    bad = lottery_tasks[0];
    bad.kind = WORKLOAD_PERIODIC; /* period_ns is 0 */
    cr_assert_eq(workload_run(&one, &policy_fifo, &r), -EINVAL, "a period of 0: -EINVAL");
    bad = lottery_tasks[0];
    one.horizon_ns = 0;
    cr_assert_eq(workload_run(&one, &policy_fifo, &r), -EINVAL, "no time to run: -EINVAL");
    one.horizon_ns = 10 * MS;
    one.task_count = WORKLOAD_MAX_TASKS + 1;
    cr_assert_eq(workload_run(&one, &policy_fifo, &r), -EINVAL, "too many tasks: -EINVAL");
    workload_result_free(&r); /* safe after a refusal: nothing was kept */
    one.task_count = 1;

    run_or_fail(&one, &policy_fifo, &r);
    cr_assert_eq(gantt_write_svg(NULL, &r, stdout), -EINVAL, "no spec: -EINVAL");
    cr_assert_eq(gantt_write_svg(&one, NULL, stdout), -EINVAL, "no result: -EINVAL");
    cr_assert_eq(gantt_write_svg(&one, &r, NULL), -EINVAL, "no stream: -EINVAL");
    cr_assert_eq(gantt_write_svg(spec, &r, stdout), -EINVAL,
                 "a result from another spec (1 task, not 5): -EINVAL");
    cr_assert_eq(gantt_save_svg(&one, &r, NULL), -EINVAL, "no path: -EINVAL");
    cr_assert_eq(gantt_save_svg(&one, &r, "/nonexistent-folder/chart.svg"), -ENOENT,
                 "a folder that does not exist: -ENOENT");
    workload_result_free(&r);
}
