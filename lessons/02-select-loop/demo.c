/* demo.c — lesson 02 (select-loop): how can one thread serve many clients at once? The echo
 * server of loop/net/echo.c runs on the select backend, with lesson 01's two clients: A
 * connects and says nothing, B sends a line. The loop's hooks narrate every select() call: its
 * timeout, and the fds that came back ready. `--trace` prints only the canonical event lines
 * that asyncio_twin.py prints too; `--serve PORT` runs the bare server until SIGINT or SIGTERM
 * (loop/net/echo_serve.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loop/net/echo.h"
#include "loop/loop.h"
#include "loop/observe/narrate.h"
#include "loop/observe/record_cli.h"
#include "loop/net/net.h"

enum { STEP_NS = 5000000 }; /* the pause between scenes: long enough to see select() sleep */

struct demo;

struct client {
    struct demo *demo;
    const char *name;
    const char *line; /* what it will say */
    int fd;
    uint16_t port; /* its local port: tells which server connection is its */
    struct loop_watcher watcher;
    char got[64];
    size_t got_len;
};

struct demo {
    struct loop *loop;
    struct echo_server server;
    struct client a, b;
    struct loop_timer timer;
    int64_t start_ns;
    uint64_t seen_accepted; /* the server's counters at the last narration */
    uint64_t seen_echoed;
    size_t seen_open;
    struct narrator narrator; /* --trace: only the canonical lines, as the twin prints them */
    bool ok;
};

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The narration (not in --trace mode): the time since the start, who, what. */
static void say(struct demo *d, const char *who, const char *what) {
    if (!d->narrator.trace)
        printf("%6.1f ms  %-9s %s\n", (double)(now_ns() - d->start_ns) / 1e6, who, what);
}

/* What an fd is, in words: the listener, a client, or the server's side of a client. */
static void describe_fd(struct demo *d, int fd, char *out, size_t len) {
    if (fd == d->server.listen_fd) {
        snprintf(out, len, "fd %d (the listener: a client waits)", fd);
        return;
    }
    if (fd == d->a.fd || fd == d->b.fd) {
        snprintf(out, len, "fd %d (%s's own socket: its echo came)", fd,
                 fd == d->a.fd ? "client A" : "client B");
        return;
    }
    for (size_t i = 0; i < d->server.open_connections; i++) {
        struct stream *s = echo_server_stream(&d->server, i);
        if (s && s->fd == fd) {
            struct sockaddr_in peer;
            socklen_t plen = sizeof peer;
            getpeername(fd, (struct sockaddr *)&peer, &plen);
            const char *who = ntohs(peer.sin_port) == d->a.port ? "A" : "B";
            snprintf(out, len, "fd %d (the server's connection to %s)", fd, who);
            return;
        }
    }
    snprintf(out, len, "fd %d", fd);
}

/* What the callbacks since the last call did to the server (the echo server itself says
 * nothing). Called before each wait, and by a scene before it acts, so the server's news is
 * told before the scene's. */
static void narrate_server(struct demo *d) {
    char what[128];
    if (d->server.accepted != d->seen_accepted) {
        snprintf(what, sizeof what, "accepted %llu connection(s); holds %zu",
                 (unsigned long long)(d->server.accepted - d->seen_accepted),
                 d->server.open_connections);
        say(d, "server", what);
        for (uint64_t i = d->seen_accepted; i < d->server.accepted; i++)
            narrate_trace(&d->narrator, "server: accepted a connection (holds %llu)",
                          (unsigned long long)i + 1);
    }
    if (d->server.bytes_echoed != d->seen_echoed)
        narrate_trace(&d->narrator, "server: echoed %llu bytes",
                      (unsigned long long)(d->server.bytes_echoed - d->seen_echoed));
    if (d->server.open_connections < d->seen_open) {
        snprintf(what, sizeof what, "read end-of-file: closed %zu connection(s); holds %zu",
                 d->seen_open - d->server.open_connections, d->server.open_connections);
        say(d, "server", what);
        for (size_t held = d->seen_open; held-- > d->server.open_connections;)
            narrate_trace(&d->narrator, "server: a connection closed (holds %zu)", held);
    }
    d->seen_accepted = d->server.accepted;
    d->seen_echoed = d->server.bytes_echoed;
    d->seen_open = d->server.open_connections;
}

/* Hook: the loop is about to wait. The timeout is the loop's own decision (step 1 of a tick). */
static void narrate_wait(void *ctx, struct loop *loop, int64_t timeout_ns) {
    struct demo *d = ctx;
    char what[128];
    narrate_server(d);
    if (timeout_ns == 0)
        snprintf(what, sizeof what, "tick %llu: %s() only looks (timeout 0): work is queued",
                 (unsigned long long)loop_tick(loop), loop_backend(loop)->ops->name);
    else if (timeout_ns < 0)
        snprintf(what, sizeof what, "tick %llu: %s() waits, no timeout (no timer armed)",
                 (unsigned long long)loop_tick(loop), loop_backend(loop)->ops->name);
    else
        snprintf(what, sizeof what, "tick %llu: %s() waits at most %.3f ms (next timer)",
                 (unsigned long long)loop_tick(loop), loop_backend(loop)->ops->name,
                 (double)timeout_ns / 1e6);
    say(d, "loop", what);
}

/* Hook: the wait returned these ready fds (step 2); their callbacks go on the ready queue. */
static void narrate_ready(void *ctx, struct loop *loop, const struct backend_ready *ready, int n) {
    struct demo *d = ctx;
    if (n == 0)
        say(d, "loop",
            loop_last_timeout(loop) == 0 ? "  -> nothing ready"
                                         : "  -> nothing ready: the timeout expired");
    for (int i = 0; i < n; i++) {
        char fd_words[96], line[160];
        describe_fd(d, ready[i].fd, fd_words, sizeof fd_words);
        snprintf(line, sizeof line, "  -> ready: %s%s%s", fd_words,
                 (ready[i].readiness & LOOP_READABLE) ? " readable" : "",
                 (ready[i].readiness & LOOP_WRITABLE) ? " writable" : "");
        say(d, "loop", line);
    }
}

static void scene_a_speaks(struct loop_timer *t);
static void scene_wrap_up(struct loop_timer *t);

static void client_leaves(struct demo *d, struct client *c) {
    loop_unwatch(d->loop, &c->watcher); /* before close(): select must never see a closed fd */
    close(c->fd);
    c->fd = -1;
}

/* A client's socket is readable: its echo (or part of it) is back. */
static void client_readable(struct loop_watcher *w, unsigned ready) {
    struct client *c = w->arg;
    struct demo *d = c->demo;
    (void)ready;
    ssize_t n = net_recv(c->fd, c->got + c->got_len, sizeof c->got - 1 - c->got_len);
    if (n <= 0)
        return; /* -EAGAIN: readable was a hint, not a promise; the socket is non-blocking */
    c->got_len += (size_t)n;
    c->got[c->got_len] = '\0';
    if (c->got_len < strlen(c->line))
        return; /* a part: the rest comes with a later readiness */
    char line[128];
    snprintf(line, sizeof line, "echo arrives: \"%.*s\"", (int)strcspn(c->got, "\n"), c->got);
    say(d, c->name, line);
    narrate_trace(&d->narrator, "%s: %s", c->name, line);
    if (c == &d->b) {
        snprintf(line, sizeof line, "A is still connected and silent: the server holds %zu",
                 d->server.open_connections);
        say(d, c->name, line);
        loop_timer_start(d->loop, &d->timer, STEP_NS, scene_a_speaks, d);
    } else {
        say(d, "clients", "both leave (close)");
        narrate_trace(&d->narrator, "clients: both leave");
        client_leaves(d, &d->a);
        client_leaves(d, &d->b);
        loop_timer_start(d->loop, &d->timer, STEP_NS, scene_wrap_up, d);
    }
}

static void client_speaks(struct demo *d, struct client *c) {
    char line[96];
    snprintf(line, sizeof line, "sends \"%.*s\"", (int)strcspn(c->line, "\n"), c->line);
    say(d, c->name, line);
    narrate_trace(&d->narrator, "%s: %s", c->name, line);
    if (net_send(c->fd, c->line, strlen(c->line)) != (ssize_t)strlen(c->line))
        say(d, c->name, "UNEXPECTED: the send failed");
}

/* B speaks once the server has accepted both clients. On a machine so busy that STEP_NS passed
 * before that, it waits another step: the story (and the trace) stays the same. */
static void scene_b_speaks(struct loop_timer *t) {
    struct demo *d = t->arg;
    narrate_server(d);
    if (d->server.accepted < 2)
        loop_timer_start(d->loop, &d->timer, STEP_NS, scene_b_speaks, d);
    else
        client_speaks(d, &d->b);
}

static void scene_a_speaks(struct loop_timer *t) {
    client_speaks(t->arg, &((struct demo *)t->arg)->a);
}

/* The clients have gone; once the server has seen both ends of file, it closes. */
static void scene_wrap_up(struct loop_timer *t) {
    struct demo *d = t->arg;
    narrate_server(d);
    if (d->server.open_connections > 0) { /* it has not seen both ends of file yet */
        loop_timer_start(d->loop, &d->timer, STEP_NS, scene_wrap_up, d);
        return;
    }
    say(d, "server", "closes: nothing is watched any more, so loop_run returns");
    narrate_trace(&d->narrator, "server: closes");
    d->ok = true;
    echo_server_close(&d->server);
}

/* A connected, non-blocking client. The kernel completes the handshake through the listener's
 * backlog, so this works before the server has run at all. */
static bool client_connect(struct demo *d, struct client *c) {
    int rc = net_connect_tcp(NET_LOOPBACK, d->server.port, &c->fd);
    if (rc == -EINPROGRESS) {
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        poll(&p, 1, 2000); /* on loopback this returns at once */
        rc = net_connect_result(c->fd);
    }
    if (rc < 0 || net_local_port(c->fd, &c->port) < 0) {
        fprintf(stderr, "demo: %s cannot connect: %s\n", c->name, strerror(-rc));
        return false;
    }
    loop_watcher_init(&c->watcher, c->name);
    return loop_watch_fd(d->loop, &c->watcher, c->fd, LOOP_READABLE, client_readable, c) == 0;
}

/* --record FILE: the first loop's ticks, for the tick viewer (make view). */
static struct record_cli record;

static int scenario(const struct backend_ops *backend, struct narrator narrator) {
    static struct demo d; /* static: the pool of streams is ~66 KB, too much for a stack frame */
    d.start_ns = now_ns();
    d.narrator = narrator;
    d.a = (struct client){.demo = &d, .name = "client A", .line = "A speaks at last\n", .fd = -1};
    d.b = (struct client){.demo = &d, .name = "client B", .line = "hello from B\n", .fd = -1};
    struct loop_config config = {
        .backend = backend,
        .hooks = {.ctx = &d, .before_wait = narrate_wait, .after_wait = narrate_ready},
    };
    int rc = loop_new(&d.loop, &config);
    if (rc == 0)
        rc = record_cli_attach(&record, d.loop);
    if (rc == 0)
        rc = echo_server_open(&d.server, d.loop, NET_LOOPBACK, 0, NULL);
    if (rc < 0) {
        fprintf(stderr, "demo: cannot start: %s\n", strerror(-rc));
        return 1;
    }
    if (!d.narrator.trace)
        printf("One thread, one %s loop: the echo server and two clients, all watched by the\n"
               "loop. A connects and says nothing; B sends a line. Times are since the start.\n\n",
               backend->name);
    char line[128];
    snprintf(line, sizeof line, "listening on 127.0.0.1:%u (fd %d)", d.server.port,
             d.server.listen_fd);
    say(&d, "server", line);
    narrate_trace(&d.narrator, "server: listening");
    loop_timer_init(&d.timer, "scene");
    bool ok = client_connect(&d, &d.a);
    if (ok) {
        say(&d, "client A", "connected; says nothing");
        narrate_trace(&d.narrator, "client A: connected");
    }
    ok = ok && client_connect(&d, &d.b);
    if (ok) {
        say(&d, "client B", "connected");
        narrate_trace(&d.narrator, "client B: connected");
        loop_timer_start(d.loop, &d.timer, STEP_NS, scene_b_speaks, &d);
        rc = loop_run(d.loop);
        if (rc < 0)
            fprintf(stderr, "demo: the loop failed: %s\n", loop_last_error(d.loop));
    }
    if (!ok || rc < 0 || !d.ok)
        loop_dump(d.loop, stderr); /* what the loop still holds, to see where it got stuck */
    echo_server_close(&d.server);
    int written = record_cli_finish(&record);
    loop_free(d.loop);
    if (written != 0)
        fprintf(stderr, "demo: cannot write %s: %s\n", record.path, strerror(-written));
    ok = ok && written == 0;
    if (!ok || rc < 0 || !d.ok) {
        printf("\nThe demo did not see what it expected (above).\n");
        return 1;
    }
    if (d.narrator.trace)
        return 0;
    printf("\nAnswer: by never waiting on one client. The thread waits in select() on every\n"
           "socket at once and wakes when any is ready; each ready fd's callback goes on the\n"
           "ready queue and runs in the tick's batch, and does only what will not block.\n"
           "B was answered while A sat idle, with no thread per client.\n");
    return 0;
}

/* A bad command line and `--serve PORT` (the bare server, until SIGINT or SIGTERM) are handled
 * in loop/net/echo_serve.c, the same for every echo demo; what is left is this lesson's scene. */
int main(int argc, char **argv) {
    /* One line at a time even into a pipe, so the story stays in order beside gdb's output. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (record_cli_parse(&record, &argc, argv,
                         "Lesson 02: an echo server and two clients on select") != 0) {
        fprintf(stderr, "usage: demo [--trace] [--record FILE] (and the echo demos' options)\n");
        return 2;
    }
    struct narrator narrator;
    narrate_parse(&narrator, &argc, argv); /* the rest of the command line is the echo demos' */
    struct echo_serve_args args;
    int status = echo_serve_main(&args, argc, argv, &backend_select);
    return status == ECHO_SERVE_SCENE ? scenario(args.backend, narrator) : status;
}
