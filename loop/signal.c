/* signal.c — the self-pipe trick (lesson 02); see signal.h.
 * Why a pipe: a handler interrupts the program at an arbitrary instruction, so it may only call
 * async-signal-safe functions — write() is one, loop_stop() or printf() are not. And retrying
 * EINTR inside the backend's wait, alone, would never let the loop notice the signal at all. So
 * the handler turns the signal into a readable byte, and the loop sees it like any other fd. */
#include "loop/signal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* The one piece of process-wide state in the library, and why it cannot be avoided: a signal
 * handler receives only the signal number, no argument, so the pipe's write end must be where
 * the handler can find it — a static. Signal dispositions are process-wide anyway, so only one
 * loop_signal can be open at a time (a second gets -EBUSY). sig_atomic_t and volatile: the
 * handler may run between any two instructions and must read a whole value, freshly loaded. It
 * is set before the handlers are installed and cleared after they are restored. */
static volatile sig_atomic_t loop_signal_write_fd = -1;

static void loop_signal_handler(int signo) {
    int saved_errno = errno; /* the interrupted code may be about to read errno */
    unsigned char byte = (unsigned char)signo;
    /* If the pipe is full (EAGAIN), the bytes already in it will wake the loop: nothing is lost
     * that matters, and the non-blocking write can never hang inside a handler. */
    ssize_t ignored = write(loop_signal_write_fd, &byte, 1);
    (void)ignored;
    errno = saved_errno;
}

static void loop_signal_on_readable(struct loop_watcher *w, unsigned ready) {
    struct loop_signal *s = w->arg;
    unsigned char bytes[64];
    (void)ready;
    for (;;) {
        ssize_t n = read(s->read_fd, bytes, sizeof bytes);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* EAGAIN: drained (we never close the write end while open) */
        for (ssize_t i = 0; i < n; i++) {
            s->received++;
            s->last_signo = bytes[i];
            s->callback(s, bytes[i]);
            if (!s->open)
                return; /* the callback closed us: the pipe is gone */
        }
    }
}

static int loop_signal_prepare_fd(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

int loop_signal_open(struct loop *loop, struct loop_signal *s, loop_signal_fn callback, void *arg) {
    if (!loop || !s || !callback)
        return -EINVAL;
    if (loop_signal_write_fd != -1)
        return -EBUSY;
    memset(s, 0, sizeof *s);
    s->read_fd = s->write_fd = -1;
    int fds[2];
    if (pipe(fds) < 0)
        return -errno;
    int rc = loop_signal_prepare_fd(fds[0]);
    if (rc == 0)
        rc = loop_signal_prepare_fd(fds[1]);
    if (rc < 0)
        goto fail_pipe;
    s->loop = loop;
    s->read_fd = fds[0];
    s->write_fd = fds[1];
    s->callback = callback;
    s->arg = arg;
    loop_watcher_init(&s->watcher, "signal self-pipe");
    rc = loop_watch_fd(loop, &s->watcher, s->read_fd, LOOP_READABLE, loop_signal_on_readable, s);
    if (rc < 0)
        goto fail_pipe;

    loop_signal_write_fd = s->write_fd; /* before the handlers: they may run at once */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = loop_signal_handler;
    sigemptyset(&action.sa_mask);
    /* SA_RESTART spares the rest of the program EINTR from ordinary calls; poll and select are
     * interrupted anyway, and the backend retries them — by then the pipe is readable. */
    action.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &action, &s->previous_int) < 0) {
        rc = -errno;
        goto fail_watch;
    }
    if (sigaction(SIGTERM, &action, &s->previous_term) < 0) {
        rc = -errno;
        sigaction(SIGINT, &s->previous_int, NULL);
        goto fail_watch;
    }
    s->open = true;
    return 0;

fail_watch:
    loop_signal_write_fd = -1;
    loop_unwatch(loop, &s->watcher);
fail_pipe:
    close(fds[0]);
    close(fds[1]);
    s->read_fd = s->write_fd = -1;
    return rc;
}

int loop_signal_close(struct loop_signal *s) {
    if (!s || !s->open)
        return -EALREADY;
    /* Handlers first, so no signal can arrive to write into a pipe we are about to close. */
    sigaction(SIGTERM, &s->previous_term, NULL);
    sigaction(SIGINT, &s->previous_int, NULL);
    loop_signal_write_fd = -1;
    loop_unwatch(s->loop, &s->watcher); /* before close(): the loop must never watch a closed fd */
    close(s->read_fd);
    close(s->write_fd);
    s->read_fd = s->write_fd = -1;
    s->open = false;
    return 0;
}

bool loop_signal_installed(void) {
    return loop_signal_write_fd != -1;
}

void loop_signal_dump(const struct loop_signal *s, FILE *out) {
    if (!s) {
        fprintf(out, "loop_signal: NULL\n");
    } else {
        fprintf(out, "loop_signal %s: self-pipe read fd %d, write fd %d; %u signal(s) received",
                s->open ? "open" : "closed", s->read_fd, s->write_fd, s->received);
        if (s->received)
            fprintf(out, ", the last %d (%s)", s->last_signo,
                    s->last_signo == SIGINT    ? "SIGINT"
                    : s->last_signo == SIGTERM ? "SIGTERM"
                                               : "?");
        fprintf(out, "\n");
    }
    fflush(out);
}
