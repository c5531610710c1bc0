/* select.c — the select() backend of lesson 02: two fd_sets of interest and the highest
 * fd watched. select's limits are the lesson: an fd_set holds only fds 0..FD_SETSIZE-1, every
 * call copies and scans the sets up to the highest fd, and one closed fd fails the whole call. */
#include "loop/backend/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/select.h>

struct select_backend {
    struct backend base; /* first, so a struct backend * converts to this and back */
    fd_set want_read;    /* interest; select overwrites its arguments, so wait passes copies */
    fd_set want_write;
    int max_fd;    /* highest fd watched, -1 if none: select is told max_fd + 1 */
    int count;     /* fds watched */
    int scan_from; /* where the next report starts, so no ready fd waits forever */
};

/* The longest single select(): POSIX lets select refuse more than 31 days (EINVAL). A longer
 * wait just returns 0 ready fds early, and the loop computes its timeout again. */
#define SELECT_MAX_WAIT_SEC (31 * 24 * 3600)

static struct select_backend *select_of(struct backend *b) {
    return (struct select_backend *)b;
}

static int select_new(struct backend **out, const struct sched_alloc *alloc) {
    if (!out)
        return -EINVAL;
    if (!alloc)
        alloc = sched_alloc_libc();
    struct select_backend *s = sched_alloc(alloc, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->base.ops = &backend_select;
    s->base.alloc = alloc;
    s->base.why[0] = '\0';
    s->base.kernel_calls = s->base.kernel_fds = 0;
    FD_ZERO(&s->want_read);
    FD_ZERO(&s->want_write);
    s->max_fd = -1;
    s->count = 0;
    s->scan_from = 0;
    *out = &s->base;
    return 0;
}

/* Every FD_* call below is guarded by this: an fd_set is a fixed bit array, and FD_SET(1500)
 * would write past its end, silently corrupting whatever lies beside it. */
static int select_in_range(int fd) {
    return fd >= 0 && fd < FD_SETSIZE;
}

static int select_is_watched(const struct select_backend *s, int fd) {
    return select_in_range(fd) && (FD_ISSET(fd, &s->want_read) || FD_ISSET(fd, &s->want_write));
}

static void select_set_bits(struct select_backend *s, int fd, unsigned interest) {
    FD_CLR(fd, &s->want_read);
    FD_CLR(fd, &s->want_write);
    if (interest & BACKEND_READABLE)
        FD_SET(fd, &s->want_read);
    if (interest & BACKEND_WRITABLE)
        FD_SET(fd, &s->want_write);
}

static int select_watch(struct backend *b, int fd, unsigned interest) {
    struct select_backend *s = select_of(b);
    int err = backend_check_interest(b, fd, interest);
    if (err)
        return err;
    if (fd >= FD_SETSIZE)
        return backend_refuse(b, -ERANGE,
                              "select cannot watch fd %d: an fd_set holds only fds "
                              "0..%d (FD_SETSIZE); the poll and epoll backends have no such limit",
                              fd, FD_SETSIZE - 1);
    if (select_is_watched(s, fd))
        return backend_refuse(b, -EEXIST,
                              "select: fd %d is watched already (set_interest changes "
                              "its interest)",
                              fd);
    select_set_bits(s, fd, interest);
    if (fd > s->max_fd)
        s->max_fd = fd;
    s->count++;
    return 0;
}

static int select_set_interest(struct backend *b, int fd, unsigned interest) {
    struct select_backend *s = select_of(b);
    int err = backend_check_interest(b, fd, interest);
    if (err)
        return err;
    if (!select_is_watched(s, fd))
        return backend_refuse(b, -ENOENT,
                              "select: cannot set_interest on fd %d, it is not "
                              "watched",
                              fd);
    select_set_bits(s, fd, interest);
    return 0;
}

static int select_unwatch(struct backend *b, int fd) {
    struct select_backend *s = select_of(b);
    if (!select_is_watched(s, fd))
        return backend_refuse(b, -ENOENT, "select: cannot unwatch fd %d, it is not watched", fd);
    FD_CLR(fd, &s->want_read);
    FD_CLR(fd, &s->want_write);
    s->count--;
    /* The highest fd left is found by scanning down: O(FD_SETSIZE) at worst, and select scans
     * its sets on every call anyway. */
    while (s->max_fd >= 0 && !select_is_watched(s, s->max_fd))
        s->max_fd--;
    return 0;
}

/* select fails whole with EBADF when one watched fd is closed, without saying which. Finding it
 * turns "Bad file descriptor" into a sentence that names the fd and the fix. */
static int select_name_closed_fd(struct select_backend *s) {
    for (int fd = 0; fd <= s->max_fd; fd++)
        if (select_is_watched(s, fd) && fcntl(fd, F_GETFD) == -1 && errno == EBADF)
            return backend_refuse(&s->base, -EBADF,
                                  "select failed: fd %d is watched but not "
                                  "open; unwatch an fd before closing it",
                                  fd);
    return backend_refuse(&s->base, -EBADF, "select failed with EBADF: a watched fd is not open");
}

static int select_wait_once(struct backend *b, int64_t timeout_ns, struct backend_ready *out,
                            int max) {
    struct select_backend *s = select_of(b);
    if (timeout_ns == -1 && s->count == 0)
        return backend_refuse(b, -EDEADLK,
                              "select: asked to block forever with no fd watched: "
                              "nothing could ever wake it");
    fd_set readable = s->want_read, writable = s->want_write;
    struct timeval tv, *tvp = NULL;
    if (timeout_ns >= 0) {
        int64_t us = backend_ns_to_units(timeout_ns, backend_select.resolution_ns);
        if (us / 1000000 >= SELECT_MAX_WAIT_SEC)
            us = (int64_t)SELECT_MAX_WAIT_SEC * 1000000;
        tv.tv_sec = (time_t)(us / 1000000);
        tv.tv_usec = (suseconds_t)(us % 1000000);
        tvp = &tv;
    }
    int ready = select(s->max_fd + 1, &readable, &writable, NULL, tvp);
    b->kernel_calls++;
    b->kernel_fds += (uint64_t)s->count; /* every watched bit goes in, and is tested */
    if (ready < 0) {
        if (errno == EBADF)
            return select_name_closed_fd(s);
        int err = -errno;
        if (err == -EINTR)
            return err; /* backend_wait_retrying waits again with the time left */
        return backend_refuse(b, err, "select failed: errno %d", -err);
    }
    /* Report from where the last report stopped, wrapping around: with more ready fds than max,
     * the next wait reports the others first (level-triggered: nothing ready is lost). */
    int n = 0, span = s->max_fd + 1, start = s->scan_from;
    for (int i = 0; ready > 0 && i < span && n < max; i++) {
        int fd = (start + i) % span;
        unsigned readiness = 0;
        if (FD_ISSET(fd, &readable)) {
            readiness |= BACKEND_READABLE;
            ready--; /* select counted every bit it set: stop once all are found */
        }
        if (FD_ISSET(fd, &writable)) {
            readiness |= BACKEND_WRITABLE;
            ready--;
        }
        if (readiness) {
            out[n].fd = fd;
            out[n].readiness = readiness;
            n++;
            s->scan_from = (fd + 1) % span;
        }
    }
    return n;
}

static int select_wait(struct backend *b, int64_t timeout_ns, struct backend_ready *out, int max) {
    return backend_wait_retrying(b, timeout_ns, select_wait_once, out, max);
}

static void select_free(struct backend *b) {
    if (b)
        sched_dealloc(b->alloc, b);
}

static void select_dump(const struct backend *b, FILE *out) {
    const struct select_backend *s = (const struct select_backend *)b;
    fprintf(out, "select backend: %d fd%s watched, max fd %d (select is told nfds = %d)\n",
            s->count, s->count == 1 ? "" : "s", s->max_fd, s->max_fd + 1);
    for (int fd = 0; fd <= s->max_fd; fd++)
        if (select_is_watched(s, fd))
            fprintf(out, "  fd %4d  %c%c\n", fd, FD_ISSET(fd, &s->want_read) ? 'r' : '-',
                    FD_ISSET(fd, &s->want_write) ? 'w' : '-');
    fflush(out);
}

const struct backend_ops backend_select = {
    .name = "select",
    .resolution_ns = 1000, /* struct timeval counts microseconds */
    .new = select_new,
    .watch = select_watch,
    .set_interest = select_set_interest,
    .unwatch = select_unwatch,
    .wait = select_wait,
    .free = select_free,
    .dump = select_dump,
};
