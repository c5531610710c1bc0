/* echo.h — the reference echo server: a listener plus a pool of streams, each writing back what
 * it reads (lessons 02 and 03; lesson 12 and the benchmarks reuse it). It is deliberately small:
 * everything hard (buffering, backpressure, orderly close) lives in stream.c. */
#ifndef LOOPSCHOOL_ECHO_H
#define LOOPSCHOOL_ECHO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop/loop.h"
#include "loop/stream.h"

struct echo_server;

/* One slot of the pool. */
struct echo_conn {
    struct stream stream;
    struct echo_server *server;
    struct list_node free_node; /* on the server's free list while the slot is unused */
    bool in_use;
};

/* Caller-owned, like its pool: the caller hands in an array of `capacity` echo_conn slots (zeroed
 * or not), so the server never allocates, and the most connections it will hold is a number the
 * caller chose and can see — a server must cap its connections somewhere anyway. When every slot
 * is busy it stops accepting (the kernel's backlog keeps the newcomers waiting) and starts again
 * when a connection closes. Read the counters, never write them. */
struct echo_server {
    struct loop *loop;
    struct loop_watcher listener;
    int listen_fd; /* -1 once closed */
    uint16_t port; /* the port actually bound (useful with port 0) */
    bool accepting; /* the listener is watched */
    struct echo_conn *conns;
    size_t capacity;
    struct list_node free_slots;
    size_t open_connections;
    uint64_t accepted;     /* connections accepted since open */
    uint64_t refused;      /* accepted but closed at once (e.g. an fd select cannot watch) */
    uint64_t bytes_echoed; /* bytes handed back to the streams */
    int last_error;        /* the last accept or stream_open failure, 0 if none */
};

/* Listens on host:port (NET_LOOPBACK, port 0 = any free port; s->port tells which) and serves
 * until echo_server_close. -EINVAL for a NULL argument or capacity 0; or net_listen_tcp's or
 * loop_watch_fd's error. */
int echo_server_open(struct echo_server *s, struct loop *loop, const char *host, uint16_t port,
                     struct echo_conn *conns, size_t capacity);
/* Stops listening and closes every connection at once (buffered bytes are dropped; the
 * connections' closes are not reported). Safe to call twice. */
void echo_server_close(struct echo_server *s);

/* The stream in slot i, or NULL if that slot is free. The first connection accepted takes slot 0
 * (the backpressure test watches it). */
struct stream *echo_server_stream(struct echo_server *s, size_t slot);
/* Bytes slot i holds, waiting for its peer to read; 0 for a free slot. */
size_t echo_server_buffered(const struct echo_server *s, size_t slot);

/* The listener, the counters and every open connection's stream. Flushes. */
void echo_server_dump(const struct echo_server *s, FILE *out);

#endif
