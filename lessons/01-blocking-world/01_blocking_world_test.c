/* 01_blocking_world_test.c — lesson 01 (blocking-world), the answer asserted: a blocking server
 * with one thread leaves B unanswered while A is connected and silent, answers B once A leaves,
 * and a thread per connection answers B at once. "Nothing came" is checked over 300 ms (the
 * server cannot answer, however long we wait); "it came" is waited for generously. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "blocking_client.h"
#include "blocking_server.h"

enum {
    SILENCE_MS = 300,   /* long enough to show nothing comes; the server could not answer anyway */
    PATIENCE_MS = 10000 /* an answer that is due gets this long, even under valgrind */
};

static const char LINE_B[] = "hello from B\n";
static const char LINE_A[] = "A speaks at last\n";

/* The scene every test plays: a server, client A (connected first, silent) and client B. */
static struct blocking_server server;
static int client_a = -1;
static int client_b = -1;

static void scene_start(enum blocking_model model) {
    server = (struct blocking_server){.model = model};
    int rc = blocking_server_start(&server);
    cr_assert_eq(rc, 0, "the server starts on 127.0.0.1 port 0 (got %d)", rc);
    client_a = blocking_connect(server.port);
    cr_assert(client_a >= 0, "A connects (got %d)", client_a);
    client_b = blocking_connect(server.port);
    cr_assert(client_b >= 0,
              "B's connect() succeeds even while the server is busy with A: the "
              "kernel completes the handshake and queues B until someone calls accept() "
              "(got %d)",
              client_b);
    rc = blocking_send_all(client_b, LINE_B, strlen(LINE_B));
    cr_assert_eq(rc, 0, "B sends its line (got %d)", rc);
}

static void close_client(int *fd) {
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Runs after every test, passed or failed: clients leave first, so the server can finish. */
static void scene_end(void) {
    close_client(&client_a);
    close_client(&client_b);
    if (server.running)
        blocking_server_stop(&server);
}

/* The tests call this themselves, to check the server also shut down cleanly. */
static void scene_end_cleanly(void) {
    close_client(&client_a);
    close_client(&client_b);
    int rc = blocking_server_stop(&server);
    cr_assert_eq(rc, 0, "once both clients have left, the server stops cleanly (got %d)", rc);
}

TestSuite(blocking_world, .description = "Can a blocking server serve a second client while the "
                                         "first one is idle?");

Test(blocking_world, one_thread_leaves_b_unanswered,
     .description = "Q: While A is connected and silent, does a single-threaded blocking server "
                    "echo B's line?",
     .fini = scene_end, .timeout = 60) {
    scene_start(BLOCKING_ONE_AT_A_TIME);
    char echo[64];
    int got = blocking_read_line(client_b, echo, sizeof echo, SILENCE_MS);
    cr_assert_eq(got, -ETIMEDOUT,
                 "no: a single-threaded blocking server cannot answer B while it "
                 "is stuck in read() on A (B's read gave %d, not -ETIMEDOUT)",
                 got);
    scene_end_cleanly();
}

Test(blocking_world, one_thread_answers_b_once_a_leaves,
     .description = "Q: Once A leaves, does the same single thread echo B's line?",
     .fini = scene_end, .timeout = 60) {
    scene_start(BLOCKING_ONE_AT_A_TIME);
    close_client(&client_a);
    char echo[64];
    int got = blocking_read_line(client_b, echo, sizeof echo, PATIENCE_MS);
    cr_assert_eq(got, (int)strlen(LINE_B),
                 "yes: A's leaving makes read() on A return 0, the "
                 "thread goes back to accept(), takes B and echoes it (B's read gave %d)",
                 got);
    cr_assert_str_eq(echo, LINE_B, "yes: B gets back exactly the line it sent");
    scene_end_cleanly();
}

Test(blocking_world, thread_per_connection_answers_b_while_a_is_idle,
     .description = "Q: With a thread per connection, does B get its echo while A is still "
                    "connected and silent?",
     .fini = scene_end, .timeout = 60) {
    scene_start(BLOCKING_THREAD_PER_CONNECTION);
    char echo[64];
    int got = blocking_read_line(client_b, echo, sizeof echo, PATIENCE_MS);
    cr_assert_eq(got, (int)strlen(LINE_B),
                 "yes: B's own thread echoes B while A's thread waits "
                 "in read() on A (B's read gave %d)",
                 got);
    cr_assert_str_eq(echo, LINE_B, "yes: B gets back exactly the line it sent");

    /* A was connected all along: its thread is still there, waiting for it. */
    int rc = blocking_send_all(client_a, LINE_A, strlen(LINE_A));
    cr_assert_eq(rc, 0, "A, still connected, can send (got %d)", rc);
    got = blocking_read_line(client_a, echo, sizeof echo, PATIENCE_MS);
    cr_assert_eq(got, (int)strlen(LINE_A),
                 "A's own thread answers A when it finally speaks "
                 "(A's read gave %d)",
                 got);
    cr_assert_str_eq(echo, LINE_A, "A gets back exactly the line it sent");
    scene_end_cleanly();
}

Test(blocking_world, helpers_reject_bad_arguments,
     .description = "Q: Do the lesson's helpers turn bad arguments into clear errors instead of "
                    "crashing or hanging?",
     .timeout = 60) {
    char buf[8];
    cr_assert_eq(blocking_server_start(NULL), -EINVAL, "starting a NULL server is -EINVAL");
    struct blocking_server odd = {.model = (enum blocking_model)42};
    cr_assert_eq(blocking_server_start(&odd), -EINVAL, "an unknown server model is -EINVAL");
    cr_assert_eq(blocking_server_stop(NULL), -EINVAL, "stopping a NULL server is -EINVAL");
    struct blocking_server idle = {.model = BLOCKING_ONE_AT_A_TIME};
    cr_assert_eq(blocking_server_stop(&idle), -EALREADY,
                 "stopping a server that never started is -EALREADY: nothing to do");

    cr_assert_eq(blocking_connect(0), -EINVAL, "port 0 cannot be connected to: -EINVAL");
    cr_assert_eq(blocking_send_all(-1, "x", 1), -EBADF, "sending on a negative fd is -EBADF");
    cr_assert_eq(blocking_read_line(-1, buf, sizeof buf, 0), -EBADF,
                 "reading from a negative fd is -EBADF");

    int fds[2];
    cr_assert_eq(pipe(fds), 0, "a pipe gives the remaining checks a valid fd");
    int send_null = blocking_send_all(fds[1], NULL, 3);
    int read_null = blocking_read_line(fds[0], NULL, sizeof buf, 0);
    int read_tiny = blocking_read_line(fds[0], buf, 1, 0);
    int read_forever = blocking_read_line(fds[0], buf, sizeof buf, -1);
    int read_nothing = blocking_read_line(fds[0], buf, sizeof buf, 0);
    close(fds[0]);
    close(fds[1]);
    cr_assert_eq(send_null, -EINVAL, "sending 3 bytes from NULL is -EINVAL");
    cr_assert_eq(read_null, -EINVAL, "reading into NULL is -EINVAL");
    cr_assert_eq(read_tiny, -EINVAL, "a buffer with no room for a byte and its NUL is -EINVAL");
    cr_assert_eq(read_forever, -EINVAL,
                 "a negative timeout (wait forever) is -EINVAL: every "
                 "wait is bounded");
    cr_assert_eq(read_nothing, -ETIMEDOUT, "a timeout of 0 with nothing to read is -ETIMEDOUT");

    struct blocking_server twice = {.model = BLOCKING_THREAD_PER_CONNECTION};
    cr_assert_eq(blocking_server_start(&twice), 0, "the server starts");
    int again = blocking_server_start(&twice);
    int stopped = blocking_server_stop(&twice);
    int stopped_again = blocking_server_stop(&twice);
    cr_assert_eq(again, -EALREADY, "starting a running server again is -EALREADY");
    cr_assert_eq(stopped, 0, "a server with no clients stops cleanly");
    cr_assert_eq(stopped_again, -EALREADY, "stopping it a second time is -EALREADY");
}
