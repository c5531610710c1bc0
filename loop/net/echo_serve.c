/* echo_serve.c — the echo server as a program (lesson 02; lessons 03 and 12 run it too): the
 * command line the echo demos take, and their `--serve PORT` mode, which echoes until SIGINT or
 * SIGTERM, then drains and closes. One copy here, so every lesson's demo stops the same way; see
 * echo.h. */
#include "loop/net/echo.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "loop/net/net.h"
#include "loop/signal.h"

/* The backends a demo may be asked for, by name: adding one is adding its name here. (The
 * scripted backend only replays what a test queued: no real fd would ever wake it. epoll-edge
 * would stall the listener, which accepts a few per wakeup: under edge-triggering the rest would
 * wait for an edge that already came, lesson 16.) */
static const char *const echo_serve_backends[] = {
    "select",
    "poll",
#ifdef __linux__
    "epoll",
#endif
};
enum { ECHO_SERVE_BACKEND_COUNT = sizeof echo_serve_backends / sizeof echo_serve_backends[0] };
/* Descriptors kept back from --max-conns' default: stdio, the listener, the signal pipe, the
 * backend's own, and a few for whatever the process opens besides. */
enum { ECHO_SERVE_SPARE_FDS = 16 };
static const long ECHO_SERVE_DRAIN_MS = 1000;

/* One line on out, if there is an out, flushed at once: a parent process may be waiting for it. */
static void echo_serve_print(FILE *out, const char *format, ...) {
    if (!out)
        return;
    va_list ap;
    va_start(ap, format);
    vfprintf(out, format, ap);
    va_end(ap);
    fflush(out);
}

/* "select|poll|epoll" or "select or poll or epoll" (epoll where it exists). */
static void echo_serve_backend_names(char *out, size_t len, const char *separator) {
    out[0] = '\0';
    for (int i = 0; i < ECHO_SERVE_BACKEND_COUNT; i++) {
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s", i ? separator : "", echo_serve_backends[i]);
    }
}

static const struct backend_ops *echo_serve_backend(const char *name) {
    for (int i = 0; i < ECHO_SERVE_BACKEND_COUNT; i++)
        if (strcmp(name, echo_serve_backends[i]) == 0)
            return backend_by_name(name);
    return NULL;
}

/* A whole decimal number in [min, max], or -1. */
static long echo_serve_number(const char *text, long min, long max) {
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    return (*text && !*end && !errno && n >= min && n <= max) ? n : -1;
}

int echo_serve_parse_args(struct echo_serve_args *args, int argc, char **argv,
                          const struct backend_ops *fallback, FILE *err) {
    if (!args || argc < 1 || !argv || !argv[0] || !fallback)
        return -EINVAL;
    const char *slash = strrchr(argv[0], '/');
    *args = (struct echo_serve_args){.program = slash ? slash + 1 : argv[0],
                                     .backend = fallback,
                                     .drain_ms = ECHO_SERVE_DRAIN_MS};
    char names[64];
    for (int i = 1; i < argc; i += 2) { /* every option takes one value */
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        long n = value ? echo_serve_number(value, 0, 1000000000) : -1;
        if (strcmp(flag, "--backend") == 0 && value) {
            if (!(args->backend = echo_serve_backend(value))) {
                echo_serve_backend_names(names, sizeof names, " or ");
                echo_serve_print(err, "%s: --backend takes %s\n", args->program, names);
                return -EINVAL;
            }
        } else if (strcmp(flag, "--serve") == 0 && value) {
            if ((n = echo_serve_number(value, 0, 65535)) < 0) {
                echo_serve_print(err, "%s: --serve takes a port, 0..65535 (0: any free port)\n",
                                 args->program);
                return -EINVAL;
            }
            args->serve = true;
            args->port = (uint16_t)n;
        } else if ((strcmp(flag, "--max-conns") == 0 || strcmp(flag, "--idle-timeout") == 0 ||
                    strcmp(flag, "--drain-ms") == 0) &&
                   value) {
            if (n < 0) {
                echo_serve_print(err, "%s: %s takes a whole number, 0 or more\n", args->program,
                                 flag);
                return -EINVAL;
            }
            if (flag[2] == 'm')
                args->max_conns = (size_t)n;
            else if (flag[2] == 'i')
                args->idle_timeout_ms = n;
            else
                args->drain_ms = n;
        } else {
            echo_serve_backend_names(names, sizeof names, "|");
            echo_serve_print(err,
                             "usage: %s [--backend %s] [--serve PORT] [--max-conns N] "
                             "[--idle-timeout MS] [--drain-ms MS]\n",
                             argv[0], names);
            return -EINVAL;
        }
    }
    return 0;
}

/* The descriptor limits before and after --serve raised the soft one to the hard one. */
struct echo_serve_fds {
    unsigned long long was, now, hard;
};

static struct echo_serve_fds echo_serve_raise_fd_limit(void) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0)
        return (struct echo_serve_fds){1024, 1024, 1024};
    struct echo_serve_fds fds = {lim.rlim_cur, lim.rlim_cur, lim.rlim_max};
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &lim) == 0)
            fds.now = lim.rlim_cur;
    }
    return fds;
}

/* What --serve's callbacks share. */
struct echo_serve_run {
    struct loop *loop;
    struct echo_server server;
    struct loop_signal sig;
    long drain_ms;
    int signo; /* the first signal */
};

static void echo_serve_drained(struct echo_server *s) {
    struct echo_serve_run *run = s->config.arg;
    loop_stop(run->loop);
}

/* An ordinary callback, not the handler: here anything is allowed. The first signal starts the
 * graceful shutdown; a second one does not wait for it. */
static void echo_serve_on_signal(struct loop_signal *sig, int signo) {
    struct echo_serve_run *run = sig->arg;
    if (run->signo == 0) {
        run->signo = signo;
        echo_server_shutdown(&run->server, (int64_t)run->drain_ms * 1000000);
    } else {
        loop_stop(run->loop);
    }
}

int echo_serve_until_signal(const struct echo_serve_args *args, FILE *out, FILE *err) {
    if (!args)
        return -EINVAL;
    const char *program = args->program ? args->program : "echo";
    struct echo_serve_fds fds = echo_serve_raise_fd_limit();
    size_t max_conns = args->max_conns                  ? args->max_conns
                       : fds.now > ECHO_SERVE_SPARE_FDS ? (size_t)(fds.now - ECHO_SERVE_SPARE_FDS)
                                                        : 1;
    struct echo_serve_run run = {.drain_ms = args->drain_ms};
    struct echo_config config = {.max_conns = max_conns,
                                 .idle_timeout_ns = (int64_t)args->idle_timeout_ms * 1000000,
                                 .log = err,
                                 .on_drained = echo_serve_drained,
                                 .arg = &run};
    struct loop_config loop_config = {.backend = args->backend};
    int rc = loop_new(&run.loop, &loop_config);
    if (rc < 0) {
        echo_serve_print(err, "%s: cannot serve: %s\n", program, strerror(-rc));
        return rc;
    }
    if ((rc = echo_server_open(&run.server, run.loop, NET_LOOPBACK, args->port, &config)) < 0) {
        echo_serve_print(err, "%s: cannot listen on %s:%u: %s\n", program, NET_LOOPBACK, args->port,
                         strerror(-rc));
    } else if ((rc = loop_signal_open(run.loop, &run.sig, echo_serve_on_signal, &run)) < 0) {
        echo_serve_print(err, "%s: cannot catch SIGINT and SIGTERM: %s\n", program, strerror(-rc));
    } else {
        /* Only now: a parent that reads this line may connect, and may stop us with a signal. */
        echo_serve_print(out, "listening on %s:%u\n", NET_LOOPBACK, run.server.port);
        echo_serve_print(out,
                         "descriptors: soft limit %llu -> %llu (the hard limit is %llu); "
                         "at most %zu connections\n",
                         fds.was, fds.now, fds.hard, max_conns);
        rc = loop_run(run.loop); /* until the shutdown has drained, or a second signal */
        if (rc == 0)
            echo_serve_print(
                out,
                "stopped by %s: served %llu connection(s), echoed %llu bytes\n"
                "closed %llu idle, refused %llu; %llu drained, %llu cut\n",
                run.signo == SIGINT ? "SIGINT" : "SIGTERM", (unsigned long long)run.server.accepted,
                (unsigned long long)run.server.bytes_echoed,
                (unsigned long long)run.server.closed_idle, (unsigned long long)run.server.refused,
                (unsigned long long)run.server.drained, (unsigned long long)run.server.cut);
        else
            echo_serve_print(err, "%s: the loop failed: %s\n", program, loop_last_error(run.loop));
        loop_signal_close(&run.sig);
    }
    echo_server_close(&run.server);
    loop_free(run.loop);
    return rc;
}

int echo_serve_main(struct echo_serve_args *args, int argc, char **argv,
                    const struct backend_ops *fallback) {
    if (echo_serve_parse_args(args, argc, argv, fallback, stderr) < 0)
        return 2; /* it said what is wrong */
    if (!args->serve)
        return ECHO_SERVE_SCENE;
    return echo_serve_until_signal(args, stdout, stderr) == 0 ? 0 : 1;
}
