/* kvd_serve.c — the lesson-13 key-value server as a program: `demo --serve PORT` runs kvd until
 * SIGINT or SIGTERM, so redis-cli and redis-benchmark can talk to it (see kvd.h). */
#include "loop/net/kvd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loop/net/net.h"
#include "loop/signal.h"

/* Connection slots for --serve: redis-benchmark opens 50 by default. */
enum { KVD_SERVE_SLOTS = 256 };

static void kvd_serve_stop(struct loop_signal *s, int signo) {
    (void)signo;
    loop_stop(s->arg);
}

static void say(FILE *f, const char *what, const char *detail) {
    if (f) {
        fprintf(f, "kvd: %s: %s\n", what, detail);
        fflush(f);
    }
}

int kvd_serve_until_signal(uint16_t port, FILE *out, FILE *err) {
    struct loop *loop = NULL;
    struct kvd_conn *conns = calloc(KVD_SERVE_SLOTS, sizeof *conns);
    struct kvd_server server;
    struct loop_signal sig;
    int rc = conns ? loop_new(&loop, NULL) : -ENOMEM;
    if (rc < 0) {
        say(err, "cannot serve", strerror(-rc));
    } else if ((rc = kvd_server_open(&server, loop, NET_LOOPBACK, port, conns, KVD_SERVE_SLOTS)) <
               0) {
        say(err, "cannot listen", strerror(-rc));
    } else {
        if (out) {
            fprintf(out, "listening on %s:%u\n", NET_LOOPBACK, server.port);
            fflush(out);
        }
        if ((rc = loop_signal_open(loop, &sig, kvd_serve_stop, loop)) < 0) {
            say(err, "cannot catch SIGINT and SIGTERM", strerror(-rc));
        } else {
            rc = loop_run(loop);
            if (rc < 0)
                say(err, "the loop failed", loop_last_error(loop));
            else if (out)
                fprintf(out, "stopping: %zu connection(s) open, %zu keys, %llu commands served\n",
                        server.open_connections, server.keys, (unsigned long long)server.commands);
            loop_signal_close(&sig);
        }
        kvd_server_close(&server);
    }
    loop_free(loop);
    free(conns);
    return rc;
}
