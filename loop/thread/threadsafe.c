/* threadsafe.c — the loop's inbox (lesson 14): a mutex-protected array of posts from other
 * threads, a wake-up descriptor, and a watcher that drains the inbox into the ready queue. The
 * loop holds only a pointer to it, so the tick itself is unchanged: the drain is an ordinary fd
 * callback, as asyncio's self-pipe reader is. */
#include "loop/thread/threadsafe.h"

#include <errno.h>
#include <stdlib.h>

#include "loop/loop_internal.h"
#include "loop/thread/wakefd.h"

struct inbox_post {
    struct runnable *r;
    runnable_fn fn;
    void *arg;
};

struct loop_inbox {
    pthread_mutex_t lock; /* guards posts, count, cap, wake_pending and posted */
    struct inbox_post *posts;
    size_t count, cap;
    struct inbox_post *spare; /* the array being drained: swapped, so posting never waits on it */
    size_t spare_cap;
    bool wake_pending; /* a write is on its way or unread: the next post need not write */
    unsigned long posted, wakes;

    /* The loop's thread only. */
    struct wakefd wake;
    struct loop_watcher watcher;
    struct loop *loop;
    size_t holds;
    unsigned long drained;
};

static void inbox_free(struct loop *loop) {
    struct loop_inbox *in = loop->inbox;
    if (in->watcher.loop)
        loop_unwatch(loop, &in->watcher);
    wakefd_close(&in->wake);
    pthread_mutex_destroy(&in->lock);
    /* The inbox is touched by other threads, so it lives on libc's allocator, which is
     * thread-safe; the loop's allocator hook need not be. */
    free(in->posts);
    free(in->spare);
    free(in);
    loop->inbox = NULL;
    loop->inbox_free = NULL;
}

int loop_threadsafe_enable(struct loop *loop, bool use_pipe) {
    if (!loop)
        return -EINVAL;
    LOOP_CHECK_THREAD(loop, "loop_threadsafe_enable");
    if (loop->inbox)
        return 0;
    struct loop_inbox *in = calloc(1, sizeof *in);
    if (!in)
        return -ENOMEM;
    int err = use_pipe ? wakefd_open_pipe(&in->wake) : wakefd_open(&in->wake);
    if (!err)
        err = -pthread_mutex_init(&in->lock, NULL);
    if (err) {
        if (in->wake.kind)
            wakefd_close(&in->wake);
        free(in);
        loop_set_error(loop, "loop_threadsafe_enable: no wake-up descriptor (errno %d)", -err);
        return err;
    }
    loop_watcher_init(&in->watcher, "threadsafe inbox");
    in->loop = loop;
    loop->inbox = in;
    loop->inbox_free = inbox_free;
    return 0;
}

int loop_call_soon_threadsafe(struct loop *loop, struct runnable *r, runnable_fn fn, void *arg) {
    /* loop->inbox is written once, on the loop's thread, before any other thread may post. */
    if (!loop || !r || !fn || !loop->inbox)
        return -EINVAL;
    struct loop_inbox *in = loop->inbox;
    pthread_mutex_lock(&in->lock);
    if (in->count == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 64;
        struct inbox_post *posts = realloc(in->posts, cap * sizeof *posts);
        if (!posts) {
            pthread_mutex_unlock(&in->lock);
            return -ENOMEM;
        }
        in->posts = posts;
        in->cap = cap;
    }
    in->posts[in->count++] = (struct inbox_post){r, fn, arg};
    in->posted++;
    bool must_wake = !in->wake_pending;
    in->wake_pending = true;
    if (must_wake)
        in->wakes++;
    pthread_mutex_unlock(&in->lock);
    /* Outside the lock: the write is a system call, and posters should not queue behind it. */
    if (must_wake)
        wakefd_signal(&in->wake);
    return 0;
}

size_t loop_threadsafe_drain(struct loop *loop) {
    struct loop_inbox *in = loop->inbox;
    if (!in)
        return 0;
    /* Read the descriptor BEFORE clearing wake_pending: a post that lands after the read finds
     * wake_pending still set and does not write, but its entry is in the array swapped out
     * below. Clearing first could eat the wake-up of a post that misses this drain. */
    wakefd_clear(&in->wake);
    pthread_mutex_lock(&in->lock);
    in->wake_pending = false;
    struct inbox_post *batch = in->posts;
    size_t n = in->count, batch_cap = in->cap;
    in->posts = in->spare;
    in->cap = in->spare_cap;
    in->count = 0;
    in->spare = batch;
    in->spare_cap = batch_cap;
    pthread_mutex_unlock(&in->lock);
    for (size_t i = 0; i < n; i++) {
        struct runnable *r = batch[i].r;
        if (r->queued)
            continue; /* posted twice before it ran: it runs once, as loop_call_soon does */
        r->fn = batch[i].fn;
        r->arg = batch[i].arg;
        sched_push_ready(loop_sched(loop), r);
    }
    in->drained += n;
    return n;
}

static void on_wake(struct loop_watcher *w, unsigned ready) {
    (void)ready;
    struct loop_inbox *in = container_of(w, struct loop_inbox, watcher);
    loop_threadsafe_drain(in->loop);
}

/* Both arrays get room for `want` posts, so the posts a hold stands for never fail to grow the
 * inbox (a worker's "done" must not be lost to a failed realloc). */
static int reserve(struct loop_inbox *in, size_t want) {
    int err = 0;
    pthread_mutex_lock(&in->lock);
    struct inbox_post **arrays[2] = {&in->posts, &in->spare};
    size_t *caps[2] = {&in->cap, &in->spare_cap};
    for (int i = 0; i < 2 && !err; i++) {
        if (*caps[i] >= want)
            continue;
        size_t cap = *caps[i] ? *caps[i] : 64;
        while (cap < want)
            cap *= 2;
        struct inbox_post *grown = realloc(*arrays[i], cap * sizeof **arrays[i]);
        if (grown) {
            *arrays[i] = grown;
            *caps[i] = cap;
        } else {
            err = -ENOMEM;
        }
    }
    pthread_mutex_unlock(&in->lock);
    return err;
}

int loop_threadsafe_hold(struct loop *loop) {
    if (!loop || !loop->inbox)
        return -EINVAL;
    LOOP_CHECK_THREAD(loop, "loop_threadsafe_hold");
    struct loop_inbox *in = loop->inbox;
    int err = reserve(in, in->holds + 1);
    if (err) {
        loop_set_error(loop, "loop_threadsafe_hold: out of memory for the inbox");
        return err;
    }
    if (in->holds == 0) {
        int err = loop_watch_fd(loop, &in->watcher, in->wake.read_fd, LOOP_READABLE, on_wake, in);
        if (err)
            return err;
    }
    in->holds++;
    return 0;
}

void loop_threadsafe_release(struct loop *loop) {
    struct loop_inbox *in = loop ? loop->inbox : NULL;
    if (!in || in->holds == 0)
        return;
    /* Unwatching leaves the descriptor readable if posts wait: the next hold sees them. */
    if (--in->holds == 0)
        loop_unwatch(loop, &in->watcher);
}

void loop_threadsafe_dump(struct loop *loop, FILE *out) {
    struct loop_inbox *in = loop->inbox;
    if (!in) {
        fprintf(out, "threadsafe: no inbox (loop_threadsafe_enable was not called)\n");
        fflush(out);
        return;
    }
    pthread_mutex_lock(&in->lock);
    fprintf(out,
            "threadsafe inbox: %lu posted, %lu drained, %lu wake-ups written, %zu waiting, "
            "%zu holds%s\n",
            in->posted, in->drained, in->wakes, in->count, in->holds,
            in->wake_pending ? ", wake-up pending" : "");
    pthread_mutex_unlock(&in->lock);
    wakefd_dump(&in->wake, out);
}
