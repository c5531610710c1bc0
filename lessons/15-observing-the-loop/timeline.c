/* timeline.c — lesson 15's SVG timeline of a trace; see timeline.h. Coordinates are whole tenths
 * of a pixel from integer arithmetic (as lesson 09's gantt.c does), so the committed picture can
 * be compared byte for byte with what the code draws now. */
#include "lessons/15-observing-the-loop/timeline.h"
#include "loop/observe/xml.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

enum {
    TL_LEFT = 110,
    TL_PLOT = 760,
    TL_RIGHT = 30,
    TL_WIDTH = TL_LEFT + TL_PLOT + TL_RIGHT,
    TL_TOP = 50,
    TL_ROW = 28,
    TL_BAR = 16,
    TL_ROWS = 16,
    TL_MIN_BAR10 = 20, /* a run of 0 ns on the virtual clock still shows: 2 px */
};

struct tl {
    FILE *out;
    int64_t origin, span;
    const char *rows[TL_ROWS];
    int n_rows;
};

static int64_t tl_x10(const struct tl *t, int64_t ns) {
    return TL_LEFT * 10 + (ns - t->origin) * (TL_PLOT * 10) / t->span;
}

/* Row 0 is the ticks; runs get 1.. in the order their name first appears. */
static int tl_row(struct tl *t, const char *name) {
    for (int i = 0; i < t->n_rows; i++)
        if (strcmp(t->rows[i], name) == 0)
            return i + 1;
    if (t->n_rows == TL_ROWS)
        return TL_ROWS;
    t->rows[t->n_rows++] = name;
    return t->n_rows;
}

static void tl_rect(const struct tl *t, int64_t x10, int64_t w10, int row, int height,
                    const char *fill) {
    fputs("<rect x=\"", t->out);
    xml_px10(t->out, x10);
    fprintf(t->out, "\" y=\"%d\" width=\"", TL_TOP + row * TL_ROW + (TL_ROW - height) / 2);
    xml_px10(t->out, w10);
    fprintf(t->out, "\" height=\"%d\" fill=\"%s\"/>\n", height, fill);
}

static void tl_event(struct tl *t, const struct observe_trace_event *e, int64_t slow_ns) {
    int64_t x10 = tl_x10(t, e->start), w10 = tl_x10(t, e->start + e->duration) - x10;
    if (e->kind == OBSERVE_TRACE_WAIT) {
        if (w10 > 0)
            tl_rect(t, x10, w10, 0, TL_BAR / 2, "#d9d9d9");
        tl_rect(t, x10, 5, 0, TL_BAR, "#555555"); /* the tick mark: a wait begins each tick */
        return;
    }
    int row = tl_row(t, e->name);
    bool slow = e->duration >= slow_ns;
    tl_rect(t, x10, w10 < TL_MIN_BAR10 ? TL_MIN_BAR10 : w10, row, TL_BAR,
            slow      ? "#D62728"
            : e->task ? "#0072B2"
                      : "#009E73");
}

int timeline_write_svg(const struct observe_trace *tr, int64_t slow_ns, const char *title,
                       FILE *out) {
    if (!tr || !out || !title || observe_trace_count(tr) == 0)
        return -EINVAL;
    struct tl t = {.out = out};
    size_t n = observe_trace_count(tr);
    t.origin = observe_trace_at(tr, 0)->start;
    const struct observe_trace_event *last = observe_trace_at(tr, n - 1);
    t.span = last->start + last->duration - t.origin;
    if (t.span <= 0)
        t.span = 1;
    for (size_t i = 0; i < n; i++) /* the rows first, to size the page */
        if (observe_trace_at(tr, i)->kind == OBSERVE_TRACE_RUN)
            (void)tl_row(&t, observe_trace_at(tr, i)->name);
    int height = TL_TOP + (t.n_rows + 1) * TL_ROW + 50;
    xml_svg_begin(out, TL_WIDTH, height);
    fputs("<text x=\"10\" y=\"24\" font-size=\"15\">", out);
    xml_text(out, title);
    fputs("</text>\n", out);
    for (int r = 0; r <= t.n_rows; r++) {
        fprintf(out, "<text x=\"10\" y=\"%d\">", TL_TOP + r * TL_ROW + TL_ROW / 2 + 4);
        xml_text(out, r == 0 ? "ticks (waits)" : t.rows[r - 1]);
        fputs("</text>\n", out);
    }
    for (size_t i = 0; i < n; i++)
        tl_event(&t, observe_trace_at(tr, i), slow_ns);
    /* The axis: a label every 100 ms. */
    int axis_y = TL_TOP + (t.n_rows + 1) * TL_ROW + 6;
    fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000000\"/>\n", TL_LEFT,
            axis_y, TL_LEFT + TL_PLOT, axis_y);
    const int64_t step = 100 * INT64_C(1000000);
    for (int64_t at = 0; at <= t.span; at += step) {
        int64_t x10 = tl_x10(&t, t.origin + at);
        fputs("<text x=\"", out);
        xml_px10(out, x10);
        fprintf(out, "\" y=\"%d\" text-anchor=\"middle\">%" PRId64 " ms</text>\n", axis_y + 16,
                at / INT64_C(1000000));
    }
    fprintf(out,
            "<text x=\"%d\" y=\"%d\">grey: the loop waits; blue: a task runs; green: a "
            "callback; red: a run of %" PRId64 " ms or more</text>\n",
            TL_LEFT, axis_y + 36, slow_ns / INT64_C(1000000));
    return xml_svg_end(out);
}

int timeline_save_svg(const struct observe_trace *tr, int64_t slow_ns, const char *title,
                      const char *path) {
    if (!path)
        return -EINVAL;
    FILE *out = fopen(path, "w");
    if (!out)
        return -errno;
    int rc = timeline_write_svg(tr, slow_ns, title, out);
    if (fclose(out) != 0 && rc == 0)
        rc = -EIO;
    return rc;
}
