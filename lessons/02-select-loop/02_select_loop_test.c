/* 02_select_loop_test.c — lesson 02 (select-loop): how can one thread serve many clients at
 * once? The echo server on the select backend serves an idle client and a busy one together,
 * then 200 clients at once; select refuses an fd it cannot hold; level-triggered readiness and
 * non-blocking sockets behave as the README says; the demo's --serve stops on SIGTERM. Clients
 * are non-blocking sockets driven by the same loop, and every wait is bounded. */
#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop/net/echo.h"
#include "loop/loop.h"
#include "loop/net/net.h"
#include "loop/net/stream.h"
#include "tests/support/net_client.h"
#include "tests/support/random.h"
#include "tests/support/twin.h"

TestSuite(select_loop, .description = "How can one thread serve many clients at once?");

static bool no_connections(void *ctx) {
    return ((struct echo_server *)ctx)->open_connections == 0;
}

/* ---- one idle client, one busy --------------------------------------------------------------- */

struct idle_case {
    int b;
    char got[32];
    size_t len;
};

static bool b_has_echo(void *ctx) {
    struct idle_case *c = ctx;
    ssize_t n = recv(c->b, c->got + c->len, sizeof c->got - c->len, 0);
    if (n > 0)
        c->len += (size_t)n;
    return c->len >= 13;
}

Test(
    select_loop, idle_client_does_not_block, .timeout = 120,
    .description = "Q: Is B answered while A is connected and silent (lesson 01's failing case)?") {
    struct loop *loop = test_loop_new(&backend_select);
    struct echo_server server;
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, NULL), 0, "the server opens");
    int a = test_connect(server.port);
    struct idle_case c = {.b = test_connect(server.port)};
    cr_assert_eq(send(c.b, "hello from B\n", 13, MSG_NOSIGNAL), 13, "B sends its line");
    test_run_until(loop, b_has_echo, &c, "B's echo");
    cr_assert(memcmp(c.got, "hello from B\n", 13) == 0, "B gets exactly its line back");
    cr_assert_eq(server.open_connections, 2, "while A is still connected: one thread holds both");
    cr_assert_eq(echo_server_stream(&server, 0)->bytes_read +
                     echo_server_stream(&server, 1)->bytes_read,
                 13, "and A has sent nothing at all");
    close(a);
    close(c.b);
    test_run_until(loop, no_connections, &server, "both connections closed");
    echo_server_close(&server);
    loop_free(loop);
}

/* ---- 200 clients, 100 messages each ---------------------------------------------------------- */

enum { CLIENTS = 200, MESSAGES = 100, MAX_MESSAGE = 700 };

/* A client that sends a message, waits for all of it to come back, checks it, sends the next. */
struct pinger {
    struct loop_watcher watcher;
    struct loop *loop;
    int fd, id, message;
    uint64_t rng;
    size_t len, sent, got; /* of the current message */
    uint64_t bytes;        /* all bytes that came back */
    bool connected, done;
};

/* Byte i of a pinger's message m: distinct per client and message, so crossed wires show. */
static unsigned char message_byte(const struct pinger *p, size_t i) {
    return (unsigned char)(p->id * 7 + p->message * 13 + i * 31 + (i >> 8));
}

static void pinger_start_message(struct pinger *p) {
    p->len = 1 + test_random(&p->rng) % MAX_MESSAGE; /* varied sizes, 1..MAX_MESSAGE bytes */
    p->sent = p->got = 0;
}

static void pinger_send(struct pinger *p) {
    unsigned char buf[MAX_MESSAGE];
    size_t n = p->len - p->sent;
    for (size_t i = 0; i < n; i++)
        buf[i] = message_byte(p, p->sent + i);
    ssize_t w = net_send(p->fd, buf, n);
    cr_assert(w > 0 || w == -EAGAIN, "client %d sends (%zd)", p->id, w);
    if (w > 0)
        p->sent += (size_t)w;
}

static void pinger_receive(struct pinger *p) {
    unsigned char buf[MAX_MESSAGE];
    ssize_t n = net_recv(p->fd, buf, p->len - p->got);
    if (n == -EAGAIN)
        return;
    cr_assert_gt(n, 0, "client %d reads its echo, not end-of-file or an error (%zd)", p->id, n);
    for (ssize_t i = 0; i < n; i++)
        cr_assert_eq(buf[i], message_byte(p, p->got + (size_t)i),
                     "client %d message %d byte %zu comes back as sent, in order", p->id,
                     p->message, p->got + (size_t)i);
    p->got += (size_t)n;
    p->bytes += (uint64_t)n;
}

static void pinger_ready(struct loop_watcher *w, unsigned ready) {
    struct pinger *p = w->arg;
    if (!p->connected) {
        cr_assert_eq(net_connect_result(p->fd), 0, "client %d connected", p->id);
        p->connected = true;
    }
    if (ready & LOOP_READABLE)
        pinger_receive(p);
    if (p->got == p->len) {
        if (++p->message == MESSAGES) {
            p->done = true;
            loop_unwatch(p->loop, w);
            close(p->fd);
            return;
        }
        pinger_start_message(p);
    }
    if (p->sent < p->len)
        pinger_send(p);
    unsigned want = p->sent < p->len ? LOOP_WRITABLE : LOOP_READABLE;
    if (want != w->interest)
        cr_assert_eq(loop_set_interest(p->loop, w, want), 0, "interest changes");
}

struct crowd {
    struct pinger *pingers;
};

static bool all_done(void *ctx) {
    struct crowd *c = ctx;
    for (int i = 0; i < CLIENTS; i++)
        if (!c->pingers[i].done)
            return false;
    return true;
}

Test(select_loop, two_hundred_clients, .timeout = 120,
     .description = "Q: Do 200 concurrent clients sending 100 messages of varied sizes each get "
                    "exactly their bytes back, in order, from one thread?") {
    struct loop *loop = test_loop_new(&backend_select);
    struct pinger *pingers = calloc(CLIENTS, sizeof *pingers);
    cr_assert(pingers, "memory");
    struct echo_server server;
    cr_assert_eq(echo_server_open(&server, loop, NET_LOOPBACK, 0, NULL), 0, "open");
    for (int i = 0; i < CLIENTS; i++) {
        struct pinger *p = &pingers[i];
        *p = (struct pinger){.loop = loop, .id = i, .rng = 1000u + (uint64_t)i};
        int rc = net_connect_tcp(NET_LOOPBACK, server.port, &p->fd);
        cr_assert(rc == 0 || rc == -EINPROGRESS, "client %d connects (%d)", i, rc);
        pinger_start_message(p);
        loop_watcher_init(&p->watcher, "pinger");
        cr_assert_eq(loop_watch_fd(loop, &p->watcher, p->fd, LOOP_WRITABLE, pinger_ready, p), 0,
                     "client %d is watched (fd %d, under FD_SETSIZE)", i, p->fd);
    }
    struct crowd crowd = {pingers};
    test_run_until(loop, all_done, &crowd, "every client's 100 round trips");
    uint64_t expected = 0;
    for (int i = 0; i < CLIENTS; i++) {
        cr_assert_eq(pingers[i].message, MESSAGES, "client %d finished all its messages", i);
        expected += pingers[i].bytes;
    }
    test_run_until(loop, no_connections, &server, "the server closing every connection");
    cr_assert_eq(server.accepted, CLIENTS, "all %d clients were served at once", CLIENTS);
    cr_assert_eq(server.bytes_echoed, expected,
                 "the server echoed exactly what came back: "
                 "%llu bytes",
                 (unsigned long long)expected);
    echo_server_close(&server);
    loop_free(loop);
    free(pingers);
}

/* ---- FD_SETSIZE ------------------------------------------------------------------------------ */

static void never_called(struct loop_watcher *w, unsigned ready) {
    (void)w;
    (void)ready;
    cr_assert_fail("a refused watcher is never called");
}

static void noop_data(struct stream *s, const char *data, size_t len) {
    (void)s, (void)data, (void)len;
}
static void noop_close(struct stream *s, int error) {
    (void)s, (void)error;
}

Test(select_loop, fd_setsize_refused,
     .description = "Q: What does select do with an fd at or above FD_SETSIZE?") {
    struct loop *loop = test_loop_new(&backend_select);
    int sp[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0, "socketpair");
    /* A real open fd numbered FD_SETSIZE, if the fd limit can be raised that far; the refusal
     * itself is by number, so it is asserted either way. */
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur <= FD_SETSIZE && lim.rlim_max > FD_SETSIZE) {
        lim.rlim_cur = FD_SETSIZE + 16;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    int high = dup2(sp[0], FD_SETSIZE);
    struct loop_watcher w;
    loop_watcher_init(&w, "too high");
    int rc = loop_watch_fd(loop, &w, FD_SETSIZE, LOOP_READABLE, never_called, NULL);
    cr_assert_eq(rc, -ERANGE, "fd %d (FD_SETSIZE) is refused with -ERANGE (got %d)", FD_SETSIZE,
                 rc);
    cr_assert(strstr(loop_last_error(loop), "FD_SETSIZE") != NULL,
              "and the error says why, naming FD_SETSIZE: \"%s\"", loop_last_error(loop));
    struct stream s;
    if (high == FD_SETSIZE)
        cr_assert_eq(stream_open(&s, loop, high, "too high", noop_data, noop_close, NULL), -ERANGE,
                     "a stream on that fd is refused the same way, leaving the fd to its owner");
    else /* say so: a check that did not run must not pass unnoticed */
        cr_log_warn("fd_setsize_refused: dup2 to fd %d failed (the fd limit is %llu and cannot be "
                    "raised), so stream_open was not tried on a real fd that high",
                    FD_SETSIZE, (unsigned long long)lim.rlim_cur);
    cr_assert_eq(loop_watch_fd(loop, &w, sp[1], LOOP_READABLE, never_called, NULL), 0,
                 "the same watcher on a low fd (%d) is accepted", sp[1]);
    loop_unwatch(loop, &w);
    cr_assert_eq(loop_watch_count(loop), 0, "nothing refused stayed watched");
    if (high >= 0)
        close(high);
    close(sp[0]);
    close(sp[1]);
    loop_free(loop);
}

/* ---- level-triggered, and why sockets stay non-blocking ----------------------------------- */

struct sipper {
    struct loop_watcher watcher;
    int calls;
};

static void sip_one_byte(struct loop_watcher *w, unsigned ready) {
    struct sipper *s = w->arg;
    char c;
    (void)ready;
    s->calls++;
    cr_assert_eq(read(w->fd, &c, 1), 1, "each call finds a byte");
}

Test(select_loop, level_triggered, .timeout = 120,
     .description = "Q: If a callback leaves bytes unread, does select report the fd again?") {
    struct loop *loop = test_loop_new(&backend_select);
    int sp[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0, "socketpair");
    cr_assert_eq(write(sp[1], "abc", 3), 3, "three bytes wait");
    struct sipper s = {.calls = 0};
    loop_watcher_init(&s.watcher, "sipper");
    cr_assert_eq(loop_watch_fd(loop, &s.watcher, sp[0], LOOP_READABLE, sip_one_byte, &s), 0,
                 "watch");
    for (int i = 1; i <= 3; i++) {
        test_tick(loop);
        cr_assert_eq(s.calls, i, "tick %d: still readable, so called again (level-triggered)", i);
    }
    test_tick(loop);
    cr_assert_eq(s.calls, 3, "drained: no more calls");
    loop_unwatch(loop, &s.watcher);
    close(sp[0]);
    close(sp[1]);
    loop_free(loop);
}

struct greedy {
    struct loop_watcher watcher;
    ssize_t result;
    int calls;
};

/* Reads everything it can: the first of the two drains the socket the second was told about. */
static void read_all(struct loop_watcher *w, unsigned ready) {
    struct greedy *g = w->arg;
    char buf[64];
    (void)ready;
    g->calls++;
    g->result = net_recv(w->fd, buf, sizeof buf);
}

Test(select_loop, readable_is_not_a_promise, .timeout = 120,
     .description = "Q: Why must a socket stay non-blocking even after select says readable?") {
    struct loop *loop = test_loop_new(&backend_select);
    int sp[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0, "socketpair");
    cr_assert_eq(net_set_nonblocking(sp[0]), 0, "non-blocking");
    int twin = dup(sp[0]); /* two fds, one socket: two readers of the same bytes */
    cr_assert_eq(write(sp[1], "hi", 2), 2, "two bytes wait");
    struct greedy g1 = {.calls = 0}, g2 = {.calls = 0};
    loop_watcher_init(&g1.watcher, "first reader");
    loop_watcher_init(&g2.watcher, "second reader");
    loop_watch_fd(loop, &g1.watcher, sp[0], LOOP_READABLE, read_all, &g1);
    loop_watch_fd(loop, &g2.watcher, twin, LOOP_READABLE, read_all, &g2);
    test_tick(loop);
    cr_assert(g1.calls == 1 && g2.calls == 1, "select reported both fds readable in one wait");
    cr_assert((g1.result == 2 && g2.result == -EAGAIN) || (g2.result == 2 && g1.result == -EAGAIN),
              "the first reader took the bytes; the second, told 'readable', got -EAGAIN: a "
              "blocking socket would have frozen the whole loop right there");
    loop_unwatch(loop, &g1.watcher);
    loop_unwatch(loop, &g2.watcher);
    close(twin);
    close(sp[0]);
    close(sp[1]);
    loop_free(loop);
}

/* ---- the demo's --serve stops on SIGTERM ---------------------------------------------------- */

/* Reads what fd has, waiting at most timeout_ms; the count, 0 at end-of-file, -1 on timeout. */
static ssize_t read_within(int fd, char *buf, size_t len, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1)
        return -1;
    return read(fd, buf, len);
}

Test(select_loop, serve_stops_on_sigterm, .timeout = 120,
     .description = "Q: Does `demo --serve 0` serve a real client and exit 0 on SIGTERM?") {
    const char *demo = LOOPSCHOOL_BUILD_DIR "/lessons/02-select-loop/demo";
    int out[2];
    cr_assert_eq(pipe(out), 0, "pipe");
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork");
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(demo, demo, "--serve", "0", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char text[256] = {0};
    size_t len = 0;
    while (!memchr(text, '\n', len)) { /* up to 60 s: under valgrind the start is slow */
        ssize_t n = read_within(out[0], text + len, sizeof text - 1 - len, 60000);
        cr_assert_gt(n, 0, "the demo (%s) prints its first line", demo);
        len += (size_t)n;
    }
    unsigned port = 0;
    cr_assert_eq(sscanf(text, "listening on 127.0.0.1:%u", &port), 1,
                 "the first line is 'listening on 127.0.0.1:PORT': %s", text);
    int c = test_connect((uint16_t)port);
    cr_assert_eq(send(c, "ping\n", 5, MSG_NOSIGNAL), 5, "the client sends");
    char echo[8] = {0};
    size_t got = 0;
    while (got < 5) {
        ssize_t n = read_within(c, echo + got, 5 - got, 60000);
        cr_assert_gt(n, 0, "the echo arrives");
        got += (size_t)n;
    }
    cr_assert_str_eq(echo, "ping\n", "the server echoed the line");
    cr_assert_eq(kill(pid, SIGTERM), 0, "SIGTERM sent");
    char rest[256];
    ssize_t n;
    while ((n = read_within(out[0], rest, sizeof rest, 60000)) > 0) {
    }
    cr_assert_eq(n, 0, "the demo closes its output (exits) after SIGTERM");
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "it exits 0, from an ordinary callback, not killed by the signal (status %d)",
              status);
    cr_assert_eq(read_within(c, echo, 1, 60000), 0, "the client sees its connection closed");
    close(c);
    close(out[0]);
}

/* ---- the asyncio twin ----------------------------------------------------------------------- */

Test(select_loop, asyncio_twin, .timeout = 60,
     .description = "Q: does an asyncio select loop with a Protocol echo server tell the same "
                    "story, event for event?") {
    struct test_twin_output *c, *py;
    test_twin_pair("02-select-loop", &c, &py);
    test_twin_assert_same(c, py);
    cr_assert_eq(c->count, 15, "the story has 15 events, from listening to closing (got %zu)",
                 c->count);
    free(c);
    free(py);
}
