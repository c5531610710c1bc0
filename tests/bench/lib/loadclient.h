/* loadclient.h — the load generator every echo benchmark shares (written for lesson 02's and
 * 03's rows; lesson 12 opens its 10,000 connections with it): N connections to an echo server,
 * each sending a small message and waiting for it to come back, until a fixed number of round
 * trips is done. It runs its own plain poll() loop, independent of the loop being measured. */
#ifndef LOOPSCHOOL_LOADCLIENT_H
#define LOOPSCHOOL_LOADCLIENT_H

#include <stddef.h>
#include <stdint.h>

struct loadclient_config {
    uint16_t port;       /* the echo server on 127.0.0.1 */
    int connections;     /* opened before the clock starts */
    long round_trips;    /* in all, across the connections */
    size_t message_size; /* bytes per message; 0 means 64. At most 4096 */
    int stall_ms;        /* give up if nothing at all happens for this long; 0 means 10000 */
};

struct loadclient_result {
    long round_trips; /* completed */
    double seconds;   /* from the first send to the last echo */
    double round_trips_per_sec;
};

/* Opens `connections` connections to 127.0.0.1:port, a few hundred at a time, each counted once
 * the server has echoed a one-byte hello (so it was accepted, not left in the backlog); fds[]
 * receives them. 0, or -ETIMEDOUT, -EPIPE (closed or a wrong byte), or what connect failed
 * with; fds not yet opened are -1 (close what is open with loadclient_close). */
int loadclient_open(uint16_t port, int connections, int stall_ms, int *fds);
void loadclient_close(int *fds, int connections);

/* Connects (loadclient_open), runs the round trips, closes. 0, or a negative errno: -EINVAL (bad
 * config), -ETIMEDOUT (the server stalled), -EPIPE (the server closed or sent wrong bytes), or what
 * socket/connect failed with. */
int loadclient_run(const struct loadclient_config *config, struct loadclient_result *result);

#endif
