/* stream_test.c — the library's own tests of the buffered connection (loop/net/stream.*) and the
 * reference echo server (loop/net/echo.*, with the demos' command line), both introduced in
 * lesson 02:
 * partial writes, the ring's bound, backpressure, half-close, resets, orderly and immediate close,
 * and every misuse. The peer is a plain socket the test drives between the loop's ticks; every
 * wait is bounded. */
#include <criterion/criterion.h>

#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/net/echo.h"
#include "loop/loop.h"
#include "loop/net/net.h"
#include "loop/signal.h"
#include "loop/net/stream.h"
#include "tests/support/net_client.h"
#include "tests/support/tasks.h"

TestSuite(stream, .description = "Does the buffered connection keep every byte, bound its buffer "
                                 "and close in order?");
TestSuite(echo, .description = "Does the reference echo server serve, cap and close its "
                               "connections?");

/* ---- the peer's end, and what it sends ---------------------------------------------------- */

static void make_socketpair(int sp[2]) {
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0, "socketpair: %s", strerror(errno));
    cr_assert_eq(net_set_nonblocking(sp[1]), 0, "the peer's end is non-blocking");
}

/* The byte at position i of a test stream: a pattern that catches reordering and loss. */
static unsigned char pattern(size_t i) {
    return (unsigned char)((i * 131u + (i >> 9)) & 0xff);
}

/* ---- an owner that records what its stream does ------------------------------------------- */

struct owner {
    struct stream s;
    bool echo;  /* write back what arrives */
    size_t got; /* bytes on_data delivered */
    int closes, close_error;
    bool in_call; /* the test is inside a stream_* call: on_close must not run now */
    bool closed_in_call;
};

static void owner_data(struct stream *s, const char *data, size_t len) {
    struct owner *o = s->arg;
    o->got += len;
    if (o->echo)
        cr_assert_eq(stream_write(s, data, len), 0, "an echo always fits under the high mark");
}

static void owner_close(struct stream *s, int error) {
    struct owner *o = s->arg;
    o->closes++;
    o->close_error = error;
    if (o->in_call)
        o->closed_in_call = true;
}

static void owner_open(struct owner *o, struct loop *loop, int fd, bool echo) {
    memset(o, 0, sizeof *o);
    o->echo = echo;
    int rc = stream_open(&o->s, loop, fd, "test stream", owner_data, owner_close, o);
    cr_assert_eq(rc, 0, "stream_open succeeds (got %d)", rc);
}

static bool owner_closed(void *ctx) {
    return ((struct owner *)ctx)->closes > 0;
}

/* The setup most tests share: a loop, a socketpair, and the owner's stream on sp[0]. A small
 * send buffer (sndbuf > 0) makes the kernel push back early, so partial writes show up. */
static struct loop *open_owned_pair(struct owner *o, int sp[2], bool echo, int sndbuf) {
    struct loop *loop = test_loop_new(NULL);
    make_socketpair(sp);
    if (sndbuf > 0)
        test_set_buffer(sp[0], SO_SNDBUF, sndbuf);
    owner_open(o, loop, sp[0], echo);
    return loop;
}

/* The peer's side: reads what is there, checking the pattern from *offset on. -1 at EOF. */
static ssize_t peer_read(int fd, size_t *offset) {
    unsigned char buf[8192];
    ssize_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0)
            return total ? total : -1;
        if (n < 0) {
            cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "peer read: %s", strerror(errno));
            return total;
        }
        for (ssize_t i = 0; i < n; i++)
            cr_assert_eq(buf[i], pattern(*offset + (size_t)i),
                         "byte %zu comes back intact and in order", *offset + (size_t)i);
        *offset += (size_t)n;
        total += n;
    }
}

/* Writes pattern bytes [*offset, limit) until the kernel says EAGAIN. */
static void peer_write(int fd, size_t *offset, size_t limit) {
    unsigned char buf[4096];
    while (*offset < limit) {
        size_t n = limit - *offset < sizeof buf ? limit - *offset : sizeof buf;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(*offset + i);
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0) {
            cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "peer write: %s", strerror(errno));
            return;
        }
        *offset += (size_t)w;
    }
}

/* Fills the stream's ring through stream_write until it refuses with -ENOBUFS. */
static size_t fill_ring(struct owner *o, size_t *offset) {
    unsigned char buf[1000];
    for (;;) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = pattern(*offset + i);
        int rc = stream_write(&o->s, buf, sizeof buf);
        if (rc == -ENOBUFS)
            return stream_buffered(&o->s);
        cr_assert_eq(rc, 0, "stream_write takes the bytes (got %d)", rc);
        *offset += sizeof buf;
    }
}

/* ---- writing ------------------------------------------------------------------------------- */

Test(stream, partial_write_kept, .timeout = 120,
     .description = "Q: When the kernel takes only part of a write, is the rest kept and sent "
                    "later, in order?") {
    int sp[2];
    struct owner o;
    struct loop *loop = open_owned_pair(&o, sp, false, 4096);
    size_t written = 0, received = 0;
    size_t held = fill_ring(&o, &written);
    cr_assert_gt(held, 0, "a peer that does not read leaves bytes in the ring");
    cr_assert_leq(held, STREAM_BUFFER_SIZE, "the ring never holds more than its size");
    cr_assert(o.s.watcher.interest & LOOP_WRITABLE, "bytes wait, so it watches for writability");
    while (received < written) {
        peer_read(sp[1], &received);
        test_tick(loop);
    }
    cr_assert_eq(received, written, "every byte arrives: %zu of %zu", received, written);
    cr_assert_eq(stream_buffered(&o.s), 0, "the ring is empty once the peer read everything");
    cr_assert_eq(o.s.watcher.interest, LOOP_READABLE,
                 "with nothing waiting it stops watching for writability (else every tick wakes)");
    stream_close_now(&o.s);
    close(sp[1]);
    loop_free(loop);
}

Test(stream, full_ring_takes_nothing,
     .description = "Q: What does a write that does not fit in the ring do?") {
    int sp[2];
    struct owner o;
    struct loop *loop = open_owned_pair(&o, sp, false, 4096);
    size_t written = 0;
    size_t held = fill_ring(&o, &written);
    char big[STREAM_BUFFER_SIZE] = {0};
    cr_assert_eq(stream_write(&o.s, big, STREAM_BUFFER_SIZE - held + 1), -ENOBUFS,
                 "a write that does not fit is refused with -ENOBUFS");
    cr_assert_eq(stream_buffered(&o.s), held, "and nothing of it was taken: all or nothing");
    cr_assert_eq(stream_write(&o.s, big, STREAM_BUFFER_SIZE - held), 0,
                 "a write that fits exactly is taken");
    cr_assert_eq(stream_buffered(&o.s), STREAM_BUFFER_SIZE, "the ring is now exactly full");
    stream_close_now(&o.s);
    close(sp[1]);
    loop_free(loop);
}

/* ---- backpressure ---------------------------------------------------------------------------- */

struct pressure {
    struct owner *o;
    size_t sent;
};

static bool settled(void *ctx) {
    struct pressure *p = ctx;
    return p->o->s.paused || p->o->s.bytes_read == p->sent;
}

Test(stream, backpressure_bounds_the_ring, .timeout = 120,
     .description = "Q: Does a peer that writes without reading make the stream stop reading at "
                    "the high-water mark, and resume once drained?") {
    int sp[2];
    struct owner o;
    struct loop *loop = open_owned_pair(&o, sp, true, 4096);
    const size_t total = 256 * 1024;
    struct pressure p = {&o, 0};
    size_t received = 0;
    bool saw_pause = false;
    for (int round = 0; received < total; round++) {
        cr_assert_lt(round, 10000, "the echo keeps moving");
        peer_write(sp[1], &p.sent, total);
        test_tick(loop); /* at least one: the last round's pause ends only when the loop runs */
        test_run_until(loop, settled, &p, "paused, or everything sent so far read");
        if (o.s.paused) {
            saw_pause = true;
            cr_assert_eq(o.s.watcher.interest, LOOP_WRITABLE,
                         "paused: it watches only writability");
        }
        cr_assert_leq(stream_buffered(&o.s), o.s.high_water, "the ring stays under the mark");
        peer_read(sp[1], &received);
    }
    cr_assert(saw_pause, "a peer that does not read made the stream pause");
    cr_assert_geq(o.s.pauses, 1, "the stream counted its pauses (%u)", o.s.pauses);
    cr_assert_leq(o.s.peak_buffered, STREAM_HIGH_WATER,
                  "the most it ever held (%zu) is at or under the high-water mark",
                  o.s.peak_buffered);
    cr_assert_eq(received, total, "after resuming, all %zu bytes came back intact", total);
    stream_close_now(&o.s);
    close(sp[1]);
    loop_free(loop);
}

/* ---- ending ---------------------------------------------------------------------------------- */

Test(stream, half_close_gets_the_rest, .timeout = 120,
     .description = "Q: Does a peer that half-closes still get all of its echo before the "
                    "connection closes?") {
    int sp[2];
    struct owner o;
    struct loop *loop = open_owned_pair(&o, sp, true, 4096);
    const size_t total = 40000;
    size_t sent = 0, received = 0;
    bool shut = false, eof = false;
    for (int round = 0; !eof; round++) {
        cr_assert_lt(round, 100000, "the echo keeps moving");
        peer_write(sp[1], &sent, total);
        if (sent == total && !shut) {
            cr_assert_eq(shutdown(sp[1], SHUT_WR), 0, "the peer half-closes");
            shut = true;
        }
        test_tick(loop);
        eof = peer_read(sp[1], &received) < 0;
    }
    cr_assert_eq(received, total, "the peer got every byte (%zu) before end-of-file", received);
    test_run_until(loop, owner_closed, &o, "on_close");
    cr_assert_eq(o.closes, 1, "on_close ran once");
    cr_assert_eq(o.close_error, 0, "a half-close is an orderly end: error 0");
    cr_assert_eq(loop_watch_count(loop), 0, "the closed stream watches nothing");
    close(sp[1]);
    loop_free(loop);
}

Test(stream, close_flushes_first, .timeout = 120,
     .description = "Q: Does stream_close send what is buffered before closing, and report the "
                    "close from the loop?") {
    int sp[2];
    struct owner o;
    struct loop *loop = open_owned_pair(&o, sp, false, 4096);
    size_t written = 0, received = 0;
    fill_ring(&o, &written);
    o.in_call = true;
    cr_assert_eq(stream_close(&o.s), 0, "stream_close accepts");
    o.in_call = false;
    cr_assert_eq(stream_close(&o.s), -EALREADY, "a second stream_close says -EALREADY");
    cr_assert_eq(stream_write(&o.s, "x", 1), -EPIPE, "writing after stream_close is -EPIPE");
    bool eof = false;
    for (int round = 0; !eof; round++) {
        cr_assert_lt(round, 100000, "the flush keeps moving");
        test_tick(loop);
        eof = peer_read(sp[1], &received) < 0;
    }
    cr_assert_eq(received, written, "every buffered byte (%zu) arrived before end-of-file",
                 written);
    test_run_until(loop, owner_closed, &o, "on_close");
    cr_assert_not(o.closed_in_call, "on_close did not run inside stream_close");
    cr_assert_eq(o.close_error, 0, "an orderly close reports error 0");
    close(sp[1]);
    loop_free(loop);
}

Test(stream, close_now_is_silent,
     .description = "Q: Does stream_close_now close at once, drop the buffer, and skip on_close?") {
    int sp[2];
    struct owner o;
    struct loop *loop = open_owned_pair(&o, sp, false, 0);
    cr_assert_eq(stream_close_now(&o.s), 0, "the first stream_close_now closes");
    cr_assert_eq(stream_close_now(&o.s), -EALREADY, "the second has nothing left to do");
    cr_assert_not(stream_is_open(&o.s), "the stream is closed");
    char c;
    cr_assert_eq(read(sp[1], &c, 1), 0, "the peer sees end-of-file at once");
    test_tick(loop);
    cr_assert_eq(o.closes, 0, "on_close is not called: the caller asked, the caller knows");
    cr_assert_eq(loop_watch_count(loop), 0, "nothing stays watched");
    close(sp[1]);
    loop_free(loop);
}

Test(stream, dead_peer_reported_from_the_loop,
     .description = "Q: Does writing to a vanished peer return -EPIPE without SIGPIPE, and is "
                    "on_close(-EPIPE) delivered later from the loop?") {
    signal(SIGPIPE, SIG_DFL); /* the default would kill this test if a SIGPIPE were raised */
    int sp[2];
    struct owner o;
    struct loop *loop = open_owned_pair(&o, sp, false, 0);
    close(sp[1]);
    o.in_call = true;
    int rc = stream_write(&o.s, "hello", 5);
    o.in_call = false;
    cr_assert_eq(rc, -EPIPE, "the write reports -EPIPE (got %d), and the process lives", rc);
    cr_assert_eq(o.closes, 0, "on_close is not called inside stream_write");
    test_run_until(loop, owner_closed, &o, "on_close");
    cr_assert_eq(o.close_error, -EPIPE, "on_close reports why: -EPIPE");
    loop_free(loop);
}

/* Two TCP connections through real sockets, for a real RST. */
struct tcp_pair {
    int client, server;
};

static struct tcp_pair tcp_connect(int listen_fd, uint16_t port, int client_rcvbuf) {
    struct tcp_pair p;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0, "socket");
    if (client_rcvbuf)
        test_set_buffer(fd, SO_RCVBUF, client_rcvbuf); /* before connect: it sets the TCP window */
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0,
                 "a blocking connect to "
                 "127.0.0.1 completes through the backlog: %s",
                 strerror(errno));
    cr_assert_eq(net_set_nonblocking(fd), 0, "the client is non-blocking");
    p.client = fd;
    int rc = -EAGAIN;
    for (int i = 0; i < 1000 && rc == -EAGAIN; i++)
        rc = net_accept(listen_fd, &p.server);
    cr_assert_eq(rc, 0, "the connection is accepted (got %d)", rc);
    return p;
}

Test(stream, reset_mid_write_ends_only_that_stream, .timeout = 120,
     .description = "Q: When a peer resets while its stream still holds bytes for it, does only "
                    "that stream close, with the reset's error?") {
    struct loop *loop = test_loop_new(NULL);
    int lfd;
    uint16_t port;
    cr_assert_eq(net_listen_tcp(NET_LOOPBACK, 0, 8, &lfd, &port), 0, "listen");
    struct tcp_pair a = tcp_connect(lfd, port, 4096), b = tcp_connect(lfd, port, 0);
    test_set_buffer(a.server, SO_SNDBUF, 4096);
    struct owner oa, ob;
    owner_open(&oa, loop, a.server, true);
    owner_open(&ob, loop, b.server, true);
    size_t sent = 0;
    for (int round = 0; stream_buffered(&oa.s) == 0; round++) {
        cr_assert_lt(round, 10000, "A's stream ends up holding bytes A does not read");
        peer_write(a.client, &sent, sent + 4096);
        test_tick(loop);
    }
    cr_assert_eq(net_set_reset_on_close(a.client), 0, "SO_LINGER 0");
    close(a.client); /* RST: A vanishes with its echo half-delivered */
    test_run_until(loop, owner_closed, &oa, "A's on_close");
    cr_assert(oa.close_error == -ECONNRESET || oa.close_error == -EPIPE,
              "A's stream closed with the reset's error (got %d)", oa.close_error);
    cr_assert(stream_is_open(&ob.s), "B's stream is untouched");
    cr_assert_eq(send(b.client, "ping", 4, MSG_NOSIGNAL), 4, "B writes");
    char buf[8];
    ssize_t n = 0;
    for (int round = 0; n <= 0; round++) {
        cr_assert_lt(round, 500, "B's echo arrives");
        test_tick(loop);
        n = recv(b.client, buf, sizeof buf, 0);
    }
    cr_assert(n == 4 && memcmp(buf, "ping", 4) == 0, "B still gets its echo after A's reset");
    cr_assert_eq(ob.closes, 0, "B's stream never closed");
    stream_close_now(&ob.s);
    close(b.client);
    close(lfd);
    loop_free(loop);
}

Test(stream, fd_closed_behind_its_back,
     .description = "Q: Under poll, what happens to a stream whose fd someone else closed?") {
    struct loop *loop = test_loop_new(&backend_poll);
    int sp[2];
    make_socketpair(sp);
    struct owner o;
    owner_open(&o, loop, sp[0], false);
    close(sp[0]); /* misuse: the stream still thinks it owns the fd */
    test_run_until(loop, owner_closed, &o, "on_close");
    cr_assert_eq(o.close_error, -EBADF, "poll reports the fd invalid: on_close(-EBADF), no spin");
    cr_assert_eq(loop_watch_count(loop), 0, "the dead fd is no longer watched");
    close(sp[1]);
    loop_free(loop);
}

/* Every peer hangs up at once while the allocator refuses everything: all the streams end in
 * one tick, each from inside its watcher's callback, where -ENOMEM would have nobody to go to. */
static void closes_under_refusal(const struct policy_ops *policy) {
    enum { CROWD = 40 }; /* more than the heap policies' first 16 places */
    struct test_alloc alloc;
    test_alloc_init(&alloc, 0);
    struct loop *loop = NULL;
    cr_assert_eq(loop_new(&loop, &(struct loop_config){.backend = &backend_poll,
                                                       .policy = policy,
                                                       .alloc = &alloc.base}),
                 0, "%s: the loop is made", policy->name);
    static struct owner crowd[CROWD];
    int peers[CROWD];
    for (int i = 0; i < CROWD; i++) {
        int sp[2];
        make_socketpair(sp);
        owner_open(&crowd[i], loop, sp[0], false);
        peers[i] = sp[1];
    }
    alloc.refuse = true; /* from here on, every request for memory fails */
    for (int i = 0; i < CROWD; i++)
        close(peers[i]);
    int closes = 0;
    for (int tick = 0; tick < 10 && closes < CROWD; tick++) {
        cr_assert_eq(loop_run_once(loop), 0, "%s: a tick succeeds (%s)", policy->name,
                     loop_last_error(loop));
        closes = 0;
        for (int i = 0; i < CROWD; i++)
            closes += crowd[i].closes;
    }
    cr_assert_eq(closes, CROWD,
                 "%s: every stream's on_close is delivered, none lost to the refusing allocator "
                 "(%d of %d)",
                 policy->name, closes, CROWD);
    for (int i = 0; i < CROWD; i++)
        cr_assert_eq(crowd[i].close_error, 0, "%s: each is an orderly end", policy->name);
    cr_assert_eq(loop_ready_count(loop), 0u, "%s: nothing is left queued", policy->name);
    loop_free(loop);
}

Test(stream, close_never_lost_to_a_refusing_allocator, .timeout = 60,
     .description = "Q: If the allocator refuses once the streams are open, is every on_close "
                    "still delivered, under each of the seven policies?") {
    for (size_t i = 0; policy_by_index(i); i++)
        closes_under_refusal(policy_by_index(i));
}

/* ---- misuse ---------------------------------------------------------------------------------- */

Test(stream, open_refuses_bad_arguments,
     .description = "Q: Which arguments does stream_open refuse, and with what?") {
    struct loop *loop = test_loop_new(NULL);
    int sp[2], pp[2];
    make_socketpair(sp);
    cr_assert_eq(pipe(pp), 0, "pipe");
    struct stream s;
    cr_assert_eq(stream_open(NULL, loop, sp[0], "x", owner_data, owner_close, NULL), -EINVAL,
                 "a NULL stream is -EINVAL");
    cr_assert_eq(stream_open(&s, NULL, sp[0], "x", owner_data, owner_close, NULL), -EINVAL,
                 "a NULL loop is -EINVAL");
    cr_assert_eq(stream_open(&s, loop, sp[0], "x", NULL, owner_close, NULL), -EINVAL,
                 "a NULL on_data is -EINVAL: the bytes would have nowhere to go");
    cr_assert_eq(stream_open(&s, loop, sp[0], "x", owner_data, NULL, NULL), -EINVAL,
                 "a NULL on_close is -EINVAL: nobody would learn the connection ended");
    cr_assert_eq(stream_open(&s, loop, -1, "x", owner_data, owner_close, NULL), -EBADF,
                 "a negative fd is -EBADF");
    int closed = dup(sp[0]);
    close(closed);
    cr_assert_eq(stream_open(&s, loop, closed, "x", owner_data, owner_close, NULL), -EBADF,
                 "a closed fd is -EBADF");
    cr_assert_eq(stream_open(&s, loop, pp[0], "x", owner_data, owner_close, NULL), -ENOTSOCK,
                 "a pipe is -ENOTSOCK: a stream is for sockets");
    cr_assert_eq(loop_watch_count(loop), 0, "no refusal left anything watched");
    close(sp[0]);
    close(sp[1]);
    close(pp[0]);
    close(pp[1]);
    loop_free(loop);
}

Test(stream, calls_refuse_bad_arguments,
     .description = "Q: Which calls on a stream are refused, and with what?") {
    int sp[2];
    struct owner o;
    struct loop *loop = open_owned_pair(&o, sp, false, 0);
    cr_assert_eq(stream_write(NULL, "x", 1), -EINVAL, "writing to a NULL stream is -EINVAL");
    cr_assert_eq(stream_write(&o.s, NULL, 1), -EINVAL, "writing from NULL data is -EINVAL");
    cr_assert_eq(stream_write(&o.s, NULL, 0), 0, "an empty write is fine");
    cr_assert_eq(stream_set_watermarks(&o.s, 100, 100), -EINVAL, "low must be under high");
    cr_assert_eq(stream_set_watermarks(&o.s, 0, STREAM_BUFFER_SIZE + 1), -EINVAL,
                 "high may not exceed the ring");
    cr_assert_eq(stream_set_watermarks(&o.s, 10, 100), 0, "sane marks are taken");
    cr_assert_eq(stream_close(NULL), -EALREADY, "closing NULL is -EALREADY, never a crash");
    cr_assert_eq(stream_close_now(NULL), -EALREADY, "so is closing NULL now");
    cr_assert_eq(stream_close_now(&o.s), 0, "close");
    cr_assert_eq(stream_write(&o.s, "x", 1), -EPIPE, "writing to a closed stream is -EPIPE");
    cr_assert_eq(stream_close(&o.s), -EALREADY, "closing a closed stream is -EALREADY");
    close(sp[1]);
    loop_free(loop);
}

Test(stream, dump_tells_the_state, .description = "Q: What does stream_dump show a debugger?") {
    int sp[2];
    struct owner o;
    struct loop *loop = open_owned_pair(&o, sp, false, 4096);
    size_t written = 0;
    size_t held = fill_ring(&o, &written);
    char *text = NULL, expect[64];
    snprintf(expect, sizeof expect, "buffered %zu of %d", held, STREAM_BUFFER_SIZE);
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    stream_dump(&o.s, out);
    fclose(out);
    cr_assert(strstr(text, "test stream") && strstr(text, expect),
              "it names the stream and shows the buffered bytes: %s", text);
    free(text);
    stream_close_now(&o.s);
    close(sp[1]);
    loop_free(loop);
}

/* ---- the echo server ------------------------------------------------------------------------- */

/* Reads up to len bytes the server sent, ticking meanwhile; returns how many arrived. */
static size_t echo_read(struct loop *loop, int fd, char *buf, size_t len, int max_ticks) {
    size_t got = 0;
    for (int i = 0; i < max_ticks && got < len; i++) {
        test_tick(loop);
        ssize_t n = recv(fd, buf + got, len - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    return got;
}

/* n clients connect to the server at port, and each has one byte echoed: n connections open. */
static void connect_and_echo_one_byte(struct loop *loop, uint16_t port, int *c, int n) {
    char buf[4];
    for (int i = 0; i < n; i++) {
        c[i] = test_connect(port);
        cr_assert_eq(send(c[i], "e", 1, MSG_NOSIGNAL), 1, "client writes");
        cr_assert_eq(echo_read(loop, c[i], buf, 1, 500), 1, "client %d is served", i);
    }
}

static bool none_open(void *ctx) {
    return ((struct echo_server *)ctx)->open_connections == 0;
}

static bool refused_one(void *ctx) {
    return ((struct echo_server *)ctx)->refused == 1;
}

Test(echo, max_conns_refuses_then_recovers, .timeout = 120,
     .description = "Q: Beyond max_conns, is a new client refused at once with a log line, and is "
                    "the next one served once a connection closes?") {
    struct loop *loop = test_loop_new(NULL);
    char *log_text = NULL;
    size_t log_size = 0;
    FILE *log = open_memstream(&log_text, &log_size);
    struct echo_config config = {.max_conns = 1, .log = log};
    struct echo_server server;
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, &config), 0, "open");
    int a = test_connect(server.port);
    char buf[8];
    cr_assert_eq(send(a, "aa", 2, MSG_NOSIGNAL), 2, "A writes");
    cr_assert_eq(echo_read(loop, a, buf, 2, 500), 2, "A is served");
    int b = test_connect(server.port);
    test_run_until(loop, refused_one, &server, "B refused");
    cr_assert(server.accepting, "a full server keeps accepting, to refuse politely");
    struct pollfd p = {.fd = b, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 5000), 1, "B hears at once that it was turned away");
    ssize_t n = recv(b, buf, 1, 0);
    cr_assert(n == 0 || (n < 0 && errno == ECONNRESET), "B's connection was closed");
    fflush(log);
    cr_assert(strstr(log_text, "refused a connection: the server holds its maximum of 1"),
              "the refusal is logged with its reason: %s", log_text);
    close(a);
    close(b);
    test_run_until(loop, none_open, &server, "A's connection closed");
    int c = test_connect(server.port);
    cr_assert_eq(send(c, "cc", 2, MSG_NOSIGNAL), 2, "C writes");
    cr_assert_eq(echo_read(loop, c, buf, 2, 500), 2, "once A leaves, C is served");
    cr_assert_eq(server.accepted, 2, "two connections were served in all, one refused");
    echo_server_close(&server);
    close(c);
    fclose(log);
    free(log_text);
    loop_free(loop);
}

static void count_drained(struct echo_server *s) {
    (*(int *)s->config.arg)++;
}

static bool drained_once(void *ctx) {
    return *(int *)ctx > 0;
}

Test(echo, shutdown_drains_under_a_refusing_allocator, .timeout = 120,
     .description = "Q: If the allocator refuses once the clients are served, does a shutdown "
                    "still end every connection and report drained exactly once?") {
    struct test_alloc alloc;
    test_alloc_init(&alloc, 0);
    struct loop *loop = NULL;
    cr_assert_eq(loop_new(&loop, &(struct loop_config){.backend = &backend_poll,
                                                       .policy = &policy_priority,
                                                       .alloc = &alloc.base}),
                 0, "a loop under the priority policy (a heap: it allocates)");
    int drained = 0;
    struct echo_config config = {.on_drained = count_drained, .arg = &drained};
    struct echo_server server;
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, &config), 0, "open");
    int c[3];
    connect_and_echo_one_byte(loop, server.port, c, 3);
    alloc.refuse = true; /* from here on, every request for memory fails */
    for (int i = 0; i < 3; i++)
        close(c[i]);
    int rc = echo_server_shutdown(&server, 5 * (int64_t)1000000000);
    cr_assert_eq(rc, 0, "the shutdown's places were there to take (got %d: %s)", rc,
                 loop_last_error(loop));
    test_run_until(loop, drained_once, &drained, "on_drained");
    for (int i = 0; i < 3; i++)
        test_tick(loop);
    cr_assert_eq(drained, 1, "on_drained came exactly once");
    cr_assert_eq(server.open_connections, 0, "every connection ended");
    cr_assert_eq(server.drained, 3, "all three drained, none cut");
    cr_assert_eq(loop_ready_count(loop), 0u, "nothing is left queued");
    echo_server_close(&server);
    loop_free(loop);
}

Test(echo, shutdown_refused_changes_nothing, .timeout = 120,
     .description = "Q: When there is no room for on_drained's place or for the deadline, does "
                    "echo_server_shutdown return -ENOMEM and leave the server serving as before, "
                    "holding nothing it took?") {
    struct test_alloc alloc;
    test_alloc_init(&alloc, 0);
    struct loop *loop = NULL;
    cr_assert_eq(loop_new(&loop, &(struct loop_config){.backend = &backend_poll,
                                                       .policy = &policy_priority,
                                                       .alloc = &alloc.base}),
                 0, "a loop under the priority policy (a heap: its places are memory)");
    int drained = 0;
    struct echo_config config = {.on_drained = count_drained, .arg = &drained};
    struct echo_server server;
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, &config), 0, "open");
    int c;
    connect_and_echo_one_byte(loop, server.port, &c, 1);
    /* Every place the heap has is taken here, and it may not grow. */
    alloc.refuse = true;
    struct sched *s = loop_sched(loop);
    int held = 0;
    while (sched_reserve(s) == 0)
        held++;
    cr_assert_eq(echo_server_shutdown(&server, 1000000000), -ENOMEM,
                 "no place for on_drained: -ENOMEM");
    /* One place free: on_drained's is taken, the deadline's (a second) is refused. */
    sched_release(s);
    held--;
    cr_assert_eq(echo_server_shutdown(&server, 1000000000), -ENOMEM,
                 "room for on_drained but not for the deadline: -ENOMEM all the same");
    cr_assert_eq(sched_reserve(s), 0, "the place the refused shutdown took was given back");
    cr_assert_neq(sched_reserve(s), 0, "and it was the only one free, as before the call");
    held++;
    cr_assert(!server.draining && server.accepting && server.open_connections == 1,
              "the server still accepts and serves its one connection");
    cr_assert_eq(loop_timer_count(loop), 0u, "no deadline is armed");
    /* With memory again, the same call works and drains. */
    alloc.refuse = false;
    while (held-- > 0)
        sched_release(s);
    cr_assert_eq(echo_server_shutdown(&server, 1000000000), 0, "then shutdown starts");
    close(c);
    test_run_until(loop, drained_once, &drained, "on_drained");
    cr_assert_eq(drained, 1, "on_drained came once the connection ended");
    echo_server_close(&server);
    loop_free(loop);
}

Test(echo, close_closes_everything, .timeout = 120,
     .description = "Q: Does echo_server_close close the listener and every connection?") {
    struct loop *loop = test_loop_new(NULL);
    struct echo_server server;
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, NULL), 0, "open");
    int c[3];
    connect_and_echo_one_byte(loop, server.port, c, 3);
    cr_assert_eq(server.open_connections, 3, "three connections are open");
    cr_assert_eq(server.bytes_echoed, 3, "three bytes were echoed");
    echo_server_close(&server);
    echo_server_close(&server); /* twice: harmless */
    cr_assert_eq(server.open_connections, 0, "none are open after close");
    cr_assert_eq(loop_watch_count(loop), 0, "the loop watches nothing");
    for (int i = 0; i < 3; i++) {
        struct pollfd p = {.fd = c[i], .events = POLLIN};
        cr_assert_eq(poll(&p, 1, 5000), 1, "client %d hears of the close", i);
        char byte;
        ssize_t n = recv(c[i], &byte, 1, 0);
        cr_assert(n == 0 || (n < 0 && errno == ECONNRESET), "client %d sees its end", i);
        close(c[i]);
    }
    int late;
    int rc = net_connect_tcp(NET_LOOPBACK, server.port, &late);
    if (rc == -EINPROGRESS) {
        struct pollfd pfd = {.fd = late, .events = POLLOUT};
        poll(&pfd, 1, 5000); /* the refusal comes back at once on loopback; 5 s bounds it */
        rc = net_connect_result(late);
        close(late);
    }
    cr_assert_eq(rc, -ECONNREFUSED, "nobody listens any more: connecting is refused");
    loop_free(loop);
}

Test(echo, open_refuses_bad_arguments,
     .description = "Q: Which arguments does echo_server_open refuse?") {
    struct loop *loop = test_loop_new(NULL);
    struct echo_server s;
    struct echo_config negative = {.idle_timeout_ns = -1};
    cr_assert_eq(echo_server_open(&s, loop, NET_LOOPBACK, 0, &negative), -EINVAL,
                 "a negative idle timeout is -EINVAL");
    cr_assert_eq(echo_server_open(&s, NULL, NET_LOOPBACK, 0, NULL), -EINVAL, "no loop is -EINVAL");
    cr_assert_eq(echo_server_open(&s, loop, NULL, 0, NULL), -EINVAL, "no host is -EINVAL");
    cr_assert_eq(echo_server_open(&s, loop, "localhost", 0, NULL), -EINVAL,
                 "a name instead of an IPv4 literal is -EINVAL (no blocking lookups)");
    cr_assert_eq(echo_server_open(NULL, loop, NET_LOOPBACK, 0, NULL), -EINVAL,
                 "a NULL server is -EINVAL");
    cr_assert_eq(loop_watch_count(loop), 0, "nothing was left watched");
    loop_free(loop);
}

Test(echo, dump_lists_connections, .timeout = 120,
     .description = "Q: What does echo_server_dump show a debugger?") {
    struct loop *loop = test_loop_new(NULL);
    struct echo_server server;
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, NULL), 0, "open");
    int c = test_connect(server.port);
    char buf[2];
    cr_assert_eq(send(c, "hi", 2, MSG_NOSIGNAL), 2, "client writes");
    cr_assert_eq(echo_read(loop, c, buf, 2, 500), 2, "client is served");
    cr_assert_not_null(echo_server_stream(&server, 0), "the first connection is number 0");
    cr_assert_null(echo_server_stream(&server, 1), "there is no second one");
    cr_assert_null(echo_server_stream(&server, 7), "one far past the last is NULL, not a crash");
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    echo_server_dump(&server, out);
    fclose(out);
    cr_assert(strstr(text, "1 open (peak 1") &&
                  strstr(text, "connection 0: stream echo connection"),
              "it shows the counters and each open connection: %s", text);
    free(text);
    echo_server_close(&server);
    close(c);
    loop_free(loop);
}

/* ---- the echo demos' command line and --serve ------------------------------------------------ */

/* What a FILE * collected, as a string: the text of one call's messages. */
struct said {
    char *text;
    size_t size;
    FILE *file;
};

static FILE *said_open(struct said *s) {
    *s = (struct said){0};
    s->file = open_memstream(&s->text, &s->size);
    cr_assert_not_null(s->file, "open_memstream");
    return s->file;
}

static const char *said_close(struct said *s) {
    fclose(s->file);
    return s->text;
}

/* Parses a NULL-terminated argv with poll as the demo's own backend; err collects what it says. */
static int parse_args(struct echo_serve_args *args, char **argv, struct said *err) {
    int argc = 0;
    while (argv[argc])
        argc++;
    int rc = echo_serve_parse_args(args, argc, argv, &backend_poll, said_open(err));
    said_close(err);
    return rc;
}

Test(echo, serve_command_line,
     .description = "Q: Which command lines do the echo demos take, and what do they say about "
                    "the others?") {
    struct echo_serve_args args;
    struct said err;
    char *plain[] = {"build/lessons/02-select-loop/demo", NULL};
    cr_assert_eq(parse_args(&args, plain, &err), 0, "no argument is a command line too");
    cr_assert(!args.serve && args.backend == &backend_poll,
              "without arguments: the demo's own backend, and its scene rather than --serve");
    cr_assert_str_eq(args.program, "demo", "messages name the program, not its path");
    cr_assert_str_eq(err.text, "", "nothing was said");
    free(err.text);
    char *both[] = {"demo", "--backend", "select", "--serve", "65535", NULL};
    cr_assert_eq(parse_args(&args, both, &err), 0, "--backend select --serve 65535 is taken");
    cr_assert(args.serve && args.port == 65535 && args.backend == &backend_select,
              "it asks for the bare server on port 65535, on select");
    free(err.text);

#ifdef __linux__ /* the backends the demos offer: epoll where it exists (lesson 16) */
#define OFFERED_OR  "select or poll or epoll"
#define OFFERED_BAR "select|poll|epoll"
#else
#define OFFERED_OR  "select or poll"
#define OFFERED_BAR "select|poll"
#endif
    const char *bad_backend = "demo: --backend takes " OFFERED_OR "\n";
    const char *bad_port = "demo: --serve takes a port, 0..65535 (0: any free port)\n";
    const char *usage = "usage: demo [--backend " OFFERED_BAR "] [--serve PORT] [--max-conns N] "
                        "[--idle-timeout MS] [--drain-ms MS]\n";
    struct {
        char *argv[4];
        const char *says;
    } refused[] = {
        {{"demo", "--backend", "script", NULL}, bad_backend}, /* the tests' own: no real fds */
        {{"demo", "--backend", "nonsense", NULL}, bad_backend},
        {{"demo", "--backend", "epoll-edge", NULL}, bad_backend}, /* its listener would stall */
        {{"demo", "--serve", "65536", NULL}, bad_port},
        {{"demo", "--serve", "-1", NULL}, bad_port},
        {{"demo", "--serve", "80x", NULL}, bad_port},
        {{"demo", "--serve", NULL}, usage}, /* a port is missing */
        {{"demo", "--verbose", NULL}, usage},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char **argv = refused[i].argv;
        cr_assert_eq(parse_args(&args, argv, &err), -EINVAL, "`%s %s` is refused with -EINVAL",
                     argv[1], argv[2] ? argv[2] : "");
        cr_assert_str_eq(err.text, refused[i].says, "and one line says why: %s", err.text);
        free(err.text);
    }
}

Test(echo, serve_command_line_misuse,
     .description = "Q: Which arguments does echo_serve_parse_args refuse?") {
    struct echo_serve_args args;
    char *argv[] = {"demo", "--bogus", NULL};
    cr_assert_eq(echo_serve_parse_args(NULL, 1, argv, &backend_poll, NULL), -EINVAL,
                 "a NULL args is -EINVAL");
    cr_assert_eq(echo_serve_parse_args(&args, 1, NULL, &backend_poll, NULL), -EINVAL,
                 "a NULL argv too");
    cr_assert_eq(echo_serve_parse_args(&args, 0, argv, &backend_poll, NULL), -EINVAL,
                 "argc 0 too: there is not even a program name");
    cr_assert_eq(echo_serve_parse_args(&args, 1, argv, NULL, NULL), -EINVAL,
                 "a NULL default backend too");
    cr_assert_eq(echo_serve_parse_args(&args, 2, argv, &backend_poll, NULL), -EINVAL,
                 "a bad command line with a NULL err is refused silently, not a crash");
}

static void never_signalled(struct loop_signal *s, int signo) {
    (void)s;
    (void)signo;
}

Test(echo, serve_says_why_it_cannot, .timeout = 120,
     .description = "Q: When --serve cannot serve, what does echo_serve_until_signal return and "
                    "say, and what does it leave behind?") {
    cr_assert_eq(echo_serve_until_signal(NULL, stdout, stderr), -EINVAL, "a NULL args is -EINVAL");
    int busy_fd;
    uint16_t busy_port;
    cr_assert_eq(net_listen_tcp(NET_LOOPBACK, 0, 0, &busy_fd, &busy_port), 0, "a port is taken");
    struct echo_serve_args args = {
        .program = "demo", .backend = &backend_poll, .serve = true, .port = busy_port};
    struct said out, err;
    int rc = echo_serve_until_signal(&args, said_open(&out), said_open(&err));
    said_close(&out);
    said_close(&err);
    cr_assert_eq(rc, -EADDRINUSE, "a port in use is -EADDRINUSE (got %d)", rc);
    char expected[128];
    snprintf(expected, sizeof expected, "demo: cannot listen on 127.0.0.1:%u: %s\n", busy_port,
             strerror(EADDRINUSE));
    cr_assert_str_eq(err.text, expected, "one line on err says so: %s", err.text);
    cr_assert_str_eq(out.text, "", "and nothing claims it listened");
    cr_assert_not(loop_signal_installed(), "no signal handler is left installed");
    free(out.text);
    free(err.text);
    close(busy_fd);

    struct loop *loop = test_loop_new(NULL);
    struct loop_signal held;
    cr_assert_eq(loop_signal_open(loop, &held, never_signalled, NULL), 0, "a loop_signal is open");
    args.port = 0;
    rc = echo_serve_until_signal(&args, said_open(&out), said_open(&err));
    said_close(&out);
    said_close(&err);
    cr_assert_eq(rc, -EBUSY, "with the signals already taken it is -EBUSY (got %d)", rc);
    cr_assert_str_eq(out.text, "",
                     "nothing claims it listens: 'listening on' is printed only "
                     "once it can also stop cleanly, so a parent never waits on a server that "
                     "already gave up: %s",
                     out.text);
    cr_assert(strstr(err.text, "demo: cannot catch SIGINT and SIGTERM: "),
              "err says why it stopped: %s", err.text);
    cr_assert(loop_signal_installed(), "the loop_signal that was open first is untouched");
    free(out.text);
    free(err.text);
    loop_signal_close(&held);
    loop_free(loop);
}
