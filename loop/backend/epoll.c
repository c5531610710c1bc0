/* epoll.c — the epoll backend of lesson 16 (Linux only): the kernel keeps the interest list, so
 * a wait hands it nothing and gets back only the ready fds. Registration follows the watchers
 * (ADD on watch, MOD on set_interest, DEL on unwatch); level-triggered, with an edge-triggered
 * variant (backend_epoll_edge) whose readers must drain until EAGAIN. */
#ifdef __linux__

#include "loop/backend/backend.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* What the backend remembers of a watched fd. The kernel's registration is keyed by the open
 * file, not the number: after close() without unwatch, the number can come back as another file
 * while an old registration (kept alive by a dup) still fires under it. So every registration
 * carries a generation in the top half of epoll_data; an event whose generation is not the fd's
 * current one is stale, and is dropped. */
struct epoll_record {
    unsigned interest; /* READABLE|WRITABLE; 0: not watched */
    uint32_t generation;
    int closed; /* found closed (EBADF) while still watched: reported INVALID until unwatched */
};

struct epoll_backend {
    struct backend base; /* first, so a struct backend * converts to this and back */
    int epfd;
    uint32_t trigger;           /* 0, or EPOLLET for the edge-triggered variant */
    struct epoll_record *by_fd; /* by_fd[fd], fd < by_fd_len */
    int by_fd_len;
    int count;                  /* fds watched */
    struct epoll_event *events; /* what epoll_wait fills: room for every watched fd */
    int events_cap;
    uint32_t next_generation;
    int closed_count;  /* records with closed set */
    uint64_t rebuilds; /* times stale registrations forced a fresh epoll instance */
};

static struct epoll_backend *epoll_of(struct backend *b) {
    return (struct epoll_backend *)b;
}

static int epoll_new_with(struct backend **out, const struct sched_alloc *alloc,
                          const struct backend_ops *ops, uint32_t trigger) {
    if (!out)
        return -EINVAL;
    if (!alloc)
        alloc = sched_alloc_libc();
    struct epoll_backend *e = sched_alloc(alloc, sizeof *e);
    if (!e)
        return -ENOMEM;
    *e = (struct epoll_backend){.base = {.ops = ops, .alloc = alloc}, .trigger = trigger};
    e->events_cap = 16;
    e->events = sched_alloc(alloc, (size_t)e->events_cap * sizeof *e->events);
    e->epfd = e->events ? epoll_create1(EPOLL_CLOEXEC) : -1;
    if (e->epfd < 0) {
        int err = e->events ? -errno : -ENOMEM;
        sched_dealloc(alloc, e->events);
        sched_dealloc(alloc, e);
        return err;
    }
    *out = &e->base;
    return 0;
}

static int epoll_new_level(struct backend **out, const struct sched_alloc *alloc) {
    return epoll_new_with(out, alloc, &backend_epoll, 0);
}

static int epoll_new_edge(struct backend **out, const struct sched_alloc *alloc) {
    return epoll_new_with(out, alloc, &backend_epoll_edge, EPOLLET);
}

static struct epoll_record *epoll_record_of(struct epoll_backend *e, int fd) {
    return fd >= 0 && fd < e->by_fd_len && e->by_fd[fd].interest ? &e->by_fd[fd] : NULL;
}

static struct epoll_event epoll_event_of(const struct epoll_backend *e, int fd,
                                         const struct epoll_record *r) {
    /* RDHUP: a peer's half-close wakes a reader even when no byte came with it. */
    uint32_t events = e->trigger | ((r->interest & BACKEND_READABLE) ? EPOLLIN | EPOLLRDHUP : 0) |
                      ((r->interest & BACKEND_WRITABLE) ? EPOLLOUT : 0);
    return (struct epoll_event){.events = events,
                                .data.u64 = (uint64_t)r->generation << 32 | (uint32_t)fd};
}

/* Room for fd in by_fd and for one more event: grown before anything changes, so a refusal
 * leaves the backend as it was. Sizes double; the kernel itself refuses fds that are not open. */
static int epoll_make_room(struct epoll_backend *e, int fd) {
    if (fd >= e->by_fd_len) {
        int64_t want = e->by_fd_len ? e->by_fd_len : 64;
        while (want <= fd)
            want *= 2;
        if (want > INT_MAX)
            want = (int64_t)fd + 1;
        struct epoll_record *grown =
            (uint64_t)want > SIZE_MAX / sizeof *grown
                ? NULL
                : sched_realloc(e->base.alloc, e->by_fd, (size_t)want * sizeof *grown);
        if (!grown)
            return backend_refuse(&e->base, -ENOMEM, "epoll: no memory for an index up to fd %d",
                                  fd);
        memset(grown + e->by_fd_len, 0, (size_t)(want - e->by_fd_len) * sizeof *grown);
        e->by_fd = grown;
        e->by_fd_len = (int)want;
    }
    if (e->count >= e->events_cap) {
        if (e->events_cap > INT_MAX / 2)
            return backend_refuse(&e->base, -ENOMEM, "epoll: the event array cannot grow");
        int want = e->events_cap * 2;
        struct epoll_event *grown =
            sched_realloc(e->base.alloc, e->events, (size_t)want * sizeof *grown);
        if (!grown)
            return backend_refuse(&e->base, -ENOMEM, "epoll: no memory for %d events", want);
        e->events = grown;
        e->events_cap = want;
    }
    return 0;
}

static int epoll_watch(struct backend *b, int fd, unsigned interest) {
    struct epoll_backend *e = epoll_of(b);
    int err = backend_check_interest(b, fd, interest);
    if (err)
        return err;
    if (epoll_record_of(e, fd))
        return backend_refuse(b, -EEXIST,
                              "%s: fd %d is watched already (set_interest changes "
                              "its interest)",
                              b->ops->name, fd);
    if ((err = epoll_make_room(e, fd)) != 0)
        return err;
    struct epoll_record r = {.interest = interest, .generation = ++e->next_generation};
    struct epoll_event ev = epoll_event_of(e, fd, &r);
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        err = -errno;
        /* EPERM: a regular file or directory, which is always ready and cannot be watched. */
        return backend_refuse(b, err, "%s cannot watch fd %d: %s", b->ops->name, fd,
                              err == -EBADF   ? "it is not open"
                              : err == -EPERM ? "epoll cannot watch regular files"
                              : err == -EEXIST
                                  ? "the kernel still holds a registration for this number"
                                  : strerror(-err));
    }
    e->by_fd[fd] = r;
    e->count++;
    return 0;
}

static int epoll_set_interest(struct backend *b, int fd, unsigned interest) {
    struct epoll_backend *e = epoll_of(b);
    int err = backend_check_interest(b, fd, interest);
    if (err)
        return err;
    struct epoll_record *r = epoll_record_of(e, fd);
    if (!r)
        return backend_refuse(b, -ENOENT, "%s: cannot set_interest on fd %d, it is not watched",
                              b->ops->name, fd);
    struct epoll_record changed = *r;
    changed.interest = interest;
    struct epoll_event ev = epoll_event_of(e, fd, &changed);
    /* MOD also re-arms an edge-triggered registration: readiness that is already there is
     * reported again, so a reader that paused and resumes is woken. */
    if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
        err = -errno;
        if (err == -EBADF || err == -ENOENT) {
            /* Closed (or closed and its number reused) while watched: the kernel dropped it. */
            if (!r->closed)
                e->closed_count++;
            r->closed = 1;
            return backend_refuse(b, -EBADF,
                                  "%s: fd %d is watched but not open (or reopened); "
                                  "unwatch an fd before closing it",
                                  b->ops->name, fd);
        }
        return backend_refuse(b, err, "%s: set_interest on fd %d failed: %s", b->ops->name, fd,
                              strerror(-err));
    }
    *r = changed;
    return 0;
}

static int epoll_unwatch(struct backend *b, int fd) {
    struct epoll_backend *e = epoll_of(b);
    struct epoll_record *r = epoll_record_of(e, fd);
    if (!r)
        return backend_refuse(b, -ENOENT, "%s: cannot unwatch fd %d, it is not watched",
                              b->ops->name, fd);
    /* EBADF or ENOENT here mean the fd was closed first. The record goes anyway: if a dup keeps
     * the old registration alive, its events now carry a generation nobody has, and are dropped. */
    epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
    if (r->closed)
        e->closed_count--;
    *r = (struct epoll_record){0};
    e->count--;
    return 0;
}

/* A stale registration cannot be deleted (its fd number names another file now, or nothing),
 * and level-triggered it would wake every wait. The cure is a fresh epoll instance holding only
 * what the backend watches: O(watched), and only after a close-without-unwatch. An fd found
 * closed on the way is marked, and reported INVALID. */
static int epoll_rebuild(struct epoll_backend *e) {
    int fresh = epoll_create1(EPOLL_CLOEXEC);
    if (fresh < 0)
        return backend_refuse(&e->base, -errno, "%s: cannot replace a stale epoll instance: %s",
                              e->base.ops->name, strerror(errno));
    for (int fd = 0; fd < e->by_fd_len; fd++) {
        struct epoll_record *r = &e->by_fd[fd];
        if (!r->interest || r->closed)
            continue;
        struct epoll_event ev = epoll_event_of(e, fd, r);
        if (epoll_ctl(fresh, EPOLL_CTL_ADD, fd, &ev) < 0) {
            r->closed = 1;
            e->closed_count++;
        }
    }
    close(e->epfd);
    e->epfd = fresh;
    e->rebuilds++;
    return 0;
}

/* What one event means to the loop, as poll_ready_of says for poll: a hang-up or an error is
 * READABLE (the read then returns 0 or the error), and WRITABLE too when writing is asked for. */
static unsigned epoll_ready_of(uint32_t events, unsigned interest) {
    unsigned readiness = 0;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        readiness |= BACKEND_READABLE;
    if (events & EPOLLOUT)
        readiness |= BACKEND_WRITABLE;
    if ((events & (EPOLLHUP | EPOLLERR)) && (interest & BACKEND_WRITABLE))
        readiness |= BACKEND_WRITABLE;
    return readiness & (interest | BACKEND_INVALID);
}

/* fds marked closed are reported INVALID, without waiting: the loop unwatches them. */
static int epoll_report_closed(struct epoll_backend *e, struct backend_ready *out, int max) {
    int n = 0;
    for (int fd = 0; fd < e->by_fd_len && n < max; fd++)
        if (e->by_fd[fd].interest && e->by_fd[fd].closed)
            out[n++] = (struct backend_ready){.fd = fd, .readiness = BACKEND_INVALID};
    return n;
}

static int epoll_wait_once(struct backend *b, int64_t timeout_ns, struct backend_ready *out,
                           int max) {
    struct epoll_backend *e = epoll_of(b);
    if (e->closed_count > 0)
        return epoll_report_closed(e, out, max);
    if (timeout_ns == -1 && e->count == 0)
        return backend_refuse(b, -EDEADLK,
                              "%s: asked to block forever with no fd watched: "
                              "nothing could ever wake it",
                              b->ops->name);
    int ms = -1;
    if (timeout_ns >= 0) {
        int64_t units = backend_ns_to_units(timeout_ns, b->ops->resolution_ns);
        ms = units > INT_MAX ? INT_MAX : (int)units; /* a longer wait ends early, harmlessly */
    }
    int room = max < e->events_cap ? max : e->events_cap;
    int got = epoll_wait(e->epfd, e->events, room, ms);
    b->kernel_calls++;
    if (got < 0) {
        int err = -errno;
        if (err == -EINTR)
            return err; /* backend_wait_retrying waits again with the time left */
        return backend_refuse(b, err, "%s: epoll_wait failed: %s", b->ops->name, strerror(-err));
    }
    b->kernel_fds += (uint64_t)got; /* all the kernel handed back; it was handed nothing */
    int n = 0, stale = 0;
    for (int i = 0; i < got; i++) {
        int fd = (int)(uint32_t)e->events[i].data.u64;
        struct epoll_record *r = epoll_record_of(e, fd);
        if (!r || r->generation != (uint32_t)(e->events[i].data.u64 >> 32)) {
            stale = 1; /* an old registration of a closed fd: not this fd's news */
            continue;
        }
        unsigned readiness = epoll_ready_of(e->events[i].events, r->interest);
        if (readiness)
            out[n++] = (struct backend_ready){.fd = fd, .readiness = readiness};
    }
    if (stale) {
        int err = epoll_rebuild(e);
        if (err)
            return err;
    }
    return n;
}

static int epoll_wait_ready(struct backend *b, int64_t timeout_ns, struct backend_ready *out,
                            int max) {
    return backend_wait_retrying(b, timeout_ns, epoll_wait_once, out, max);
}

static void epoll_free(struct backend *b) {
    if (!b)
        return;
    struct epoll_backend *e = epoll_of(b);
    close(e->epfd);
    sched_dealloc(b->alloc, e->by_fd);
    sched_dealloc(b->alloc, e->events);
    sched_dealloc(b->alloc, e);
}

static void epoll_dump(const struct backend *b, FILE *out) {
    const struct epoll_backend *e = (const struct epoll_backend *)b;
    fprintf(out,
            "%s backend: epoll fd %d, %s-triggered, %d fd%s in the interest list, "
            "%llu rebuild%s\n",
            b->ops->name, e->epfd, e->trigger ? "edge" : "level", e->count,
            e->count == 1 ? "" : "s", (unsigned long long)e->rebuilds, e->rebuilds == 1 ? "" : "s");
    for (int fd = 0; fd < e->by_fd_len; fd++) {
        const struct epoll_record *r = &e->by_fd[fd];
        if (r->interest)
            fprintf(out, "  fd %4d  %c%c  generation %u%s\n", fd,
                    (r->interest & BACKEND_READABLE) ? 'r' : '-',
                    (r->interest & BACKEND_WRITABLE) ? 'w' : '-', r->generation,
                    r->closed ? "  CLOSED while watched" : "");
    }
    fflush(out);
}

const struct backend_ops backend_epoll = {
    .name = "epoll",
    .resolution_ns = 1000000, /* epoll_wait's timeout counts milliseconds */
    .new = epoll_new_level,
    .watch = epoll_watch,
    .set_interest = epoll_set_interest,
    .unwatch = epoll_unwatch,
    .wait = epoll_wait_ready,
    .free = epoll_free,
    .dump = epoll_dump,
};

/* The same backend with EPOLLET: a readiness is reported once, when it appears. A reader that
 * stops before EAGAIN is not woken again for the bytes it left (lesson 16 shows the stall). */
const struct backend_ops backend_epoll_edge = {
    .name = "epoll-edge",
    .resolution_ns = 1000000,
    .new = epoll_new_edge,
    .watch = epoll_watch,
    .set_interest = epoll_set_interest,
    .unwatch = epoll_unwatch,
    .wait = epoll_wait_ready,
    .free = epoll_free,
    .dump = epoll_dump,
};

#else
/* Elsewhere this file is empty, and ISO C wants something in every file. */
typedef int epoll_backend_absent;
#endif
