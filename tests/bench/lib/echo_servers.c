/* echo_servers.c — the benchmarks' two echo servers in forked children (echo, echo_scale,
 * epoll and uring benchmarks); see echo_servers.h. The forking is not
 * tests/support/echo_child.h's: that one asserts with Criterion, captures the output and
 * limits descriptors; this one only learns the port, and also forks the thread-per-connection
 * baseline. The loop server they fork is the same: echo_serve_until_signal. */
#define _POSIX_C_SOURCE 200809L
#include "tests/bench/lib/echo_servers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/net/echo.h"
#include "loop/net/net.h"

/* The loop server is the library's own `--serve` (echo_serve_until_signal), the program the
 * echo demos and the tests' echo_child.h run: loop/net/echo.c on one thread until SIGTERM. It
 * prints "listening on 127.0.0.1:PORT" on report, the line both servers report their port by. */
static int run_loop_server(const struct backend_ops *backend, FILE *report) {
    struct echo_serve_args args = {.program = "echo", .backend = backend, .serve = true};
    return echo_serve_until_signal(&args, report, NULL) == 0 ? 0 : 1;
}

/* One blocking thread per connection: read, write it all back, until end-of-file. */
static void *echo_thread(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
            if (w <= 0)
                goto done;
            off += w;
        }
    }
done:
    close(fd);
    return NULL;
}

/* The baseline: the main thread accepts, each connection gets a detached thread with a small
 * stack (1000 threads x 8 MiB default stacks would be 8 GB of address space). SIGTERM's
 * default action ends it. */
static int run_thread_server(FILE *report) {
    int lfd;
    uint16_t port;
    if (net_listen_tcp(NET_LOOPBACK, 0, 0, &lfd, &port) < 0)
        return 1;
    fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) & ~O_NONBLOCK); /* this server blocks, on purpose */
    if (fprintf(report, "listening on %s:%u\n", NET_LOOPBACK, port) < 0 || fflush(report) != 0)
        return 1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return 1;
        }
        pthread_t t;
        if (pthread_create(&t, &attr, echo_thread, (void *)(intptr_t)fd) != 0)
            close(fd);
    }
}

/* Forks a server (backend NULL: the thread-per-connection one) and learns its port. */
int echo_servers_start(const struct backend_ops *backend, struct echo_server_child *child) {
    int report[2];
    if (pipe(report) < 0)
        return -errno;
    fflush(stdout);
    child->pid = fork();
    if (child->pid < 0)
        return -errno;
    if (child->pid == 0) {
        close(report[0]);
        signal(SIGPIPE, SIG_IGN); /* the parent stops reading after the port: later lines fail */
        FILE *out = fdopen(report[1], "w");
        if (!out)
            _exit(1);
        _exit(backend ? run_loop_server(backend, out) : run_thread_server(out));
    }
    close(report[1]);
    /* The first line, "listening on 127.0.0.1:PORT", within 10 s. */
    char line[64];
    size_t len = 0;
    struct pollfd p = {.fd = report[0], .events = POLLIN};
    while (len < sizeof line - 1 && !memchr(line, '\n', len) && poll(&p, 1, 10000) == 1) {
        ssize_t n = read(report[0], line + len, sizeof line - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    line[len] = '\0';
    close(report[0]); /* the child's later lines (its summary) go nowhere */
    unsigned port = 0;
    if (sscanf(line, "listening on " NET_LOOPBACK ":%u", &port) != 1 || port == 0 || port > 65535)
        return -ETIMEDOUT;
    child->port = (uint16_t)port;
    return 0;
}

double echo_servers_children_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long echo_servers_resident(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    FILE *f = fopen(path, "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}
