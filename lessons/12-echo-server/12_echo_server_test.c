/* 12_echo_server_test.c — lesson 12 (echo-server): can one thread hold 10,000 connections? A
 * client in its own process opens them all and checks every byte of its round trips; 2,000
 * idle clients do not lock a new one out, and an idle timeout closes them; a client that never
 * reads does not grow the server; a shutdown drains before it closes; --max-conns refuses and
 * recovers; select says in one sentence why it refuses an fd past FD_SETSIZE. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crowd.h"
#include "loop/loop.h"
#include "loop/net/echo.h"
#include "loop/net/net.h"
#include "tests/support/echo_child.h"
#include "tests/support/net_client.h"
#include "tests/support/tasks.h"
#include "tests/support/twin.h"

TestSuite(echo_server, .description = "Can one thread hold 10,000 connections?");

/* Raises the soft descriptor limit to cover need, or skips the test with a sentence. */
static void need_fds(rlim_t need) {
    struct rlimit lim;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &lim), 0, "getrlimit");
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < need)
        cr_skip_test("this test needs %llu file descriptors and the hard limit is %llu: raise "
                     "it (as root: ulimit -Hn %llu) to run it",
                     (unsigned long long)need, (unsigned long long)lim.rlim_max,
                     (unsigned long long)need);
    if (lim.rlim_cur < need) {
        lim.rlim_cur = need;
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &lim), 0, "the soft limit is raised to %llu",
                     (unsigned long long)need);
    }
}

static bool checking(void) {
    return getenv("LOOPSCHOOL_CHECK") != NULL;
}

/* ---- 10,000 connections, every byte checked -------------------------------------------------- */

/* The backends that can hold 10,000 fds, by name: one line to add one. (select cannot: its
 * fd_set ends at FD_SETSIZE; epoll exists only on Linux, lesson 16.) */
static const char *const crowd_backends[] = {
    "poll",
#ifdef __linux__
    "epoll",
#endif
};

struct crowd_scene {
    struct loop *loop;
    struct echo_server *server;
    struct crowd crowd;
    struct loop_watcher reports;
    struct loop_timer guard;
    struct crowd_report connected, echoed, done;
    size_t open_when_connected;
    bool timed_out;
    int read_error;
};

/* The crowd's reports arrive on a pipe the server's own loop watches: the server keeps serving
 * while the test listens to the client. */
static void crowd_reported(struct loop_watcher *w, unsigned ready) {
    struct crowd_scene *sc = w->arg;
    (void)ready;
    struct crowd_report r;
    if ((sc->read_error = crowd_read(&sc->crowd, &r, 0)) < 0) {
        loop_stop(sc->loop);
        return;
    }
    if (r.step == CROWD_CONNECTED) {
        sc->connected = r;
        sc->open_when_connected = sc->server->open_connections;
    } else if (r.step == CROWD_ECHOED) {
        sc->echoed = r;
    } else {
        sc->done = r;
        loop_stop(sc->loop);
        return;
    }
    if (r.error)
        loop_stop(sc->loop);
    else
        crowd_go(&sc->crowd);
}

static void crowd_guard(struct loop_timer *t) {
    struct crowd_scene *sc = t->arg;
    sc->timed_out = true;
    loop_stop(sc->loop);
}

/* The expected bytes: one hello byte per connection, then the crowd's message lengths. */
static long long crowd_expected_bytes(int n, int rounds) {
    long long total = n;
    for (int i = 0; i < n; i++)
        for (int r = 0; r < rounds; r++)
            total += 1 + ((long long)i * 7 + (long long)r * 13) % 96;
    return total;
}

Test(echo_server, ten_thousand_connections, .timeout = 120,
     .description = "Q: Can one thread hold 10,000 connections at once and echo every byte on "
                    "all of them, to a client in another process?") {
    /* Under make check (ASan, then valgrind) 1,000: the same code paths, in a time that tool
     * can afford. */
    int n = checking() ? 1000 : 10000, rounds = 3;
    need_fds((rlim_t)n + 64); /* the crowd's process inherits the same limit */
    for (size_t b = 0; b < sizeof crowd_backends / sizeof crowd_backends[0]; b++) {
        const struct backend_ops *backend = backend_by_name(crowd_backends[b]);
        cr_assert_not_null(backend, "the %s backend exists", crowd_backends[b]);
        struct echo_server server;
        struct crowd_scene sc = {.loop = test_loop_new(backend), .server = &server};
        cr_assert_eq(echo_server_open(&server, sc.loop, NET_LOOPBACK, 0, NULL), 0, "open");
        struct crowd_config cfg = {.port = server.port,
                                   .connections = n,
                                   .active = n,
                                   .rounds = rounds,
                                   .stall_ms = 30000};
        cr_assert_eq(crowd_start(&sc.crowd, &cfg), 0, "the client process starts");
        loop_watcher_init(&sc.reports, "crowd reports");
        cr_assert_eq(loop_watch_fd(sc.loop, &sc.reports, sc.crowd.reports, LOOP_READABLE,
                                   crowd_reported, &sc),
                     0, "the reports are watched");
        loop_timer_init(&sc.guard, "guard");
        loop_timer_start(sc.loop, &sc.guard, 100 * (int64_t)1000000000, crowd_guard, &sc);
        cr_assert_eq(loop_run(sc.loop), 0, "the loop runs");
        cr_assert_not(sc.timed_out, "the crowd finished within 100 s on %s", backend->name);
        cr_assert_eq(sc.read_error, 0, "the crowd's reports arrived whole");
        cr_assert_eq(sc.connected.error, 0, "on %s all %d connections opened (error %d)",
                     backend->name, n, sc.connected.error);
        cr_assert_eq(sc.open_when_connected, (size_t)n,
                     "on %s the server held all %d connections at once (%zu)", backend->name, n,
                     sc.open_when_connected);
        cr_assert_eq(sc.echoed.error, 0,
                     "every round trip came back right (error %d: -EPIPE "
                     "is a wrong byte or a closed connection)",
                     sc.echoed.error);
        cr_assert_eq(sc.echoed.round_trips, (long)n * rounds,
                     "%d round trips on each of the %d "
                     "connections",
                     rounds, n);
        long long expected = crowd_expected_bytes(n, rounds);
        cr_assert_eq(sc.echoed.bytes_verified, expected,
                     "every byte came back and was compared: "
                     "%lld of %lld",
                     sc.echoed.bytes_verified, expected);
        cr_assert_eq((long long)server.bytes_echoed, expected, "the server echoed exactly that");
        cr_assert_eq(server.accepted, (uint64_t)n, "and accepted each connection once");
        cr_assert_eq(sc.done.closed_by_server, 0, "it closed none of them on its own");
        cr_assert_eq(crowd_finish(&sc.crowd), 0, "the client process exits 0");
        loop_unwatch(sc.loop, &sc.reports);
        echo_server_close(&server);
        loop_free(sc.loop);
    }
}

/* ---- 2,000 idle clients, and the idle timeout ------------------------------------------------ */

/* Ticks until pred holds; fails after 30 s of real time (the clock here is virtual). */
static void tick_until(struct loop *loop, bool (*pred)(void *), void *ctx, const char *what) {
    struct pollfd none;
    for (int i = 0; !pred(ctx); i++) {
        cr_assert_lt(i, 300000, "the loop reaches: %s", what);
        cr_assert_eq(loop_run_once(loop), 0, "a tick succeeds: %s", loop_last_error(loop));
        if (i % 1000 == 999)
            poll(&none, 0, 1); /* let the kernel finish handshakes on a busy machine */
    }
}

struct idle_scene {
    struct echo_server *server;
    size_t want_open;
    int fd;
    char got[4];
    size_t got_len;
};

static bool all_accepted(void *ctx) {
    struct idle_scene *sc = ctx;
    return sc->server->open_connections == sc->want_open;
}

static bool ping_back(void *ctx) {
    struct idle_scene *sc = ctx;
    ssize_t n = recv(sc->fd, sc->got + sc->got_len, sizeof sc->got - sc->got_len, MSG_DONTWAIT);
    if (n > 0)
        sc->got_len += (size_t)n;
    return sc->got_len == sizeof sc->got;
}

static bool none_open(void *ctx) {
    return ((struct idle_scene *)ctx)->server->open_connections == 0;
}

Test(echo_server, idle_clients_lock_nobody_out, .timeout = 120,
     .description = "Q: With 2,000 idle connections open, is a new client served at once, and "
                    "does an idle timeout of 200 ms close and count them?") {
    /* 500 under make check: valgrind runs with fewer descriptors. */
    int n = checking() ? 500 : 2000;
    need_fds(2 * (rlim_t)n + 64);
    struct loop_clock clock;
    struct loop_config lc = {.backend = &backend_poll};
    struct loop *loop = test_virtual_loop(&clock, &lc);
    char *log_text = NULL;
    size_t log_size = 0;
    FILE *log = open_memstream(&log_text, &log_size);
    struct echo_config config = {.idle_timeout_ns = 200000000, .log = log};
    struct echo_server server;
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, &config), 0, "open");
    /* Every handshake completes in the kernel's backlog before the server's first tick, so the
     * virtual clock does not move until the server has nothing left to do. */
    int *idle = calloc((size_t)n, sizeof *idle);
    cr_assert_not_null(idle, "memory");
    for (int i = 0; i < n; i++)
        idle[i] = test_connect(server.port);
    struct idle_scene sc = {
        .server = &server, .want_open = (size_t)n + 1, .fd = test_connect(server.port)};
    cr_assert_eq(send(sc.fd, "ping", 4, MSG_NOSIGNAL), 4, "the new client sends");
    tick_until(loop, all_accepted, &sc, "every client accepted");
    tick_until(loop, ping_back, &sc, "the new client's echo");
    cr_assert(memcmp(sc.got, "ping", 4) == 0, "the new client gets its bytes back");
    cr_assert_eq(server.open_connections, (size_t)n + 1,
                 "while all %d idle connections are still open: nobody is locked out", n);
    cr_assert_eq(loop_now(loop), 0, "and no (virtual) time has passed yet");
    tick_until(loop, none_open, &sc, "the idle timeout closing everyone");
    cr_assert_eq(loop_now(loop), 200000000,
                 "they were closed exactly 200 ms after their last "
                 "bytes (the clock jumped to the deadline: %lld ns)",
                 (long long)loop_now(loop));
    cr_assert_eq(server.closed_idle, (uint64_t)n + 1, "all %d were closed as idle, and counted",
                 n + 1);
    fflush(log);
    cr_assert(strstr(log_text, "closed a connection silent for 200 ms"), "the log says why: %s",
              log_text);
    cr_assert_eq(strchr(log_text, '\n'), log_text + strlen(log_text) - 1,
                 "in one line, not %d: the log is rate-limited (%s)", n + 1, log_text);
    for (int i = 0; i < n; i++) {
        char b;
        struct pollfd p = {.fd = idle[i], .events = POLLIN};
        cr_assert(poll(&p, 1, 5000) == 1 && recv(idle[i], &b, 1, 0) == 0,
                  "idle client %d sees an orderly end-of-file", i);
        close(idle[i]);
    }
    close(sc.fd);
    free(idle);
    echo_server_close(&server);
    fclose(log);
    free(log_text);
    loop_free(loop);
}

/* ---- a client that never reads --------------------------------------------------------------- */

static bool paused(void *ctx) {
    struct stream *s = echo_server_stream(ctx, 0);
    return s && s->paused;
}

Test(echo_server, slow_reader_holds_no_memory, .timeout = 120,
     .description = "Q: Does a client that sends and never reads make the server hold more "
                    "memory?") {
    if (crowd_resident_bytes() == 0)
        cr_skip_test("/proc/self/statm cannot be read here, so resident memory is unknown");
    struct loop *loop = test_loop_new(&backend_poll);
    struct echo_server server;
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, NULL), 0, "open");
    int c = test_connect(server.port);
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    long before = 0;
    size_t sent = 0;
    /* Push until the server has stopped reading and the kernel takes no more, three times. */
    for (int stalls = 0, i = 0; stalls < 3 || !paused(&server); i++) {
        cr_assert_lt(i, 100000, "the client fills every buffer on the way");
        ssize_t w = net_send(c, chunk, sizeof chunk);
        if (w > 0) {
            sent += (size_t)w;
            stalls = 0;
        } else {
            cr_assert_eq(w, -EAGAIN, "the client's send only ever waits");
            stalls++;
        }
        test_tick(loop);
        if (!before && sent > 2 * sizeof chunk)
            before = crowd_resident_bytes(); /* the connection and its ring exist by now */
    }
    cr_assert(paused(&server), "the server stopped reading: backpressure");
    long grown = crowd_resident_bytes() - before;
    struct stream *s = echo_server_stream(&server, 0);
    cr_assert_leq(s->peak_buffered, STREAM_HIGH_WATER,
                  "it never held more than the high-water "
                  "mark for the client (peak %zu bytes)",
                  s->peak_buffered);
    cr_assert_leq(server.buffers.peak_lent, 1, "one ring, lent to the one slow connection");
    cr_assert_lt(grown, 1 << 20,
                 "resident memory stayed flat (%ld bytes more) while the client "
                 "pushed %zu bytes it never read: they wait in the kernel's buffers",
                 grown, sent);
    close(c);
    echo_server_close(&server);
    loop_free(loop);
}

/* ---- graceful shutdown ----------------------------------------------------------------------- */

struct drain_scene {
    struct echo_server *server;
    bool drained;
};

static void on_drained(struct echo_server *s) {
    ((struct drain_scene *)s->config.arg)->drained = true;
}

static bool drained(void *ctx) {
    return ((struct drain_scene *)ctx)->drained;
}

static bool holding_output(void *ctx) {
    struct echo_server *s = ctx;
    struct stream *st = echo_server_stream(s, 0);
    return st && stream_buffered(st) > 0;
}

/* A client with small buffers that sends 1 KiB at a time, without reading, until the server
 * holds output for it and has read every byte sent (so closing later owes it nothing unread). */
static size_t fill_until_held(struct loop *loop, struct echo_server *server, int c) {
    char kib[1024];
    memset(kib, 'd', sizeof kib);
    size_t sent = 0;
    while (!holding_output(server)) {
        cr_assert_lt(sent, (size_t)64 << 20, "the server ends up holding output");
        cr_assert_eq(net_send(c, kib, sizeof kib), (ssize_t)sizeof kib, "the client sends 1 KiB");
        sent += sizeof kib;
        struct stream *st;
        while (!(st = echo_server_stream(server, 0)) || st->bytes_read < sent)
            test_tick(loop);
        test_set_buffer(st->fd, SO_SNDBUF, 4096); /* a small kernel buffer: the ring fills */
    }
    return sent;
}

Test(echo_server, shutdown_drains_then_closes, .timeout = 120,
     .description = "Q: Does a shutdown send every byte a connection holds before closing it, and "
                    "cut only what has not drained by the deadline?") {
    struct loop *loop = test_loop_new(&backend_poll);
    struct drain_scene sc;
    struct echo_config config = {.on_drained = on_drained, .arg = &sc};
    struct echo_server server;
    sc = (struct drain_scene){.server = &server};
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, &config), 0, "open");
    int c = test_connect(server.port);
    test_set_buffer(c, SO_RCVBUF, 4096);
    size_t sent = fill_until_held(loop, &server, c);
    size_t held = echo_server_buffered(&server, 0);
    cr_assert_eq(echo_server_shutdown(&server, 5 * (int64_t)1000000000), 0, "shutdown starts");
    cr_assert_eq(echo_server_shutdown(&server, 0), -EALREADY, "a second one is -EALREADY");
    cr_assert_eq(server.listen_fd, -1, "it stopped listening at once");
    cr_assert_not(drained(&sc), "but the connection still holds %zu bytes", held);
    size_t got = 0;
    char buf[4096];
    for (;;) { /* the client reads now; the server sends the rest, then closes */
        test_tick(loop);
        ssize_t n = net_recv(c, buf, sizeof buf);
        if (n == -EAGAIN)
            continue;
        cr_assert_geq(n, 0, "no reset: the close is orderly (%zd)", n);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    cr_assert_eq(got, sent, "the client got all %zu bytes back before the end-of-file (%zu)", sent,
                 got);
    test_run_until(loop, drained, &sc, "on_drained");
    cr_assert_eq(server.drained, 1, "the connection drained");
    cr_assert_eq(server.cut, 0, "nothing was cut");
    close(c);
    echo_server_close(&server);

    /* Now a client that never reads: the deadline cuts it. */
    sc = (struct drain_scene){.server = &server};
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, &config), 0, "open again");
    c = test_connect(server.port);
    test_set_buffer(c, SO_RCVBUF, 4096);
    fill_until_held(loop, &server, c);
    cr_assert_eq(echo_server_shutdown(&server, 50000000), 0, "shutdown with a 50 ms deadline");
    test_run_until(loop, drained, &sc, "the deadline");
    cr_assert_eq(server.cut, 1, "the connection that never read was cut at the deadline");
    cr_assert_eq(server.open_connections, 0, "nothing is left open");
    close(c);
    echo_server_close(&server);
    loop_free(loop);
}

/* ---- --max-conns, and select's limit -------------------------------------------------------- */

/* A new client pings until it is served (closes still on their way may refuse it first). */
static bool served_soon(uint16_t port) {
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = test_connect(port);
        char buf[4];
        size_t got = 0;
        bool ok = send(fd, "ping", 4, MSG_NOSIGNAL) == 4;
        while (ok && got < 4) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            ssize_t n = poll(&p, 1, 10000) == 1 ? recv(fd, buf + got, 4 - got, 0) : -1;
            ok = n > 0;
            got += ok ? (size_t)n : 0;
        }
        close(fd);
        if (ok && memcmp(buf, "ping", 4) == 0)
            return true;
        poll(NULL, 0, 20);
    }
    return false;
}

Test(echo_server, max_conns_refuses_and_recovers, .timeout = 120,
     .description = "Q: Does `--serve --max-conns 3` turn the 4th and 5th clients away with a "
                    "logged reason, and serve again once others leave?") {
    struct echo_serve_args args = {.backend = &backend_poll, .max_conns = 3, .drain_ms = 100};
    struct test_echo_child server;
    test_echo_child_start(&server, args, 0, true);
    cr_assert(strstr(server.out, "at most 3 connections") ||
                  test_echo_child_wait_for(&server, false, "at most 3 connections", 30000),
              "it says its cap: %s", server.out);
    int c[5];
    for (int i = 0; i < 5; i++)
        c[i] = test_connect(server.port);
    cr_assert(test_echo_child_wait_for(&server, true,
                                       "refused a connection: the server holds its maximum of 3 "
                                       "connections",
                                       30000),
              "the refusal is logged with its reason: %s", server.err);
    for (int i = 3; i < 5; i++) {
        char b;
        struct pollfd p = {.fd = c[i], .events = POLLIN};
        cr_assert(poll(&p, 1, 30000) == 1 && recv(c[i], &b, 1, 0) <= 0,
                  "client %d is closed at once, not left waiting", i + 1);
    }
    for (int i = 0; i < 5; i++)
        close(c[i]);
    cr_assert(served_soon(server.port), "once the first three left, a new client is served");
    int status = test_echo_child_stop(&server, SIGTERM, NULL);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "it exits 0 on SIGTERM (%d)", status);
    cr_assert(strstr(server.out, "stopped by SIGTERM: served"), "with its summary: %s", server.out);
}

static bool refused(void *ctx) {
    return ((struct echo_server *)ctx)->refused > 0;
}

Test(echo_server, select_says_why_it_refuses, .timeout = 120,
     .description = "Q: On select, is a connection whose fd is past FD_SETSIZE refused with one "
                    "sentence that names the fix?") {
    need_fds(FD_SETSIZE + 64);
    struct loop *loop = test_loop_new(&backend_select);
    char *log_text = NULL;
    size_t log_size = 0;
    FILE *log = open_memstream(&log_text, &log_size);
    struct echo_config config = {.log = log};
    struct echo_server server;
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, &config), 0, "open");
    /* Fill every fd below FD_SETSIZE, so the next accept gets one select cannot watch. */
    int filler[FD_SETSIZE];
    int fillers = 0, fd;
    while ((fd = open("/dev/null", O_RDONLY)) >= 0 && fd < FD_SETSIZE - 1)
        filler[fillers++] = fd;
    cr_assert_geq(fd, 0, "fds up to FD_SETSIZE can be opened");
    filler[fillers++] = fd;
    close(filler[--fillers]); /* one free below the limit: the client's socket takes it */
    int c = test_connect(server.port);
    test_run_until(loop, refused, &server, "the refusal");
    fflush(log);
    cr_assert(strstr(log_text, "refused a connection: ") && strstr(log_text, "FD_SETSIZE") &&
                  strstr(log_text, "poll"),
              "the log says select's limit and the fix: %s", log_text);
    char b;
    struct pollfd p = {.fd = c, .events = POLLIN};
    cr_assert(poll(&p, 1, 5000) == 1 && recv(c, &b, 1, 0) <= 0, "the client is closed at once");
    close(c);
    for (int i = 0; i < fillers; i++)
        close(filler[i]);
    echo_server_close(&server);
    fclose(log);
    free(log_text);
    loop_free(loop);
}

/* ---- asyncio side by side -------------------------------------------------------------------- */

Test(echo_server, asyncio_twin_agrees, .timeout = 120,
     .description = "Q: Does asyncio.start_server, with the same idle timeout and graceful stop, "
                    "print the same lines as the demo's --trace?") {
    struct test_twin_output *c, *py;
    test_twin_pair("12-echo-server", &c, &py);
    test_twin_assert_same(c, py);
    free(c);
    free(py);
}

/* ---- turning the idle timeout on later ------------------------------------------------------- */

Test(echo_server, idle_timeout_set_later, .timeout = 60,
     .description = "Q: does an idle timeout switched on while connections are open count their "
                    "silence from that moment?") {
    struct loop_clock clock;
    struct loop_config lc = {.backend = &backend_poll};
    struct loop *loop = test_virtual_loop(&clock, &lc);
    struct echo_server server;
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, NULL), 0, "open, no timeout");
    struct idle_scene sc = {.server = &server, .want_open = 1, .fd = test_connect(server.port)};
    tick_until(loop, all_accepted, &sc, "the client accepted");
    cr_assert_eq(echo_server_set_idle_timeout(&server, -1), -EINVAL, "a negative one is -EINVAL");
    cr_assert_eq(loop_clock_advance(&clock, 5000000000), 0, "5 s pass: no timeout, nothing closes");
    cr_assert_eq(echo_server_set_idle_timeout(&server, 100000000), 0, "100 ms from now on");
    tick_until(loop, none_open, &sc, "the timeout");
    cr_assert_eq(loop_now(loop), 5100000000,
                 "closed 100 ms after it was switched on, not at once "
                 "for the 5 s before (%lld ns)",
                 (long long)loop_now(loop));
    cr_assert_eq(server.closed_idle, 1, "and counted");
    close(sc.fd);
    echo_server_close(&server);
    loop_free(loop);
}
