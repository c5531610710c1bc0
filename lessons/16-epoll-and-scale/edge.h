/* edge.h — lesson 16's second scene: one socket, bytes sent once, and a reader on a loop whose
 * backend is level- or edge-triggered epoll. A reader that takes one chunk per wakeup and a
 * stream (which reads until EAGAIN) each report how often they woke and what they got. */
#ifndef LOOPSCHOOL_LESSON16_EDGE_H
#define LOOPSCHOOL_LESSON16_EDGE_H

#include <stddef.h>

#include "loop/loop.h"

struct edge_result {
    int wakeups;       /* callbacks the reader got (on_data calls, for the stream) */
    size_t bytes_read; /* of the bytes sent */
};

/* The peer sends `sent` bytes once; a watcher reads at most `chunk` per wakeup and never more.
 * The loop runs on a virtual clock until a timer one second later stops it. 0 or a negative
 * errno; -EINVAL for chunk 0. */
int edge_run_chunk_reader(const struct backend_ops *ops, size_t sent, size_t chunk,
                          struct edge_result *out);

/* The same bytes read by a stream (loop/net/stream.c), whose read goes on until EAGAIN. */
int edge_run_stream_reader(const struct backend_ops *ops, size_t sent, struct edge_result *out);

#endif
