/* procworker.c — the worker process (lesson 14). The parent writes a request (in_len, out_cap,
 * bytes) and watches its socket; the child answers (status, bytes). A socketpair rather than two
 * pipe(2)s, for one reason: send() with MSG_NOSIGNAL reports a dead peer as -EPIPE instead of
 * killing the caller with SIGPIPE, and a library must not change the process's signals. */
#include "loop/thread/procworker.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { HEADER = 8, STATUS = 4 };

static bool send_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool recv_all(int fd, void *buf, size_t len) {
    char *p = buf;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* The child: answer requests until end-of-file. It leaves with _exit, not exit: the parent's
 * atexit handlers and stdio buffers, copied by fork, are the parent's to run and flush. */
static void child_main(int fd, procworker_fn fn) {
    /* Descriptors inherited from the parent (another worker's socket, the loop's) are closed,
     * so that no child keeps another worker's socket open and hides its end-of-file. */
    for (int other = 3; other < 1024; other++)
        if (other != fd)
            close(other);
    unsigned char *in = malloc(PROCWORKER_MAX_BYTES), *out = malloc(PROCWORKER_MAX_BYTES);
    uint32_t header[2];
    while (in && out && recv_all(fd, header, HEADER)) {
        if (header[0] > PROCWORKER_MAX_BYTES || !recv_all(fd, in, header[0]))
            break;
        size_t cap = header[1] < PROCWORKER_MAX_BYTES ? header[1] : PROCWORKER_MAX_BYTES;
        int32_t status = fn(in, header[0], out, cap);
        if (status > (int32_t)cap)
            status = -EOVERFLOW;
        if (!send_all(fd, &status, STATUS) || (status > 0 && !send_all(fd, out, (size_t)status)))
            break;
    }
    free(in);
    free(out);
    _exit(0);
}

int procworker_start(struct procworker *w, struct loop *loop, procworker_fn fn, const char *name) {
    if (!w || !loop || !fn)
        return -EINVAL;
    memset(w, 0, sizeof *w);
    w->loop = loop;
    w->fn = fn;
    w->name = name ? name : "procworker";
    w->fd = -1;
    loop_watcher_init(&w->watcher, w->name);
    w->reply = malloc(STATUS + PROCWORKER_MAX_BYTES);
    if (!w->reply)
        return -ENOMEM;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        int err = -errno;
        free(w->reply);
        return err;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int err = -errno;
        close(sv[0]);
        close(sv[1]);
        free(w->reply);
        return err;
    }
    if (pid == 0) {
        close(sv[0]);
        child_main(sv[1], fn);
    }
    close(sv[1]);
    w->pid = pid;
    w->fd = sv[0];
    return 0;
}

/* The child is gone (end-of-file): reap it and say how it ended. */
static void reap(struct procworker *w) {
    int status = 0;
    pid_t got;
    do
        got = waitpid(w->pid, &status, 0);
    while (got < 0 && errno == EINTR);
    if (got == w->pid && WIFSIGNALED(status))
        snprintf(w->why, sizeof w->why, "the worker process (pid %ld) was killed by signal %d",
                 (long)w->pid, WTERMSIG(status));
    else if (got == w->pid)
        snprintf(w->why, sizeof w->why, "the worker process (pid %ld) exited with status %d",
                 (long)w->pid, WEXITSTATUS(status));
    else
        snprintf(w->why, sizeof w->why, "the worker process (pid %ld) could not be reaped",
                 (long)w->pid);
    w->pid = 0;
}

/* The call in flight ends with `result`: stop watching, wake the caller. */
static void call_end(struct procworker *w, int result) {
    if (w->watcher.loop)
        loop_unwatch(w->loop, &w->watcher);
    w->busy = false;
    w->got = 0;
    struct waiter *waiter = w->waiter;
    w->waiter = NULL; /* first: the wake runs the waiter's undo, which must find nothing */
    if (waiter) {
        if (result > 0)
            memcpy(w->out, w->reply + STATUS, (size_t)result);
        waiter_wake(waiter, result);
    }
}

static void on_readable(struct loop_watcher *watcher, unsigned ready) {
    (void)ready;
    struct procworker *w = container_of(watcher, struct procworker, watcher);
    size_t want = STATUS;
    int32_t status = 0;
    for (;;) {
        if (w->got >= STATUS) {
            memcpy(&status, w->reply, STATUS);
            want = STATUS + (status > 0 ? (size_t)status : 0);
            if (w->got == want) {
                call_end(w, status);
                return;
            }
        }
        ssize_t n = recv(w->fd, w->reply + w->got, want - w->got, MSG_DONTWAIT);
        if (n > 0) {
            w->got += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; /* the rest comes later */
        /* End-of-file (or a reset): the child died before it finished answering. */
        w->broken = true;
        reap(w);
        call_end(w, -EPIPE);
        return;
    }
}

/* The caller's undo: woken by something other than the answer (a cancel). The call stays in
 * flight, unowned: its answer is read and dropped, so the next call reads its own. */
static void call_abandon(struct waiter *waiter, void *arg) {
    struct procworker *w = arg;
    if (w->waiter == waiter)
        w->waiter = NULL;
}

bool procworker_call_begin(struct task *t, struct procworker *w, const void *in, size_t len,
                           void *out, size_t cap) {
    int err = 0;
    if (!w || !w->reply || (len && !in) || (cap && !out))
        err = -EINVAL;
    else if (len > PROCWORKER_MAX_BYTES || cap > PROCWORKER_MAX_BYTES)
        err = -EMSGSIZE;
    else if (w->broken || w->pid == 0)
        err = -EPIPE;
    else if (w->busy)
        err = -EBUSY;
    uint32_t header[2] = {(uint32_t)len, (uint32_t)cap};
    if (!err && (!send_all(w->fd, header, HEADER) || !send_all(w->fd, in, len))) {
        err = -EPIPE; /* the child is gone: say how it ended */
        w->broken = true;
        reap(w);
    }
    if (!err)
        err = loop_watch_fd(w->loop, &w->watcher, w->fd, LOOP_READABLE, on_readable, w);
    if (err) {
        t->waiter.result = err;
        return false;
    }
    w->busy = true;
    w->got = 0;
    w->out = out;
    w->out_cap = cap;
    w->waiter = &t->waiter;
    w->calls++;
    t->waiter.undo = call_abandon;
    t->waiter.undo_arg = w;
    task_park(t, "worker process");
    return true;
}

int procworker_stop(struct procworker *w) {
    if (!w || !w->reply)
        return -EINVAL;
    if (w->busy)
        call_end(w, -ECANCELED);
    if (w->fd >= 0)
        close(w->fd); /* the child reads end-of-file and exits */
    w->fd = -1;
    int rc = w->pid ? 0 : -ECHILD;
    if (w->pid)
        reap(w);
    free(w->reply);
    w->reply = NULL;
    return rc;
}

void procworker_dump(const struct procworker *w, FILE *out) {
    fprintf(out, "procworker %s: pid %ld, %s, %lu calls%s%s\n", w->name, (long)w->pid,
            w->broken ? "broken"
            : w->busy ? "a call in flight"
                      : "idle",
            w->calls, w->why[0] ? ": " : "", w->why);
    fflush(out);
}
