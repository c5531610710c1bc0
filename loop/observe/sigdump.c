/* sigdump.c — the SIGUSR1 task dump of lesson 15; see sigdump.h. The self-pipe trick of lesson
 * 02 again (loop/signal.c explains it); this file keeps its own pipe because loop_signal is for
 * stopping, and a dump must leave the program running. */
#include "loop/observe/sigdump.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* A handler gets only the signal number, so the write end must be a static (loop/signal.c says
 * more). One dump pipe per process, as there is one SIGUSR1 disposition per process. */
static volatile sig_atomic_t sigdump_write_fd = -1;

static void sigdump_handler(int signo) {
    int saved_errno = errno;
    unsigned char byte = (unsigned char)signo;
    ssize_t ignored = write(sigdump_write_fd, &byte, 1); /* full pipe: a dump is coming anyway */
    (void)ignored;
    errno = saved_errno;
}

static void sigdump_on_readable(struct loop_watcher *w, unsigned ready) {
    struct observe_sigdump *d = w->arg;
    unsigned char bytes[16];
    (void)ready;
    bool asked = false;
    ssize_t n;
    while ((n = read(d->read_fd, bytes, sizeof bytes)) > 0 || (n < 0 && errno == EINTR))
        asked |= n > 0;
    if (!asked)
        return;
    d->dumps++; /* several signals before the loop looked: one dump answers them all */
    fprintf(d->out, "SIGUSR1: task dump\n");
    observe_tasks_dump(d->tasks, d->loop, d->out);
}

static int prepare_fd(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

int observe_sigdump_open(struct observe_sigdump *d, struct loop *loop,
                         const struct observe_tasks *tasks, FILE *out) {
    if (!d || !loop)
        return -EINVAL;
    if (sigdump_write_fd != -1)
        return -EBUSY;
    memset(d, 0, sizeof *d);
    d->loop = loop;
    d->tasks = tasks;
    d->out = out ? out : stderr;
    int fds[2];
    if (pipe(fds) < 0)
        return -errno;
    int rc = prepare_fd(fds[0]);
    if (rc == 0)
        rc = prepare_fd(fds[1]);
    loop_watcher_init(&d->watcher, "SIGUSR1 dump pipe");
    if (rc == 0)
        rc = loop_watch_fd(loop, &d->watcher, fds[0], LOOP_READABLE, sigdump_on_readable, d);
    if (rc < 0)
        goto fail;
    d->read_fd = fds[0];
    d->write_fd = fds[1];
    sigdump_write_fd = fds[1]; /* before the handler exists, so it never sees -1 */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sigdump_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGUSR1, &sa, &d->previous) < 0) {
        rc = -errno;
        sigdump_write_fd = -1;
        (void)loop_unwatch(loop, &d->watcher);
        goto fail;
    }
    return 0;
fail:
    close(fds[0]);
    close(fds[1]);
    d->read_fd = d->write_fd = -1;
    return rc;
}

int observe_sigdump_close(struct observe_sigdump *d) {
    if (!d || !d->loop || d->read_fd < 0)
        return -EALREADY;
    (void)sigaction(SIGUSR1, &d->previous, NULL);
    sigdump_write_fd = -1;
    (void)loop_unwatch(d->loop, &d->watcher);
    close(d->read_fd);
    close(d->write_fd);
    d->read_fd = d->write_fd = -1;
    return 0;
}

void observe_sigdump_dump(const struct observe_sigdump *d, FILE *out) {
    if (d->read_fd >= 0)
        fprintf(out, "SIGUSR1 dump: open, pipe %d -> %d, %u dump%s printed\n", d->write_fd,
                d->read_fd, d->dumps, d->dumps == 1 ? "" : "s");
    else
        fprintf(out, "SIGUSR1 dump: closed, %u dump%s printed\n", d->dumps,
                d->dumps == 1 ? "" : "s");
    fflush(out);
}
