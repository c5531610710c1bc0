/* stream.h — the buffered connection (lessons 02 and 03; the echo server of lesson 12 and the
 * benchmarks stand on it): it reads a socket and hands the bytes to its owner, keeps what the
 * kernel would not take yet in a ring it borrows only while such bytes wait (lesson 12), applies
 * backpressure, and closes in order. */
#ifndef LOOPSCHOOL_STREAM_H
#define LOOPSCHOOL_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop/loop.h"
#include "loop/net/outbuf.h"

/* Sizes, and why. The kernel already buffers hundreds of KiB per socket in each direction; the
 * ring only holds what the peer's window would not take at once. 16 KiB is four pages: an echo
 * server rarely fills it. The ring is not part of the struct: it is borrowed (from an outbuf_pool,
 * or from the loop's allocator) when a write leaves bytes behind and given back once they are
 * sent, so an idle connection costs only the struct (lesson 12 measures it). A read asks for at
 * most the room left under the high-water mark, so an owner that writes back no more than it got
 * (the echo server) never buffers more than the high-water mark; the space above it is headroom for
 * owners whose replies are longer than the requests. Reading stops at the high-water mark and
 * starts again at the low-water mark: the gap keeps it from flapping on every few bytes. */
enum {
    STREAM_BUFFER_SIZE = OUTBUF_SIZE,
    STREAM_HIGH_WATER = 8192,
    STREAM_LOW_WATER = 2048,
    STREAM_READ_CHUNK = 8192, /* the most one read asks for (a stack buffer) */
};

struct stream;
/* The bytes just read; the owner decides what to write back (stream_write). It must not free
 * the stream here: a stream is freed after its on_close, or after stream_close_now. */
typedef void (*stream_data_fn)(struct stream *s, const char *data, size_t len);
/* The connection is closed (its fd too). error is 0 for an orderly end (the peer finished and
 * got all its bytes, or stream_close flushed), else why: -ECONNRESET, -EPIPE, ... Always called
 * from the loop, never from inside a stream_* call, so the owner may free the stream here. */
typedef void (*stream_close_fn)(struct stream *s, int error);

/* Caller-owned; no field needs setting before stream_open. Read the fields, never write them. */
struct stream {
    struct loop_watcher watcher; /* readable while reading, writable while bytes wait */
    struct runnable close_run;   /* delivers on_close from the loop */
    struct loop *loop;
    int fd;    /* -1 once closed */
    int error; /* why it closed; 0 for an orderly end */
    stream_data_fn on_data;
    stream_close_fn on_close;
    void *arg; /* the owner's */
    const char *name;
    /* The output ring: out[head], out[head+1], ... wrapping at STREAM_BUFFER_SIZE, len bytes.
     * out is NULL while len is 0: the ring is borrowed only while bytes wait. */
    unsigned char *out;
    struct outbuf_pool *pool; /* where out comes from; NULL: the loop's allocator */
    size_t head, len;
    size_t high_water, low_water;
    size_t peak_buffered; /* the most ever held: tests check it against high_water */
    uint64_t bytes_read, bytes_written;
    unsigned pauses;    /* times backpressure stopped reading */
    bool paused;        /* backpressure: not reading until the ring drains */
    bool peer_finished; /* read end-of-file: flush what is left, then close */
    bool closing;       /* stream_close was called: flush, then close */
};

/* Starts reading fd (a connected socket; made non-blocking here). The stream owns fd from now
 * on and closes it; on failure fd stays the caller's. -EINVAL for a NULL s, loop or callback;
 * -EBADF for a negative or closed fd; -ENOTSOCK for a pipe or file; or the loop's refusal (e.g.
 * -ERANGE: fd too big for select). */
int stream_open(struct stream *s, struct loop *loop, int fd, const char *name,
                stream_data_fn on_data, stream_close_fn on_close, void *arg);

/* Lends the stream's future rings from pool (NULL: back to the loop's allocator). Only while
 * nothing is buffered: 0, or -EBUSY (-EINVAL for a NULL s). */
int stream_use_pool(struct stream *s, struct outbuf_pool *pool);

/* Sends what the kernel takes now and keeps the rest, all or nothing: 0; -ENOBUFS if it does
 * not fit in the ring (nothing taken: wait for the peer to read); -ENOMEM if bytes had to wait
 * and no ring could be borrowed (the stream ends: on_close(-ENOMEM) follows); -EPIPE once closing
 * or closed; -EINVAL for NULL data. If the send finds the peer gone it returns that error
 * (-ECONNRESET, -EPIPE) and the stream closes: on_close(error) follows from the loop. */
int stream_write(struct stream *s, const void *data, size_t len);

/* Orderly close: reads no more, sends what is buffered, closes, then on_close(0). 0, or
 * -EALREADY if already closing or closed. TCP's rule: if the peer's bytes are still unread when
 * the fd closes, the kernel resets the connection instead of ending it, so a protocol should
 * agree on who closes first (the echo server lets the client do it). */
int stream_close(struct stream *s);
/* Closes at once, dropping buffered bytes; on_close is NOT called (the caller knows). Also
 * drops an on_close not yet delivered. 0, or -EALREADY if there was nothing left to do. */
int stream_close_now(struct stream *s);

/* Both marks in bytes, 0 <= low < high <= STREAM_BUFFER_SIZE: 0 or -EINVAL. */
int stream_set_watermarks(struct stream *s, size_t low, size_t high);
size_t stream_buffered(const struct stream *s);
bool stream_is_open(const struct stream *s);

/* One line: state, buffered bytes against the marks, counters. For gdb's `call`. Flushes. */
void stream_dump(const struct stream *s, FILE *out);

#endif
