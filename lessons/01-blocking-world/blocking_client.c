/* blocking_client.c — lesson 01 (blocking-world): the client side of the lesson, and its clock.
 * Clients connect, send a line and wait for the echo, and every wait is bounded: a test must
 * be able to see that nothing came, without ever hanging. */
#include "blocking_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t blocking_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void blocking_vsay(FILE *out, int64_t start_ns, const char *who, const char *fmt, va_list ap) {
    if (out == NULL)
        return;
    char what[256];
    vsnprintf(what, sizeof what, fmt, ap);
    long long ms = (long long)((blocking_now_ns() - start_ns) / 1000000);
    /* One fprintf and one flush per line: each line reaches the terminal in one write(). */
    fprintf(out, "%6lld ms  %-9s %s\n", ms, who, what);
    fflush(out);
}

void blocking_say(FILE *out, int64_t start_ns, const char *who, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    blocking_vsay(out, start_ns, who, fmt, ap);
    va_end(ap);
}

int blocking_connect(uint16_t port) {
    if (port == 0)
        return -EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int blocking_send_all(int fd, const char *data, size_t len) {
    if (fd < 0)
        return -EBADF;
    if (data == NULL && len > 0)
        return -EINVAL;
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int blocking_read_line(int fd, char *buf, size_t cap, int timeout_ms) {
    if (fd < 0)
        return -EBADF;
    if (buf == NULL || cap < 2 || timeout_ms < 0)
        return -EINVAL;
    int64_t deadline = blocking_now_ns() + (int64_t)timeout_ms * 1000000;
    size_t len = 0;
    buf[0] = '\0';
    while (len < cap - 1 && (len == 0 || buf[len - 1] != '\n')) {
        int64_t left_ns = deadline - blocking_now_ns();
        if (left_ns <= 0)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ready = poll(&p, 1, (int)((left_ns + 999999) / 1000000)); /* round up, never spin */
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            return -errno;
        if (ready == 0)
            continue; /* the loop head decides whether the time is up */
        /* One byte at a time, so nothing past the newline is taken: lines here are short. */
        ssize_t n = recv(fd, buf + len, 1, 0);
        if (n == 0)
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        len++;
        buf[len] = '\0';
    }
    return (int)len;
}
