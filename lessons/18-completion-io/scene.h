/* scene.h — what lesson 18's demo, test and exercise share: one echo server of either model on
 * a fresh loop, the loop's waits counted by an observer, and the system calls per round trip
 * counted where each call is made (never timed). Header only, static inline. */
#ifndef LESSON18_SCENE_H
#define LESSON18_SCENE_H

#include <stdbool.h>
#include <string.h>

#include "client.h"
#include "loop/loop.h"
#include "loop/net/ready_echo.h"
#include "loop/net/uring_echo.h"

struct scene {
    bool completion; /* io_uring, else readiness on epoll */
    struct loop *loop;
    struct loop_observer counter;
    unsigned long waits; /* the loop's backend waits: one epoll_wait() each */
    struct ready_echo ready;
    struct uring_echo uring;
    struct loop_timer heartbeat;
};

static inline void scene_count_wait(void *ctx, struct loop *loop, int64_t timeout_ns) {
    (void)loop, (void)timeout_ns;
    ((struct scene *)ctx)->waits++;
}

static inline int scene_open(struct scene *sc, bool completion, bool poison) {
    memset(sc, 0, sizeof *sc);
    sc->completion = completion;
    /* epoll, level-triggered: the default on Linux, the only kernel with io_uring. Both models
     * wait through it (the ring's fd is one more watched fd). */
    int rc = loop_new(&sc->loop, &(struct loop_config){.backend = backend_default()});
    if (rc < 0)
        return rc;
    sc->counter.hooks = (struct loop_hooks){.ctx = sc, .before_wait = scene_count_wait};
    loop_observe(sc->loop, &sc->counter);
    loop_timer_init(&sc->heartbeat, "heartbeat");
    rc = completion ? uring_echo_open(&sc->uring, sc->loop, NULL, 0, poison)
                    : ready_echo_open(&sc->ready, sc->loop, NULL, 0);
    if (rc < 0) {
        loop_free(sc->loop);
        sc->loop = NULL;
    }
    return rc;
}

static inline uint16_t scene_port(const struct scene *sc) {
    return sc->completion ? sc->uring.port : sc->ready.port;
}

static inline unsigned long scene_round_trips(const struct scene *sc) {
    return sc->completion ? sc->uring.round_trips : sc->ready.round_trips;
}

/* Every system call the server made: the loop's waits plus the server's own calls. */
static inline unsigned long scene_syscalls(const struct scene *sc) {
    if (sc->completion)
        return sc->waits + sc->uring.ring.counts.enters;
    return sc->waits + sc->ready.recvs + sc->ready.sends + sc->ready.accepts;
}

/* One tick, never blocked longer than 20 ms (for runs that wait on the client, not counted). */
static inline void scene_heartbeat(struct loop_timer *t) {
    (void)t;
}
static inline void scene_step(void *ctx) {
    struct scene *sc = ctx;
    loop_timer_start(sc->loop, &sc->heartbeat, 20 * 1000 * 1000, scene_heartbeat, sc);
    loop_run_once(sc->loop);
}

/* Shuts the server down (completion: cancels and waits for every completion, at most 5 s). */
static inline int scene_close(struct scene *sc) {
    int rc = 0;
    loop_timer_stop(sc->loop, &sc->heartbeat);
    if (sc->completion) {
        uring_echo_shutdown(&sc->uring);
        for (int i = 0; i < 250 && !sc->uring.stopped; i++)
            scene_step(sc);
        rc = uring_echo_close(&sc->uring);
        loop_timer_stop(sc->loop, &sc->heartbeat);
    } else {
        ready_echo_close(&sc->ready);
    }
    loop_unobserve(sc->loop, &sc->counter);
    loop_free(sc->loop);
    return rc;
}

struct scene_tally {
    double per_round_trip;
    unsigned long enters, sqes;
    int client;
};

/* Serves `conns` clients for `rounds` rounds; counts from the end of the first round. */
static inline int scene_measure(bool completion, int conns, int rounds, struct scene_tally *t) {
    struct scene sc;
    int rc = scene_open(&sc, completion, false);
    if (rc < 0)
        return rc;
    pid_t pid;
    if ((rc = client_start(scene_port(&sc), conns, rounds, &pid)) < 0) {
        scene_close(&sc);
        return rc;
    }
    unsigned long first = (unsigned long)conns, all = (unsigned long)conns * (unsigned long)rounds;
    while (scene_round_trips(&sc) < first)
        loop_run_once(sc.loop);
    unsigned long calls = scene_syscalls(&sc), enters = sc.uring.ring.counts.enters;
    unsigned long sqes = sc.uring.ring.counts.submitted;
    while (scene_round_trips(&sc) < all)
        loop_run_once(sc.loop);
    t->per_round_trip = (double)(scene_syscalls(&sc) - calls) / (double)(all - first);
    t->enters = sc.uring.ring.counts.enters - enters;
    t->sqes = sc.uring.ring.counts.submitted - sqes;
    t->client = client_finish(pid, 10000, scene_step, &sc);
    int closed = scene_close(&sc);
    return closed < 0 ? closed : 0;
}

#endif
