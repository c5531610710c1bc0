/* echo_servers.c — the benchmarks' two echo servers in forked children; see echo_servers.h.
 * Moved here from echo_bench.c when lesson 12's benchmark needed the same two. */
#define _POSIX_C_SOURCE 200809L
#include "tests/bench/lib/echo_servers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/loop.h"
#include "loop/net/echo.h"
#include "loop/net/net.h"
#include "loop/signal.h"

static void stop_loop(struct loop_signal *s, int signo) {
    (void)signo;
    loop_stop(s->arg);
}

/* The loop server: loop/net/echo.c on one thread, until SIGTERM arrives through the self-pipe. */
static int run_loop_server(const struct backend_ops *backend, int report_fd) {
    struct loop *loop;
    struct loop_config config = {.backend = backend};
    struct echo_server server;
    struct loop_signal sig;
    if (loop_new(&loop, &config) < 0 ||
        echo_server_open(&server, loop, NET_LOOPBACK, 0, NULL) < 0 ||
        loop_signal_open(loop, &sig, stop_loop, loop) < 0)
        return 1;
    if (write(report_fd, &server.port, sizeof server.port) != sizeof server.port)
        return 1;
    int rc = loop_run(loop);
    loop_signal_close(&sig);
    echo_server_close(&server);
    loop_free(loop);
    return rc == 0 ? 0 : 1;
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
static int run_thread_server(int report_fd) {
    int lfd;
    uint16_t port;
    if (net_listen_tcp(NET_LOOPBACK, 0, 0, &lfd, &port) < 0)
        return 1;
    fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) & ~O_NONBLOCK); /* this server blocks, on purpose */
    if (write(report_fd, &port, sizeof port) != sizeof port)
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
        _exit(backend ? run_loop_server(backend, report[1]) : run_thread_server(report[1]));
    }
    close(report[1]);
    struct pollfd p = {.fd = report[0], .events = POLLIN};
    int rc = poll(&p, 1, 10000) == 1 &&
                     read(report[0], &child->port, sizeof child->port) == sizeof child->port
                 ? 0
                 : -ETIMEDOUT;
    close(report[0]);
    return rc;
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
