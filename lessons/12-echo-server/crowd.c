/* crowd.c — lesson 12's client in its own process; see crowd.h. Every byte it sends follows a
 * pattern fixed by the connection's number and the byte's position, so every byte that comes
 * back is checked without keeping a copy of what was sent. */
#include "crowd.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop/net/net.h"

/* Connections being opened at once: a few hundred keeps the server's accept queue short, so no
 * handshake is ever dropped and retried a second later. */
enum { CROWD_IN_FLIGHT = 256, CROWD_MAX_MESSAGE = 96 };

struct crowd_conn {
    int fd;
    uint32_t sent, got; /* bytes sent, and bytes back and checked, since it opened */
};

struct crowd_state {
    const struct crowd_config *config;
    struct crowd_conn *conns;
    struct pollfd *polls;
    struct crowd_report report;
    int stall_ms;
};

static double crowd_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Byte number k of connection i's stream. */
static unsigned char crowd_byte(int i, uint32_t k) {
    return (unsigned char)((uint32_t)i * 131u + k * 7u + (k >> 8) + 1u);
}

/* Round r's message length for connection i: 1 to CROWD_MAX_MESSAGE bytes. */
static uint32_t crowd_length(int i, int r) {
    return 1u + ((uint32_t)i * 7u + (uint32_t)r * 13u) % CROWD_MAX_MESSAGE;
}

/* Sends the next len bytes of c's pattern. Small messages on an empty socket: never partial. */
static int crowd_send(struct crowd_conn *c, int i, uint32_t len) {
    unsigned char buf[CROWD_MAX_MESSAGE];
    for (uint32_t k = 0; k < len; k++)
        buf[k] = crowd_byte(i, c->sent + k);
    ssize_t n = net_send(c->fd, buf, len);
    if (n != (ssize_t)len)
        return n < 0 ? (int)n : -EPIPE;
    c->sent += len;
    return 0;
}

/* Reads what came back and checks it. 0, -EAGAIN (nothing yet), -EPIPE (closed, or a wrong
 * byte, or more than was sent). */
static int crowd_receive(struct crowd_state *st, int i) {
    struct crowd_conn *c = &st->conns[i];
    unsigned char buf[CROWD_MAX_MESSAGE * 2];
    ssize_t n = net_recv(c->fd, buf, sizeof buf);
    if (n == -EAGAIN)
        return -EAGAIN;
    if (n <= 0 || c->got + (uint32_t)n > c->sent)
        return -EPIPE;
    for (ssize_t k = 0; k < n; k++)
        if (buf[k] != crowd_byte(i, c->got + (uint32_t)k))
            return -EPIPE;
    c->got += (uint32_t)n;
    st->report.bytes_verified += n;
    return 0;
}

/* Opens every connection, CROWD_IN_FLIGHT at a time; each counts once its first byte is back. */
static int crowd_connect_all(struct crowd_state *st) {
    int n = st->config->connections, next = 0, done = 0;
    int flight[CROWD_IN_FLIGHT], in_flight = 0;
    while (done < n) {
        while (next < n && in_flight < CROWD_IN_FLIGHT) {
            struct crowd_conn *c = &st->conns[next];
            int rc = net_connect_tcp(NET_LOOPBACK, st->config->port, &c->fd);
            if (rc < 0 && rc != -EINPROGRESS)
                return rc; /* e.g. -EMFILE: the caller checked the limit, so this is news */
            flight[in_flight++] = next++;
        }
        struct pollfd p[CROWD_IN_FLIGHT];
        for (int k = 0; k < in_flight; k++) {
            struct crowd_conn *c = &st->conns[flight[k]];
            p[k] = (struct pollfd){.fd = c->fd, .events = c->sent ? POLLIN : POLLOUT};
        }
        int ready = poll(p, (nfds_t)in_flight, st->stall_ms);
        if (ready == 0)
            return -ETIMEDOUT;
        if (ready < 0 && errno != EINTR)
            return -errno;
        for (int k = in_flight - 1; k >= 0; k--) { /* backwards: finished ones swap out */
            int i = flight[k];
            struct crowd_conn *c = &st->conns[i];
            int rc = 0;
            if (!p[k].revents)
                continue;
            if (c->sent == 0) {
                rc = net_connect_result(c->fd);
                if (rc == 0)
                    rc = crowd_send(c, i, 1); /* hello: one byte, answered once accepted */
            } else if ((rc = crowd_receive(st, i)) == 0 && c->got == c->sent) {
                flight[k] = flight[--in_flight];
                done++;
            }
            if (rc < 0 && rc != -EAGAIN)
                return rc;
        }
    }
    st->report.connected = done;
    return 0;
}

/* Every active connection sends a message; wait until each has all of it back. */
static int crowd_round(struct crowd_state *st, int r) {
    int active = st->config->active, waiting = active;
    for (int i = 0; i < active; i++) {
        int rc = crowd_send(&st->conns[i], i, crowd_length(i, r));
        if (rc < 0)
            return rc;
        st->polls[i] = (struct pollfd){.fd = st->conns[i].fd, .events = POLLIN};
    }
    while (waiting > 0) {
        int ready = poll(st->polls, (nfds_t)active, st->stall_ms);
        if (ready == 0)
            return -ETIMEDOUT;
        if (ready < 0 && errno != EINTR)
            return -errno;
        for (int i = 0; i < active && ready > 0; i++) {
            if (!st->polls[i].revents)
                continue;
            ready--;
            int rc = crowd_receive(st, i);
            if (rc < 0 && rc != -EAGAIN)
                return rc;
            if (st->conns[i].got == st->conns[i].sent) {
                st->polls[i].fd = -1; /* poll skips it */
                waiting--;
            }
        }
    }
    st->report.round_trips += active;
    return 0;
}

/* How many connections the server has closed: end-of-file or a reset. The server has closed
 * them all when the parent asks, but loopback hands the closes over in the kernel's own time:
 * one look could miss the last ones, so it waits for them as long as any keeps arriving. */
static int crowd_count_closed(struct crowd_state *st) {
    int n = st->config->connections, open = 0, closed = 0;
    for (int i = 0; i < n; i++) {
        st->polls[i] = (struct pollfd){.fd = st->conns[i].fd, .events = POLLIN};
        open += st->conns[i].fd >= 0;
    }
    while (closed < open) {
        int ready = poll(st->polls, (nfds_t)n, st->stall_ms); /* skips the fds set to -1 */
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            break; /* nothing moved for stall_ms: what is still open stays uncounted */
        for (int i = 0; i < n; i++) {
            if (!st->polls[i].revents)
                continue;
            char b[256];
            ssize_t got;
            while ((got = recv(st->polls[i].fd, b, sizeof b, MSG_DONTWAIT)) > 0) {
            } /* bytes still unread come before the end: read past them */
            if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                closed++;
                st->polls[i].fd = -1;
            }
        }
    }
    return closed;
}

static int crowd_tell(int fd, struct crowd_state *st, int step, int error, double since) {
    st->report.step = step;
    st->report.error = error;
    st->report.seconds = crowd_now() - since;
    return write(fd, &st->report, sizeof st->report) == sizeof st->report ? 0 : -EPIPE;
}

/* Blocks until the parent says go (one byte); false if the parent is gone. */
static bool crowd_wait(int fd) {
    char b;
    ssize_t n;
    while ((n = read(fd, &b, 1)) < 0 && errno == EINTR) {
    }
    return n == 1;
}

int crowd_run(const struct crowd_config *config, int report_fd, int command_fd) {
    if (!config || config->connections < 1 || config->active < 0 ||
        config->active > config->connections)
        return -EINVAL;
    int n = config->connections;
    struct crowd_state st = {.config = config,
                             .stall_ms = config->stall_ms ? config->stall_ms : 10000};
    st.conns = calloc((size_t)n, sizeof *st.conns);
    st.polls = calloc((size_t)n, sizeof *st.polls);
    int rc = st.conns && st.polls ? 0 : -ENOMEM;
    for (int i = 0; i < n && st.conns; i++)
        st.conns[i].fd = -1;
    double t0 = crowd_now();
    if (rc == 0)
        rc = crowd_connect_all(&st);
    crowd_tell(report_fd, &st, CROWD_CONNECTED, rc, t0);
    if (rc == 0 && crowd_wait(command_fd)) {
        t0 = crowd_now();
        for (int r = 0; r < config->rounds && rc == 0; r++)
            rc = crowd_round(&st, r);
        crowd_tell(report_fd, &st, CROWD_ECHOED, rc, t0);
        if (rc == 0)
            crowd_wait(command_fd);
    }
    t0 = crowd_now();
    if (st.polls)
        st.report.closed_by_server = crowd_count_closed(&st);
    for (int i = 0; i < n && st.conns; i++)
        if (st.conns[i].fd >= 0)
            close(st.conns[i].fd);
    crowd_tell(report_fd, &st, CROWD_DONE, rc, t0);
    free(st.conns);
    free(st.polls);
    return rc;
}

int crowd_start(struct crowd *c, const struct crowd_config *config) {
    int reports[2], commands[2];
    if (pipe(reports) < 0)
        return -errno;
    if (pipe(commands) < 0) {
        int err = -errno;
        close(reports[0]);
        close(reports[1]);
        return err;
    }
    fflush(NULL); /* or the child would print the parent's buffered lines again */
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        close(reports[0]), close(reports[1]), close(commands[0]), close(commands[1]);
        return err;
    }
    if (pid == 0) {
        /* The child keeps only its pipes and stdio: the parent's listener and connections are
         * not its to hold (and would keep them open after the parent closed them). */
        struct rlimit lim;
        int top = getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
                      ? (int)lim.rlim_cur
                      : 4096;
        for (int fd = 3; fd < top; fd++)
            if (fd != reports[1] && fd != commands[0])
                close(fd);
        signal(SIGPIPE, SIG_IGN);
        int rc = crowd_run(config, reports[1], commands[0]);
        _exit(rc == 0 ? 0 : 1);
    }
    close(reports[1]);
    close(commands[0]);
    *c = (struct crowd){.pid = pid, .reports = reports[0], .commands = commands[1]};
    return 0;
}

int crowd_go(struct crowd *c) {
    return write(c->commands, "g", 1) == 1 ? 0 : -EPIPE;
}

int crowd_read(struct crowd *c, struct crowd_report *r, int timeout_ms) {
    size_t got = 0;
    while (got < sizeof *r) {
        struct pollfd p = {.fd = c->reports, .events = POLLIN};
        int ready = poll(&p, 1, timeout_ms);
        if (ready == 0)
            return -ETIMEDOUT;
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        ssize_t n = read(c->reports, (char *)r + got, sizeof *r - got);
        if (n <= 0)
            return -EPIPE;
        got += (size_t)n;
    }
    return 0;
}

int crowd_finish(struct crowd *c) {
    close(c->commands); /* a crowd waiting for go reads end-of-file and closes up */
    int status;
    pid_t got;
    while ((got = waitpid(c->pid, &status, 0)) < 0 && errno == EINTR) {
    }
    close(c->reports);
    return got == c->pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

long crowd_resident_bytes(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}
