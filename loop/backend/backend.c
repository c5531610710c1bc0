/* backend.c — what the readiness backends share: finding one by name, the words of a refusal,
 * rounding a timeout up to a backend's units, and the one wait path that retries EINTR with
 * the time that is left. Introduced with lesson 02 (select), reused by lesson 03 (poll). */
#include "loop/backend/backend.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

/* A const table, not state: a backend joins with one line here. */
static const struct backend_ops *const backend_all[] = {
    &backend_select, &backend_poll,
#ifdef __linux__
    &backend_epoll,  &backend_epoll_edge,
#endif
    &backend_script,
};

const struct backend_ops *backend_default(void) {
#ifdef __linux__
    return &backend_epoll; /* lesson 16: the wait's cost follows the ready fds, not the watched */
#else
    return &backend_poll;
#endif
}

const struct backend_ops *backend_by_name(const char *name) {
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof backend_all / sizeof backend_all[0]; i++)
        if (strcmp(backend_all[i]->name, name) == 0)
            return backend_all[i];
    return NULL;
}

int backend_refuse(struct backend *b, int err, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(b->why, sizeof b->why, fmt, args);
    va_end(args);
    return err;
}

int backend_check_interest(struct backend *b, int fd, unsigned interest) {
    const unsigned allowed = BACKEND_READABLE | BACKEND_WRITABLE;
    if (fd < 0)
        return backend_refuse(b, -EBADF,
                              "%s cannot watch fd %d: a negative number is never an "
                              "open file descriptor",
                              b->ops->name, fd);
    if ((interest & allowed) == 0 || (interest & ~allowed) != 0)
        return backend_refuse(b, -EINVAL,
                              "%s: interest 0x%x for fd %d must be READABLE "
                              "and/or WRITABLE, nothing else",
                              b->ops->name, interest, fd);
    return 0;
}

int64_t backend_ns_to_units(int64_t ns, int64_t unit_ns) {
    /* ns / unit + (remainder != 0) rounds up without the overflow of (ns + unit - 1) / unit. */
    return ns / unit_ns + (ns % unit_ns != 0);
}

static int64_t backend_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int backend_wait_retrying(struct backend *b, int64_t timeout_ns,
                          int (*once)(struct backend *b, int64_t timeout_ns,
                                      struct backend_ready *out, int max),
                          struct backend_ready *out, int max) {
    if (timeout_ns < -1)
        return backend_refuse(b, -EINVAL, "%s: timeout %lld ns is neither -1 (block) nor >= 0",
                              b->ops->name, (long long)timeout_ns);
    if (!out || max < 1)
        return backend_refuse(b, -EINVAL, "%s: wait needs room for at least one event",
                              b->ops->name);
    /* The start is read only for a finite, non-zero wait: the others retry unchanged. */
    const int64_t start = timeout_ns > 0 ? backend_monotonic_ns() : 0;
    int64_t left = timeout_ns;
    for (;;) {
        int n = once(b, left, out, max);
        if (n != -EINTR)
            return n;
        /* A signal handler ran (the self-pipe, if any, now holds its byte). Waiting the whole
         * timeout again after every signal could wait forever; waiting the rest cannot. */
        if (timeout_ns > 0) {
            int64_t elapsed = backend_monotonic_ns() - start;
            /* Time is up: one last look with 0, so an fd that became ready is not missed. */
            left = elapsed >= timeout_ns ? 0 : timeout_ns - elapsed;
        }
    }
}
