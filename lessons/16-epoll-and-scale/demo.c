/* demo.c — lesson 16: why does epoll scale where select and poll do not? K idle descriptors and
 * one active one, K = 10 .. 10,000, on each backend: what each tick hands the kernel and what a
 * tick costs; the count drawn as a chart (build/, compared with the committed copy). Then one
 * socket under level- and edge-triggered epoll: the reader that does not drain, and the stream. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef __linux__
#include "lessons/16-epoll-and-scale/edge.h"
#include "lessons/16-epoll-and-scale/scale.h"

#define OUT_DIR    "build/lessons/16-epoll-and-scale"
#define LESSON_DIR "lessons/16-epoll-and-scale"

enum { BACKENDS = 3, TICKS = 200 };
static const struct backend_ops *const backends[BACKENDS] = {&backend_select, &backend_poll,
                                                             &backend_epoll};

/* Scene 1: the table, one row per K. False if a backend failed or a count is not what the
 * lesson says (select and poll: K + 1; epoll: 1). */
static bool scale_scene(struct scale_point points[BACKENDS * SCALE_SIZES], int sizes) {
    printf("Scene 1: K idle descriptors and 1 active one, watched by one loop. Each tick the\n"
           "active one is read and written again. The backends count what their wait hands\n"
           "the kernel (select, poll) or gets back from it (epoll); the time is real.\n\n");
    printf("%8s |%21s |%21s |%21s\n", "", "select", "poll", "epoll");
    printf("%8s |%10s %10s |%10s %10s |%10s %10s\n", "K", "fds/tick", "us/tick", "fds/tick",
           "us/tick", "fds/tick", "us/tick");
    bool ok = true;
    for (int i = 0; i < sizes; i++) {
        printf("%8d |", scale_sizes[i]);
        for (int b = 0; b < BACKENDS; b++) {
            struct scale_point *pt = &points[b * SCALE_SIZES + i];
            int err = scale_measure(backends[b], scale_sizes[i], TICKS, pt);
            if (err) {
                printf("\ndemo: %s at K = %d failed: %s\n", backends[b]->name, scale_sizes[i],
                       strerror(-err));
                return false;
            }
            if (!pt->measured) {
                printf("%21s%s", "refused: FD_SETSIZE", b + 1 < BACKENDS ? " |" : "\n");
                continue;
            }
            double expect = backends[b] == &backend_epoll ? 1 : scale_sizes[i] + 1;
            ok = ok && pt->fds_per_tick == expect;
            printf("%10.0f %10.1f%s", pt->fds_per_tick, pt->ns_per_tick / 1000,
                   b + 1 < BACKENDS ? " |" : "\n");
        }
    }
    printf("\nselect and poll hand the kernel every watched fd on every tick, and the kernel\n"
           "checks each: the work grows with K although only one fd is ever ready. epoll\n"
           "registered each fd once (epoll_ctl); its wait is handed nothing and gets back\n"
           "the one ready fd, whatever K is.%s\n",
           ok ? "" : "\nTHE COUNTS ARE NOT WHAT THE LESSON SAYS.");
    return ok;
}

static char *read_text(const char *path) {
    FILE *in = fopen(path, "rb");
    if (!in)
        return NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    int c;
    while (out && (c = getc(in)) != EOF)
        putc(c, out);
    fclose(in);
    if (out)
        fclose(out);
    return text;
}

/* Writes the chart under build/ and compares it with the committed copy. */
static bool save_chart(const struct scale_point *points, int n) {
    static const char *const parts[] = {"build", "build/lessons", OUT_DIR};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (mkdir(parts[i], 0777) != 0 && errno != EEXIST) {
            printf("could not create %s/ (run the demo from the repository root)\n", OUT_DIR);
            return false;
        }
    FILE *out = fopen(OUT_DIR "/scale.svg", "w");
    int err = out ? scale_write_svg(points, n, out) : -errno;
    if (out && fclose(out) != 0 && err == 0)
        err = -EIO;
    if (err) {
        printf("could not write " OUT_DIR "/scale.svg: %s\n", strerror(-err));
        return false;
    }
    char *drawn = read_text(OUT_DIR "/scale.svg"), *copy = read_text(LESSON_DIR "/scale.svg");
    bool same = drawn && copy && strcmp(drawn, copy) == 0;
    printf("\nThe chart of the counts: " OUT_DIR "/scale.svg,\n%s " LESSON_DIR "/.\n",
           same ? "identical to the committed copy in" : "DIFFERENT FROM the committed copy in");
    free(drawn);
    free(copy);
    return same;
}

/* Scene 2: 3,000 bytes arrive at once; a reader that takes 1,000 per wakeup, then the stream. */
static bool edge_scene(void) {
    printf("\nScene 2: one socket; 3,000 bytes arrive at once. A reader takes 1,000 bytes per\n"
           "wakeup and returns. A timer stops the loop one (virtual) second later.\n\n");
    struct edge_result level, edge, s_level, s_edge;
    if (edge_run_chunk_reader(&backend_epoll, 3000, 1000, &level) != 0 ||
        edge_run_chunk_reader(&backend_epoll_edge, 3000, 1000, &edge) != 0 ||
        edge_run_stream_reader(&backend_epoll, 20000, &s_level) != 0 ||
        edge_run_stream_reader(&backend_epoll_edge, 20000, &s_edge) != 0) {
        printf("demo: a run of scene 2 failed\n");
        return false;
    }
    printf("  level-triggered epoll: %d wakeups, %zu of 3000 bytes read\n", level.wakeups,
           level.bytes_read);
    printf("  edge-triggered epoll:  %d wakeup,  %zu of 3000 bytes read: the other %zu wait\n"
           "                         forever, for an edge that already came\n",
           edge.wakeups, edge.bytes_read, 3000 - edge.bytes_read);
    printf("\nThe stream reads until EAGAIN, the rule edge-triggering imposes; 20,000 bytes:\n");
    printf("  level-triggered epoll: %zu bytes in %d reads\n", s_level.bytes_read, s_level.wakeups);
    printf("  edge-triggered epoll:  %zu bytes in %d reads\n", s_edge.bytes_read, s_edge.wakeups);
    return level.bytes_read == 3000 && edge.bytes_read == 1000 && edge.wakeups == 1 &&
           s_level.bytes_read == 20000 && s_edge.bytes_read == 20000;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line, also into a pipe or under gdb -batch */
    struct scale_point points[BACKENDS * SCALE_SIZES];
    int sizes = SCALE_SIZES;
    if (scale_allow_fds(scale_sizes[SCALE_SIZES - 1] + 64) != 0) {
        printf("(this process may not open 10,064 descriptors: K stops at 1,000, and the chart\n"
               " is not compared; raise `ulimit -Hn` to see the whole experiment)\n\n");
        sizes = SCALE_SIZES - 1;
    }
    bool ok = scale_scene(points, sizes);
    if (ok && sizes == SCALE_SIZES)
        ok = save_chart(points, BACKENDS * SCALE_SIZES);
    ok = edge_scene() && ok;
    if (!ok)
        printf("\ndemo: what this lesson shows did NOT happen\n");
    return ok ? 0 : 1;
}

#else
int main(void) {
    puts("lesson 16 is about epoll, which exists only on Linux: poll is this system's default.");
    return 0;
}
#endif
