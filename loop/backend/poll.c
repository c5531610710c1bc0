/* poll.c — the poll() backend of lesson 03: a dense pollfd array (what the kernel reads)
 * and an fd -> slot index (so watch and unwatch are O(1): removal moves the last entry into the
 * hole). No FD_SETSIZE: any fd the process may open can be watched. */
#include "loop/backend/backend.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <sys/resource.h>

struct poll_backend {
    struct backend base; /* first, so a struct backend * converts to this and back */
    struct pollfd *fds;  /* fds[0..count): dense, in no particular order */
    int count, capacity;
    int *slot_of; /* slot_of[fd]: fd's index in fds, or -1; indexes 0..slot_capacity) */
    int slot_capacity;
    int scan_from; /* the slot the next report starts at, so no ready fd waits forever */
};

static struct poll_backend *poll_of(struct backend *b) {
    return (struct poll_backend *)b;
}

static int poll_new(struct backend **out, const struct sched_alloc *alloc) {
    if (!out)
        return -EINVAL;
    if (!alloc)
        alloc = sched_alloc_libc();
    struct poll_backend *p = sched_alloc(alloc, sizeof *p);
    if (!p)
        return -ENOMEM;
    *p = (struct poll_backend){.base = {.ops = &backend_poll, .alloc = alloc}};
    *out = &p->base;
    return 0;
}

static int poll_slot(const struct poll_backend *p, int fd) {
    return fd >= 0 && fd < p->slot_capacity ? p->slot_of[fd] : -1;
}

static short poll_events_of(unsigned interest) {
    return (short)(((interest & BACKEND_READABLE) ? POLLIN : 0) |
                   ((interest & BACKEND_WRITABLE) ? POLLOUT : 0));
}

/* Makes slot_of long enough to index fd. An fd at or above the process's open-file limit can
 * never be open, so it is refused rather than sizing an index for it (fd 2000000000 would ask
 * for 8 GB). Only runs when the index must grow, so the getrlimit call is rare. */
static int poll_grow_index(struct poll_backend *p, int fd) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
        (rlim_t)fd >= lim.rlim_cur)
        return backend_refuse(&p->base, -EBADF,
                              "poll cannot watch fd %d: the process may open "
                              "only fds 0..%llu (RLIMIT_NOFILE)",
                              fd, (unsigned long long)lim.rlim_cur - 1);
    int64_t want = p->slot_capacity ? p->slot_capacity : 64;
    while (want <= fd)
        want *= 2;
    if (want > INT_MAX)
        want = (int64_t)fd + 1;
    if ((uint64_t)want > SIZE_MAX / sizeof *p->slot_of)
        return backend_refuse(&p->base, -ENOMEM, "poll: no memory for an index up to fd %d", fd);
    int *grown = sched_realloc(p->base.alloc, p->slot_of, (size_t)want * sizeof *grown);
    if (!grown)
        return backend_refuse(&p->base, -ENOMEM, "poll: no memory for an index up to fd %d", fd);
    for (int64_t i = p->slot_capacity; i < want; i++)
        grown[i] = -1;
    p->slot_of = grown;
    p->slot_capacity = (int)want;
    return 0;
}

static int poll_grow_array(struct poll_backend *p) {
    int want = p->capacity ? p->capacity * 2 : 16;
    if (p->capacity > INT_MAX / 2 || (size_t)want > SIZE_MAX / sizeof *p->fds)
        return backend_refuse(&p->base, -ENOMEM, "poll: the pollfd array cannot grow further");
    struct pollfd *grown = sched_realloc(p->base.alloc, p->fds, (size_t)want * sizeof *grown);
    if (!grown)
        return backend_refuse(&p->base, -ENOMEM, "poll: no memory for %d pollfd entries", want);
    p->fds = grown;
    p->capacity = want;
    return 0;
}

static int poll_watch(struct backend *b, int fd, unsigned interest) {
    struct poll_backend *p = poll_of(b);
    int err = backend_check_interest(b, fd, interest);
    if (err)
        return err;
    if (poll_slot(p, fd) >= 0)
        return backend_refuse(b, -EEXIST,
                              "poll: fd %d is watched already (set_interest "
                              "changes its interest)",
                              fd);
    /* Both arrays grow before either changes, so a refusal leaves the backend as it was. */
    if (fd >= p->slot_capacity && (err = poll_grow_index(p, fd)) != 0)
        return err;
    if (p->count == p->capacity && (err = poll_grow_array(p)) != 0)
        return err;
    p->fds[p->count] = (struct pollfd){.fd = fd, .events = poll_events_of(interest)};
    p->slot_of[fd] = p->count++;
    return 0;
}

static int poll_set_interest(struct backend *b, int fd, unsigned interest) {
    struct poll_backend *p = poll_of(b);
    int err = backend_check_interest(b, fd, interest);
    if (err)
        return err;
    int slot = poll_slot(p, fd);
    if (slot < 0)
        return backend_refuse(b, -ENOENT,
                              "poll: cannot set_interest on fd %d, it is not "
                              "watched",
                              fd);
    p->fds[slot].events = poll_events_of(interest);
    return 0;
}

static int poll_unwatch(struct backend *b, int fd) {
    struct poll_backend *p = poll_of(b);
    int slot = poll_slot(p, fd);
    if (slot < 0)
        return backend_refuse(b, -ENOENT, "poll: cannot unwatch fd %d, it is not watched", fd);
    /* Swap-remove: the last entry fills the hole and its index is told where it went. */
    int last = --p->count;
    p->fds[slot] = p->fds[last];
    p->slot_of[p->fds[slot].fd] = slot;
    p->slot_of[fd] = -1;
    return 0;
}

/* What one pollfd's revents mean to the loop. A hang-up or an error is READABLE: the reader
 * drains what is left, then read() returns 0 or the error. With write interest it is WRITABLE
 * too, so a writer's write() reports the error instead of the writer waiting forever. */
static unsigned poll_ready_of(const struct pollfd *pfd) {
    unsigned readiness = 0;
    if (pfd->revents & POLLNVAL)
        return BACKEND_INVALID; /* not an open fd: the loop must unwatch it */
    if (pfd->revents & (POLLIN | POLLHUP | POLLERR))
        readiness |= BACKEND_READABLE;
    if (pfd->revents & POLLOUT)
        readiness |= BACKEND_WRITABLE;
    if ((pfd->revents & (POLLHUP | POLLERR)) && (pfd->events & POLLOUT))
        readiness |= BACKEND_WRITABLE;
    return readiness;
}

static int poll_wait_once(struct backend *b, int64_t timeout_ns, struct backend_ready *out,
                          int max) {
    struct poll_backend *p = poll_of(b);
    if (timeout_ns == -1 && p->count == 0)
        return backend_refuse(b, -EDEADLK,
                              "poll: asked to block forever with no fd watched: "
                              "nothing could ever wake it");
    int ms = -1;
    if (timeout_ns >= 0) {
        /* poll takes an int of ms (~24.8 days at most); a longer wait returns 0 ready fds early
         * and the loop computes its timeout again. */
        int64_t units = backend_ns_to_units(timeout_ns, backend_poll.resolution_ns);
        ms = units > INT_MAX ? INT_MAX : (int)units;
    }
    int ready = poll(p->fds, (nfds_t)p->count, ms);
    b->kernel_calls++;
    b->kernel_fds += (uint64_t)p->count; /* the whole array goes in, and is scanned */
    if (ready < 0) {
        int err = -errno;
        if (err == -EINTR)
            return err; /* backend_wait_retrying waits again with the time left */
        return backend_refuse(b, err, "poll failed: errno %d", -err);
    }
    /* Report from where the last report stopped, wrapping around: with more ready fds than max,
     * the next wait reports the others first (level-triggered: nothing ready is lost). */
    int n = 0, start = p->scan_from;
    for (int i = 0; ready > 0 && i < p->count && n < max; i++) {
        int slot = (start + i) % p->count;
        unsigned readiness = poll_ready_of(&p->fds[slot]);
        if (readiness) {
            out[n].fd = p->fds[slot].fd;
            out[n].readiness = readiness;
            n++;
            p->scan_from = (slot + 1) % p->count;
        }
    }
    return n;
}

static int poll_wait(struct backend *b, int64_t timeout_ns, struct backend_ready *out, int max) {
    return backend_wait_retrying(b, timeout_ns, poll_wait_once, out, max);
}

static void poll_free(struct backend *b) {
    if (!b)
        return;
    struct poll_backend *p = poll_of(b);
    sched_dealloc(b->alloc, p->fds);
    sched_dealloc(b->alloc, p->slot_of);
    sched_dealloc(b->alloc, p);
}

/* Prints poll's bits by name, e.g. "POLLIN|POLLHUP", or "0". */
static void poll_print_bits(FILE *out, short bits) {
    static const struct {
        short bit;
        const char *name;
    } names[] = {
        {POLLIN, "POLLIN"},   {POLLPRI, "POLLPRI"}, {POLLOUT, "POLLOUT"},
        {POLLERR, "POLLERR"}, {POLLHUP, "POLLHUP"}, {POLLNVAL, "POLLNVAL"},
    };
    int printed = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (bits & names[i].bit)
            fprintf(out, "%s%s", printed++ ? "|" : "", names[i].name);
    if (!printed)
        fputs("0", out);
}

static void poll_dump(const struct backend *b, FILE *out) {
    const struct poll_backend *p = (const struct poll_backend *)b;
    fprintf(out, "poll backend: %d entr%s in the pollfd array (room for %d)\n", p->count,
            p->count == 1 ? "y" : "ies", p->capacity);
    for (int i = 0; i < p->count; i++) {
        fprintf(out, "  [%d] fd %4d  events ", i, p->fds[i].fd);
        poll_print_bits(out, p->fds[i].events);
        fputs("  revents ", out);
        poll_print_bits(out, p->fds[i].revents);
        fputc('\n', out);
    }
    fflush(out);
}

const struct backend_ops backend_poll = {
    .name = "poll",
    .resolution_ns = 1000000, /* poll's timeout counts milliseconds */
    .new = poll_new,
    .watch = poll_watch,
    .set_interest = poll_set_interest,
    .unwatch = poll_unwatch,
    .wait = poll_wait,
    .free = poll_free,
    .dump = poll_dump,
};
