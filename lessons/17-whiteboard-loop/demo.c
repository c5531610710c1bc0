/* demo.c — lesson 17 (whiteboard-loop): lesson 02's answer on the whiteboard loop. An echo
 * server, a ticker and a main task that joins them run on loop.c alone; a forked client process
 * drives two clients, A and B, over 127.0.0.1. main() runs the tick's four boxes itself, so it
 * can narrate between box 3 and box 4. `--trace` prints only the canonical event lines that
 * asyncio_twin.py prints too. Exits non-zero unless B was served while A was still connected. */
#include "loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { TICKER_MS = 40, CLIENT_PAUSE_MS = 100, CLIENTS = 2, GIVE_UP_TICKS = 250 };

struct demo;

/* One connection: echoes each read back, until end-of-file. */
struct conn {
    struct wb_task task;
    struct demo *d;
    int id, fd;
    char buf[64];
    ssize_t got, sent;
};

/* Accepts CLIENTS connections, spawning a conn task for each, then stops listening. */
struct listener {
    struct wb_task task;
    struct demo *d;
    int fd, accepted;
};

/* Wakes every TICKER_MS until the server is done: proof that the loop is free between reads.
 * It is also the demo's watchdog: counted in ticks, so a pause in gdb does not set it off. */
struct ticker {
    struct wb_task task;
    struct demo *d;
    int ticks;
};

/* Spawns the listener and the ticker, joins the listener, each connection, then the ticker. */
struct main_task {
    struct wb_task task;
    struct demo *d;
    int i;
};

struct demo {
    struct wb_loop loop;
    struct main_task main;
    struct listener listener;
    struct ticker ticker;
    struct conn conns[CLIENTS];
    bool trace;
    int64_t start;
    int open, max_open;
    int ticks_while_serving;
    bool b_served_while_a_open, server_done;
};

/* A task's own line, under the tick that runs it; nothing in --trace mode. */
static void say(struct demo *d, const char *who, const char *fmt, ...) {
    if (d->trace)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("%18s%-9s ", "", who);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* A canonical event: asyncio_twin.py prints the same line at the same point of the story. */
static void event(struct demo *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (!d->trace)
        printf("%18s== ", "");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static enum wb_status conn_step(struct wb_task *t) {
    struct conn *c = (struct conn *)t;
    struct demo *d = c->d;
    WB_BEGIN(t);
    for (;;) {
        WB_AWAIT(t, wb_wait_fd(t, c->fd, POLLIN));
        c->got = read(c->fd, c->buf, sizeof c->buf);
        if (c->got < 0 && errno == EAGAIN)
            continue; /* readable was a hint, not a promise */
        if (c->got <= 0)
            break;
        event(d, "conn %d echo: %.*s", c->id, (int)strcspn(c->buf, "\n"), c->buf);
        if (c->id == 2)
            d->b_served_while_a_open = d->open == 2;
        for (c->sent = 0; c->sent < c->got;) {
            WB_AWAIT(t, wb_wait_fd(t, c->fd, POLLOUT));
            ssize_t n = write(c->fd, c->buf + c->sent, (size_t)(c->got - c->sent));
            if (n < 0 && errno != EAGAIN)
                break; /* the peer is gone: the next read says so */
            if (n > 0)
                c->sent += n;
        }
    }
    event(d, "conn %d closed", c->id); /* before close(): the client waits for it */
    close(c->fd);
    d->open--;
    WB_END(t);
}

static enum wb_status listener_step(struct wb_task *t) {
    struct listener *f = (struct listener *)t;
    struct demo *d = f->d;
    WB_BEGIN(t);
    while (f->accepted < CLIENTS) {
        WB_AWAIT(t, wb_wait_fd(t, f->fd, POLLIN));
        struct conn *c = &d->conns[f->accepted];
        *c = (struct conn){.d = d, .id = f->accepted + 1, .fd = accept(f->fd, NULL, NULL)};
        if (c->fd < 0)
            continue;
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        f->accepted++;
        if (++d->open > d->max_open)
            d->max_open = d->open;
        event(d, "conn %d open", c->id);
        say(d, "listener", "spawns a task for it; the server holds %d connection%s", d->open,
            d->open == 1 ? "" : "s");
        wb_spawn(&d->loop, &c->task, conn_step, c->id == 1 ? "conn 1" : "conn 2");
    }
    close(f->fd);
    event(d, "listener: %d clients accepted, stops listening", CLIENTS);
    WB_END(t);
}

static enum wb_status ticker_step(struct wb_task *t) {
    struct ticker *f = (struct ticker *)t;
    struct demo *d = f->d;
    WB_BEGIN(t);
    while (!d->server_done) {
        WB_AWAIT(t, wb_sleep(t, TICKER_MS * WB_MS));
        f->ticks++;
        d->ticks_while_serving += d->open > 0;
        say(d, "ticker", "tick %d; %d connection%s open", f->ticks, d->open,
            d->open == 1 ? "" : "s");
        if (f->ticks == GIVE_UP_TICKS) { /* 10 s of ticks: the clients are not coming */
            fprintf(stderr, "demo: UNEXPECTED: the clients never finished; giving up\n");
            exit(1);
        }
    }
    WB_END(t);
}

static enum wb_status main_step(struct wb_task *t) {
    struct main_task *f = (struct main_task *)t;
    struct demo *d = f->d;
    WB_BEGIN(t);
    wb_spawn(&d->loop, &d->listener.task, listener_step, "listener");
    wb_spawn(&d->loop, &d->ticker.task, ticker_step, "ticker");
    say(d, "main", "spawned the listener and the ticker; joins the listener");
    WB_AWAIT(t, wb_join(t, &d->listener.task));
    for (f->i = 0; f->i < CLIENTS; f->i++) {
        say(d, "main", "joins conn %d", f->i + 1);
        WB_AWAIT(t, wb_join(t, &d->conns[f->i].task));
    }
    d->server_done = true;
    say(d, "main", "the server is done; joins the ticker");
    WB_AWAIT(t, wb_join(t, &d->ticker.task));
    event(d, "main: joined the listener, both connections and the ticker");
    WB_END(t);
}

/* ---- the client process ---------------------------------------------------------------------- */

static void pause_ms(int ms) {
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int client_connect(uint16_t port) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval five_seconds = {.tv_sec = 5};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds);
    return fd;
}

/* Sends a line and reads until all of it is back (a 5 s receive timeout bounds the wait). */
static bool client_talk(bool trace, int fd, const char *who, const char *line) {
    size_t len = strlen(line), have = 0;
    char got[64];
    if (!trace)
        printf("%18sclient %s sends \"%.*s\"\n", "", who, (int)len - 1, line);
    if (fd < 0 || send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
        return false;
    while (have < len) {
        ssize_t n = recv(fd, got + have, len - have, 0);
        if (n <= 0)
            return false;
        have += (size_t)n;
    }
    if (!trace)
        printf("%18sclient %s got its echo back\n", "", who);
    return memcmp(got, line, len) == 0;
}

/* Closes the sending side and waits for the server to close: so the order is fixed. */
static bool client_leave(bool trace, int fd, const char *who) {
    char byte;
    if (!trace)
        printf("%18sclient %s leaves\n", "", who);
    bool ok = shutdown(fd, SHUT_WR) == 0 && recv(fd, &byte, 1, 0) == 0;
    close(fd);
    return ok;
}

/* The script: A speaks; B connects and speaks while A, still connected, is silent; A speaks
 * again; B leaves, then A. A blocking server (lesson 01) would never answer B. */
static int client_process(bool trace, uint16_t port) {
    int a = client_connect(port);
    bool ok = client_talk(trace, a, "A", "hello from A\n");
    pause_ms(CLIENT_PAUSE_MS);
    int b = client_connect(port);
    ok = ok && client_talk(trace, b, "B", "hello from B\n");
    pause_ms(CLIENT_PAUSE_MS);
    ok = ok && client_talk(trace, a, "A", "bye from A\n");
    ok = client_leave(trace, b, "B") && ok;
    ok = client_leave(trace, a, "A") && ok;
    if (!ok)
        fprintf(stderr, "client: a conversation failed (%s)\n", strerror(errno));
    return ok ? 0 : 1;
}

/* ---- the server process: the four boxes, with a narrator between box 3 and box 4 ------------- */

static int listen_on_loopback(uint16_t *port) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
        return -1;
    *port = ntohs(addr.sin_port);
    return fd;
}

static void narrate_tick(struct demo *d, int timeout_ms, size_t watched, int ready) {
    if (d->trace)
        return;
    struct wb_loop *l = &d->loop;
    char wait[32], batch[64] = "";
    if (timeout_ms < 0)
        snprintf(wait, sizeof wait, "no timeout");
    else
        snprintf(wait, sizeof wait, "%d ms", timeout_ms);
    if (!l->ready_head)
        snprintf(batch, sizeof batch, "nothing");
    for (struct wb_task *t = l->ready_head; t; t = t->next)
        snprintf(batch + strlen(batch), sizeof batch - strlen(batch), "%s%s",
                 t == l->ready_head ? "" : ", ", t->name);
    printf("tick %2llu %7.1f ms  poll(%zu fd%s, %s) -> %d   run: %s\n",
           (unsigned long long)l->ticks, (double)(wb_now(l) - d->start) / 1e6, watched,
           watched == 1 ? "" : "s", wait, ready, batch);
}

static void run_narrated(struct demo *d) {
    struct wb_loop *l = &d->loop;
    while (l->ready_count || l->timer_count || l->fd_count) {
        l->ticks++; /* wb_run_once, box by box */
        size_t watched = l->fd_count;
        int timeout_ms = wb_timeout_ms(l);  /* box 1 */
        int ready = wb_poll(l, timeout_ms); /* box 2 */
        wb_wake(l);                         /* box 3 */
        narrate_tick(d, timeout_ms, watched, ready);
        wb_run_batch(l); /* box 4 */
    }
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    static struct demo d;
    d.trace = argc > 1 && strcmp(argv[1], "--trace") == 0;
    uint16_t port = 0;
    int listen_fd = listen_on_loopback(&port);
    if (listen_fd < 0) {
        perror("demo: listen on 127.0.0.1");
        return 1;
    }
    if (!d.trace)
        printf("The whole loop is lessons/17-whiteboard-loop/loop.c and loop.h, libc only.\n"
               "On it: an echo server for two clients, a ticker every %d ms, and a main task\n"
               "that joins them. A forked process plays clients A and B on 127.0.0.1:%u.\n"
               "Each tick: poll's timeout, what it watched and found, and the batch it runs;\n"
               "lines marked == are the events asyncio_twin.py prints too (--trace).\n\n",
               TICKER_MS, port);
    event(&d, "listening");
    pid_t client = fork();
    if (client == 0) {
        close(listen_fd);
        _exit(client_process(d.trace, port));
    }
    if (client < 0) {
        perror("demo: fork");
        return 1;
    }
    wb_loop_init(&d.loop, false);
    d.start = wb_now(&d.loop);
    d.main.d = d.listener.d = d.ticker.d = &d;
    d.listener.fd = listen_fd;
    wb_spawn(&d.loop, &d.main.task, main_step, "main");
    run_narrated(&d);
    int status = 0;
    bool client_ok =
        waitpid(client, &status, 0) == client && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    bool concurrent = client_ok && d.max_open == CLIENTS && d.b_served_while_a_open;
    event(&d, "ticker ticked while clients were served: %s",
          d.ticks_while_serving > 0 ? "yes" : "no");
    event(&d, "served concurrently: %s", concurrent ? "yes" : "no");
    if (!d.trace)
        printf("\n%s, in %llu ticks: B was echoed while A, connected,\n"
               "had more to say, and the ticker woke %d times meanwhile. One thread, one\n"
               "poll() per tick.\n",
               concurrent ? "Both clients were served at once" : "UNEXPECTED: not at once",
               (unsigned long long)d.loop.ticks, d.ticks_while_serving);
    return concurrent && d.ticks_while_serving > 0 ? 0 : 1;
}
