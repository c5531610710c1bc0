/* ready_echo.h — the readiness-style echo server lesson 18 sets beside the completion one: the
 * loop says "readable", the server calls recv, then send, each counted at the call. Deliberately
 * plain (one buffer, a blocking-free send loop), so its system calls per round trip are easy to
 * count: the loop's wait, one recv, one send. Lesson 12's echo.c is the full-featured server. */
#ifndef LOOPSCHOOL_READY_ECHO_H
#define LOOPSCHOOL_READY_ECHO_H

#include <stdint.h>
#include <stdio.h>

#include "loop/loop.h"

struct ready_echo_conn {
    struct loop_watcher watcher;
    struct list_node node;
    struct ready_echo *server;
    int fd;
};

struct ready_echo {
    struct loop *loop;
    struct loop_watcher listener;
    int listen_fd;
    uint16_t port;
    struct list_node conns;
    size_t open_connections;
    unsigned long accepts, recvs, sends; /* system calls made, counted where they are made */
    unsigned long round_trips, bytes_echoed;
};

/* Listens on host:port (0: any) and serves on loop. 0 or a negative errno. */
int ready_echo_open(struct ready_echo *s, struct loop *loop, const char *host, uint16_t port);
/* Closes every connection and the listener. */
void ready_echo_close(struct ready_echo *s);
void ready_echo_dump(const struct ready_echo *s, FILE *out);

#endif
