/* net_test.c — the library's own tests of the socket helpers (loop/net/net.*) and the self-pipe
 * signal stop (loop/signal.*), both introduced in lesson 02: non-blocking listen, accept and
 * connect, no SIGPIPE ever, every refusal, and a real SIGTERM stopping a real loop. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/loop.h"
#include "loop/net/net.h"
#include "loop/signal.h"
#include "tests/support/net_client.h"

TestSuite(net, .description = "Do the socket helpers give non-blocking sockets and plain errors, "
                              "never a signal?");
TestSuite(loop_signal, .description = "Can SIGINT/SIGTERM stop a loop from an ordinary callback?");

static bool is_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && (flags & O_NONBLOCK);
}

static int listener(uint16_t *port) {
    int fd;
    int rc = net_listen_tcp(NET_LOOPBACK, 0, 16, &fd, port);
    cr_assert_eq(rc, 0, "listening on 127.0.0.1 port 0 succeeds (got %d)", rc);
    return fd;
}

/* ---- net ----------------------------------------------------------------------------------- */

Test(net, listen_port_zero,
     .description = "Q: Does port 0 give a real port, on a non-blocking listening socket?") {
    uint16_t port = 0;
    int fd = listener(&port);
    cr_assert_gt(port, 0, "the kernel chose a port (%u) and we learned it", port);
    cr_assert(is_nonblocking(fd), "the listening socket is non-blocking");
    uint16_t again = 0;
    cr_assert_eq(net_local_port(fd, &again), 0, "net_local_port works");
    cr_assert_eq(again, port, "and agrees");
    int any;
    uint16_t any_port;
    cr_assert_eq(net_listen_tcp(NET_ANY_ADDRESS, 0, 0, &any, &any_port), 0,
                 "listening on any address (0.0.0.0) works too");
    close(any);
    close(fd);
}

Test(net, accept_without_clients,
     .description = "Q: What does accept say when nobody is waiting?") {
    uint16_t port;
    int fd = listener(&port);
    int conn = 7;
    cr_assert_eq(net_accept(fd, &conn), -EAGAIN,
                 "-EAGAIN: the normal end of an accept loop, "
                 "not a failure, and it did not block");
    cr_assert_eq(conn, -1, "no fd was handed out");
    close(fd);
}

Test(net, connect_then_accept,
     .description = "Q: Does a non-blocking connect complete, and is the accepted socket "
                    "non-blocking too?") {
    uint16_t port;
    int lfd = listener(&port);
    int client = test_connect(port);
    cr_assert(is_nonblocking(client), "the client socket is non-blocking");
    int server;
    cr_assert_eq(net_accept(lfd, &server), 0, "the waiting connection is accepted");
    cr_assert(is_nonblocking(server), "the accepted socket is non-blocking (Linux does not "
                                      "inherit O_NONBLOCK from the listener)");
    cr_assert_eq(net_send(client, "hey", 3), 3, "the client sends");
    char buf[4];
    struct pollfd p = {.fd = server, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 5000), 1, "the server becomes readable");
    cr_assert_eq(net_recv(server, buf, sizeof buf), 3, "and reads the three bytes");
    cr_assert_eq(net_recv(server, buf, sizeof buf), -EAGAIN,
                 "reading again says -EAGAIN instead of blocking");
    close(client);
    cr_assert_eq(poll(&p, 1, 5000), 1, "the close makes it readable");
    cr_assert_eq(net_recv(server, buf, sizeof buf), 0, "and the read says end-of-file");
    close(server);
    close(lfd);
}

Test(net, connect_refused,
     .description = "Q: How does a connect to a port nobody listens on fail?") {
    uint16_t port;
    close(listener(&port)); /* a port that was free a moment ago, now with nobody behind it */
    int fd;
    int rc = net_connect_tcp(NET_LOOPBACK, port, &fd);
    if (rc == -EINPROGRESS) {
        test_wait_writable(fd); /* a failed connect also makes the socket writable */
        rc = net_connect_result(fd);
        close(fd);
    } else {
        cr_assert_eq(fd, -1, "a connect that failed at once leaves no fd");
    }
    cr_assert_eq(rc, -ECONNREFUSED, "the error is -ECONNREFUSED (got %d)", rc);
}

Test(net, no_sigpipe,
     .description = "Q: Does sending to a peer that has gone return an error instead of "
                    "killing the process with SIGPIPE?") {
    signal(SIGPIPE, SIG_DFL); /* the default action kills: this test would die if it fired */
    int sp[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0, "socketpair");
    close(sp[1]);
    ssize_t n = net_send(sp[0], "x", 1);
    cr_assert_eq(n, -EPIPE, "the send returns -EPIPE (got %zd) and the process lives", n);
    struct sigaction now;
    sigaction(SIGPIPE, NULL, &now);
    cr_assert_eq(now.sa_handler, SIG_DFL, "the library left SIGPIPE's disposition alone");
    close(sp[0]);
}

Test(net, reuseaddr_rebinds,
     .description = "Q: Can a server listen again on its port right after closing it, with "
                    "connections still in TIME_WAIT?") {
    uint16_t port;
    int lfd = listener(&port);
    int client = test_connect(port);
    int server;
    cr_assert_eq(net_accept(lfd, &server), 0, "accept");
    close(server); /* the server closes first: its side goes to TIME_WAIT */
    close(lfd);
    close(client);
    int again;
    uint16_t same;
    int rc = net_listen_tcp(NET_LOOPBACK, port, 16, &again, &same);
    cr_assert_eq(rc, 0, "SO_REUSEADDR lets it bind port %u again at once (got %d)", port, rc);
    cr_assert_eq(same, port, "the same port");
    close(again);
}

Test(net, refuses_bad_arguments,
     .description = "Q: Which arguments do the socket helpers refuse, and with what?") {
    int fd = 5;
    uint16_t port;
    char buf[1];
    cr_assert_eq(net_set_nonblocking(-1), -EBADF, "a negative fd is -EBADF");
    int closed = dup(0);
    close(closed);
    cr_assert_eq(net_set_nonblocking(closed), -EBADF, "a closed fd is -EBADF");
    cr_assert_eq(net_listen_tcp(NULL, 0, 0, &fd, &port), -EINVAL, "a NULL host is -EINVAL");
    cr_assert_eq(fd, -1, "and no fd is handed out");
    cr_assert_eq(net_listen_tcp("not-an-address", 0, 0, &fd, &port), -EINVAL,
                 "a host that is not an IPv4 literal is -EINVAL (no blocking name lookups)");
    cr_assert_eq(net_listen_tcp(NET_LOOPBACK, 0, 0, NULL, &port), -EINVAL,
                 "nowhere to put the fd is -EINVAL");
    cr_assert_eq(net_connect_tcp("999.1.1.1", 80, &fd), -EINVAL, "a bad address is -EINVAL");
    cr_assert_eq(net_connect_tcp(NET_LOOPBACK, 80, NULL), -EINVAL, "no out fd is -EINVAL");
    cr_assert_eq(net_accept(-1, &fd), -EBADF, "accept on a negative fd is -EBADF");
    cr_assert_eq(net_accept(3, NULL), -EINVAL, "accept with no out fd is -EINVAL");
    cr_assert_eq(net_send(-1, "x", 1), -EBADF, "send on a negative fd is -EBADF");
    cr_assert_eq(net_recv(-1, buf, 1), -EBADF, "recv on a negative fd is -EBADF");
    cr_assert_eq(net_send(0, NULL, 1), -EINVAL, "send from NULL is -EINVAL");
    cr_assert_eq(net_connect_result(-1), -EBADF, "connect_result on a negative fd is -EBADF");
    cr_assert_eq(net_local_port(-1, &port), -EBADF, "local_port on a negative fd is -EBADF");
    cr_assert_eq(net_set_reset_on_close(-1), -EBADF, "reset_on_close on a negative fd is -EBADF");
    int p[2];
    cr_assert_eq(pipe(p), 0, "pipe");
    cr_assert_eq(net_accept(p[0], &fd), -ENOTSOCK, "accept on a pipe is -ENOTSOCK");
    close(p[0]);
    close(p[1]);
}

/* ---- the self-pipe --------------------------------------------------------------------------- */

struct stopper {
    struct loop_signal sig;
    struct loop *loop;
    struct loop_timer raise_timer;
    int signo_to_raise;
    int seen;
    bool close_in_callback;
};

static void stop_on_signal(struct loop_signal *s, int signo) {
    struct stopper *st = s->arg;
    st->seen = signo;
    if (st->close_in_callback)
        cr_assert_eq(loop_signal_close(s), 0, "closing from the callback works");
    loop_stop(st->loop);
}

/* Raises the signal from inside a callback, as if a user pressed Ctrl-C mid-run. */
static void raise_now(struct loop_timer *t) {
    struct stopper *st = t->arg;
    cr_assert_eq(kill(getpid(), st->signo_to_raise), 0, "kill");
}

/* An fd that stays watched but never becomes ready: without the signal, loop_run would block. */
static void never_ready(struct loop_watcher *w, unsigned ready) {
    (void)w;
    (void)ready;
    cr_assert_fail("the idle pipe never becomes ready");
}

static void run_and_raise(int signo, bool close_in_callback) {
    struct stopper st = {.signo_to_raise = signo, .close_in_callback = close_in_callback};
    st.loop = test_loop_new(NULL);
    int idle[2];
    cr_assert_eq(pipe(idle), 0, "pipe");
    struct loop_watcher w;
    loop_watcher_init(&w, "idle pipe");
    cr_assert_eq(loop_watch_fd(st.loop, &w, idle[0], LOOP_READABLE, never_ready, NULL), 0, "watch");
    cr_assert_eq(loop_signal_open(st.loop, &st.sig, stop_on_signal, &st), 0, "loop_signal_open");
    cr_assert(loop_signal_installed(), "the handlers are installed");
    loop_timer_init(&st.raise_timer, "raise");
    cr_assert_eq(loop_timer_start(st.loop, &st.raise_timer, 1000000, raise_now, &st), 0, "timer");
    cr_assert_eq(loop_run(st.loop), 0, "loop_run returns cleanly");
    cr_assert_eq(st.seen, signo,
                 "the callback saw signal %d, and its loop_stop ended the run "
                 "(else loop_run would still be blocked on the idle pipe)",
                 signo);
    cr_assert_eq(st.sig.received, 1, "exactly one signal byte was read");
    if (!close_in_callback)
        cr_assert_eq(loop_signal_close(&st.sig), 0, "loop_signal_close");
    cr_assert_not(loop_signal_installed(), "nothing stays installed");
    loop_unwatch(st.loop, &w);
    close(idle[0]);
    close(idle[1]);
    loop_free(st.loop);
}

Test(loop_signal, sigterm_stops_the_loop, .timeout = 120,
     .description = "Q: Does a SIGTERM raised while the loop runs stop it from a callback?") {
    run_and_raise(SIGTERM, false);
}

Test(loop_signal, sigint_stops_the_loop, .timeout = 120,
     .description = "Q: Does SIGINT (Ctrl-C) stop it the same way, and may the callback close "
                    "the self-pipe itself?") {
    run_and_raise(SIGINT, true);
}

static volatile sig_atomic_t custom_handled;
static void custom_handler(int signo) {
    (void)signo;
    custom_handled = 1;
}

Test(loop_signal, restores_previous_handlers,
     .description = "Q: After loop_signal_close, are the program's own handlers back?") {
    struct sigaction mine = {.sa_handler = custom_handler}, now;
    sigemptyset(&mine.sa_mask);
    sigaction(SIGTERM, &mine, NULL);
    sigaction(SIGINT, &mine, NULL);
    struct loop *loop = test_loop_new(NULL);
    struct loop_signal s;
    cr_assert_eq(loop_signal_open(loop, &s, stop_on_signal, NULL), 0, "open");
    sigaction(SIGTERM, NULL, &now);
    cr_assert_neq(now.sa_handler, custom_handler, "while open, the self-pipe handler is in place");
    cr_assert_eq(loop_signal_close(&s), 0, "close");
    cr_assert_eq(loop_signal_close(&s), -EALREADY, "closing twice is -EALREADY");
    sigaction(SIGTERM, NULL, &now);
    cr_assert_eq(now.sa_handler, custom_handler, "SIGTERM's previous handler is back");
    sigaction(SIGINT, NULL, &now);
    cr_assert_eq(now.sa_handler, custom_handler, "SIGINT's previous handler is back");
    kill(getpid(), SIGTERM);
    cr_assert_eq(custom_handled, 1, "and it runs again");
    cr_assert_eq(loop_watch_count(loop), 0, "the pipe is no longer watched");
    loop_free(loop);
}

Test(loop_signal, refuses_a_second_and_bad_arguments,
     .description = "Q: Why is a second loop_signal refused, and which arguments are?") {
    struct loop *loop = test_loop_new(NULL);
    struct loop_signal a, b;
    cr_assert_eq(loop_signal_open(loop, &a, NULL, NULL), -EINVAL, "a NULL callback is -EINVAL");
    cr_assert_eq(loop_signal_open(NULL, &a, stop_on_signal, NULL), -EINVAL, "a NULL loop too");
    cr_assert_eq(loop_signal_open(loop, NULL, stop_on_signal, NULL), -EINVAL, "a NULL struct too");
    cr_assert_eq(loop_signal_open(loop, &a, stop_on_signal, NULL), 0, "the first opens");
    cr_assert_eq(loop_signal_open(loop, &b, stop_on_signal, NULL), -EBUSY,
                 "a second is -EBUSY: a handler has no argument, so one static fd is all there is");
    cr_assert_eq(loop_watch_count(loop), 1, "the refused one left nothing watched");
    cr_assert_eq(loop_signal_close(&a), 0, "close");
    cr_assert_eq(loop_signal_open(loop, &b, stop_on_signal, NULL), 0, "after close one may open");
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    loop_signal_dump(&b, out);
    fclose(out);
    cr_assert(strstr(text, "open") && strstr(text, "0 signal(s) received"),
              "the dump says it is open and counts signals: %s", text);
    free(text);
    cr_assert_eq(loop_signal_close(&b), 0, "close");
    cr_assert_eq(loop_signal_close(NULL), -EALREADY, "closing NULL is -EALREADY, not a crash");
    loop_free(loop);
}
