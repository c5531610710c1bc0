/* wakefd.c — the portable half of the wake-up descriptor (lesson 14): the pipe, and the choice
 * between it and the eventfd (wakefd_eventfd.c, Linux only). */
#include "loop/thread/wakefd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

static int set_flags(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? -errno : 0;
}

int wakefd_open_pipe(struct wakefd *w) {
    int fds[2];
    if (pipe(fds) != 0)
        return -errno;
    int err = set_flags(fds[0]);
    if (!err)
        err = set_flags(fds[1]);
    if (err) {
        close(fds[0]);
        close(fds[1]);
        return err;
    }
    w->read_fd = fds[0];
    w->write_fd = fds[1];
    w->kind = "pipe";
    return 0;
}

int wakefd_open(struct wakefd *w) {
    int err = wakefd_open_eventfd(w);
    return err == -ENOSYS ? wakefd_open_pipe(w) : err;
}

void wakefd_signal(struct wakefd *w) {
    /* 8 bytes: an eventfd accepts only a uint64; a pipe takes them as they are. EAGAIN means
     * the pipe is full, so it is readable already: the wake-up is not lost. */
    uint64_t one = 1;
    ssize_t n;
    do
        n = write(w->write_fd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
}

void wakefd_clear(struct wakefd *w) {
    uint64_t buf[16];
    ssize_t n;
    do
        n = read(w->read_fd, buf, sizeof buf);
    while (n > 0 || (n < 0 && errno == EINTR));
}

void wakefd_close(struct wakefd *w) {
    if (w->write_fd >= 0 && w->write_fd != w->read_fd)
        close(w->write_fd);
    if (w->read_fd >= 0)
        close(w->read_fd);
    w->read_fd = w->write_fd = -1;
}

void wakefd_dump(const struct wakefd *w, FILE *out) {
    fprintf(out, "wakefd %s: read fd %d, write fd %d\n", w->kind, w->read_fd, w->write_fd);
    fflush(out);
}
