/* loop_watch.c — fd watchers: "call me when this fd is readable or writable" (lesson 02). A ready
 * fd does not run its callback on the spot: its watcher goes on the ready queue (lesson 04), so
 * fds, timers and plain callbacks all run through one queue, in one order. */
#include "loop/loop_internal.h"

#include <errno.h>
#include <string.h>

/* What the ready queue runs for a watcher: hand the gathered readiness to the callback. */
static void deliver_readiness(void *arg) {
    struct loop_watcher *w = arg;
    unsigned ready = w->ready;
    w->ready = 0;
    struct loop *loop = w->loop; /* watching: an unwatch takes the runnable off the queue */
    /* The owner may unwatch and free w in its callback: from here on, the loop lets go. */
    sched_runnable_gone(&loop->sched, &w->run);
    if (ready & LOOP_INVALID)
        loop_unwatch(loop, w); /* the fd is not open: watching it again would spin */
    w->callback(w, ready);
}

void loop_watcher_init(struct loop_watcher *w, const char *name) {
    w->magic = LOOP_WATCHER_MAGIC;
    runnable_init(&w->run, deliver_readiness, w, name);
    list_init(&w->node);
    w->loop = NULL;
    w->fd = -1;
    w->interest = 0;
    w->ready = 0;
    w->callback = NULL;
    w->arg = NULL;
}

/* by_fd and the ready_fds array grow with the highest fd and the number of watchers. */
static int make_room(struct loop *loop, int fd) {
    if ((size_t)fd >= loop->by_fd_len) {
        size_t len = loop->by_fd_len ? loop->by_fd_len : 64;
        while (len <= (size_t)fd)
            len *= 2;
        struct loop_watcher **by_fd = sched_realloc(loop->alloc, loop->by_fd, len * sizeof *by_fd);
        if (!by_fd)
            return -ENOMEM;
        memset(by_fd + loop->by_fd_len, 0, (len - loop->by_fd_len) * sizeof *by_fd);
        loop->by_fd = by_fd;
        loop->by_fd_len = len;
    }
    if ((size_t)loop->ready_fds_cap <= loop->watch_count) {
        int cap = loop->ready_fds_cap ? loop->ready_fds_cap * 2 : 64;
        struct backend_ready *grown =
            sched_realloc(loop->alloc, loop->ready_fds, (size_t)cap * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        loop->ready_fds = grown;
        loop->ready_fds_cap = cap;
    }
    return 0;
}

static bool valid_interest(unsigned interest) {
    return interest != 0 && (interest & ~(unsigned)(LOOP_READABLE | LOOP_WRITABLE)) == 0;
}

int loop_watch_fd(struct loop *loop, struct loop_watcher *w, int fd, unsigned interest,
                  loop_fd_fn callback, void *arg) {
    if (!loop || !w)
        return -EINVAL; /* no loop to record the words in: the errno must say it */
    LOOP_CHECK_THREAD(loop, "loop_watch_fd");
    if (w->magic != LOOP_WATCHER_MAGIC)
        return loop_refuse_uninitialised(loop, "loop_watch_fd", "loop_watcher_init(w, name)");
    if (!callback || !valid_interest(interest)) {
        loop_set_error(loop, "loop_watch_fd(%d): %s", fd,
                       callback ? "interest must be LOOP_READABLE and/or LOOP_WRITABLE"
                                : "the callback is NULL");
        return -EINVAL;
    }
    if (w->loop || (fd >= 0 && (size_t)fd < loop->by_fd_len && loop->by_fd[fd])) {
        loop_set_error(loop, "loop_watch_fd(%d): %s", fd,
                       w->loop ? "this watcher is already watching an fd"
                               : "this fd already has a watcher; use loop_set_interest");
        return -EBUSY;
    }
    int err = loop->backend->ops->watch(loop->backend, fd, interest);
    if (err) {
        loop_set_error(loop, "%s", loop->backend->why);
        return err;
    }
    err = make_room(loop, fd);
    if (err == 0) {
        err = sched_reserve(&loop->sched); /* readiness is queued by a push that cannot fail */
    }
    if (err) {
        loop->backend->ops->unwatch(loop->backend, fd);
        loop_set_error(loop, "loop_watch_fd(%d): out of memory", fd);
        return err;
    }
    w->loop = loop;
    w->fd = fd;
    w->interest = interest;
    w->ready = 0;
    w->callback = callback;
    w->arg = arg;
    loop->by_fd[fd] = w;
    list_push_back(&loop->watchers, &w->node);
    loop->watch_count++;
    return 0;
}

int loop_set_interest(struct loop *loop, struct loop_watcher *w, unsigned interest) {
    if (!loop || !w)
        return -EINVAL;
    LOOP_CHECK_THREAD(loop, "loop_set_interest");
    if (w->magic != LOOP_WATCHER_MAGIC)
        return loop_refuse_uninitialised(loop, "loop_set_interest", "loop_watcher_init(w, name)");
    if (w->loop != loop || !valid_interest(interest)) {
        loop_set_error(loop, "loop_set_interest: %s",
                       w->loop != loop ? "the watcher is not watching on this loop"
                                       : "interest must be LOOP_READABLE and/or LOOP_WRITABLE");
        return w->loop != loop ? -ENOENT : -EINVAL;
    }
    int err = loop->backend->ops->set_interest(loop->backend, w->fd, interest);
    if (err) {
        loop_set_error(loop, "%s", loop->backend->why);
        return err;
    }
    w->interest = interest;
    w->ready &= interest | LOOP_INVALID; /* readiness nobody asks for any more is dropped */
    return 0;
}

int loop_unwatch(struct loop *loop, struct loop_watcher *w) {
    if (!loop || !w)
        return -EINVAL;
    LOOP_CHECK_THREAD(loop, "loop_unwatch");
    if (w->magic != LOOP_WATCHER_MAGIC)
        return loop_refuse_uninitialised(loop, "loop_unwatch", "loop_watcher_init(w, name)");
    if (w->loop != loop)
        return -EALREADY;
    loop->backend->ops->unwatch(loop->backend, w->fd);
    sched_release(&loop->sched);
    loop->by_fd[w->fd] = NULL;
    list_remove(&w->node);
    loop->watch_count--;
    /* Readiness gathered but not yet delivered belongs to an fd we no longer watch: drop it,
     * so a callback never hears about an fd that was unwatched (and maybe closed and reused). */
    sched_unqueue(&loop->sched, &w->run);
    w->ready = 0;
    w->loop = NULL;
    return 0;
}

void loop_unwatch_all(struct loop *loop) {
    list_for_each(it, &loop->watchers) {
        loop_unwatch(loop, container_of(it, struct loop_watcher, node));
    }
}

void loop_queue_ready_fds(struct loop *loop, int n) {
    for (int i = 0; i < n; i++) {
        int fd = loop->ready_fds[i].fd;
        struct loop_watcher *w = (fd >= 0 && (size_t)fd < loop->by_fd_len) ? loop->by_fd[fd] : NULL;
        if (!w)
            continue; /* not ours (a script may say anything): nobody to tell */
        w->ready |= loop->ready_fds[i].readiness & (w->interest | LOOP_INVALID);
        if (w->ready)
            sched_push_ready(&loop->sched, &w->run);
    }
}
