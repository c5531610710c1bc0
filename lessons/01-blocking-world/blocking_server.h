/* blocking_server.h — lesson 01 (blocking-world): a plain blocking echo server in two models,
 * one client at a time or a thread per connection. It runs on threads of its own, so the
 * caller's thread stays free to play the clients (blocking_client.h). The lesson's demo and its
 * tests both use it. */
#ifndef LOOPSCHOOL_BLOCKING_SERVER_H
#define LOOPSCHOOL_BLOCKING_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum blocking_model {
    BLOCKING_ONE_AT_A_TIME,         /* accept(), then read()/write() that client until it leaves */
    BLOCKING_THREAD_PER_CONNECTION, /* accept(), hand the client to a new thread, accept() again */
};

enum { BLOCKING_MAX_CONNS = 64 }; /* a lesson needs a few: connections past the 64th are refused */

/* One accepted client. */
struct blocking_conn {
    struct blocking_server *server;
    int number;       /* 1, 2, ... in the order accept() returned them */
    int fd;           /* -1 once closed */
    pthread_t thread; /* thread per connection: the thread serving it */
    bool has_thread;
};

/* Start from a zeroed struct, set the first three fields, then call blocking_server_start(). */
struct blocking_server {
    enum blocking_model model; /* which server to run */
    FILE *log;                 /* where the server narrates what it does, or NULL for silence */
    int64_t start_ns;          /* the narration stamps milliseconds since this blocking_now_ns() */

    uint16_t port;        /* set by start: the port it listens on, on 127.0.0.1 */
    int listen_fd;        /* set by start */
    pthread_t thread;     /* the server's thread (in thread per connection: the accepting one) */
    bool running;         /* between a successful start and stop */
    pthread_mutex_t lock; /* guards the fields below: stop() reads them from another thread */
    bool stopping;
    int accepted;
    struct blocking_conn conns[BLOCKING_MAX_CONNS];
};

/* Listens on 127.0.0.1 port 0 (any free port) and starts the server's thread. The socket
 * listens before this returns, so clients may connect at once: the kernel queues them until
 * the server calls accept(). 0, -EINVAL (NULL, unknown model), -EALREADY (running) or a
 * negative errno. */
int blocking_server_start(struct blocking_server *server);

/* Stops the server and joins all its threads, so none outlives it. Every call the server is
 * blocked in is woken: accept() and read() fail or see end-of-file. 0, -EINVAL (NULL) or
 * -EALREADY (not running). */
int blocking_server_stop(struct blocking_server *server);

/* The server and its open connections, for `call blocking_server_dump(&server, stdout)`. */
void blocking_server_dump(struct blocking_server *server, FILE *out);

#endif
