/* echo_servers.h — the two echo servers the echo benchmarks compare (lessons 02, 03 and 12):
 * loop/net/echo.c on one loop thread, and one blocking thread per connection. Each runs in a
 * forked child, so its CPU time and its resident memory are its own. */
#ifndef LOOPSCHOOL_BENCH_ECHO_SERVERS_H
#define LOOPSCHOOL_BENCH_ECHO_SERVERS_H

#include <stdint.h>
#include <sys/types.h>

#include "loop/backend/backend.h"

struct echo_server_child {
    pid_t pid;
    uint16_t port;
};

/* Forks a server (backend NULL: the thread-per-connection one) and learns its port: 0, or a
 * negative errno. Stop it with SIGTERM and waitpid. */
int echo_servers_start(const struct backend_ops *backend, struct echo_server_child *child);
/* User + system seconds of every child reaped so far (RUSAGE_CHILDREN). */
double echo_servers_children_cpu(void);
/* A child's resident bytes now (/proc/PID/statm); 0 where that cannot be read. */
long echo_servers_resident(pid_t pid);

#endif
