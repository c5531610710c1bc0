/* blocking_client.h — lesson 01 (blocking-world): the clients that talk to the blocking server,
 * and the timeline both sides narrate on. Every wait here is bounded, so a caller can observe
 * that nothing came without ever hanging. */
#ifndef LOOPSCHOOL_BLOCKING_CLIENT_H
#define LOOPSCHOOL_BLOCKING_CLIENT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The monotonic clock in nanoseconds. */
int64_t blocking_now_ns(void);

/* Prints one timeline line "   123 ms  who       what" (ms since start_ns) and flushes it, so
 * the lines the server process and the client process write interleave whole, in the order
 * they happened. Does nothing when out is NULL. */
void blocking_say(FILE *out, int64_t start_ns, const char *who, const char *fmt, ...);
void blocking_vsay(FILE *out, int64_t start_ns, const char *who, const char *fmt, va_list ap);

/* A client socket connected to 127.0.0.1:port, or -EINVAL (port 0) or a negative errno. */
int blocking_connect(uint16_t port);

/* Sends all len bytes. 0, -EBADF (fd < 0), -EINVAL (NULL data) or a negative errno.
 * A peer that has gone gives -EPIPE, never a SIGPIPE that would kill the process. */
int blocking_send_all(int fd, const char *data, size_t len);

/* Reads one line (up to and including '\n', at most cap - 1 bytes) into buf, NUL-terminated,
 * waiting at most timeout_ms. Like read(): the length (> 0), or 0 if the peer left first.
 * -ETIMEDOUT if no whole line came in time; -EBADF (fd < 0), -EINVAL (NULL buf, cap < 2, a
 * negative timeout: every wait here is bounded) or another negative errno. */
int blocking_read_line(int fd, char *buf, size_t cap, int timeout_ms);

#endif
