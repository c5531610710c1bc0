/* demo.c — lesson 01 (blocking-world): can a blocking server serve a second client while the
 * first one is idle? Client A connects and says nothing; client B sends a line and waits for its
 * echo. First against a server with one thread, then against a thread per connection. The
 * clients run on the main thread, the server on its own; both narrate on one timeline. */
#include "blocking_client.h"
#include "blocking_server.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum {
    SILENCE_MS = 300,   /* how long B waits while A holds the server: the server can't answer */
    PATIENCE_MS = 10000 /* how long B waits when an answer is due; only a broken run waits long */
};

static const char LINE_B[] = "hello from B\n";
static const char LINE_A[] = "A speaks at last\n";

static int64_t start_ns;

static void say(const char *who, const char *what) {
    blocking_say(stdout, start_ns, who, "%s", what);
}

/* Closes a client socket, if open. */
static void leave(int *fd) {
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Starts a server of the given model, connects A (silent), then B, and B sends its line.
 * b_note says what connecting means for this server. false on a setup error. */
static bool setup(struct blocking_server *server, enum blocking_model model, int *a, int *b,
                  const char *b_note) {
    *server = (struct blocking_server){.model = model, .log = stdout, .start_ns = start_ns};
    int rc = blocking_server_start(server);
    if (rc < 0) {
        fprintf(stderr, "demo: cannot start the server: %s\n", strerror(-rc));
        return false;
    }
    *a = blocking_connect(server->port);
    if (*a < 0)
        return false;
    say("client A", "connected; says nothing");
    *b = blocking_connect(server->port);
    if (*b < 0)
        return false;
    blocking_say(stdout, start_ns, "client B", "connected%s", b_note);
    blocking_say(stdout, start_ns, "client B", "sends \"hello from B\" and waits for the echo");
    return blocking_send_all(*b, LINE_B, sizeof LINE_B - 1) == 0;
}

/* Waits for `line` to come back on fd within timeout_ms. */
static bool echo_arrives(int fd, const char *line, int timeout_ms) {
    char echo[64];
    int got = blocking_read_line(fd, echo, sizeof echo, timeout_ms);
    return got == (int)strlen(line) && strcmp(echo, line) == 0;
}

/* A's leaving is what frees the one-thread server; a good place for a breakpoint. */
static void a_leaves(int *a) {
    say("client A", "leaves (close)");
    leave(a);
}

/* A's own thread has been waiting in read() on A all along; a good place for a breakpoint. */
static bool a_speaks(int a) {
    say("client A", "sends \"A speaks at last\"");
    bool ok = blocking_send_all(a, LINE_A, sizeof LINE_A - 1) == 0 &&
              echo_arrives(a, LINE_A, PATIENCE_MS);
    say("client A", ok ? "echo arrives: its own thread answered" : "UNEXPECTED: no echo");
    return ok;
}

static bool one_thread(void) {
    struct blocking_server server;
    int a = -1, b = -1;
    bool ok = setup(&server, BLOCKING_ONE_AT_A_TIME, &a, &b,
                    " (the kernel queues it: connecting needs no accept())");
    if (ok) {
        ok = !echo_arrives(b, LINE_B, SILENCE_MS);
        say("client B", ok ? "no echo in 300 ms: the server's only thread is in read() on A"
                           : "UNEXPECTED: an echo came while A held the server");
    }
    if (ok) {
        a_leaves(&a);
        int64_t left_ns = blocking_now_ns();
        ok = echo_arrives(b, LINE_B, PATIENCE_MS);
        if (ok)
            blocking_say(stdout, start_ns, "client B", "echo arrives, %lld ms after A left",
                         (long long)((blocking_now_ns() - left_ns) / 1000000));
        else
            say("client B", "UNEXPECTED: still no echo after A left");
    }
    leave(&a);
    leave(&b);
    blocking_server_stop(&server);
    return ok;
}

static bool thread_per_connection(void) {
    struct blocking_server server;
    int a = -1, b = -1;
    bool ok = setup(&server, BLOCKING_THREAD_PER_CONNECTION, &a, &b, "");
    if (ok) {
        ok = echo_arrives(b, LINE_B, PATIENCE_MS);
        say("client B", ok ? "echo arrives while A is still connected and silent"
                           : "UNEXPECTED: no echo for B");
    }
    if (ok)
        ok = a_speaks(a);
    leave(&a);
    leave(&b);
    blocking_server_stop(&server);
    return ok;
}

int main(void) {
    /* One line at a time even into a pipe: the server's threads and the clients print on one
     * timeline, and gdb's output must interleave with it in order. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    start_ns = blocking_now_ns();
    printf("Two clients and a blocking echo server. A connects first and says nothing; B\n"
           "sends one line and waits for it to come back. The server numbers connections in\n"
           "the order accept() returns them: A is connection 1, B is connection 2.\n\n"
           "Part 1: one thread, one client at a time (accept, then read/write until it leaves)\n");
    bool ok = one_thread();
    if (ok) {
        printf("\nPart 2: a thread per connection (one thread only accepts; each client gets "
               "its own)\n");
        ok = thread_per_connection();
    }
    if (!ok) {
        printf("\nThe demo did not see what it expected (above).\n");
        return 1;
    }
    printf("\nAnswer: no. A blocking server with one thread sits in read() on whichever client\n"
           "it took first; everyone else waits, however idle that client is. A thread per\n"
           "connection answers B at once, and pays a thread (and its stack) for every client,\n"
           "busy or not. Lesson 02 gets the same effect from one thread with select().\n");
    return 0;
}
