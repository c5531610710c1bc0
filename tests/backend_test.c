/* backend_test.c — the library's own tests of the readiness backends (loop/backend/backend.h):
 * select (lesson 02), poll (lesson 03) and epoll (lesson 16) against real pipes and socketpairs,
 * the scripted backend the loop's tests rely on, and every refusal. A double watch is -EEXIST. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "loop/backend/backend.h"

TestSuite(backends, .description =
                        "Do select, poll, epoll and the script backend keep the backend contract?");

/* The backends that wait on the kernel. Every test of the contract runs once on each of them, as
 * one case of a Criterion parameterized test: a new backend joins by adding one line here. */
static const struct backend_ops *const real_backends[] = {
    &backend_select,
    &backend_poll,
#ifdef __linux__
    &backend_epoll,
#endif
};
enum { REAL_BACKEND_COUNT = sizeof real_backends / sizeof real_backends[0] };

/* A case is an index into real_backends, not a pointer: Criterion runs each case in a fresh
 * process, where a pointer taken here would point elsewhere. Index REAL_BACKEND_COUNT, in the
 * tests that every backend must pass, is the script backend. */
static struct criterion_test_params backend_cases(size_t count) {
    static size_t index[REAL_BACKEND_COUNT + 1];
    for (size_t i = 0; i < count; i++)
        index[i] = i;
    return cr_make_param_array(size_t, index, count);
}

static const struct backend_ops *backend_case(size_t k) {
    return k < REAL_BACKEND_COUNT ? real_backends[k] : &backend_script;
}

/* REAL_BACKEND_TEST(name, .description = ...) { ... backend_case(*k) ... }: one case per real
 * backend. EVERY_BACKEND_TEST adds the script backend as a last case. */
#define REAL_BACKEND_TEST(name, ...)                                                               \
    ParameterizedTestParameters(backends, name) {                                                  \
        return backend_cases(REAL_BACKEND_COUNT);                                                  \
    }                                                                                              \
    ParameterizedTest(const size_t *k, backends, name, __VA_ARGS__)
#define EVERY_BACKEND_TEST(name, ...)                                                              \
    ParameterizedTestParameters(backends, name) {                                                  \
        return backend_cases(REAL_BACKEND_COUNT + 1);                                              \
    }                                                                                              \
    ParameterizedTest(const size_t *k, backends, name, __VA_ARGS__)

static struct backend *open_backend(const struct backend_ops *ops) {
    struct backend *b = NULL;
    int err = ops->new (&b, sched_alloc_libc());
    cr_assert_eq(err, 0, "%s: new succeeds (got %d)", ops->name, err);
    return b;
}

static void open_pipe(int fds[2]) {
    cr_assert_eq(pipe(fds), 0, "pipe() succeeds: %s", strerror(errno));
}

static void open_socketpair(int fds[2]) {
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0, "socketpair() succeeds: %s",
                 strerror(errno));
}

static void put_byte(int fd) {
    cr_assert_eq(write(fd, "x", 1), 1, "writing one byte succeeds: %s", strerror(errno));
}

/* A wait that must not fail: returns how many events came back. */
static int wait_ok(struct backend *b, int64_t timeout_ns, struct backend_ready *out, int max) {
    int n = b->ops->wait(b, timeout_ns, out, max);
    cr_assert_geq(n, 0, "%s: wait succeeds (got %d: %s)", b->ops->name, n, b->why);
    cr_assert_leq(n, max, "%s: wait returns at most max events", b->ops->name);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            cr_assert_neq(out[i].fd, out[j].fd, "%s: one wait reports fd %d once", b->ops->name,
                          out[i].fd);
    return n;
}

/* The readiness reported for fd in out[0..n), 0 if it is not there. */
static unsigned events_for(const struct backend_ready *out, int n, int fd) {
    for (int i = 0; i < n; i++)
        if (out[i].fd == fd)
            return out[i].readiness;
    return 0;
}

static int64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- readiness ---------------------------------------------------------------------------- */

REAL_BACKEND_TEST(
    readable_after_write,
    .description =
        "Q: Is a pipe's read end reported readable once a byte is written, and not before?") {
    struct backend *b = open_backend(backend_case(*k));
    struct backend_ready out[4];
    int p[2];
    open_pipe(p);
    cr_assert_eq(b->ops->watch(b, p[0], BACKEND_READABLE), 0, "%s: watch succeeds", b->ops->name);
    cr_assert_eq(wait_ok(b, 0, out, 4), 0, "%s: an empty pipe is not readable", b->ops->name);
    put_byte(p[1]);
    int n = wait_ok(b, 0, out, 4);
    cr_assert_eq(n, 1, "%s: after a write exactly one fd is ready", b->ops->name);
    cr_assert_eq(out[0].fd, p[0], "%s: the ready fd is the pipe's read end", b->ops->name);
    cr_assert_eq(out[0].readiness, BACKEND_READABLE, "%s: and it is READABLE", b->ops->name);
    n = wait_ok(b, 0, out, 4);
    cr_assert_eq(n, 1, "%s: level-triggered: unread data is reported again", b->ops->name);
    b->ops->free(b);
    close(p[0]);
    close(p[1]);
}

REAL_BACKEND_TEST(writable_at_once,
                  .description = "Q: Is an empty pipe's write end reported writable at once, and "
                                 "only for the interest asked?") {
    struct backend *b = open_backend(backend_case(*k));
    struct backend_ready out[4];
    int p[2];
    open_pipe(p);
    cr_assert_eq(b->ops->watch(b, p[1], BACKEND_WRITABLE), 0, "%s: watch succeeds", b->ops->name);
    int n = wait_ok(b, 0, out, 4);
    cr_assert_eq(n, 1, "%s: an empty pipe's write end is ready at once", b->ops->name);
    cr_assert_eq(out[0].fd, p[1], "%s: the ready fd is the write end", b->ops->name);
    cr_assert_eq(out[0].readiness, BACKEND_WRITABLE, "%s: it is WRITABLE, nothing else",
                 b->ops->name);
    b->ops->free(b);
    close(p[0]);
    close(p[1]);
}

REAL_BACKEND_TEST(
    hangup_reads_as_readable,
    .description =
        "Q: When the writing side closes, does the reader see READABLE and then end-of-file?") {
    for (int use_socket = 0; use_socket <= 1; use_socket++) {
        struct backend *b = open_backend(backend_case(*k));
        struct backend_ready out[4];
        const char *kind = use_socket ? "socketpair" : "pipe";
        int p[2];
        if (use_socket)
            open_socketpair(p);
        else
            open_pipe(p);
        cr_assert_eq(b->ops->watch(b, p[0], BACKEND_READABLE), 0, "%s: watch succeeds",
                     b->ops->name);
        put_byte(p[1]);
        close(p[1]);
        int n = wait_ok(b, 0, out, 4);
        cr_assert_eq(n, 1, "%s/%s: a closed peer makes the reader ready", b->ops->name, kind);
        cr_assert(out[0].readiness & BACKEND_READABLE, "%s/%s: a hang-up is reported as READABLE",
                  b->ops->name, kind);
        char buf[8];
        cr_assert_eq(read(p[0], buf, sizeof buf), 1, "%s/%s: the reader first drains the byte left",
                     b->ops->name, kind);
        n = wait_ok(b, 0, out, 4);
        cr_assert(n == 1 && (out[0].readiness & BACKEND_READABLE),
                  "%s/%s: still READABLE once drained", b->ops->name, kind);
        cr_assert_eq(read(p[0], buf, sizeof buf), 0, "%s/%s: then read() returns 0: end-of-file",
                     b->ops->name, kind);
        b->ops->free(b);
        close(p[0]);
    }
}

REAL_BACKEND_TEST(writer_sees_peer_close,
                  .description = "Q: When the reading side closes, does a writer watching for "
                                 "WRITABLE wake and get the error from write()?") {
    struct backend *b = open_backend(backend_case(*k));
    struct backend_ready out[4];
    int s[2];
    open_socketpair(s);
    /* Fill the socket so the writer is not writable, then the reader leaves. */
    cr_assert_eq(fcntl(s[0], F_SETFL, O_NONBLOCK), 0, "set non-blocking");
    char chunk[4096] = {0};
    while (send(s[0], chunk, sizeof chunk, MSG_NOSIGNAL) > 0) {
    }
    cr_assert_eq(errno, EAGAIN, "the socket fills up");
    cr_assert_eq(b->ops->watch(b, s[0], BACKEND_WRITABLE), 0, "%s: watch succeeds", b->ops->name);
    cr_assert_eq(wait_ok(b, 0, out, 4), 0, "%s: a full socket is not writable", b->ops->name);
    close(s[1]);
    int n = wait_ok(b, 0, out, 4);
    cr_assert_eq(n, 1, "%s: the writer wakes when the reader closes", b->ops->name);
    cr_assert(out[0].readiness & BACKEND_WRITABLE, "%s: it is reported WRITABLE", b->ops->name);
    errno = 0;
    cr_assert_eq(send(s[0], "x", 1, MSG_NOSIGNAL), -1, "%s: write() fails", b->ops->name);
    cr_assert(errno == EPIPE || errno == ECONNRESET,
              "%s: write() carries the error (EPIPE), got %s", b->ops->name, strerror(errno));
    b->ops->free(b);
    close(s[0]);
}

REAL_BACKEND_TEST(unwatch_stops_reports,
                  .description = "Q: After unwatch, is a ready fd no longer reported?") {
    struct backend *b = open_backend(backend_case(*k));
    struct backend_ready out[4];
    int p[2], q[2];
    open_pipe(p);
    open_pipe(q);
    put_byte(p[1]);
    put_byte(q[1]);
    cr_assert_eq(b->ops->watch(b, p[0], BACKEND_READABLE), 0, "watch p");
    cr_assert_eq(b->ops->watch(b, q[0], BACKEND_READABLE), 0, "watch q");
    cr_assert_eq(wait_ok(b, 0, out, 4), 2, "%s: both are ready", b->ops->name);
    cr_assert_eq(b->ops->unwatch(b, p[0]), 0, "%s: unwatch succeeds", b->ops->name);
    int n = wait_ok(b, 0, out, 4);
    cr_assert_eq(n, 1, "%s: only the fd still watched is reported", b->ops->name);
    cr_assert_eq(out[0].fd, q[0], "%s: and it is the other pipe", b->ops->name);
    cr_assert_eq(b->ops->unwatch(b, q[0]), 0, "%s: unwatch succeeds", b->ops->name);
    cr_assert_eq(wait_ok(b, 0, out, 4), 0, "%s: nothing watched, nothing reported", b->ops->name);
    b->ops->free(b);
    close(p[0]);
    close(p[1]);
    close(q[0]);
    close(q[1]);
}

REAL_BACKEND_TEST(
    modify_changes_interest,
    .description = "Q: Does modify change which readiness is reported for a watched fd?") {
    struct backend *b = open_backend(backend_case(*k));
    struct backend_ready out[4];
    int s[2];
    open_socketpair(s);
    cr_assert_eq(b->ops->watch(b, s[0], BACKEND_READABLE), 0, "watch");
    cr_assert_eq(wait_ok(b, 0, out, 4), 0, "%s: nothing to read: not ready", b->ops->name);
    cr_assert_eq(b->ops->set_interest(b, s[0], BACKEND_WRITABLE), 0, "%s: set_interest succeeds",
                 b->ops->name);
    int n = wait_ok(b, 0, out, 4);
    cr_assert(n == 1 && out[0].readiness == BACKEND_WRITABLE,
              "%s: after set_interest to WRITABLE the socket is reported writable", b->ops->name);
    put_byte(s[1]);
    cr_assert_eq(b->ops->set_interest(b, s[0], BACKEND_READABLE | BACKEND_WRITABLE), 0,
                 "set_interest");
    n = wait_ok(b, 0, out, 4);
    cr_assert(n == 1 && out[0].readiness == (BACKEND_READABLE | BACKEND_WRITABLE),
              "%s: with both interests, both readinesses come in one event", b->ops->name);
    cr_assert_eq(b->ops->set_interest(b, s[0], BACKEND_READABLE), 0, "set_interest");
    n = wait_ok(b, 0, out, 4);
    cr_assert(n == 1 && out[0].readiness == BACKEND_READABLE,
              "%s: back to READABLE only, writability is no longer reported", b->ops->name);
    b->ops->free(b);
    close(s[0]);
    close(s[1]);
}

REAL_BACKEND_TEST(
    small_timeout_ends, .timeout = 20,
    .description = "Q: With nothing ready, does a short wait end by itself with 0 events?") {
    struct backend *b = open_backend(backend_case(*k));
    struct backend_ready out[4];
    int p[2];
    open_pipe(p);
    cr_assert_eq(b->ops->watch(b, p[0], BACKEND_READABLE), 0, "watch");
    /* 1.5 ms: not a whole number of ms or µs, so the conversion must round, not truncate. */
    cr_assert_eq(wait_ok(b, 1500000, out, 4), 0, "%s: a timed-out wait returns 0 events",
                 b->ops->name);
    cr_assert_eq(wait_ok(b, 1, out, 4), 0, "%s: a 1 ns wait returns 0 events", b->ops->name);
    b->ops->free(b);
    close(p[0]);
    close(p[1]);
}

REAL_BACKEND_TEST(
    more_ready_than_max,
    .description = "Q: With more fds ready than max, are all of them reported across two waits?") {
    struct backend *b = open_backend(backend_case(*k));
    struct backend_ready out[2];
    int p[3][2];
    for (int i = 0; i < 3; i++) {
        open_pipe(p[i]);
        put_byte(p[i][1]);
        cr_assert_eq(b->ops->watch(b, p[i][0], BACKEND_READABLE), 0, "watch");
    }
    int seen[3] = {0};
    for (int round = 0; round < 2; round++) {
        int n = wait_ok(b, 0, out, 2);
        cr_assert_geq(n, 1, "%s: each wait reports something", b->ops->name);
        for (int i = 0; i < 3; i++)
            seen[i] |= events_for(out, n, p[i][0]) != 0;
    }
    for (int i = 0; i < 3; i++)
        cr_assert(seen[i], "%s: fd %d, beyond the first max, is reported by the second wait",
                  b->ops->name, p[i][0]);
    b->ops->free(b);
    for (int i = 0; i < 3; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }
}

/* ---- EINTR -------------------------------------------------------------------------------- */

static volatile sig_atomic_t alarms_caught;

static void count_alarm(int sig) {
    (void)sig;
    alarms_caught++;
}

REAL_BACKEND_TEST(eintr_is_retried, .timeout = 20,
                  .description = "Q: When a signal interrupts a wait, does the wait go on for the "
                                 "time left instead of failing?") {
    /* No SA_RESTART: poll and select then fail with EINTR, which the backend must absorb. */
    struct sigaction on_alarm = {.sa_handler = count_alarm}, old;
    sigemptyset(&on_alarm.sa_mask);
    cr_assert_eq(sigaction(SIGALRM, &on_alarm, &old), 0, "sigaction");
    struct backend *b = open_backend(backend_case(*k));
    struct backend_ready out[4];
    int p[2];
    open_pipe(p);
    cr_assert_eq(b->ops->watch(b, p[0], BACKEND_READABLE), 0, "watch");
    alarms_caught = 0;
    /* A signal every 5 ms during a 60 ms wait: a dozen interruptions, even if the first
     * lands before the wait begins. */
    struct itimerval every_5ms = {{0, 5000}, {0, 5000}}, off = {{0, 0}, {0, 0}};
    const int64_t timeout = 60 * 1000000;
    int64_t start = monotonic_ns();
    cr_assert_eq(setitimer(ITIMER_REAL, &every_5ms, NULL), 0, "setitimer");
    int n = b->ops->wait(b, timeout, out, 4);
    setitimer(ITIMER_REAL, &off, NULL);
    int64_t elapsed = monotonic_ns() - start;
    cr_assert_eq(n, 0, "%s: an interrupted wait still ends with 0 events, not -EINTR (got %d)",
                 b->ops->name, n);
    cr_assert_geq(alarms_caught, 1, "%s: signals did arrive", b->ops->name);
    /* A lower bound only: a slow machine makes the wait longer, never shorter. */
    cr_assert_geq(elapsed, timeout,
                  "%s: the wait resumed after each signal and lasted its "
                  "whole timeout (%lld ns)",
                  b->ops->name, (long long)elapsed);
    b->ops->free(b);
    close(p[0]);
    close(p[1]);
    /* An alarm may still be pending (valgrind delivers signals late): ignoring SIGALRM discards
     * it, so restoring the default action afterwards cannot kill the test with it. */
    struct sigaction ignore = {.sa_handler = SIG_IGN};
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGALRM, &ignore, NULL);
    sigaction(SIGALRM, &old, NULL);
}

/* ---- misuse ------------------------------------------------------------------------------- */

EVERY_BACKEND_TEST(misuse_is_refused,
                   .description = "Q: Are a negative fd, a double watch, an unknown fd, bad "
                                  "interest and bad wait arguments refused with a reason?") {
    const struct backend_ops *ops = backend_case(*k);
    struct backend *b = open_backend(ops);
    struct backend_ready out[4];
    int p[2];
    open_pipe(p);
    cr_assert_eq(b->ops->watch(b, -1, BACKEND_READABLE), -EBADF, "%s: a negative fd is -EBADF",
                 ops->name);
    cr_assert(strstr(b->why, "negative") != NULL, "%s: why says the fd is negative: %s", ops->name,
              b->why);
    cr_assert_eq(b->ops->set_interest(b, -1, BACKEND_READABLE), -EBADF,
                 "%s: set_interest on a negative fd is -EBADF", ops->name);
    cr_assert_eq(b->ops->watch(b, p[0], 0), -EINVAL, "%s: no interest is -EINVAL", ops->name);
    cr_assert_eq(b->ops->watch(b, p[0], BACKEND_INVALID), -EINVAL,
                 "%s: INVALID cannot be asked for", ops->name);
    cr_assert_eq(b->ops->unwatch(b, p[0]), -ENOENT, "%s: unwatching an unknown fd is -ENOENT",
                 ops->name);
    cr_assert(strstr(b->why, "not watched") != NULL, "%s: why says so: %s", ops->name, b->why);
    cr_assert_eq(b->ops->set_interest(b, p[0], BACKEND_READABLE), -ENOENT,
                 "%s: set_interest on an unknown fd is -ENOENT", ops->name);
    cr_assert_eq(b->ops->watch(b, p[0], BACKEND_READABLE), 0, "%s: watch succeeds", ops->name);
    cr_assert_eq(b->ops->watch(b, p[0], BACKEND_WRITABLE), -EEXIST, "%s: a double watch is -EEXIST",
                 ops->name);
    cr_assert(strstr(b->why, "already") != NULL, "%s: why says it is watched already: %s",
              ops->name, b->why);
    cr_assert_eq(b->ops->set_interest(b, p[0], 0), -EINVAL,
                 "%s: set_interest to no interest is -EINVAL", ops->name);
    cr_assert_eq(b->ops->wait(b, -2, out, 4), -EINVAL, "%s: a timeout below -1 is -EINVAL",
                 ops->name);
    cr_assert_eq(b->ops->wait(b, 0, out, 0), -EINVAL, "%s: max 0 is -EINVAL", ops->name);
    cr_assert_eq(b->ops->wait(b, 0, NULL, 4), -EINVAL, "%s: no output array is -EINVAL", ops->name);
    cr_assert_eq(b->ops->unwatch(b, p[0]), 0, "%s: unwatch succeeds", ops->name);
    cr_assert_eq(b->ops->unwatch(b, p[0]), -ENOENT, "%s: unwatching twice is -ENOENT", ops->name);
    cr_assert_eq(b->ops->wait(b, -1, out, 4), -EDEADLK,
                 "%s: blocking forever with nothing that could wake it is -EDEADLK, not a hang",
                 ops->name);
    b->ops->free(b);
    close(p[0]);
    close(p[1]);
    cr_assert_eq(backend_select.new(NULL, NULL), -EINVAL, "new without an out pointer is -EINVAL");
}

/* Makes fd 1500 a copy of fd, raising the soft open-file limit if needed: 1500, or -1 if this
 * process may not go that high (the test then skips or uses the bare number). */
static int dup_onto_1500(int fd) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return -1;
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur <= 1500) {
        if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max <= 1500)
            return -1;
        lim.rlim_cur = lim.rlim_max == RLIM_INFINITY || lim.rlim_max > 2048 ? 2048 : lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
            return -1;
    }
    if (fcntl(1500, F_GETFD) != -1)
        return -1; /* taken: do not close someone else's fd */
    return dup2(fd, 1500) == 1500 ? 1500 : -1;
}

Test(backends, select_refuses_fd_setsize,
     .description = "Q: Does select refuse an fd >= FD_SETSIZE with -ERANGE and a reason, touching "
                    "no fd_set?") {
    int p[2];
    open_pipe(p);
    int big = dup_onto_1500(p[0]); /* the refusal never looks at the fd, so a bare number will do */
    int fd = big >= 0 ? big : 1500;
    struct backend *b = open_backend(&backend_select);
    struct backend_ready out[4];
    cr_assert_eq(b->ops->watch(b, fd, BACKEND_READABLE), -ERANGE,
                 "select refuses fd %d with -ERANGE", fd);
    cr_assert(strstr(b->why, "FD_SETSIZE") != NULL && strstr(b->why, "1500") != NULL,
              "why names the fd and FD_SETSIZE: %s", b->why);
    cr_assert_eq(b->ops->watch(b, FD_SETSIZE, BACKEND_READABLE), -ERANGE,
                 "FD_SETSIZE itself is one too many");
    cr_assert_eq(b->ops->set_interest(b, fd, BACKEND_READABLE), -ENOENT,
                 "set_interest on fd %d: it is not watched", fd);
    cr_assert_eq(b->ops->unwatch(b, fd), -ENOENT, "unwatch of fd %d: it is not watched", fd);
    cr_assert_eq(b->ops->watch(b, FD_SETSIZE - 1, BACKEND_READABLE), 0,
                 "FD_SETSIZE - 1 is the last fd select can watch");
    cr_assert_eq(b->ops->unwatch(b, FD_SETSIZE - 1), 0, "and it unwatches");
    cr_assert_eq(b->ops->wait(b, 0, out, 4), 0,
                 "the refused fd was never added: nothing to report");
    b->ops->free(b);
    if (big >= 0)
        close(big);
    close(p[0]);
    close(p[1]);
}

Test(backends, poll_accepts_fd_1500,
     .description = "Q: Does poll watch an fd above 1023, where select cannot?") {
    int p[2];
    open_pipe(p);
    int big = dup_onto_1500(p[0]);
    if (big < 0) {
        close(p[0]);
        close(p[1]);
        cr_skip_test("this process may not open fd 1500 (RLIMIT_NOFILE hard limit too low)");
    }
    struct backend *b = open_backend(&backend_poll);
    struct backend_ready out[4];
    cr_assert_eq(b->ops->watch(b, big, BACKEND_READABLE), 0, "poll watches fd 1500: %s", b->why);
    cr_assert_eq(wait_ok(b, 0, out, 4), 0, "nothing written yet: not ready");
    put_byte(p[1]);
    int n = wait_ok(b, 0, out, 4);
    cr_assert(n == 1 && out[0].fd == 1500 && out[0].readiness == BACKEND_READABLE,
              "fd 1500 is reported readable after a write");
    b->ops->free(b);
    close(big);
    close(p[0]);
    close(p[1]);
}

Test(
    backends, poll_reports_closed_fd, .timeout = 20,
    .description =
        "Q: When a watched fd is closed, does poll report it INVALID at once instead of hanging?") {
    struct backend *b = open_backend(&backend_poll);
    struct backend_ready out[4];
    int p[2];
    open_pipe(p);
    cr_assert_eq(b->ops->watch(b, p[0], BACKEND_READABLE), 0, "watch");
    close(p[0]); /* the mistake: closed while still watched */
    int n = wait_ok(b, -1, out, 4);
    cr_assert(n == 1 && out[0].fd == p[0] && out[0].readiness == BACKEND_INVALID,
              "a wait with no timeout returns at once with the closed fd marked INVALID");
    cr_assert_eq(b->ops->unwatch(b, p[0]), 0, "the loop's fix: unwatch it");
    b->ops->free(b);
    close(p[1]);
}

Test(backends, select_names_closed_fd, .timeout = 20,
     .description =
         "Q: When a watched fd is closed, does select fail whole with -EBADF and name the fd?") {
    struct backend *b = open_backend(&backend_select);
    struct backend_ready out[4];
    int p[2], q[2];
    open_pipe(p);
    open_pipe(q);
    put_byte(q[1]);
    cr_assert_eq(b->ops->watch(b, q[0], BACKEND_READABLE), 0, "watch a ready fd");
    cr_assert_eq(b->ops->watch(b, p[0], BACKEND_READABLE), 0, "watch another");
    int closed = p[0];
    close(p[0]);
    cr_assert_eq(b->ops->wait(b, -1, out, 4), -EBADF,
                 "one closed fd fails the whole select, even with another fd ready");
    char expect[16];
    snprintf(expect, sizeof expect, "fd %d ", closed);
    cr_assert(strstr(b->why, expect) != NULL, "why names the closed fd (%s): %s", expect, b->why);
    b->ops->free(b);
    close(p[1]);
    close(q[0]);
    close(q[1]);
}

#ifdef __linux__
Test(backends, epoll_ignores_stale_registration, .timeout = 20,
     .description =
         "Q: When a watched fd is closed without unwatch while a dup keeps its file open, and its "
         "number comes back as another file, does epoll still report only the new file?") {
    struct backend *b = open_backend(&backend_epoll);
    struct backend_ready out[4];
    int old[2], fresh[2];
    open_pipe(old);
    cr_assert_eq(b->ops->watch(b, old[0], BACKEND_READABLE), 0, "watch the old pipe");
    int keep = dup(old[0]); /* keeps the old file open: the kernel keeps its registration */
    int number = old[0];
    close(old[0]);    /* the mistake: closed while watched */
    put_byte(old[1]); /* the old file is readable, and its registration says "fd number" */
    cr_assert_eq(b->ops->unwatch(b, number), 0, "unwatch after close still forgets the fd");
    open_pipe(fresh);
    cr_assert_eq(fresh[0], number, "the lowest free number comes back: fd %d", number);
    cr_assert_eq(b->ops->watch(b, fresh[0], BACKEND_READABLE), 0, "watch the new pipe: %s", b->why);
    cr_assert_eq(wait_ok(b, 0, out, 4), 0,
                 "the old file's readiness is not reported as the new (empty) pipe's");
    cr_assert_eq(wait_ok(b, 0, out, 4), 0, "and the stale registration is gone, not spinning");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    b->ops->dump(b, f);
    fclose(f);
    cr_assert(strstr(text, "1 rebuild") != NULL,
              "the dump says the epoll instance was rebuilt once:\n%s", text);
    free(text);
    put_byte(fresh[1]);
    int n = wait_ok(b, 0, out, 4);
    cr_assert(n == 1 && out[0].fd == number && out[0].readiness == BACKEND_READABLE,
              "a byte in the new pipe is reported, under the reused number");
    b->ops->free(b);
    close(keep);
    close(old[1]);
    close(fresh[0]);
    close(fresh[1]);
}

Test(backends, epoll_closed_fd_is_invalid, .timeout = 20,
     .description = "Q: epoll silently forgets a closed fd: does the backend refuse a change of "
                    "interest on it and then report it INVALID?") {
    struct backend *b = open_backend(&backend_epoll);
    struct backend_ready out[4];
    int p[2];
    open_pipe(p);
    cr_assert_eq(b->ops->watch(b, p[0], BACKEND_READABLE), 0, "watch");
    close(p[0]); /* the mistake: closed while still watched */
    cr_assert_eq(wait_ok(b, 0, out, 4), 0,
                 "epoll has nothing to say about a closed fd: the kernel dropped it");
    cr_assert_eq(b->ops->set_interest(b, p[0], BACKEND_WRITABLE), -EBADF,
                 "changing its interest is -EBADF");
    cr_assert(strstr(b->why, "unwatch an fd before closing it") != NULL, "why says so: %s", b->why);
    int n = wait_ok(b, -1, out, 4);
    cr_assert(n == 1 && out[0].fd == p[0] && out[0].readiness == BACKEND_INVALID,
              "the next wait returns at once with the fd marked INVALID, as poll does");
    cr_assert_eq(b->ops->unwatch(b, p[0]), 0, "the loop's fix: unwatch it");
    cr_assert_eq(b->ops->wait(b, -1, out, 4), -EDEADLK, "then nothing is watched");
    b->ops->free(b);
    close(p[1]);
}

Test(backends, epoll_refuses_regular_file,
     .description = "Q: Does epoll refuse a regular file (always ready) with a reason, leaving "
                    "nothing watched?") {
    struct backend *b = open_backend(&backend_epoll);
    FILE *tmp = tmpfile();
    cr_assert_not_null(tmp, "tmpfile");
    cr_assert_eq(b->ops->watch(b, fileno(tmp), BACKEND_READABLE), -EPERM,
                 "a regular file is -EPERM");
    cr_assert(strstr(b->why, "regular file") != NULL, "why says so: %s", b->why);
    cr_assert_eq(b->ops->unwatch(b, fileno(tmp)), -ENOENT, "and it is not watched");
    fclose(tmp);
    b->ops->free(b);
}

Test(backends, epoll_edge_reports_once,
     .description = "Q: Does the edge-triggered epoll report a readiness once, and again only when "
                    "a new byte arrives or the interest changes?") {
    struct backend *b = open_backend(&backend_epoll_edge);
    struct backend_ready out[4];
    int p[2];
    open_pipe(p);
    cr_assert_eq(b->ops->watch(b, p[0], BACKEND_READABLE), 0, "watch");
    put_byte(p[1]);
    cr_assert_eq(wait_ok(b, 0, out, 4), 1, "the byte's arrival is reported");
    cr_assert_eq(wait_ok(b, 0, out, 4), 0, "edge-triggered: the unread byte is NOT reported again");
    put_byte(p[1]);
    cr_assert_eq(wait_ok(b, 0, out, 4), 1, "a new arrival is a new edge");
    cr_assert_eq(b->ops->set_interest(b, p[0], BACKEND_READABLE), 0, "set_interest (MOD)");
    cr_assert_eq(wait_ok(b, 0, out, 4), 1,
                 "a change of interest re-arms: what is there is reported");
    b->ops->free(b);
    close(p[0]);
    close(p[1]);
}
#endif

/* ---- the allocator ------------------------------------------------------------------------ */

struct counting_alloc {
    struct sched_alloc hook;
    int live; /* blocks allocated and not yet freed */
    int fail; /* when set, every allocation or growth fails */
};

static void *counting_resize(void *ctx, void *ptr, size_t size) {
    struct counting_alloc *c = ctx;
    if (size == 0) {
        c->live -= ptr != NULL;
        free(ptr);
        return NULL;
    }
    if (c->fail)
        return NULL;
    void *p = realloc(ptr, size);
    c->live += p && !ptr;
    return p;
}

EVERY_BACKEND_TEST(arrays_use_the_allocator,
                   .description = "Q: Does every backend grow its arrays through the loop's "
                                  "allocator, and survive its -ENOMEM?") {
    const struct backend_ops *ops = backend_case(*k);
    struct counting_alloc c = {{counting_resize, NULL}, 0, 0};
    c.hook.ctx = &c;
    struct backend *b = NULL;
    c.fail = 1;
    cr_assert_eq(ops->new (&b, &c.hook), -ENOMEM, "%s: new reports -ENOMEM", ops->name);
    c.fail = 0;
    cr_assert_eq(ops->new (&b, &c.hook), 0, "%s: new", ops->name);
    cr_assert_geq(c.live, 1, "%s: its state comes from the allocator", ops->name);
    int p[2];
    open_pipe(p);
    if (ops != &backend_select) {
        c.fail = 1;
        cr_assert_eq(b->ops->watch(b, p[0], BACKEND_READABLE), -ENOMEM,
                     "%s: a watch that cannot grow its arrays is -ENOMEM", ops->name);
        c.fail = 0;
        cr_assert_eq(b->ops->unwatch(b, p[0]), -ENOENT, "%s: and left nothing half-watched",
                     ops->name);
    }
    cr_assert_eq(b->ops->watch(b, p[0], BACKEND_READABLE), 0, "%s: watch", ops->name);
    int live = c.live;
    if (ops == &backend_poll)
        cr_assert_geq(live, 3, "poll: the pollfd array and the fd index come from the allocator");
    b->ops->free(b);
    cr_assert_eq(c.live, 0, "%s: free gives every block back", ops->name);
    close(p[0]);
    close(p[1]);
}

/* ---- dumps, names, units ------------------------------------------------------------------ */

static char *dump_to_string(const struct backend *b) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f, "open_memstream");
    b->ops->dump(b, f);
    fclose(f);
    return text;
}

Test(backends, dumps_show_state,
     .description = "Q: Do the dumps show what each backend watches, in its own terms?") {
    int p[2];
    open_pipe(p);
    put_byte(p[1]);
    struct backend_ready out[4];

    struct backend *b = open_backend(&backend_select);
    b->ops->watch(b, p[0], BACKEND_READABLE);
    b->ops->watch(b, p[1], BACKEND_WRITABLE);
    char *text = dump_to_string(b), expect[64];
    snprintf(expect, sizeof expect, "max fd %d", p[0] > p[1] ? p[0] : p[1]);
    cr_assert(strstr(text, expect) != NULL, "select's dump gives the max fd (%s):\n%s", expect,
              text);
    snprintf(expect, sizeof expect, "fd %4d  r-", p[0]);
    cr_assert(strstr(text, expect) != NULL, "and each fd's r/w bits (%s):\n%s", expect, text);
    free(text);
    b->ops->free(b);

    b = open_backend(&backend_poll);
    b->ops->watch(b, p[0], BACKEND_READABLE);
    wait_ok(b, 0, out, 4);
    text = dump_to_string(b);
    snprintf(expect, sizeof expect, "[0] fd %4d  events POLLIN  revents POLLIN", p[0]);
    cr_assert(strstr(text, expect) != NULL, "poll's dump lists the pollfd array (%s):\n%s", expect,
              text);
    free(text);
    b->ops->free(b);

    b = open_backend(&backend_script);
    struct backend_ready answer = {7, BACKEND_READABLE};
    backend_script_add(b, &answer, 1);
    backend_script_add(b, &answer, 1);
    wait_ok(b, 2500, out, 4);
    text = dump_to_string(b);
    cr_assert(strstr(text, "1 answer left") && strstr(text, "fd 7 r") && strstr(text, " 2500"),
              "the script's dump shows what is left and the timeouts so far:\n%s", text);
    free(text);
    b->ops->free(b);
    close(p[0]);
    close(p[1]);
}

Test(backends, names_and_units,
     .description =
         "Q: Is each backend found by its name, and is a timeout rounded up to its units?") {
    cr_assert_eq(backend_by_name("select"), &backend_select, "\"select\" finds select");
    cr_assert_eq(backend_by_name("poll"), &backend_poll, "\"poll\" finds poll");
    cr_assert_eq(backend_by_name("script"), &backend_script, "\"script\" finds the script");
#ifdef __linux__
    cr_assert_eq(backend_by_name("epoll"), &backend_epoll, "\"epoll\" finds epoll");
    cr_assert_eq(backend_by_name("epoll-edge"), &backend_epoll_edge, "\"epoll-edge\" finds it");
    cr_assert_eq(backend_default(), &backend_epoll, "on Linux the default backend is epoll");
    cr_assert_eq(backend_epoll.resolution_ns, 1000000, "epoll_wait counts milliseconds");
#else
    cr_assert_eq(backend_default(), &backend_poll, "without epoll the default backend is poll");
#endif
    cr_assert_null(backend_by_name("kqueue"), "an unknown name finds nothing");
    cr_assert_null(backend_by_name(NULL), "NULL finds nothing");
    cr_assert_eq(backend_select.resolution_ns, 1000, "select counts microseconds");
    cr_assert_eq(backend_poll.resolution_ns, 1000000, "poll counts milliseconds");
    cr_assert_eq(backend_ns_to_units(0, 1000000), 0, "0 ns is 0 ms");
    cr_assert_eq(backend_ns_to_units(1, 1000000), 1, "1 ns rounds UP to 1 ms: never wake early");
    cr_assert_eq(backend_ns_to_units(1000000, 1000000), 1, "exactly 1 ms stays 1 ms");
    cr_assert_eq(backend_ns_to_units(1000001, 1000), 1001, "1000001 ns is 1001 µs");
    cr_assert_eq(backend_ns_to_units(INT64_MAX, 1000), INT64_MAX / 1000 + 1,
                 "the largest timeout converts without overflow");
}

/* ---- the script --------------------------------------------------------------------------- */

Test(backends, script_answers_in_order,
     .description =
         "Q: Does the script backend return its answers in order and record every timeout?") {
    struct backend *b = open_backend(&backend_script);
    struct backend_ready out[4];
    struct backend_ready first[] = {{3, BACKEND_READABLE}, {9000, BACKEND_WRITABLE}};
    struct backend_ready second[] = {{5, BACKEND_INVALID}};
    cr_assert_eq(backend_script_add(b, first, 2), 0, "add");
    cr_assert_eq(backend_script_add(b, NULL, 0), 0,
                 "an empty answer: a wait where nothing is ready");
    cr_assert_eq(backend_script_add(b, second, 1), 0, "add");
    int n = wait_ok(b, 5000000, out, 4);
    cr_assert(n == 2 && out[0].fd == 3 && out[0].readiness == BACKEND_READABLE && out[1].fd == 9000,
              "the first wait gets the first answer, even for fds nobody watches");
    cr_assert_eq(wait_ok(b, 0, out, 4), 0, "the second gets the empty answer");
    n = wait_ok(b, -1, out, 4);
    cr_assert(n == 1 && out[0].fd == 5 && out[0].readiness == BACKEND_INVALID,
              "the third gets the third");
    cr_assert_eq(wait_ok(b, 7, out, 4), 0, "with no answer left, a finite wait gets 0 events");
    cr_assert_eq(b->ops->wait(b, -1, out, 4), -EDEADLK,
                 "with no answer left, blocking forever is -EDEADLK: nothing could ever wake it");
    const int64_t *timeouts = NULL;
    int count = backend_script_timeouts(b, &timeouts);
    cr_assert_eq(count, 5, "every wait's timeout is recorded, the refused one too");
    const int64_t expect[] = {5000000, 0, -1, 7, -1};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(timeouts[i], expect[i], "timeout %d is %lld", i, (long long)expect[i]);
    b->ops->free(b);
}

Test(backends, script_splits_long_answer,
     .description =
         "Q: Is a scripted answer longer than max returned over several waits, in order?") {
    struct backend *b = open_backend(&backend_script);
    struct backend_ready out[2];
    struct backend_ready answer[] = {
        {1, BACKEND_READABLE}, {2, BACKEND_READABLE}, {3, BACKEND_WRITABLE}};
    struct backend_ready next = {4, BACKEND_READABLE};
    backend_script_add(b, answer, 3);
    backend_script_add(b, &next, 1);
    int n = wait_ok(b, 0, out, 2);
    cr_assert(n == 2 && out[0].fd == 1 && out[1].fd == 2, "the first wait gets max = 2 of the 3");
    n = wait_ok(b, 0, out, 2);
    cr_assert(n == 1 && out[0].fd == 3,
              "the second gets the rest of that answer, not the next one");
    n = wait_ok(b, 0, out, 2);
    cr_assert(n == 1 && out[0].fd == 4, "the third gets the next answer");
    b->ops->free(b);
}

Test(backends, script_misuse,
     .description = "Q: Does the script backend refuse a bad answer and accept any fd number?") {
    struct backend *b = open_backend(&backend_script);
    struct backend_ready ev = {1, BACKEND_READABLE};
    cr_assert_eq(backend_script_add(b, &ev, -1), -EINVAL, "a negative count is -EINVAL");
    cr_assert_eq(backend_script_add(b, NULL, 1), -EINVAL, "events without an array is -EINVAL");
    cr_assert_eq(b->ops->watch(b, 5000, BACKEND_READABLE), 0, "fd 5000 need not be open");
    cr_assert_eq(b->ops->set_interest(b, 5000, BACKEND_WRITABLE), 0,
                 "set_interest on a watched fd");
    cr_assert_eq(b->ops->unwatch(b, 5000), 0, "unwatch of a watched fd");
    const int64_t *t;
    cr_assert_eq(backend_script_timeouts(b, &t), 0, "no wait yet, no timeout recorded");
    b->ops->free(b);
    struct backend *poll_b = open_backend(&backend_poll);
    cr_assert_eq(backend_script_add(poll_b, &ev, 1), -EINVAL,
                 "queueing answers on poll is -EINVAL");
    cr_assert_eq(backend_script_timeouts(poll_b, &t), -EINVAL, "poll records no timeouts: -EINVAL");
    poll_b->ops->free(poll_b);
}
