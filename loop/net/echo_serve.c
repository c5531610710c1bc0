/* echo_serve.c — the echo server as a program (lesson 02; lesson 03 runs it too): the command
 * line the echo demos take, and their `--serve PORT` mode, which echoes until SIGINT or SIGTERM and
 * then closes cleanly. One copy here, so every lesson's demo stops the same way; see echo.h. */
#include "loop/net/echo.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "loop/net/net.h"
#include "loop/signal.h"

/* Connection slots for --serve: select could not watch many more fds anyway (FD_SETSIZE). */
enum { ECHO_SERVE_SLOTS = 1000 };

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

int echo_serve_parse_args(struct echo_serve_args *args, int argc, char **argv,
                          const struct backend_ops *fallback, FILE *err) {
    if (!args || argc < 1 || !argv || !argv[0] || !fallback)
        return -EINVAL;
    const char *slash = strrchr(argv[0], '/');
    *args = (struct echo_serve_args){.program = slash ? slash + 1 : argv[0], .backend = fallback};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
            args->backend = backend_by_name(argv[++i]);
            /* The scripted backend only replays what a test queued: no real fd would ever wake.
             * epoll-edge would stall the listener, which accepts a few per wakeup (lesson 16). */
            if (!args->backend || args->backend == &backend_script ||
                strcmp(args->backend->name, "epoll-edge") == 0) {
                echo_serve_print(err, "%s: --backend takes select, poll or epoll\n",
                                 args->program);
                return -EINVAL;
            }
        } else if (strcmp(argv[i], "--serve") == 0 && i + 1 < argc) {
            char *end;
            long port = strtol(argv[++i], &end, 10);
            if (*end || port < 0 || port > 65535) {
                echo_serve_print(err, "%s: --serve takes a port, 0..65535 (0: any free port)\n",
                                 args->program);
                return -EINVAL;
            }
            args->serve = true;
            args->port = (uint16_t)port;
        } else {
            echo_serve_print(err, "usage: %s [--backend select|poll|epoll] [--serve PORT]\n",
                             argv[0]);
            return -EINVAL;
        }
    }
    return 0;
}

static void echo_serve_stop(struct loop_signal *s, int signo) {
    (void)signo;
    loop_stop(s->arg); /* an ordinary callback, not the handler: here loop_stop is allowed */
}

int echo_serve_until_signal(const struct echo_serve_args *args, FILE *out, FILE *err) {
    if (!args)
        return -EINVAL;
    const char *program = args->program ? args->program : "echo";
    struct loop *loop = NULL;
    struct loop_config config = {.backend = args->backend};
    struct echo_conn *conns = calloc(ECHO_SERVE_SLOTS, sizeof *conns);
    struct echo_server server;
    struct loop_signal sig;
    int rc = conns ? loop_new(&loop, &config) : -ENOMEM;
    if (rc < 0) {
        echo_serve_print(err, "%s: cannot serve: %s\n", program, strerror(-rc));
    } else if ((rc = echo_server_open(&server, loop, NET_LOOPBACK, args->port, conns,
                                      ECHO_SERVE_SLOTS)) < 0) {
        echo_serve_print(err, "%s: cannot listen on %s:%u: %s\n", program, NET_LOOPBACK,
                         args->port, strerror(-rc));
    } else {
        echo_serve_print(out, "listening on %s:%u\n", NET_LOOPBACK, server.port);
        if ((rc = loop_signal_open(loop, &sig, echo_serve_stop, loop)) < 0) {
            echo_serve_print(err, "%s: cannot catch SIGINT and SIGTERM: %s\n", program,
                             strerror(-rc));
        } else {
            rc = loop_run(loop); /* until echo_serve_stop, that is until a signal */
            if (rc == 0)
                echo_serve_print(out, "stopping (%s): closing %zu connection(s); %llu bytes "
                                 "echoed in all\n", sig.last_signo == SIGINT ? "SIGINT" : "SIGTERM",
                                 server.open_connections, (unsigned long long)server.bytes_echoed);
            else
                echo_serve_print(err, "%s: the loop failed: %s\n", program, loop_last_error(loop));
            loop_signal_close(&sig);
        }
        echo_server_close(&server);
    }
    loop_free(loop);
    free(conns);
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
