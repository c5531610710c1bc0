/* client.c — lesson 18's forked echo client; see client.h. */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop/net/net.h"

enum { MSG = 32 };

static int blocking_connect(uint16_t port) {
    int fd;
    int rc = net_connect_tcp(NET_LOOPBACK, port, &fd);
    if (rc == -EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, 10000) != 1 || net_connect_result(fd) < 0) {
            close(fd);
            return -1;
        }
    } else if (rc < 0) {
        return -1;
    }
    return fd;
}

/* Reads exactly len bytes, waiting at most 10 s for each piece. */
static int read_all(int fd, char *buf, size_t len) {
    for (size_t got = 0; got < len;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) != 1)
            return -1;
        ssize_t n = net_recv(fd, buf + got, len - got);
        if (n == -EAGAIN)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

static int run_client(uint16_t port, int connections, int rounds) {
    int *fds = calloc((size_t)connections, sizeof *fds);
    if (!fds)
        return 1;
    for (int i = 0; i < connections; i++)
        if ((fds[i] = blocking_connect(port)) < 0)
            return 1;
    char out[64], in[MSG];
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < connections; i++) {
            snprintf(out, sizeof out, "conn %06d round %06d ......", i % 1000000, r % 1000000);
            if (net_send(fds[i], out, MSG) != MSG)
                return 1;
        }
        for (int i = 0; i < connections; i++) {
            snprintf(out, sizeof out, "conn %06d round %06d ......", i % 1000000, r % 1000000);
            if (read_all(fds[i], in, MSG) < 0 || memcmp(in, out, MSG) != 0)
                return 1;
        }
    }
    for (int i = 0; i < connections; i++)
        close(fds[i]);
    free(fds);
    return 0;
}

int client_start(uint16_t port, int connections, int rounds, pid_t *pid) {
    fflush(NULL);
    pid_t p = fork();
    if (p < 0)
        return -errno;
    if (p == 0)
        _exit(run_client(port, connections, rounds));
    *pid = p;
    return 0;
}

int client_finish(pid_t pid, int timeout_ms, void (*step)(void *ctx), void *ctx) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (ms > timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -ETIMEDOUT;
        }
        if (step)
            step(ctx);
        else
            nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
}
