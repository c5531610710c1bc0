/* gantt.c — lesson 09's SVG Gantt charts, written by hand. Every coordinate is computed in whole
 * tenths of a pixel with integer arithmetic and printed as such, so the same run gives the same
 * bytes with any compiler and any optimisation: the committed charts are checked byte for byte.
 * Nothing here reads the clock or prints an address. */
#include "lessons/09-scheduling-policies/gantt.h"
#include "loop/observe/xml.h"
#include "sched/policy/mlfq.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define MS INT64_C(1000000)

/* The page, in pixels. */
enum {
    GANTT_LEFT = 110, /* the task names */
    GANTT_PLOT = 800, /* the time axis, 0 .. horizon */
    GANTT_RIGHT = 30,
    GANTT_WIDTH = GANTT_LEFT + GANTT_PLOT + GANTT_RIGHT,
    GANTT_TOP = 56, /* below the title */
    GANTT_ROW = 30, /* one task */
    GANTT_BAR = 18, /* a bar's height, inside its row */
    GANTT_LEGEND_LINE = 20,
};

/* Okabe and Ito's palette: the colours stay distinct for colour-blind readers. */
static const char *const gantt_colours[] = {
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
};
enum { GANTT_COLOURS = sizeof gantt_colours / sizeof gantt_colours[0] };

struct gantt {
    FILE *out;
    const struct workload_spec *spec;
    const struct workload_result *result;
    int64_t axis_ns; /* the time at the right end of the axis */
    bool mlfq;       /* shade bars by MLFQ level */
};

/* x of time t, in tenths of a pixel. */
static int64_t gantt_x10(const struct gantt *g, int64_t t) {
    return GANTT_LEFT * 10 + t * (GANTT_PLOT * 10) / g->axis_ns;
}

static int gantt_row_y(size_t task) {
    return GANTT_TOP + (int)task * GANTT_ROW;
}

/* A round step for the axis: 1, 2 or 5 times a power of ten milliseconds, at most 10 ticks. */
static int64_t gantt_tick_step(int64_t axis_ns) {
    static const int64_t multiples[] = {1, 2, 5};
    for (int64_t power = MS;; power *= 10)
        for (int i = 0; i < 3; i++)
            if (axis_ns / (power * multiples[i]) <= 10)
                return power * multiples[i];
}

static void gantt_header(const struct gantt *g, int height) {
    FILE *out = g->out;
    xml_svg_begin(out, GANTT_WIDTH, height);
    fputs("<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\">Lesson 09: the "
          "workload under ",
          out);
    xml_text(out, g->result->policy ? g->result->policy : "?");
    fputs("</text>\n<text x=\"10\" y=\"40\" fill=\"#555555\">who ran when, on virtual time: a "
          "bar is one run (a unit of work), a grey line a wait for the CPU, a red mark a missed "
          "deadline</text>\n",
          out);
}

/* Row backgrounds and names. */
static void gantt_rows(const struct gantt *g) {
    for (size_t i = 0; i < g->spec->task_count; i++) {
        int y = gantt_row_y(i);
        fprintf(g->out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n",
                GANTT_LEFT, y, GANTT_PLOT, GANTT_ROW, i % 2 ? "#ffffff" : "#f2f2f2");
        fprintf(g->out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", GANTT_LEFT - 8,
                y + GANTT_ROW / 2 + 4);
        xml_text(g->out, g->spec->tasks[i].name);
        fputs("</text>\n", g->out);
    }
}

/* Vertical grid lines, the axis, its ticks and labels. */
static void gantt_axis(const struct gantt *g) {
    FILE *out = g->out;
    int y0 = GANTT_TOP, y1 = gantt_row_y(g->spec->task_count);
    int64_t step = gantt_tick_step(g->axis_ns);
    for (int64_t t = 0; t <= g->axis_ns; t += step) {
        int64_t x = gantt_x10(g, t);
        fputs("<line x1=\"", out);
        xml_px10(out, x);
        fputs("\" x2=\"", out);
        xml_px10(out, x);
        fprintf(out, "\" y1=\"%d\" y2=\"%d\" stroke=\"#cccccc\"/>\n", y0, y1 + 5);
        fputs("<text x=\"", out);
        xml_px10(out, x);
        fprintf(out, "\" y=\"%d\" text-anchor=\"middle\">%" PRId64 "</text>\n", y1 + 18, t / MS);
    }
    fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#333333\"/>\n", GANTT_LEFT,
            GANTT_LEFT + GANTT_PLOT, y1, y1);
    fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">virtual time (ms)</text>\n",
            GANTT_LEFT + GANTT_PLOT / 2, y1 + 34);
}

/* The waits: a thin grey line through the middle of the row. */
static void gantt_waits(const struct gantt *g) {
    FILE *out = g->out;
    fputs("<g fill=\"#9a9a9a\">\n", out);
    for (size_t k = 0; k < g->result->wait_count; k++) {
        const struct workload_wait *w = &g->result->waits[k];
        int64_t x0 = gantt_x10(g, w->from_ns), x1 = gantt_x10(g, w->to_ns);
        fputs("<rect x=\"", out);
        xml_px10(out, x0);
        fprintf(out, "\" y=\"%d\" width=\"", gantt_row_y(w->task) + GANTT_ROW / 2 - 1);
        xml_px10(out, x1 - x0);
        fputs("\" height=\"2\"/>\n", out);
    }
    fputs("</g>\n", out);
}

/* The runs. Back-to-back slices of one task (at one MLFQ level) make one bar. */
static void gantt_bars(const struct gantt *g) {
    FILE *out = g->out;
    const struct workload_result *r = g->result;
    for (size_t k = 0; k < r->slice_count;) {
        const struct workload_slice *first = &r->slices[k];
        int64_t end = first->start_ns + first->ran_ns;
        size_t next = k + 1;
        while (next < r->slice_count && r->slices[next].task == first->task &&
               r->slices[next].start_ns == end && r->slices[next].level == first->level) {
            end += r->slices[next].ran_ns;
            next++;
        }
        int64_t x0 = gantt_x10(g, first->start_ns), x1 = gantt_x10(g, end);
        fputs("<rect x=\"", out);
        xml_px10(out, x0);
        fprintf(out, "\" y=\"%d\" width=\"",
                gantt_row_y(first->task) + (GANTT_ROW - GANTT_BAR) / 2);
        xml_px10(out, x1 - x0 > 0 ? x1 - x0 : 1);
        fprintf(out, "\" height=\"%d\" fill=\"%s\"", GANTT_BAR,
                gantt_colours[first->task % GANTT_COLOURS]);
        if (g->mlfq && first->level > 0)
            fprintf(out, " fill-opacity=\"%s\"", first->level == 1 ? "0.6" : "0.3");
        fputs("/>\n", out);
        k = next;
    }
}

/* A missed deadline: a small red triangle pointing down at the deadline, above the bar. */
static void gantt_misses(const struct gantt *g) {
    FILE *out = g->out;
    for (size_t k = 0; k < g->result->miss_count; k++) {
        const struct workload_miss *m = &g->result->misses[k];
        int64_t x = gantt_x10(g, m->deadline_ns);
        int y = gantt_row_y(m->task);
        fputs("<path d=\"M", out);
        xml_px10(out, x - 40);
        fprintf(out, " %dL", y + 1);
        xml_px10(out, x + 40);
        fprintf(out, " %dL", y + 1);
        xml_px10(out, x);
        fprintf(out, " %dZ\" fill=\"#c00000\"/>\n", y + 8);
    }
}

static void gantt_legend(const struct gantt *g, int y) {
    FILE *out = g->out;
    for (size_t i = 0; i < g->spec->task_count; i++, y += GANTT_LEGEND_LINE) {
        fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>\n",
                GANTT_LEFT, y - 10, gantt_colours[i % GANTT_COLOURS]);
        fprintf(out, "<text x=\"%d\" y=\"%d\"><tspan font-weight=\"bold\">", GANTT_LEFT + 18, y);
        xml_text(out, g->spec->tasks[i].name);
        fputs("</tspan>: ", out);
        workload_describe(&g->spec->tasks[i], out);
        fputs("</text>\n", out);
    }
    fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"2\" fill=\"#9a9a9a\"/>\n",
            GANTT_LEFT, y - 5);
    fprintf(out, "<text x=\"%d\" y=\"%d\">ready, waiting for the CPU</text>\n", GANTT_LEFT + 18, y);
    fprintf(out, "<path d=\"M%d %dL%d %dL%d %dZ\" fill=\"#c00000\"/>\n", GANTT_LEFT + 250 + 2,
            y - 9, GANTT_LEFT + 250 + 10, y - 9, GANTT_LEFT + 250 + 6, y - 2);
    fprintf(out,
            "<text x=\"%d\" y=\"%d\">a job missed its deadline (drawn at the deadline)</text>\n",
            GANTT_LEFT + 250 + 18, y);
    y += GANTT_LEGEND_LINE;
    if (g->mlfq) {
        struct policy_mlfq_config defaults = {
            .allotment_ns = {POLICY_MLFQ_DEFAULT_TOP_ALLOTMENT_NS,
                             POLICY_MLFQ_DEFAULT_TOP_ALLOTMENT_NS * 2,
                             POLICY_MLFQ_DEFAULT_TOP_ALLOTMENT_NS * 4},
            .boost_period_ns = POLICY_MLFQ_DEFAULT_BOOST_PERIOD_NS,
        };
        const struct policy_mlfq_config *c = g->spec->mlfq ? g->spec->mlfq : &defaults;
        fprintf(out, "<text x=\"%d\" y=\"%d\">MLFQ (allotments ", GANTT_LEFT, y);
        for (int i = 0; i < POLICY_MLFQ_LEVELS; i++) {
            workload_print_ms(c->allotment_ns[i], out);
            fputs(i + 1 < POLICY_MLFQ_LEVELS ? ", " : "; boost every ", out);
        }
        workload_print_ms(c->boost_period_ns, out);
        fputs("): a bar's shade is its level when picked: solid 0 (top), lighter 1, lightest 2"
              "</text>\n",
              out);
    }
}

int gantt_write_svg(const struct workload_spec *spec, const struct workload_result *result,
                    FILE *out) {
    if (!spec || !result || !out || result->task_count != spec->task_count || spec->horizon_ns <= 0)
        return -EINVAL;
    struct gantt g = {
        .out = out,
        .spec = spec,
        .result = result,
        .axis_ns = spec->horizon_ns > result->end_ns ? spec->horizon_ns : result->end_ns,
        .mlfq = result->policy && strcmp(result->policy, "mlfq") == 0,
    };
    int legend_top = gantt_row_y(spec->task_count) + 64;
    int legend_lines = (int)spec->task_count + 1 + (g.mlfq ? 1 : 0);
    int height = legend_top + legend_lines * GANTT_LEGEND_LINE;
    gantt_header(&g, height);
    gantt_rows(&g);
    gantt_axis(&g);
    gantt_waits(&g);
    gantt_bars(&g);
    gantt_misses(&g);
    gantt_legend(&g, legend_top);
    return xml_svg_end(out);
}

int gantt_save_svg(const struct workload_spec *spec, const struct workload_result *result,
                   const char *path) {
    if (!path)
        return -EINVAL;
    FILE *out = fopen(path, "w");
    if (!out)
        return -errno;
    int err = gantt_write_svg(spec, result, out);
    if (fclose(out) != 0 && err == 0)
        err = -EIO;
    return err;
}
