/* demo.c — lesson 03 (poll-backend): what changes when select is swapped for poll — and what
 * must not? Lesson 02's scene (A idle, B talks) on the poll backend, with client A's socket moved
 * to fd 1500, which select cannot hold. After every wait the narration names the fds the kernel
 * answered for, and prints the whole pollfd array (events asked, revents answered) whenever its
 * set of fds changed. `--backend select` runs the same scene on select; `--serve PORT` runs the
 * bare server (loop/net/echo_serve.c). */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "loop/net/echo.h"
#include "loop/loop.h"
#include "loop/net/net.h"

enum {
    STEP_NS = 5000000, /* the pause between scenes */
    HIGH_FD = 1500,    /* where client A's socket moves: above select's FD_SETSIZE (1024) */
};

struct demo;

struct client {
    struct demo *demo;
    const char *name;
    const char *line;
    int fd;
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
    size_t shown_watches; /* fds watched when the pollfd array was last printed */
    bool ok;
};

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void say(struct demo *d, const char *who, const char *what) {
    printf("%6.1f ms  %-9s %s\n", (double)(now_ns() - d->start_ns) / 1e6, who, what);
    fflush(stdout);
}

/* Hook: step 1 of the tick decided how long to wait. */
static void narrate_wait(void *ctx, struct loop *loop, int64_t timeout_ns) {
    char what[128];
    snprintf(what, sizeof what, "tick %llu: %s() with timeout %s",
             (unsigned long long)loop_tick(loop), loop_backend(loop)->ops->name,
             timeout_ns < 0 ? "-1 (block until an fd is ready)" : "");
    if (timeout_ns >= 0)
        snprintf(what + strlen(what), sizeof what - strlen(what), "%.3f ms",
                 (double)timeout_ns / 1e6);
    say(ctx, "loop", what);
}

/* Hook: the wait returned. One line names the ready fds; the backend's own dump (for poll, the
 * pollfd array with the kernel's answer in revents) only when the set of watched fds changed
 * since it was last shown: the same array again would say nothing new. */
static void narrate_ready(void *ctx, struct loop *loop, const struct backend_ready *ready, int n) {
    struct demo *d = ctx;
    char what[160];
    int len = snprintf(what, sizeof what, "  returned %d:", n);
    for (int i = 0; i < n && len < (int)sizeof what; i++)
        len += snprintf(what + len, sizeof what - (size_t)len, "%s fd %d%s", i ? "," : "",
                        ready[i].fd, (ready[i].readiness & LOOP_READABLE) ? " readable" : "");
    if (n == 0)
        snprintf(what + len, sizeof what - (size_t)len, " nothing ready");
    say(d, "loop", what);
    size_t watches = loop_watch_count(loop);
    if (watches != d->shown_watches) {
        d->shown_watches = watches;
        say(d, "loop", "  the watched fds changed; the backend now holds:");
        struct backend *b = loop_backend(loop);
        b->ops->dump(b, stdout);
    }
}

static void scene_a_speaks(struct loop_timer *t);
static void scene_wrap_up(struct loop_timer *t);

static void client_leaves(struct demo *d, struct client *c) {
    loop_unwatch(d->loop, &c->watcher); /* before close(), always */
    close(c->fd);
    c->fd = -1;
}

static void client_readable(struct loop_watcher *w, unsigned ready) {
    struct client *c = w->arg;
    struct demo *d = c->demo;
    (void)ready;
    ssize_t n = net_recv(c->fd, c->got + c->got_len, sizeof c->got - 1 - c->got_len);
    if (n <= 0)
        return;
    c->got_len += (size_t)n;
    c->got[c->got_len] = '\0';
    if (c->got_len < strlen(c->line))
        return;
    char line[128];
    snprintf(line, sizeof line, "echo arrives on fd %d: \"%.*s\"", c->fd,
             (int)strcspn(c->got, "\n"), c->got);
    say(d, c->name, line);
    if (c == &d->b) {
        loop_timer_start(d->loop, &d->timer, STEP_NS, scene_a_speaks, d);
    } else {
        d->ok = true;
        say(d, "clients", "both leave (close)");
        client_leaves(d, &d->a);
        client_leaves(d, &d->b);
        loop_timer_start(d->loop, &d->timer, STEP_NS, scene_wrap_up, d);
    }
}

static void client_speaks(struct demo *d, struct client *c) {
    char line[96];
    snprintf(line, sizeof line, "sends \"%.*s\"", (int)strcspn(c->line, "\n"), c->line);
    say(d, c->name, line);
    if (net_send(c->fd, c->line, strlen(c->line)) != (ssize_t)strlen(c->line))
        say(d, c->name, "UNEXPECTED: the send failed");
}

static void scene_b_speaks(struct loop_timer *t) {
    client_speaks(t->arg, &((struct demo *)t->arg)->b);
}

static void scene_a_speaks(struct loop_timer *t) {
    client_speaks(t->arg, &((struct demo *)t->arg)->a);
}

static void scene_wrap_up(struct loop_timer *t) {
    struct demo *d = t->arg;
    say(d, "server", "closes; nothing is watched any more, so loop_run returns");
    echo_server_close(&d->server);
}

static bool client_connect(struct demo *d, struct client *c) {
    int rc = net_connect_tcp(NET_LOOPBACK, d->server.port, &c->fd);
    if (rc == -EINPROGRESS) {
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        poll(&p, 1, 2000); /* on loopback this returns at once */
        rc = net_connect_result(c->fd);
    }
    if (rc < 0) {
        fprintf(stderr, "demo: %s cannot connect: %s\n", c->name, strerror(-rc));
        return false;
    }
    return true;
}

/* Moves fd to HIGH_FD if the process may open that many files; returns the fd it ends up on. */
static int move_high(struct demo *d, int fd) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur <= HIGH_FD && lim.rlim_max > HIGH_FD) {
        lim.rlim_cur = HIGH_FD + 1;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    if (dup2(fd, HIGH_FD) != HIGH_FD) {
        say(d, "client A", "(cannot use fd 1500 here: the fd limit is too low; staying put)");
        return fd;
    }
    close(fd);
    return HIGH_FD;
}

static void show_select_refusal(struct demo *d, int fd) {
    struct loop *probe;
    struct loop_config config = {.backend = &backend_select};
    struct loop_watcher w;
    if (loop_new(&probe, &config) < 0)
        return;
    loop_watcher_init(&w, "probe");
    char line[96];
    int rc = loop_watch_fd(probe, &w, fd, LOOP_READABLE, client_readable, NULL);
    if (rc < 0) /* the full reason is in loop_last_error(probe): too long for one line here */
        snprintf(line, sizeof line, "select would refuse it (%s): fd_set ends at fd %d",
                 rc == -ERANGE ? "-ERANGE" : strerror(-rc), FD_SETSIZE - 1);
    else
        snprintf(line, sizeof line, "a select loop could watch fd %d too", fd);
    loop_unwatch(probe, &w);
    loop_free(probe);
    say(d, "client A", line);
}

static int scenario(const struct backend_ops *backend) {
    static struct demo d; /* static: the pool of streams is ~66 KB */
    d.start_ns = now_ns();
    d.a = (struct client){.demo = &d, .name = "client A", .line = "A speaks at last\n", .fd = -1};
    d.b = (struct client){.demo = &d, .name = "client B", .line = "hello from B\n", .fd = -1};
    struct loop_config config = {
        .backend = backend,
        .hooks = {.ctx = &d, .before_wait = narrate_wait, .after_wait = narrate_ready},
    };
    int rc = loop_new(&d.loop, &config);
    if (rc == 0)
        rc = echo_server_open(&d.server, d.loop, NET_LOOPBACK, 0, NULL);
    if (rc < 0) {
        fprintf(stderr, "demo: cannot start: %s\n", strerror(-rc));
        return 1;
    }
    printf("Lesson 02's scene on the %s backend: the same echo server, the same clients.\n\n",
           backend->name);
    char line[128];
    snprintf(line, sizeof line, "listening on 127.0.0.1:%u (fd %d)", d.server.port,
             d.server.listen_fd);
    say(&d, "server", line);
    bool ok = client_connect(&d, &d.a) && client_connect(&d, &d.b);
    if (ok && backend == &backend_poll) {
        d.a.fd = move_high(&d, d.a.fd);
        snprintf(line, sizeof line, "connected; its socket now is fd %d; says nothing", d.a.fd);
        say(&d, "client A", line);
        show_select_refusal(&d, d.a.fd);
    } else if (ok) {
        say(&d, "client A", "connected; says nothing (select: it must stay below fd 1024)");
    }
    if (ok) {
        say(&d, "client B", "connected");
        loop_watcher_init(&d.a.watcher, "client A");
        loop_watcher_init(&d.b.watcher, "client B");
        ok = loop_watch_fd(d.loop, &d.a.watcher, d.a.fd, LOOP_READABLE, client_readable, &d.a) ==
                 0 &&
             loop_watch_fd(d.loop, &d.b.watcher, d.b.fd, LOOP_READABLE, client_readable, &d.b) == 0;
    }
    if (ok) {
        loop_timer_init(&d.timer, "scene");
        loop_timer_start(d.loop, &d.timer, STEP_NS, scene_b_speaks, &d);
        rc = loop_run(d.loop);
    }
    if (!ok || rc < 0 || !d.ok)
        loop_dump(d.loop, stderr); /* what the loop still holds, to see where it got stuck */
    echo_server_close(&d.server);
    loop_free(d.loop);
    if (!ok || rc < 0 || !d.ok) {
        printf("\nThe demo did not see what it expected (above).\n");
        return 1;
    }
    printf("\nAnswer: what changes is how the loop asks. poll takes an array of (fd, events)\n"
           "and fills in revents: no fd limit, no bitmaps rebuilt per call, hang-ups and\n"
           "invalid fds reported by name. What must not change is everything above the\n"
           "backend: the same callbacks ran in the same order and every client got its bytes.\n");
    return 0;
}

/* A bad command line and `--serve PORT` (the bare server, until SIGINT or SIGTERM) are handled
 * in loop/net/echo_serve.c, the same for every echo demo; what is left is this lesson's scene. */
int main(int argc, char **argv) {
    /* One line at a time even into a pipe, so the story stays in order beside gdb's output. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct echo_serve_args args;
    int status = echo_serve_main(&args, argc, argv, &backend_poll);
    return status == ECHO_SERVE_SCENE ? scenario(args.backend) : status;
}
