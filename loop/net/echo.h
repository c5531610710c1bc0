/* echo.h — the reference echo server: a listener plus a pool of streams, each writing back what
 * it reads (lessons 02 and 03; lesson 12 and the benchmarks reuse it), and the command line and
 * `--serve` mode the lessons' demos share. It is deliberately small: everything hard (buffering,
 * backpressure, orderly close) lives in stream.c. */
#ifndef LOOPSCHOOL_ECHO_H
#define LOOPSCHOOL_ECHO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop/loop.h"
#include "loop/net/stream.h"

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

/* ---- the echo server as a program (echo_serve.c): the echo demos' command line and --serve --- */

/* What `demo [--backend select|poll|epoll] [--serve PORT]` asked for. */
struct echo_serve_args {
    const char *program;               /* the last part of argv[0], to start messages with */
    const struct backend_ops *backend; /* the backend named, or the default handed in */
    bool serve;                        /* --serve: run the bare server instead of the scene */
    uint16_t port;                     /* --serve's port; 0: any free port */
};

/* Reads the command line into args. 0; or -EINVAL after one line on err (NULL: silent) saying
 * what is wrong: a backend other than select, poll or epoll, a port outside 0..65535, or
 * anything else (the usage line). -EINVAL too for a NULL args, argv or fallback, or argc < 1. */
int echo_serve_parse_args(struct echo_serve_args *args, int argc, char **argv,
                          const struct backend_ops *fallback, FILE *err);
/* `--serve`: an echo server on 127.0.0.1:args->port, on a new loop of args->backend, until SIGINT
 * or SIGTERM arrives through the self-pipe (loop/signal.h); then it closes every connection.
 * Writes "listening on 127.0.0.1:PORT" to out (flushed, so a parent process can read the port)
 * and, once stopped, a line with the signal and the counters; out may be NULL. 0 after a signal
 * stopped it; otherwise a negative errno, after a line on err (NULL: silent) that says what failed:
 * listening (e.g. -EADDRINUSE), allocating, loop_signal_open (-EBUSY) or the loop. -EINVAL,
 * silently, for a NULL args. */
int echo_serve_until_signal(const struct echo_serve_args *args, FILE *out, FILE *err);

/* echo_serve_main's answer when the command line asks for the demo's own scene. */
enum { ECHO_SERVE_SCENE = -1 };
/* The part of main the echo demos share, on stdout and stderr: parses the command line into args
 * (fallback: the demo's own backend), then returns the exit status if that was the whole job —
 * 2 after a bad command line, 0 or 1 after --serve — or ECHO_SERVE_SCENE: run the scene on
 * args->backend. */
int echo_serve_main(struct echo_serve_args *args, int argc, char **argv,
                    const struct backend_ops *fallback);

#endif
