/* blocking_server.c — lesson 01 (blocking-world): the server every later lesson improves on.
 * accept() and read() block the calling thread until something happens, so a server with one
 * thread serves one client at a time; a thread per connection lifts that, at a thread's cost.
 * Stopping it wakes every blocked call and joins every thread: nothing outlives the server. */
#include "blocking_server.h"
#include "blocking_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BLOCKING_BACKLOG = 16 };

/* The server's own lines on the timeline (silent when the server has no log). */
static void blocking_server_say(const struct blocking_server *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    blocking_vsay(s->log, s->start_ns, "server", fmt, ap);
    va_end(ap);
}

/* Echoes one client until it leaves. The thread spends nearly all its life inside read(). */
static void blocking_echo_until_eof(struct blocking_conn *c) {
    const struct blocking_server *s = c->server;
    char buf[512];
    for (;;) {
        blocking_server_say(s, "connection %d: read() blocks until data or EOF", c->number);
        ssize_t n = read(c->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            blocking_server_say(s, "connection %d: read() returned 0: the client left", c->number);
            return;
        }
        if (n < 0) {
            blocking_server_say(s, "connection %d: read() failed (%s): drop it", c->number,
                                strerror(errno));
            return;
        }
        blocking_server_say(s, "connection %d: read() returned %zd bytes; send them back",
                            c->number, n);
        if (blocking_send_all(c->fd, buf, (size_t)n) < 0)
            return;
    }
}

/* Blocks in accept() and records the new connection, so that stop() can wake it.
 * NULL when accept() fails: stop() shut the listening socket down (or it broke). */
static struct blocking_conn *blocking_accept(struct blocking_server *s) {
    for (;;) {
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
            continue;
        if (fd < 0)
            return NULL;
        struct blocking_conn *c = NULL;
        pthread_mutex_lock(&s->lock);
        bool stopping = s->stopping;
        if (!stopping && s->accepted < BLOCKING_MAX_CONNS) {
            c = &s->conns[s->accepted++];
            *c = (struct blocking_conn){.server = s, .number = s->accepted, .fd = fd};
        }
        pthread_mutex_unlock(&s->lock);
        if (c != NULL)
            return c;
        close(fd); /* stopping, or more clients than a lesson needs */
        if (stopping)
            return NULL;
    }
}

/* Closes a connection. Its fd leaves the table first, under the lock, so stop() can never
 * shut down a number that close() has freed and the process has already reused. */
static void blocking_close(struct blocking_conn *c) {
    pthread_mutex_lock(&c->server->lock);
    int fd = c->fd;
    c->fd = -1;
    pthread_mutex_unlock(&c->server->lock);
    close(fd);
}

/* Model 1: the thread serves one client until it leaves; the others wait in the queue. */
static void *blocking_one_at_a_time_main(void *arg) {
    struct blocking_server *s = arg;
    for (;;) {
        blocking_server_say(s, "accept() blocks until a client is queued");
        struct blocking_conn *c = blocking_accept(s);
        if (c == NULL)
            break;
        blocking_server_say(s, "accept() returned connection %d; serve it until it leaves",
                            c->number);
        blocking_echo_until_eof(c);
        blocking_close(c);
    }
    blocking_server_say(s, "stopped");
    return NULL;
}

static void *blocking_conn_thread_main(void *arg) {
    struct blocking_conn *c = arg;
    blocking_echo_until_eof(c);
    blocking_close(c);
    return NULL;
}

static size_t blocking_default_stack_kib(void) {
    pthread_attr_t attr;
    size_t size = 0;
    if (pthread_attr_init(&attr) == 0) {
        pthread_attr_getstacksize(&attr, &size);
        pthread_attr_destroy(&attr);
    }
    return size / 1024;
}

/* Model 2: this thread only accepts; each client gets a thread that blocks on it alone. */
static void *blocking_thread_per_connection_main(void *arg) {
    struct blocking_server *s = arg;
    for (;;) {
        blocking_server_say(s, "acceptor: accept() blocks until a client is queued");
        struct blocking_conn *c = blocking_accept(s);
        if (c == NULL)
            break;
        if (pthread_create(&c->thread, NULL, blocking_conn_thread_main, c) != 0) {
            blocking_close(c);
            continue;
        }
        pthread_mutex_lock(&s->lock);
        c->has_thread = true;
        pthread_mutex_unlock(&s->lock);
        blocking_server_say(s,
                            "acceptor: accept() gave connection %d: a new thread "
                            "(%zu KiB stack)",
                            c->number, blocking_default_stack_kib());
    }
    /* Join them all: a thread still blocked when the process ends leaves its stack behind
     * (valgrind: "possibly lost"). stop() has woken each one's read(). */
    for (int i = 0; i < s->accepted; i++) {
        if (s->conns[i].has_thread)
            pthread_join(s->conns[i].thread, NULL);
    }
    blocking_server_say(s, "stopped");
    return NULL;
}

static int blocking_listen(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0; /* the kernel picks a free port */
    socklen_t len = sizeof addr;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, BLOCKING_BACKLOG) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

int blocking_server_start(struct blocking_server *s) {
    if (s == NULL ||
        (s->model != BLOCKING_ONE_AT_A_TIME && s->model != BLOCKING_THREAD_PER_CONNECTION))
        return -EINVAL;
    if (s->running)
        return -EALREADY;
    int fd = blocking_listen(&s->port);
    if (fd < 0)
        return fd;
    s->listen_fd = fd;
    s->stopping = false;
    s->accepted = 0;
    pthread_mutex_init(&s->lock, NULL);
    int err =
        pthread_create(&s->thread, NULL,
                       s->model == BLOCKING_ONE_AT_A_TIME ? blocking_one_at_a_time_main
                                                          : blocking_thread_per_connection_main,
                       s);
    if (err != 0) {
        close(fd);
        pthread_mutex_destroy(&s->lock);
        return -err;
    }
    s->running = true;
    return 0;
}

int blocking_server_stop(struct blocking_server *s) {
    if (s == NULL)
        return -EINVAL;
    if (!s->running)
        return -EALREADY;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    /* shutdown() wakes a thread blocked on the socket. On a listening socket (Linux) accept()
     * fails with EINVAL from then on; on a connection read() returns 0, as if the client left. */
    shutdown(s->listen_fd, SHUT_RDWR);
    for (int i = 0; i < s->accepted; i++) {
        if (s->conns[i].fd >= 0)
            shutdown(s->conns[i].fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    s->listen_fd = -1;
    pthread_mutex_destroy(&s->lock);
    s->running = false;
    return 0;
}

void blocking_server_dump(struct blocking_server *s, FILE *out) {
    if (s == NULL || !s->running) {
        fprintf(out, "blocking_server: not running\n");
        fflush(out);
        return;
    }
    pthread_mutex_lock(&s->lock);
    fprintf(out, "blocking_server %s on 127.0.0.1:%u, listen fd %d%s, %d accepted\n",
            s->model == BLOCKING_ONE_AT_A_TIME ? "one-at-a-time" : "thread-per-connection",
            (unsigned)s->port, s->listen_fd, s->stopping ? " (stopping)" : "", s->accepted);
    for (int i = 0; i < s->accepted; i++) {
        const struct blocking_conn *c = &s->conns[i];
        fprintf(out, "  connection %d: %s (fd %d)%s\n", c->number, c->fd >= 0 ? "open" : "closed",
                c->fd, c->has_thread ? ", own thread" : "");
    }
    pthread_mutex_unlock(&s->lock);
    fflush(out);
}
