/* wakefd_eventfd.c — the wake-up descriptor as a Linux eventfd (lesson 14): one fd holding a
 * 64-bit counter, so a thousand wake-ups cost no more room than one. Elsewhere -ENOSYS, and
 * wakefd_open falls back to a pipe. */
#include "loop/thread/wakefd.h"

#include <errno.h>

#ifdef __linux__
#include <sys/eventfd.h>

int wakefd_open_eventfd(struct wakefd *w) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    w->read_fd = w->write_fd = fd;
    w->kind = "eventfd";
    return 0;
}
#else
int wakefd_open_eventfd(struct wakefd *w) {
    (void)w;
    return -ENOSYS;
}
#endif
