/* net_client.h — what the socket tests share (lessons 02 and 03, and the library's net and stream
 * tests): a real loop driven one bounded tick at a time, and client sockets connected to it.
 * Header only, all `static inline`: a test file uses what it needs and pays nothing for the rest.
 * Names start with test_ so they never clash with a test file's own helpers. */
#ifndef LOOPSCHOOL_TESTS_SUPPORT_NET_CLIENT_H
#define LOOPSCHOOL_TESTS_SUPPORT_NET_CLIENT_H

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loop/loop.h"
#include "loop/net/net.h"
#include "tests/support/loop.h" /* test_loop_new */

/* ---- a real loop that never waits unboundedly ---------------------------------------------- */

/* How long one tick may wait when nothing is ready: a guard timer wakes the loop after it. */
enum { TEST_GUARD_NS = 20000000 };

static inline void test_on_guard(struct loop_timer *t) {
    *(bool *)t->arg = true;
}

/* One tick, bounded by a guard timer. True if the guard is what woke it: nothing else was ready. */
static inline bool test_tick(struct loop *loop) {
    struct loop_timer guard;
    bool guard_fired = false;
    loop_timer_init(&guard, "test guard");
    cr_assert_eq(loop_timer_start(loop, &guard, TEST_GUARD_NS, test_on_guard, &guard_fired), 0,
                 "the guard arms");
    int rc = loop_run_once(loop);
    loop_timer_stop(loop, &guard);
    cr_assert_eq(rc, 0, "a tick succeeds (got %d: %s)", rc, loop_last_error(loop));
    return guard_fired;
}

/* Ticks until pred(ctx) holds. Fails if the loop sits idle for a whole second (50 guards in a
 * row with nothing else to do): slowness never fails it, only a loop that has stopped moving. */
static inline void test_run_until(struct loop *loop, bool (*pred)(void *ctx), void *ctx,
                                  const char *what) {
    int idle = 0;
    while (!pred(ctx)) {
        idle = test_tick(loop) ? idle + 1 : 0;
        cr_assert_lt(idle, 50, "the loop keeps making progress towards: %s", what);
    }
}

/* ---- client sockets -------------------------------------------------------------------------- */

/* Waits (at most 5 s: on loopback it is immediate) for fd to become writable. */
static inline void test_wait_writable(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    cr_assert_eq(poll(&p, 1, 5000), 1, "the socket becomes writable");
}

/* Finishes a non-blocking connect that rc (net_connect_tcp's, or connect()'s) started, and asserts
 * it succeeded. The handshake completes through the listener's backlog, before any accept. */
static inline void test_finish_connect(int fd, int rc) {
    cr_assert(rc == 0 || rc == -EINPROGRESS || (rc == -1 && errno == EINPROGRESS),
              "the connect starts (got %d)", rc);
    test_wait_writable(fd);
    cr_assert_eq(net_connect_result(fd), 0, "the connect succeeded");
}

/* A non-blocking client socket connected to 127.0.0.1:port. */
static inline int test_connect(uint16_t port) {
    int fd = -1;
    int rc = net_connect_tcp(NET_LOOPBACK, port, &fd);
    test_finish_connect(fd, rc);
    return fd;
}

/* Sets a socket buffer size (SO_RCVBUF or SO_SNDBUF), to reach a bound within a few KiB. */
static inline void test_set_buffer(int fd, int option, int bytes) {
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes), 0, "setsockopt");
}

#endif
