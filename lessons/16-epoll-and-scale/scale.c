/* scale.c — lesson 16's experiment (see scale.h): K idle fds plus one active, one loop per
 * backend, and the count of descriptors the kernel's wait is handed each tick, drawn as SVG. */
#include "lessons/16-epoll-and-scale/scale.h"
#include "loop/observe/xml.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

const int scale_sizes[SCALE_SIZES] = {10, 100, 1000, 10000};

int scale_allow_fds(int need) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return -errno;
    if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= (rlim_t)need)
        return 0;
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < (rlim_t)need)
        return -EMFILE;
    lim.rlim_cur = (rlim_t)need;
    return setrlimit(RLIMIT_NOFILE, &lim) == 0 ? 0 : -errno;
}

/* The one active fd: each tick it is readable, its callback takes the byte and puts one back,
 * so it is readable again next tick. The idle ones never are. */
struct scale_active {
    struct loop_watcher watcher;
    int write_fd;
};

static void scale_on_active(struct loop_watcher *w, unsigned ready) {
    struct scale_active *a = w->arg;
    char byte;
    if ((ready & LOOP_READABLE) && read(w->fd, &byte, 1) == 1 && write(a->write_fd, &byte, 1) != 1)
        loop_unwatch(w->loop, w); /* cannot happen with an empty pipe: stop rather than spin */
}

static void scale_on_idle(struct loop_watcher *w, unsigned ready) {
    (void)ready;
    loop_unwatch(w->loop, w); /* an idle fd never wakes; if it does, it stops being watched */
}

static int64_t scale_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int scale_measure(const struct backend_ops *ops, int idle, int ticks, struct scale_point *out) {
    if (!ops || idle < 0 || ticks < 1 || !out)
        return -EINVAL;
    *out = (struct scale_point){.backend = ops->name, .idle = idle};
    int quiet[2], active[2];
    if (pipe(quiet) != 0)
        return -errno;
    if (pipe(active) != 0) {
        int err = -errno;
        close(quiet[0]);
        close(quiet[1]);
        return err;
    }
    int *fds = malloc((size_t)(idle ? idle : 1) * sizeof *fds);
    struct loop_watcher *watchers = malloc((size_t)(idle ? idle : 1) * sizeof *watchers);
    struct scale_active a = {.write_fd = active[1]};
    struct loop *loop = NULL;
    struct loop_config config = {.backend = ops};
    int err = fds && watchers ? loop_new(&loop, &config) : -ENOMEM;
    int opened = 0;
    for (; err == 0 && opened < idle; opened++) {
        fds[opened] = fcntl(quiet[0], F_DUPFD_CLOEXEC, 0); /* one more name for an empty pipe */
        if (fds[opened] < 0)
            err = -errno;
    }
    if (err != 0 && opened > 0)
        opened--; /* the failed dup opened nothing */
    loop_watcher_init(&a.watcher, "active");
    int watched = 0;
    for (; err == 0 && watched < idle; watched++) {
        loop_watcher_init(&watchers[watched], "idle");
        err = loop_watch_fd(loop, &watchers[watched], fds[watched], LOOP_READABLE, scale_on_idle,
                            NULL);
    }
    if (err == 0)
        err = loop_watch_fd(loop, &a.watcher, active[0], LOOP_READABLE, scale_on_active, &a);
    if (err == 0 && write(active[1], "x", 1) != 1)
        err = -EIO;
    if (err == 0) {
        struct backend *b = loop_backend(loop);
        uint64_t calls = b->kernel_calls, handed = b->kernel_fds;
        int64_t start = scale_now_ns();
        for (int t = 0; t < ticks && err == 0; t++)
            err = loop_run_once(loop);
        int64_t took = scale_now_ns() - start;
        calls = b->kernel_calls - calls;
        if (err == 0 && calls > 0) {
            out->measured = true;
            out->fds_per_tick = (double)(b->kernel_fds - handed) / (double)calls;
            out->ns_per_tick = (double)took / ticks;
        }
    }
    if (err == -ERANGE)
        err = 0;     /* select: an fd past FD_SETSIZE; the point stays unmeasured */
    loop_free(loop); /* unwatches everything before the fds close */
    for (int i = 0; i < opened; i++)
        close(fds[i]);
    free(fds);
    free(watchers);
    close(quiet[0]);
    close(quiet[1]);
    close(active[0]);
    close(active[1]);
    return err;
}

/* ---- the chart ----------------------------------------------------------------------------- */

enum { CHART_W = 720, CHART_H = 420, LEFT = 90, RIGHT = 560, TOP = 50, BOTTOM = 350 };
enum { DECADES = 5 }; /* the y axis: 1 .. 100,000 */

static const struct {
    const char *backend, *colour;
} chart_lines[] = {{"select", "#d62728"}, {"poll", "#1f77b4"}, {"epoll", "#2ca02c"}};

static double chart_x(int size_index) {
    return LEFT + 40 + size_index * (RIGHT - LEFT - 80) / (double)(SCALE_SIZES - 1);
}

static double chart_y(double value) {
    double decades = value <= 1 ? 0 : log10(value);
    return BOTTOM - decades * (BOTTOM - TOP) / DECADES;
}

static int chart_size_index(int idle) {
    for (int i = 0; i < SCALE_SIZES; i++)
        if (scale_sizes[i] == idle)
            return i;
    return -1;
}

/* 10001 as "10,001": the chart is read by people. */
static void chart_number(char *text, size_t len, double value) {
    long long v = llround(value);
    if (v >= 1000)
        snprintf(text, len, "%lld,%03lld", v / 1000, v % 1000);
    else
        snprintf(text, len, "%lld", v);
}

static void chart_axes(FILE *out) {
    fprintf(out,
            "<text x=\"%d\" y=\"24\" font-size=\"16\">Descriptors the kernel's wait handles "
            "per tick: K idle + 1 active</text>\n",
            LEFT - 60);
    for (int d = 0; d <= DECADES; d++) {
        double y = chart_y(pow(10, d));
        char label[32];
        chart_number(label, sizeof label, pow(10, d));
        fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", LEFT,
                y, RIGHT, y);
        fprintf(out, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", LEFT - 8, y + 4,
                label);
    }
    for (int i = 0; i < SCALE_SIZES; i++) {
        char label[32];
        chart_number(label, sizeof label, scale_sizes[i]);
        fprintf(out, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">K = %s</text>\n", chart_x(i),
                BOTTOM + 22, label);
    }
    fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>\n", LEFT, BOTTOM,
            RIGHT, BOTTOM);
    fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>\n", LEFT, TOP,
            LEFT, BOTTOM);
    fprintf(out,
            "<text x=\"%d\" y=\"%d\">both axes logarithmic; select stops at FD_SETSIZE "
            "(1,024 fds)</text>\n",
            LEFT, BOTTOM + 50);
}

static void chart_line(FILE *out, const struct scale_point *points, int n, int line) {
    const char *name = chart_lines[line].backend, *colour = chart_lines[line].colour;
    fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colour);
    int drawn = 0;
    for (int i = 0; i < SCALE_SIZES; i++)
        for (int p = 0; p < n; p++)
            if (points[p].measured && points[p].idle == scale_sizes[i] &&
                strcmp(points[p].backend, name) == 0)
                fprintf(out, "%s%.1f,%.1f", drawn++ ? " " : "", chart_x(i),
                        chart_y(points[p].fds_per_tick));
    fputs("\"/>\n", out);
    for (int p = 0; p < n; p++) {
        int i = chart_size_index(points[p].idle);
        if (!points[p].measured || i < 0 || strcmp(points[p].backend, name) != 0)
            continue;
        char label[32];
        chart_number(label, sizeof label, points[p].fds_per_tick);
        double x = chart_x(i), y = chart_y(points[p].fds_per_tick);
        fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", x, y, colour);
        /* poll's labels go below, select's above: the two lines lie on top of each other. */
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\">%s</text>\n",
                x, line == 1 ? y + 18 : y - 10, colour, label);
    }
    double y = TOP + 20 + 22 * line;
    fprintf(out,
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
            "stroke-width=\"2\"/>\n",
            RIGHT + 20, y, RIGHT + 44, y, colour);
    fprintf(out, "<text x=\"%d\" y=\"%.1f\">%s</text>\n", RIGHT + 50, y + 4, name);
}

int scale_write_svg(const struct scale_point *points, int n, FILE *out) {
    if (!points || n < 0 || !out)
        return -EINVAL;
    xml_svg_begin(out, CHART_W, CHART_H);
    chart_axes(out);
    for (int line = 0; line < (int)(sizeof chart_lines / sizeof chart_lines[0]); line++)
        chart_line(out, points, n, line);
    return xml_svg_end(out);
}
