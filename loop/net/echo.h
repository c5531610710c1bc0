/* echo.h — the reference echo server: a listener plus one stream per connection, each writing
 * back what it reads (lessons 02 and 03), grown in lesson 12 to hold 10,000 connections: each is
 * allocated as it arrives, idle ones can time out, running out of descriptors never spins, and a
 * shutdown drains before it closes. Everything about bytes (buffering, backpressure, orderly
 * close) lives in stream.c. echo_serve.c makes it a program (`--serve`). */
#ifndef LOOPSCHOOL_ECHO_H
#define LOOPSCHOOL_ECHO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop/loop.h"
#include "loop/net/outbuf.h"
#include "loop/net/stream.h"

struct echo_server;

/* One connection: allocated when it is accepted, freed when it ends. */
struct echo_conn {
    struct stream stream;
    struct loop_timer idle; /* armed only with an idle timeout */
    struct echo_server *server;
    struct list_node node;  /* in the server's list of open connections, oldest first */
    int64_t last_active_ns; /* when it last sent bytes (the idle timer checks it lazily) */
};

/* What the server may be told; all zero is a sensible server (no cap but the descriptor limit,
 * no idle timeout, silent). */
struct echo_config {
    size_t max_conns;        /* refuse (accept, then close) beyond this many; 0: no cap */
    int64_t idle_timeout_ns; /* close a connection silent this long; 0: never */
    FILE *log;               /* refusals, running out of descriptors, idle closes; NULL: silent */
    /* Called from the loop once a shutdown has ended every connection (echo_server_shutdown). */
    void (*on_drained)(struct echo_server *s);
    void *arg; /* the owner's */
};

/* A log line that may repeat (a refusal, out of descriptors): printed the first time, then at
 * most once a second, saying how many were not printed. */
struct echo_log_limit {
    int64_t last_ns;
    uint64_t unprinted;
    bool printed_once;
};

/* Caller-owned. Read the fields, never write them. */
struct echo_server {
    struct loop *loop;
    struct echo_config config;
    struct loop_watcher listener;
    struct loop_timer retry;     /* out of descriptors: look again later, even if nothing closes */
    struct loop_timer deadline;  /* shutdown: cut what has not drained by then */
    struct runnable drained_run; /* delivers config.on_drained from the loop */
    struct outbuf_pool buffers;  /* output rings, lent only while bytes wait */
    struct list_node conns;      /* open connections, oldest first */
    int listen_fd;               /* -1 once closed */
    uint16_t port;               /* the port actually bound (useful with port 0) */
    bool accepting;              /* the listener is watched */
    bool out_of_fds;             /* not accepting because accept() said EMFILE/ENFILE */
    bool draining;               /* echo_server_shutdown was called */
    size_t open_connections, peak_connections;
    uint64_t accepted;          /* connections served since open */
    uint64_t refused;           /* accepted but closed at once: over max_conns, select's limit... */
    uint64_t closed_idle;       /* closed by the idle timeout */
    uint64_t out_of_fds_pauses; /* times the listener stopped because descriptors ran out */
    uint64_t drained, cut;      /* at shutdown: closed after their output left / at the deadline */
    uint64_t bytes_echoed;      /* bytes handed back to the streams */
    int last_error;             /* the last accept or open failure, 0 if none */
    struct echo_log_limit refusal_log, fds_log, idle_log;
};

/* Listens on host:port (NET_LOOPBACK, port 0 = any free port; s->port tells which) and serves
 * until echo_server_close. config may be NULL (all defaults). -EINVAL for a NULL s, loop or host,
 * or a negative idle timeout; or net_listen_tcp's or loop_watch_fd's error. */
int echo_server_open(struct echo_server *s, struct loop *loop, const char *host, uint16_t port,
                     const struct echo_config *config);
/* Changes the idle timeout of every open connection and of those to come (0: off); each open one
 * counts its silence from now. 0, -EINVAL (negative), or -ENOMEM if a timer could not be armed
 * (the connections before it have the new timeout). */
int echo_server_set_idle_timeout(struct echo_server *s, int64_t timeout_ns);
/* Graceful stop: closes the listener, asks every connection to send what it holds and close
 * (stream_close), and cuts those still sending after drain_ns. config.on_drained runs once all
 * are gone. 0, or -EALREADY if already shutting down or closed; -EINVAL for a negative drain_ns;
 * -ENOMEM if the loop could not make room for on_drained or the deadline (nothing changed). */
int echo_server_shutdown(struct echo_server *s, int64_t drain_ns);
/* Stops listening and closes every connection at once (buffered bytes are dropped; the
 * connections' closes are not reported), frees them. Safe to call twice. */
void echo_server_close(struct echo_server *s);

/* The i-th open connection's stream, oldest first, or NULL past the last (a walk: for tests and
 * demos holding a few connections). */
struct stream *echo_server_stream(struct echo_server *s, size_t i);
/* Bytes the i-th open connection holds, waiting for its peer to read; 0 past the last. */
size_t echo_server_buffered(const struct echo_server *s, size_t i);
/* The bytes one connection costs this server, beyond the kernel's socket buffers: the struct as
 * allocated. (A ring is added only while bytes wait.) */
size_t echo_server_conn_bytes(void);

/* The listener, the counters and the first open connections' streams. Flushes. */
void echo_server_dump(const struct echo_server *s, FILE *out);

/* ---- the echo server as a program (echo_serve.c): the echo demos' command line and --serve --- */

/* What `demo [--backend NAME] [--serve PORT] [--max-conns N] [--idle-timeout MS]
 * [--drain-ms MS]` asked for. */
struct echo_serve_args {
    const char *program;               /* the last part of argv[0], to start messages with */
    const struct backend_ops *backend; /* the backend named, or the default handed in */
    bool serve;                        /* --serve: run the bare server instead of the scene */
    uint16_t port;                     /* --serve's port; 0: any free port */
    size_t max_conns;                  /* 0: what the descriptor limit allows */
    long idle_timeout_ms;              /* 0: off */
    long drain_ms;                     /* how long a stop waits for output to leave; 1000 */
};

/* Reads the command line into args. 0; or -EINVAL after one line on err (NULL: silent) saying
 * what is wrong: a backend it does not offer (echo_serve.c lists them), a port outside 0..65535, a
 * negative or non-numeric count, or anything else (the usage line). -EINVAL too for a NULL args,
 * argv or fallback, or argc < 1. */
int echo_serve_parse_args(struct echo_serve_args *args, int argc, char **argv,
                          const struct backend_ops *fallback, FILE *err);
/* `--serve`: raises the soft RLIMIT_NOFILE to the hard limit (and says so), then serves on
 * 127.0.0.1:args->port, on a new loop of args->backend, until SIGINT or SIGTERM arrives through
 * the self-pipe (loop/signal.h); then a graceful shutdown (args->drain_ms) and a summary line.
 * Writes "listening on 127.0.0.1:PORT" to out (flushed, so a parent process can read the port)
 * only once it is ready to serve and to stop cleanly. Refusals and running out of descriptors
 * are logged on err. out and err may be NULL. 0 after a signal stopped it; otherwise a negative
 * errno, after a line on err that says what failed: listening (e.g. -EADDRINUSE), allocating,
 * loop_signal_open (-EBUSY) or the loop. -EINVAL, silently, for a NULL args. */
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
