/* 03_poll_backend_test.c — lesson 03 (poll-backend): what changes when select is swapped for
 * poll, and what must not? The same seeded script of connects, writes, half-closes and resets
 * gives the same observable result on both backends; poll watches fd 1500, which select refuses;
 * and the echo server's buffer stays bounded while a client that stops reading pushes 1 MiB
 * through it. Clients are non-blocking sockets driven by the same loop; every wait is bounded. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/net/echo.h"
#include "loop/loop.h"
#include "loop/net/net.h"
#include "loop/net/stream.h"
#include "tests/support/net_client.h"
#include "tests/support/random.h"

TestSuite(poll_backend, .description = "What changes when select is swapped for poll — and what "
                                       "must not?");

/* ---- the same script on both backends -------------------------------------------------------- */

enum { SCRIPT_STEPS = 400, SCRIPT_CLIENTS = 40, SCRIPT_MAX_WRITE = 3000, SCRIPT_SEED = 20240311 };

static unsigned char script_byte(int id, size_t i) {
    return (unsigned char)(id * 37 + i * 11 + (i >> 7));
}

/* What a client observed: this is what must be the same on both backends. */
struct outcome {
    size_t sent, got;
    bool half_closed, reset, eof;
};

struct sclient {
    struct loop_watcher watcher;
    struct loop *loop;
    int fd, id;
    struct outcome seen;
};

struct script_run {
    struct loop *loop;
    struct echo_server server;
    struct sclient clients[SCRIPT_CLIENTS];
    int count;
};

static bool client_live(const struct sclient *c) {
    return !c->seen.reset && !c->seen.eof;
}

static void sclient_readable(struct loop_watcher *w, unsigned ready) {
    struct sclient *c = w->arg;
    unsigned char buf[4096];
    (void)ready;
    ssize_t n = net_recv(c->fd, buf, sizeof buf);
    if (n == -EAGAIN)
        return;
    cr_assert_geq(n, 0, "client %d reads without error (%zd)", c->id, n);
    if (n == 0) {
        c->seen.eof = true; /* the server closed: after a half-close, once all was echoed */
        loop_unwatch(c->loop, w);
        close(c->fd);
        return;
    }
    for (ssize_t i = 0; i < n; i++)
        cr_assert_eq(buf[i], script_byte(c->id, c->seen.got + (size_t)i),
                     "client %d byte %zu is its own, in order", c->id, c->seen.got + (size_t)i);
    c->seen.got += (size_t)n;
}

/* Settled: every live client has all its echo, every half-closed one has seen end-of-file, and
 * the server holds exactly the connections still open at the other end. */
static bool script_settled(void *ctx) {
    struct script_run *run = ctx;
    size_t expected_open = 0;
    for (int i = 0; i < run->count; i++) {
        const struct sclient *c = &run->clients[i];
        if (!client_live(c))
            continue;
        if (c->seen.got != c->seen.sent || c->seen.half_closed)
            return false; /* a half-closed client is settled once it has seen end-of-file */
        expected_open++;
    }
    return run->server.open_connections == expected_open;
}

/* A live client chosen at random (half-closed ones only if allow_half_closed), or NULL. */
static struct sclient *pick(struct script_run *run, uint64_t *rng, bool allow_half_closed) {
    struct sclient *eligible[SCRIPT_CLIENTS];
    int n = 0;
    for (int i = 0; i < run->count; i++)
        if (client_live(&run->clients[i]) &&
            (allow_half_closed || !run->clients[i].seen.half_closed))
            eligible[n++] = &run->clients[i];
    return n ? eligible[test_random(rng) % (uint32_t)n] : NULL;
}

static void script_connect(struct script_run *run) {
    struct sclient *c = &run->clients[run->count];
    *c = (struct sclient){.loop = run->loop, .id = run->count};
    c->fd = test_connect(run->server.port);
    loop_watcher_init(&c->watcher, "script client");
    cr_assert_eq(loop_watch_fd(run->loop, &c->watcher, c->fd, LOOP_READABLE, sclient_readable, c),
                 0, "client %d is watched", c->id);
    run->count++;
}

static void script_write(struct sclient *c, size_t len) {
    unsigned char buf[SCRIPT_MAX_WRITE];
    for (size_t i = 0; i < len; i++)
        buf[i] = script_byte(c->id, c->seen.sent + i);
    cr_assert_eq(net_send(c->fd, buf, len), (ssize_t)len, "client %d writes %zu bytes", c->id, len);
    c->seen.sent += len;
}

static void script_reset(struct script_run *run, struct sclient *c) {
    cr_assert_eq(net_set_reset_on_close(c->fd), 0, "SO_LINGER 0");
    loop_unwatch(run->loop, &c->watcher);
    close(c->fd); /* sends RST: the server's next read fails with ECONNRESET */
    c->seen.reset = true;
}

/* Plays the seeded script on one backend and returns what everyone observed. */
static void play_script(const struct backend_ops *backend, struct script_run *run) {
    memset(run, 0, sizeof *run);
    run->loop = test_loop_new(backend);
    cr_assert_eq(echo_server_open(&run->server, run->loop, NET_LOOPBACK, 0, NULL), 0,
                 "the server opens");
    uint64_t rng = SCRIPT_SEED;
    for (int step = 0; step < SCRIPT_STEPS; step++) {
        uint32_t dice = test_random(&rng) % 100;
        struct sclient *c;
        if (dice < 12 && run->count < SCRIPT_CLIENTS)
            script_connect(run);
        else if (dice < 82 && (c = pick(run, &rng, false)) != NULL)
            script_write(c, 1 + test_random(&rng) % SCRIPT_MAX_WRITE);
        else if (dice < 88 && (c = pick(run, &rng, false)) != NULL) {
            cr_assert_eq(shutdown(c->fd, SHUT_WR), 0, "client %d half-closes", c->id);
            c->seen.half_closed = true;
        } else if (dice < 94 && (c = pick(run, &rng, true)) != NULL)
            script_reset(run, c);
        test_run_until(run->loop, script_settled, run, "every client settled after the step");
    }
    for (int i = 0; i < run->count; i++) { /* the survivors leave in order */
        struct sclient *c = &run->clients[i];
        if (client_live(c)) {
            loop_unwatch(run->loop, &c->watcher);
            close(c->fd);
        }
    }
    test_run_until(run->loop, script_settled, run, "the server closing the rest");
    echo_server_close(&run->server);
    loop_free(run->loop);
}

Test(poll_backend, same_script_same_behaviour, .timeout = 120,
     .description = "Q: Do select and poll give the same observable behaviour on the same seeded "
                    "script of connects, writes, half-closes and resets?") {
    static struct script_run on_select, on_poll; /* static: the pools are large */
    play_script(&backend_select, &on_select);
    play_script(&backend_poll, &on_poll);
    cr_assert_eq(on_select.count, on_poll.count, "the same number of clients connected");
    int resets = 0, half_closes = 0;
    for (int i = 0; i < on_poll.count; i++) {
        const struct outcome *s = &on_select.clients[i].seen, *p = &on_poll.clients[i].seen;
        cr_assert(s->sent == p->sent && s->got == p->got && s->half_closed == p->half_closed &&
                      s->reset == p->reset && s->eof == p->eof,
                  "client %d saw the same on both: sent %zu/%zu, got %zu/%zu, eof %d/%d", i,
                  s->sent, p->sent, s->got, p->got, s->eof, p->eof);
        if (!p->reset)
            cr_assert_eq(p->got, p->sent,
                         "client %d, which did not reset, got exactly its %zu "
                         "bytes back",
                         i, p->sent);
        if (p->half_closed && !p->reset)
            cr_assert(p->eof, "client %d half-closed, got the rest of its echo, then end-of-file",
                      i);
        resets += p->reset;
        half_closes += p->half_closed;
    }
    cr_assert(resets > 0 && half_closes > 0,
              "the script exercised resets (%d) and half-closes (%d)", resets, half_closes);
    cr_assert_eq(on_select.server.bytes_echoed, on_poll.server.bytes_echoed,
                 "both servers echoed the same %llu bytes",
                 (unsigned long long)on_poll.server.bytes_echoed);
    cr_assert_eq(on_select.server.accepted, on_poll.server.accepted, "and accepted the same count");
}

/* ---- fd 1500 --------------------------------------------------------------------------------- */

struct high_client {
    struct loop_watcher watcher;
    char got[32];
    size_t len;
};

static void high_readable(struct loop_watcher *w, unsigned ready) {
    struct high_client *h = w->arg;
    (void)ready;
    ssize_t n = net_recv(w->fd, h->got + h->len, sizeof h->got - 1 - h->len);
    if (n > 0)
        h->len += (size_t)n;
}

static bool high_has_echo(void *ctx) {
    return ((struct high_client *)ctx)->len >= 12;
}

static bool closed_all(void *ctx) {
    return ((struct echo_server *)ctx)->open_connections == 0;
}

Test(poll_backend, poll_watches_fd_1500, .timeout = 120,
     .description = "Q: Can poll watch an fd above select's FD_SETSIZE, such as 1500?") {
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur <= 1500) {
        if (lim.rlim_max <= 1500)
            cr_skip_test("the hard fd limit (%llu) is below 1501: raise `ulimit -n`",
                         (unsigned long long)lim.rlim_max);
        lim.rlim_cur = 1600;
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &lim), 0, "RLIMIT_NOFILE raised to 1600");
    }
    struct loop *loop = test_loop_new(&backend_poll);
    struct echo_server server;
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, NULL), 0, "open");
    int fd = test_connect(server.port);
    if (dup2(fd, 1500) != 1500)
        cr_skip_test("fd 1500 is out of reach here (%s); run with `ulimit -n 4096`",
                     strerror(errno));
    close(fd);
    struct high_client h = {.len = 0};
    loop_watcher_init(&h.watcher, "client on fd 1500");
    cr_assert_eq(loop_watch_fd(loop, &h.watcher, 1500, LOOP_READABLE, high_readable, &h), 0,
                 "poll watches fd 1500 (%s)", loop_last_error(loop));
    cr_assert_eq(net_send(1500, "over fd 1500", 12), 12, "the client sends from fd 1500");
    test_run_until(loop, high_has_echo, &h, "the echo on fd 1500");
    cr_assert(memcmp(h.got, "over fd 1500", 12) == 0, "the echo arrives on fd 1500");

    struct loop *sel = test_loop_new(&backend_select);
    struct loop_watcher w;
    loop_watcher_init(&w, "refused");
    cr_assert_eq(loop_watch_fd(sel, &w, 1500, LOOP_READABLE, high_readable, &h), -ERANGE,
                 "while select refuses the very same fd with -ERANGE");
    loop_free(sel);

    loop_unwatch(loop, &h.watcher);
    close(1500);
    test_run_until(loop, closed_all, &server, "the server closing the connection");
    echo_server_close(&server);
    loop_free(loop);
}

/* ---- backpressure, 1 MiB --------------------------------------------------------------------- */

enum { MIB = 1024 * 1024, SMALL_BUFFER = 8192 };

static unsigned char flood_byte(size_t i) {
    return (unsigned char)(i * 7 + (i >> 10));
}

struct flood {
    struct echo_server *server;
    size_t sent;
};

/* The server has done what it can: it paused (backpressure), or it has read everything sent. */
static bool server_settled(void *ctx) {
    struct flood *f = ctx;
    struct stream *s = echo_server_stream(f->server, 0);
    return s && (s->paused || s->bytes_read == f->sent);
}

Test(poll_backend, backpressure_bounded, .timeout = 120,
     .description = "Q: When a client writes until EAGAIN without reading, does the server's "
                    "buffer for it stay at or under the high-water mark, all the way to 1 MiB?") {
    struct loop *loop = test_loop_new(&backend_poll);
    struct echo_server server;
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, NULL), 0, "open");
    /* Small kernel buffers on both sides, so the bound is reached within a few KiB instead of
     * the megabytes loopback sockets would otherwise absorb. */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    test_set_buffer(c, SO_RCVBUF, SMALL_BUFFER);
    test_set_buffer(c, SO_SNDBUF, SMALL_BUFFER);
    cr_assert_eq(net_set_nonblocking(c), 0, "non-blocking client");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(server.port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(c, (struct sockaddr *)&addr, sizeof addr);
    test_finish_connect(c, rc);
    struct flood f = {&server, 0};
    while (!echo_server_stream(&server, 0))
        test_tick(loop);
    struct stream *s = echo_server_stream(&server, 0);
    test_set_buffer(s->fd, SO_SNDBUF, SMALL_BUFFER);

    unsigned char buf[4096];
    size_t received = 0, max_buffered = 0;
    for (int round = 0; received < MIB; round++) {
        cr_assert_lt(round, 100000, "the echo keeps moving");
        while (f.sent < MIB) { /* write until the socket says EAGAIN */
            size_t n = MIB - f.sent < sizeof buf ? MIB - f.sent : sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = flood_byte(f.sent + i);
            ssize_t w = net_send(c, buf, n);
            if (w == -EAGAIN)
                break;
            cr_assert_gt(w, 0, "the client writes (%zd)", w);
            f.sent += (size_t)w;
        }
        test_tick(loop);
        test_run_until(loop, server_settled, &f, "the server paused or caught up");
        size_t buffered = echo_server_buffered(&server, 0);
        cr_assert_leq(buffered, STREAM_HIGH_WATER,
                      "round %d: the server holds %zu bytes for "
                      "the client, at or under the high-water mark (%d)",
                      round, buffered, STREAM_HIGH_WATER);
        if (buffered > max_buffered)
            max_buffered = buffered;
        for (;;) { /* now read what came back, until EAGAIN */
            ssize_t n = net_recv(c, buf, sizeof buf);
            if (n == -EAGAIN)
                break;
            cr_assert_gt(n, 0, "the client reads its echo (%zd)", n);
            for (ssize_t i = 0; i < n; i++)
                cr_assert_eq(buf[i], flood_byte(received + (size_t)i), "byte %zu comes back intact",
                             received + (size_t)i);
            received += (size_t)n;
        }
    }
    cr_assert_eq(received, (size_t)MIB, "1 MiB round-tripped intact");
    cr_assert_geq(s->pauses, 1, "the server paused reading %u time(s): that is the backpressure",
                  s->pauses);
    cr_assert_leq(s->peak_buffered, STREAM_HIGH_WATER,
                  "its buffer never held more than the "
                  "high-water mark (peak %zu), however much the client pushed",
                  s->peak_buffered);
    cr_assert_gt(max_buffered, 0, "and it did hold bytes the client had not read yet");
    close(c);
    test_run_until(loop, closed_all, &server, "the server closing the connection");
    echo_server_close(&server);
    loop_free(loop);
}
