/* echo_child.h — the echo server's `--serve` in a forked child, for tests that need a server
 * they can starve of descriptors, signal, and measure from outside (lesson 12 and the
 * out-of-descriptors tests). Header only, `static inline`. The child calls the library directly,
 * so no demo binary is needed; its stdout and stderr come back through pipes. */
#ifndef LOOPSCHOOL_TESTS_SUPPORT_ECHO_CHILD_H
#define LOOPSCHOOL_TESTS_SUPPORT_ECHO_CHILD_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop/net/echo.h"

/* What one child printed, as it arrives. */
struct test_echo_child {
    pid_t pid;
    int out_fd, err_fd; /* read ends of the child's stdout and stderr */
    char out[4096], err[4096];
    size_t out_len, err_len;
    uint16_t port;
};

/* Reads whatever fd has into buf (kept NUL-terminated), waiting at most timeout_ms: 1 if it
 * read something, 0 on timeout, -1 at end-of-file (or a full buffer). */
static inline int test_echo_child_pump(int fd, char *buf, size_t cap, size_t *len, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1)
        return 0;
    ssize_t n = read(fd, buf + *len, cap - 1 - *len);
    if (n <= 0)
        return -1;
    *len += (size_t)n;
    buf[*len] = '\0';
    return 1;
}

/* Waits (at most timeout_ms in all) until the child's stdout (or stderr, if on_err) contains
 * needle. True if it did. */
static inline bool test_echo_child_wait_for(struct test_echo_child *c, bool on_err,
                                            const char *needle, int timeout_ms) {
    char *buf = on_err ? c->err : c->out;
    size_t *len = on_err ? &c->err_len : &c->out_len;
    int fd = on_err ? c->err_fd : c->out_fd;
    for (int waited = 0; !strstr(buf, needle); waited += 100)
        if (waited >= timeout_ms || test_echo_child_pump(fd, buf, sizeof c->out, len, 100) < 0)
            return false;
    return true;
}

/* The child a failed assertion would leave behind: the worker kills it as it exits. */
static pid_t test_echo_child_pid;

static inline void test_echo_child_kill_left(void) {
    if (test_echo_child_pid > 0)
        kill(test_echo_child_pid, SIGKILL);
}

/* Leaves this process `limit` descriptor numbers in all, so the next ones fail with EMFILE.
 * First choice: lower both the soft and the hard RLIMIT_NOFILE (so --serve cannot raise it
 * back). valgrind refuses to move the hard limit (it keeps the top descriptors for itself), so
 * there the soft limit goes up to the hard one and /dev/null fills every number but the last
 * `limit - 5` (fds 0 to 4 are in use): the same count is left, however it is reached. */
static inline int test_echo_child_limit_fds(rlim_t limit) {
    struct rlimit lim = {limit, limit};
    if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
        return 0;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_max == RLIM_INFINITY)
        return -1;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
        return -1;
    int last = (int)(lim.rlim_max - (limit - 5)) - 1, fd;
    while ((fd = open("/dev/null", O_RDONLY)) >= 0 && fd < last) {
    }
    return fd == last ? 0 : -1;
}

/* Forks `--serve` on 127.0.0.1 port 0 with args (program "echo"); fd_limit > 0 leaves it only
 * that many descriptors (test_echo_child_limit_fds). When
 * expect_listening, waits up to 60 s (valgrind starts slowly) for the "listening on" line and
 * reads the port. In the child, fds 0-2 are the worker's, 3 and 4 the pipes, nothing else. */
static inline void test_echo_child_start(struct test_echo_child *c, struct echo_serve_args args,
                                         rlim_t fd_limit, bool expect_listening) {
    int out[2], err[2];
    cr_assert(pipe(out) == 0 && pipe(err) == 0, "pipes for the child's output");
    memset(c, 0, sizeof *c);
    fflush(NULL);
    c->pid = fork();
    cr_assert_geq(c->pid, 0, "fork");
    if (c->pid == 0) {
        alarm(150); /* whatever happens to the test, the server does not outlive it for long */
        /* Only stdio and the two pipes, as fds 3 and 4: what the worker process held is not the
         * server's, and a low limit then means the same thing on every machine. */
        if (dup2(out[1], 3) != 3 || dup2(err[1], 4) != 4)
            _exit(3);
        for (int fd = 5; fd < 1024; fd++)
            close(fd);
        if (fd_limit > 0 && test_echo_child_limit_fds(fd_limit) < 0)
            _exit(3);
        FILE *o = fdopen(3, "w"), *e = fdopen(4, "w");
        args.program = "echo";
        args.serve = true;
        int rc = echo_serve_until_signal(&args, o, e);
        _exit(rc == 0 ? 0 : 1);
    }
    static bool registered;
    if (!registered)
        registered = atexit(test_echo_child_kill_left) == 0;
    test_echo_child_pid = c->pid;
    close(out[1]);
    close(err[1]);
    c->out_fd = out[0];
    c->err_fd = err[0];
    if (!expect_listening)
        return;
    cr_assert(test_echo_child_wait_for(c, false, "\n", 60000),
              "the server prints its first line (stderr: %s)", c->err);
    unsigned port = 0;
    cr_assert_eq(sscanf(c->out, "listening on 127.0.0.1:%u", &port), 1,
                 "the first line is 'listening on 127.0.0.1:PORT': %s", c->out);
    c->port = (uint16_t)port;
}

static inline double test_echo_child_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Sends sig (0: none) and waits for the child; its wait status, and its CPU time in *cpu_s
 * (user + system: getrusage of the children, before and after it is reaped) when cpu_s is not
 * NULL. Reads the rest of its output. */
static inline int test_echo_child_stop(struct test_echo_child *c, int sig, double *cpu_s) {
    if (sig)
        kill(c->pid, sig);
    while (test_echo_child_pump(c->out_fd, c->out, sizeof c->out, &c->out_len, 60000) > 0) {
    }
    while (test_echo_child_pump(c->err_fd, c->err, sizeof c->err, &c->err_len, 1000) > 0) {
    }
    int status = 0;
    double before = test_echo_child_cpu();
    cr_assert_eq(waitpid(c->pid, &status, 0), c->pid, "waitpid for the server");
    test_echo_child_pid = 0;
    if (cpu_s)
        *cpu_s = test_echo_child_cpu() - before;
    close(c->out_fd);
    close(c->err_fd);
    return status;
}

#endif
