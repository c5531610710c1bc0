/* 16_epoll_and_scale_test.c — lesson 16's question, answered: epoll reports what poll reports,
 * a closed-and-reused fd number does not confuse it, edge-triggering stalls a reader that does
 * not drain (and the stream's draining read works under both), and the work a tick hands the
 * kernel grows with K on select and poll but not on epoll. The committed chart is regenerated.
 * (The echo server at 10,000 connections on epoll is lesson 12's test, run on poll and epoll.) */
#ifdef __linux__

#include "loop/observe/xmlcheck.h"
#include "lessons/16-epoll-and-scale/edge.h"
#include "lessons/16-epoll-and-scale/scale.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/files.h"
#include "tests/support/loop.h"

TestSuite(epoll_and_scale, .description = "Why does epoll scale where select and poll do not?");

/* ---- the same readiness as poll ----------------------------------------------------------- */

/* What a wait(0) reports, as a bit set per fd: fd i's readiness in seen[i]. */
static void look(struct backend *b, unsigned seen[64]) {
    struct backend_ready out[16];
    memset(seen, 0, 64 * sizeof seen[0]);
    int n = b->ops->wait(b, 0, out, 16);
    cr_assert_geq(n, 0, "%s: wait succeeds: %s", b->ops->name, b->why);
    for (int i = 0; i < n; i++)
        if (out[i].fd < 64)
            seen[out[i].fd] = out[i].readiness;
}

Test(epoll_and_scale, same_readiness_as_poll,
     .description = "Q: Does epoll report the same readiness as poll, step by step, on the same "
                    "script of events?") {
    struct backend *p = NULL, *e = NULL;
    cr_assert_eq(backend_poll.new(&p, NULL), 0, "poll");
    cr_assert_eq(backend_epoll.new(&e, NULL), 0, "epoll");
    int a[2], s[2];
    cr_assert_eq(pipe(a), 0, "pipe");
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0, "socketpair");
    cr_assert(a[0] < 64 && s[1] < 64, "small fds");
    struct backend *both[] = {p, e};
    for (int i = 0; i < 2; i++) {
        both[i]->ops->watch(both[i], a[0], BACKEND_READABLE);
        both[i]->ops->watch(both[i], s[0], BACKEND_READABLE | BACKEND_WRITABLE);
    }
    /* Each step changes the world; after each, both backends are asked. */
    const char *steps[] = {"nothing yet",        "a byte into the pipe",
                           "the byte read",      "read interest only on the socket",
                           "the peer sends",     "the peer shuts down its writing",
                           "the data read",      "the pipe's writer closes",
                           "write interest back"};
    char buf[8];
    for (int step = 0; step < (int)(sizeof steps / sizeof steps[0]); step++) {
        switch (step) {
        case 1:
            cr_assert_eq(write(a[1], "x", 1), 1);
            break;
        case 2:
            cr_assert_eq(read(a[0], buf, 1), 1);
            break;
        case 3:
            for (int i = 0; i < 2; i++)
                both[i]->ops->set_interest(both[i], s[0], BACKEND_READABLE);
            break;
        case 4:
            cr_assert_eq(send(s[1], "hi", 2, 0), 2);
            break;
        case 5:
            shutdown(s[1], SHUT_WR);
            break;
        case 6:
            cr_assert_eq(recv(s[0], buf, sizeof buf, 0), 2);
            break;
        case 7:
            close(a[1]);
            break;
        case 8:
            for (int i = 0; i < 2; i++)
                both[i]->ops->set_interest(both[i], s[0], BACKEND_READABLE | BACKEND_WRITABLE);
            break;
        default:
            break;
        }
        unsigned by_poll[64], by_epoll[64];
        look(p, by_poll);
        look(e, by_epoll);
        for (int fd = 0; fd < 64; fd++)
            cr_assert_eq(by_epoll[fd], by_poll[fd],
                         "after \"%s\", epoll reports fd %d as poll does (0x%x), got 0x%x",
                         steps[step], fd, by_poll[fd], by_epoll[fd]);
    }
    p->ops->free(p);
    e->ops->free(e);
    close(a[0]);
    close(s[0]);
    close(s[1]);
}

/* ---- the closed-and-reused number --------------------------------------------------------- */

struct counted {
    struct loop_watcher w;
    int calls;
};

static void count_call(struct loop_watcher *w, unsigned ready) {
    (void)ready;
    struct counted *c = w->arg;
    char byte;
    c->calls++;
    if (read(w->fd, &byte, 1) != 1)
        loop_unwatch(w->loop, w);
}

static void stop_loop(struct loop_timer *t) {
    loop_stop(t->arg);
}

/* Runs the loop until a timer 10 ms (virtual) from now stops it. */
static void run_a_while(struct loop *loop, struct loop_timer *t) {
    cr_assert_eq(loop_timer_start(loop, t, 10000000, stop_loop, loop), 0, "timer");
    cr_assert_eq(loop_run(loop), 0, "the loop runs: %s", loop_last_error(loop));
}

Test(epoll_and_scale, reused_number_not_confused, .timeout = 20,
     .description = "Q: A watched fd closed before it is unwatched, its file kept open by a dup, "
                    "its number reused: does the new watcher hear only about its own file?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.backend = &backend_epoll});
    struct loop_timer t;
    loop_timer_init(&t, "stop");
    int old[2], fresh[2];
    cr_assert_eq(pipe(old), 0, "pipe");
    struct counted first = {0}, second = {0};
    loop_watcher_init(&first.w, "first");
    loop_watcher_init(&second.w, "second");
    cr_assert_eq(loop_watch_fd(loop, &first.w, old[0], LOOP_READABLE, count_call, &first), 0,
                 "watch");
    int keep = dup(old[0]), number = old[0];
    close(old[0]);                /* the mistake: closed first... */
    loop_unwatch(loop, &first.w); /* ...unwatched after */
    cr_assert_eq(write(old[1], "old", 3), 3, "the old file becomes readable");
    cr_assert_eq(pipe(fresh), 0, "pipe");
    cr_assert_eq(fresh[0], number, "the number %d comes back as a new pipe", number);
    /* Non-blocking, so a wrong wake-up reads nothing and shows in the count instead of hanging. */
    cr_assert_eq(fcntl(fresh[0], F_SETFL, O_NONBLOCK), 0, "non-blocking");
    cr_assert_eq(loop_watch_fd(loop, &second.w, fresh[0], LOOP_READABLE, count_call, &second), 0,
                 "watch the new pipe under the old number: %s", loop_last_error(loop));
    run_a_while(loop, &t);
    cr_assert_eq(second.calls, 0,
                 "the new watcher is not woken by the old file's bytes: the "
                 "stale registration's events carry an old generation and are dropped");
    cr_assert_eq(first.calls, 0, "and the unwatched one hears nothing either");
    cr_assert_eq(write(fresh[1], "n", 1), 1, "a byte for the new pipe");
    run_a_while(loop, &t);
    cr_assert_eq(second.calls, 1, "the new pipe's own byte wakes it exactly once");
    loop_unwatch(loop, &second.w);
    loop_free(loop);
    close(keep);
    close(old[1]);
    close(fresh[0]);
    close(fresh[1]);
}

/* ---- edge against level ------------------------------------------------------------------- */

Test(epoll_and_scale, edge_stalls_non_draining_reader, .timeout = 20,
     .description = "Q: Does edge-triggering stall a reader that takes one chunk per wakeup, where "
                    "level-triggering does not?") {
    struct edge_result level, edge;
    cr_assert_eq(edge_run_chunk_reader(&backend_epoll, 3000, 1000, &level), 0, "level run");
    cr_assert_eq(edge_run_chunk_reader(&backend_epoll_edge, 3000, 1000, &edge), 0, "edge run");
    cr_assert(level.bytes_read == 3000 && level.wakeups == 3,
              "level-triggered: woken again while bytes remain, 3 wakeups read all 3000 bytes "
              "(got %d wakeups, %zu bytes)",
              level.wakeups, level.bytes_read);
    cr_assert(edge.bytes_read == 1000 && edge.wakeups == 1,
              "edge-triggered: one wakeup, 1000 bytes, and the other 2000 wait forever (a second "
              "of virtual time passed; got %d wakeups, %zu bytes)",
              edge.wakeups, edge.bytes_read);
}

Test(epoll_and_scale, stream_drains_under_both, .timeout = 20,
     .description = "Q: Does the stream, which reads until EAGAIN, get every byte under both edge- "
                    "and level-triggering?") {
    /* 20,000 bytes: more than two of the stream's 8 KiB reads, so one read per wakeup would
     * leave bytes behind. */
    const struct backend_ops *ops[] = {&backend_epoll, &backend_epoll_edge, &backend_poll};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        struct edge_result r;
        cr_assert_eq(edge_run_stream_reader(ops[i], 20000, &r), 0, "%s run", ops[i]->name);
        cr_assert_eq(r.bytes_read, 20000, "%s: the stream reads all 20000 bytes (got %zu)",
                     ops[i]->name, r.bytes_read);
        cr_assert_geq(r.wakeups, 3, "%s: in at least three reads", ops[i]->name);
    }
}

/* ---- the scale experiment ----------------------------------------------------------------- */

static const struct backend_ops *const scale_backends[] = {&backend_select, &backend_poll,
                                                           &backend_epoll};
enum { SCALE_BACKENDS = 3, SCALE_POINTS = SCALE_BACKENDS * SCALE_SIZES };

/* Every backend at every K it can have; returns how many of scale_sizes were measured. The
 * experiment is cheap (dups of one pipe, three ticks), but K = 10,000 needs 10,064 descriptors:
 * under LOOPSCHOOL_CHECK (valgrind runs with `ulimit -n 4096`), or where the hard limit is lower,
 * it stops at K = 1,000, and the assertions say so. */
static int measure_all(struct scale_point points[SCALE_POINTS]) {
    int sizes = SCALE_SIZES;
    if (getenv("LOOPSCHOOL_CHECK") || scale_allow_fds(scale_sizes[SCALE_SIZES - 1] + 64) != 0)
        sizes = SCALE_SIZES - 1;
    for (int b = 0; b < SCALE_BACKENDS; b++)
        for (int i = 0; i < SCALE_SIZES; i++) {
            struct scale_point *pt = &points[b * SCALE_SIZES + i];
            *pt = (struct scale_point){.backend = scale_backends[b]->name, .idle = scale_sizes[i]};
            if (i >= sizes)
                continue;
            int err = scale_measure(scale_backends[b], scale_sizes[i], 3, pt);
            cr_assert_eq(err, 0, "%s with K = %d runs (got %d)", scale_backends[b]->name,
                         scale_sizes[i], err);
        }
    return sizes;
}

Test(epoll_and_scale, work_per_tick, .timeout = 60,
     .description = "Q: Does the work a tick hands the kernel stay flat with K on epoll and grow "
                    "linearly on select and poll?") {
    struct scale_point points[SCALE_POINTS];
    int sizes = measure_all(points);
    for (int b = 0; b < SCALE_BACKENDS; b++)
        for (int i = 0; i < sizes; i++) {
            const struct scale_point *pt = &points[b * SCALE_SIZES + i];
            int k = scale_sizes[i];
            if (scale_backends[b] == &backend_select && k + 16 >= 1024) {
                cr_assert(!pt->measured || k < 1000,
                          "select cannot watch %d fds: its fd_set stops at FD_SETSIZE", k);
                if (!pt->measured)
                    continue;
            }
            cr_assert(pt->measured, "%s at K = %d is measured (K stops at %d%s)", pt->backend, k,
                      scale_sizes[sizes - 1], sizes < SCALE_SIZES ? ": scaled down" : "");
            double expect = scale_backends[b] == &backend_epoll ? 1 : k + 1;
            cr_assert_eq(pt->fds_per_tick, expect,
                         "%s, K = %d: each tick the kernel handles %.0f descriptors (%s), got %.1f",
                         pt->backend, k, expect,
                         expect == 1 ? "only the ready one: the interest list lives in the kernel"
                                     : "every watched one, idle or not",
                         pt->fds_per_tick);
        }
}

/* Whether every line of `part` that draws a point (a <circle> or a label after one) is a line of
 * `whole`: the scaled-down comparison, when K = 10,000 could not be measured. */
static bool points_drawn_in(const char *part, const char *whole) {
    const char *line = part;
    int found = 0;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line + 1) : strlen(line);
        if (strncmp(line, "<circle", 7) == 0) {
            char *copy = strndup(line, len);
            bool there = strstr(whole, copy) != NULL;
            free(copy);
            if (!there)
                return false;
            found++;
        }
        line += len;
    }
    return found > 0;
}

Test(epoll_and_scale, chart_matches_committed, .timeout = 60,
     .description = "Q: Is the committed chart (scale.svg) exactly what the experiment draws now, "
                    "and well-formed?") {
    struct scale_point points[SCALE_POINTS];
    int sizes = measure_all(points);
    char *drawn = NULL;
    size_t drawn_len = 0, committed_len = 0;
    FILE *out = open_memstream(&drawn, &drawn_len);
    cr_assert_eq(scale_write_svg(points, SCALE_POINTS, out), 0, "the chart is drawn");
    fclose(out);
    cr_assert_null(xmlcheck_problem(drawn), "it is well-formed XML: %s", xmlcheck_problem(drawn));
    char path[512];
    snprintf(path, sizeof path, "%s", __FILE__);
    *strrchr(path, '/') = '\0';
    strncat(path, "/scale.svg", sizeof path - strlen(path) - 1);
    char *committed = test_read_file(path, &committed_len);
    cr_assert_not_null(committed, "%s is committed", path);
    if (sizes < SCALE_SIZES) {
        cr_assert(points_drawn_in(drawn, committed),
                  "scaled down to K <= 1,000 (LOOPSCHOOL_CHECK, or too few descriptors): every "
                  "point measured is drawn exactly where %s has it",
                  path);
    } else {
        size_t at = 0;
        while (at < drawn_len && at < committed_len && drawn[at] == committed[at])
            at++;
        cr_assert(drawn_len == committed_len && at == drawn_len,
                  "%s is byte for byte what `make lesson L=16` draws (first difference at byte "
                  "%zu; rerun the demo and copy the chart if the change is meant)",
                  path, at);
    }
    free(drawn);
    free(committed);
}

Test(epoll_and_scale, chart_refuses_misuse,
     .description = "Q: Do the experiment and the chart refuse bad arguments with -EINVAL?") {
    struct scale_point pt;
    cr_assert_eq(scale_measure(NULL, 10, 1, &pt), -EINVAL, "no backend: -EINVAL");
    cr_assert_eq(scale_measure(&backend_poll, -1, 1, &pt), -EINVAL, "a negative K: -EINVAL");
    cr_assert_eq(scale_measure(&backend_poll, 10, 0, &pt), -EINVAL, "no tick: -EINVAL");
    cr_assert_eq(scale_write_svg(NULL, 0, stdout), -EINVAL, "no points: -EINVAL");
    struct edge_result r;
    cr_assert_eq(edge_run_chunk_reader(&backend_epoll, 10, 0, &r), -EINVAL, "chunk 0: -EINVAL");
}

#else
/* Without epoll there is nothing of this lesson to test; ISO C wants something in the file. */
typedef int epoll_and_scale_absent;
#endif
