/* wakefd.h — a descriptor another thread can make readable to wake the loop out of its wait
 * (lesson 14): an eventfd on Linux (one fd, a counter), else a pipe (two fds, bytes). Signalling
 * is one write(2), which is async-signal-safe and thread-safe; clearing reads it all back. */
#ifndef LOOPSCHOOL_WAKEFD_H
#define LOOPSCHOOL_WAKEFD_H

#include <stdio.h>

struct wakefd {
    int read_fd;      /* the loop watches this one for readability */
    int write_fd;     /* other threads write here (the same fd as read_fd for an eventfd) */
    const char *kind; /* "eventfd" or "pipe", for the dumps */
};

/* Opens an eventfd where there is one, else a pipe; both ends non-blocking and close-on-exec.
 * 0 or a negative errno. */
int wakefd_open(struct wakefd *w);
/* The pipe, always (the fallback; tests use it to cover both kinds on Linux). */
int wakefd_open_pipe(struct wakefd *w);
/* The eventfd: -ENOSYS where the system has none. */
int wakefd_open_eventfd(struct wakefd *w);
/* Makes read_fd readable. Never blocks: a full pipe is already readable, so nothing is lost. */
void wakefd_signal(struct wakefd *w);
/* Reads until read_fd is no longer readable. */
void wakefd_clear(struct wakefd *w);
void wakefd_close(struct wakefd *w);
void wakefd_dump(const struct wakefd *w, FILE *out);

#endif
