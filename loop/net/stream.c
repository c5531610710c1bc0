/* stream.c — the buffered connection (lessons 02 and 03); see stream.h. The whole life of a
 * connection is in stream_on_ready: flush if writable, read until the kernel has nothing more
 * (EAGAIN) if readable, then decide what to watch next (stream_settle). Reading until EAGAIN is
 * the rule edge-triggered epoll imposes (lesson 16): it says "readable" once per arrival, so bytes
 * left behind would never be announced again. Level-triggered backends are served by it too. */
#include "loop/net/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/net/net.h"
#include "sched/task/sched.h"

/* The ring comes from the pool if the owner gave one, else straight from the loop's allocator. */
static unsigned char *stream_ring_take(struct stream *s) {
    if (s->pool)
        return outbuf_take(s->pool);
    return sched_alloc(loop_sched(s->loop)->alloc, STREAM_BUFFER_SIZE);
}

/* Gives the ring back: called whenever len drops to 0, so an idle stream holds none. */
static void stream_ring_give(struct stream *s) {
    if (!s->out)
        return;
    if (s->pool)
        outbuf_give(s->pool, s->out);
    else
        sched_dealloc(loop_sched(s->loop)->alloc, s->out);
    s->out = NULL;
    s->head = s->len = 0;
}

/* Runs from the ready queue: the one place on_close is called. The owner may free s inside it,
 * so nothing touches s afterwards. */
static void stream_deliver_close(void *arg) {
    struct stream *s = arg;
    loop_runnable_gone(s->loop, &s->close_run); /* under stride or MLFQ, no charge to it after */
    sched_release(loop_sched(s->loop));         /* the place stream_open reserved: used */
    s->on_close(s, s->error);
}

/* The end of the connection, orderly (error 0) or not: unwatch BEFORE close (a closed fd must
 * never stay watched), close, and queue on_close. Buffered bytes are dropped: nobody can take
 * them any more. */
static void stream_end(struct stream *s, int error) {
    if (s->fd < 0)
        return;
    loop_unwatch(s->loop, &s->watcher); /* -EALREADY if the loop already did (LOOP_INVALID) */
    close(s->fd);
    s->fd = -1;
    s->error = error;
    stream_ring_give(s);
    s->paused = false;
    /* Pushed into the place stream_open reserved, so it cannot fail and no close is lost
     * (loop_call_soon would ask for a new place, and could be refused one). */
    sched_push_ready(loop_sched(s->loop), &s->close_run);
}

/* Sends from the ring until it is empty or the kernel's buffer is full. 0, or the error that
 * ended the stream. */
static int stream_flush(struct stream *s) {
    while (s->len > 0) {
        size_t chunk = STREAM_BUFFER_SIZE - s->head; /* up to the end of the ring... */
        if (chunk > s->len)
            chunk = s->len; /* ...or of the bytes */
        ssize_t n = net_send(s->fd, s->out + s->head, chunk);
        if (n == -EAGAIN)
            break;
        if (n < 0) {
            stream_end(s, (int)n);
            return (int)n;
        }
        s->head = (s->head + (size_t)n) % STREAM_BUFFER_SIZE;
        s->len -= (size_t)n;
        s->bytes_written += (uint64_t)n;
        if ((size_t)n < chunk)
            break; /* a short send: the kernel is full, another try would only say EAGAIN */
    }
    if (s->len == 0)
        stream_ring_give(s);
    return 0;
}

/* After anything happened: apply the watermarks, end the stream if nothing is left to do, and
 * watch exactly what is needed — readable while reading, writable only while bytes wait
 * (watching writability with nothing to send would wake the loop on every tick). */
static void stream_settle(struct stream *s) {
    if (s->fd < 0)
        return;
    if (!s->paused && s->len >= s->high_water) {
        s->paused = true;
        s->pauses++;
    } else if (s->paused && s->len <= s->low_water) {
        s->paused = false;
    }
    bool reading = !s->paused && !s->peer_finished && !s->closing;
    if (!reading && s->len == 0 && (s->peer_finished || s->closing)) {
        stream_end(s, 0); /* all sent: the orderly end */
        return;
    }
    unsigned want = (reading ? LOOP_READABLE : 0u) | (s->len > 0 ? LOOP_WRITABLE : 0u);
    if (want != s->watcher.interest) {
        int rc = loop_set_interest(s->loop, &s->watcher, want);
        if (rc < 0)
            stream_end(s, rc);
    }
}

/* Reads into a stack buffer, at most the room left under the high-water mark each time, until
 * the kernel says EAGAIN (lesson 16: under edge-triggering, bytes left unread would never be
 * announced again), the peer finishes, the stream ends, or the ring reaches the high-water mark.
 * Stopping at the mark is safe under both triggers: reading resumes through loop_set_interest,
 * and epoll re-checks readiness on every change of interest. */
static void stream_read_until_eagain(struct stream *s) {
    char buf[STREAM_READ_CHUNK];
    while (s->fd >= 0 && !s->closing && !s->paused && s->len < s->high_water) {
        size_t want = s->high_water - s->len;
        if (want > sizeof buf)
            want = sizeof buf;
        ssize_t n = net_recv(s->fd, buf, want);
        if (n > 0) {
            s->bytes_read += (uint64_t)n;
            s->on_data(s, buf, (size_t)n); /* may write, close, or end the stream */
        } else if (n == 0) {
            s->peer_finished = true; /* the peer half-closed: it still gets the rest of its bytes */
            return;
        } else {
            if (n != -EAGAIN)
                stream_end(s, (int)n); /* -ECONNRESET and friends: this connection only */
            return;
        }
    }
}

static void stream_on_ready(struct loop_watcher *w, unsigned ready) {
    struct stream *s = w->arg;
    if (ready & LOOP_INVALID) {
        stream_end(s, -EBADF); /* someone closed our fd behind our back */
        return;
    }
    /* A hang-up or an error shows as writable when we watch for writing: the send reports it. */
    if ((ready & LOOP_WRITABLE) && stream_flush(s) < 0)
        return;
    if ((ready & LOOP_READABLE) && !s->paused && !s->peer_finished && !s->closing) {
        stream_read_until_eagain(s);
        if (s->fd < 0)
            return; /* ended by the read, or by the owner inside on_data */
    }
    stream_settle(s);
}

int stream_open(struct stream *s, struct loop *loop, int fd, const char *name,
                stream_data_fn on_data, stream_close_fn on_close, void *arg) {
    if (!s || !loop || !on_data || !on_close)
        return -EINVAL;
    if (fd < 0 || fcntl(fd, F_GETFD) < 0)
        return -EBADF;
    int type;
    socklen_t type_len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) < 0)
        return errno == ENOTSOCK ? -ENOTSOCK : -errno;
    int rc = net_set_nonblocking(fd);
    if (rc < 0)
        return rc;
    /* Every field but the ring itself: the ring's old bytes are never read (len is 0). */
    s->loop = loop;
    s->fd = -1;
    s->error = 0;
    s->on_data = on_data;
    s->on_close = on_close;
    s->arg = arg;
    s->name = name ? name : "stream";
    s->out = NULL;
    s->pool = NULL;
    s->head = s->len = 0;
    s->high_water = STREAM_HIGH_WATER;
    s->low_water = STREAM_LOW_WATER;
    s->peak_buffered = 0;
    s->bytes_read = s->bytes_written = 0;
    s->pauses = 0;
    s->paused = s->peer_finished = s->closing = false;
    loop_watcher_init(&s->watcher, s->name);
    runnable_init(&s->close_run, stream_deliver_close, s, s->name);
    /* on_close is queued later from places with nobody to hand -ENOMEM to (a read, a send): its
     * place on the ready queue is reserved now, like a watcher's or a timer's, and held until it
     * is delivered or dropped by stream_close_now. */
    struct sched *sched = loop_sched(loop);
    if ((rc = sched_reserve(sched)) < 0)
        return rc;
    rc = loop_watch_fd(loop, &s->watcher, fd, LOOP_READABLE, stream_on_ready, s);
    if (rc < 0) {
        sched_release(sched);
        return rc;
    }
    s->fd = fd;
    return 0;
}

int stream_write(struct stream *s, const void *data, size_t len) {
    if (!s || (!data && len))
        return -EINVAL;
    if (s->fd < 0 || s->closing)
        return -EPIPE;
    if (len > STREAM_BUFFER_SIZE - s->len)
        return -ENOBUFS;
    const unsigned char *bytes = data;
    size_t sent = 0;
    if (s->len == 0 && len > 0) {
        /* Nothing queued before us, so order allows sending straight away: most writes never
         * touch the ring at all. */
        ssize_t n = net_send(s->fd, bytes, len);
        if (n < 0 && n != -EAGAIN) {
            stream_end(s, (int)n);
            return (int)n;
        }
        sent = n > 0 ? (size_t)n : 0;
        s->bytes_written += sent;
    }
    if (sent < len && !s->out && !(s->out = stream_ring_take(s))) {
        /* Part may be gone to the kernel already and the rest has nowhere to wait: the byte
         * stream would have a hole, so it ends here. */
        stream_end(s, -ENOMEM);
        return -ENOMEM;
    }
    for (size_t i = sent; i < len;) { /* the rest goes in the ring, in at most two pieces */
        size_t tail = (s->head + s->len) % STREAM_BUFFER_SIZE;
        size_t piece = STREAM_BUFFER_SIZE - tail;
        if (piece > len - i)
            piece = len - i;
        memcpy(s->out + tail, bytes + i, piece);
        s->len += piece;
        i += piece;
    }
    if (s->len > s->peak_buffered)
        s->peak_buffered = s->len;
    stream_settle(s);
    return 0;
}

int stream_close(struct stream *s) {
    if (!s || s->fd < 0 || s->closing)
        return -EALREADY;
    s->closing = true;
    stream_settle(s); /* ends now if nothing waits, else once the ring is flushed */
    return 0;
}

int stream_close_now(struct stream *s) {
    if (!s)
        return -EALREADY;
    bool did = loop_unqueue(s->loop, &s->close_run) == 0; /* an on_close not yet delivered */
    if (s->fd >= 0) {
        loop_unwatch(s->loop, &s->watcher);
        close(s->fd);
        s->fd = -1;
        s->error = -ECANCELED;
        stream_ring_give(s);
        did = true;
    }
    if (did) /* on_close will never be delivered: its reserved place goes back */
        sched_release(loop_sched(s->loop));
    return did ? 0 : -EALREADY;
}

int stream_use_pool(struct stream *s, struct outbuf_pool *pool) {
    if (!s)
        return -EINVAL;
    if (s->out)
        return -EBUSY; /* the ring held now came from elsewhere: it must go back there */
    s->pool = pool;
    return 0;
}

int stream_set_watermarks(struct stream *s, size_t low, size_t high) {
    if (!s || low >= high || high > STREAM_BUFFER_SIZE)
        return -EINVAL;
    s->low_water = low;
    s->high_water = high;
    stream_settle(s);
    return 0;
}

size_t stream_buffered(const struct stream *s) {
    return s ? s->len : 0;
}

bool stream_is_open(const struct stream *s) {
    return s && s->fd >= 0;
}

void stream_dump(const struct stream *s, FILE *out) {
    if (!s) {
        fprintf(out, "stream: NULL\n");
        fflush(out);
        return;
    }
    const char *state = s->fd < 0          ? "closed"
                        : s->closing       ? "closing (flushing, then close)"
                        : s->peer_finished ? "peer finished (flushing, then close)"
                        : s->paused        ? "paused (backpressure)"
                                           : "reading";
    fprintf(out,
            "stream %s: fd %d, %s; buffered %zu of %d (high %zu, low %zu, peak %zu); "
            "read %llu, wrote %llu bytes; paused %u time%s; error %d%s\n",
            s->name, s->fd, state, s->len, STREAM_BUFFER_SIZE, s->high_water, s->low_water,
            s->peak_buffered, (unsigned long long)s->bytes_read,
            (unsigned long long)s->bytes_written, s->pauses, s->pauses == 1 ? "" : "s", s->error,
            s->close_run.queued ? " (on_close queued)" : "");
    fflush(out);
}
