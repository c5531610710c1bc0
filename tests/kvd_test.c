/* kvd_test.c — the library's own tests of lesson 13's key-value server (loop/net/kvd.*): every
 * command's reply byte for byte, inline commands, a protocol error answered then closed, and a
 * DEBUG SLEEP that delays only its own connection. The clients are plain sockets the test drives
 * between the loop's bounded ticks. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop/loop.h"
#include "loop/net/kvd.h"
#include "loop/net/net.h"
#include "tests/support/net_client.h"
#include "tests/support/tasks.h" /* TEST_DUMP_INTO */

TestSuite(kvd, .description = "Does the lesson's key-value server answer as Redis does, and "
                              "delay only the connection that asked it to sleep?");

struct server {
    struct loop *loop;
    struct kvd_server kvd;
    struct kvd_conn conns[4];
};

static struct server *server_start(void) {
    struct server *s = calloc(1, sizeof *s);
    cr_assert_not_null(s, "memory for the test server");
    s->loop = test_loop_new(NULL);
    cr_assert_eq(kvd_server_open(&s->kvd, s->loop, NET_LOOPBACK, 0, s->conns, 4), 0,
                 "kvd listens on 127.0.0.1, any port");
    return s;
}

static void server_stop(struct server *s) {
    kvd_server_close(&s->kvd);
    loop_free(s->loop);
    free(s);
}

/* What a client has read so far. */
struct reader {
    int fd;
    char got[4096];
    size_t len;
    bool eof;
    const char *want; /* read until this many bytes arrived */
};

static void reader_poll(struct reader *r) {
    ssize_t n;
    while ((n = net_recv(r->fd, r->got + r->len, sizeof r->got - 1 - r->len)) > 0)
        r->len += (size_t)n;
    if (n == 0)
        r->eof = true;
    r->got[r->len] = '\0';
}

static bool reader_has_all(void *ctx) {
    struct reader *r = ctx;
    reader_poll(r);
    return r->len >= strlen(r->want) || r->eof;
}

static void send_all(int fd, const char *bytes) {
    size_t len = strlen(bytes);
    cr_assert_eq(net_send(fd, bytes, len), (ssize_t)len, "the request goes out in one send");
}

/* Sends request and reads until as many bytes as `want` came back; asserts they are `want`. */
static void exchange(struct server *s, const char *request, const char *want) {
    struct reader r = {.fd = test_connect(s->kvd.port), .want = want};
    send_all(r.fd, request);
    test_run_until(s->loop, reader_has_all, &r, "the replies arrive");
    cr_assert_str_eq(r.got, want, "the replies to %s", request);
    close(r.fd);
}

Test(kvd, commands_answer_as_redis, .timeout = 10,
     .description = "Q: do PING, SET, GET, INCR, EXISTS, DEL and their errors get Redis's "
                    "replies, byte for byte (an unknown command: a shorter error text)?") {
    struct server *s = server_start();
    exchange(s,
             "*1\r\n$4\r\nPING\r\n"
             "*2\r\n$4\r\nping\r\n$2\r\nhi\r\n"
             "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n"
             "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
             "*2\r\n$3\r\nGET\r\n$4\r\nnone\r\n"
             "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
             "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
             "*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n"
             "*4\r\n$6\r\nEXISTS\r\n$1\r\nk\r\n$1\r\nn\r\n$1\r\nx\r\n"
             "*3\r\n$3\r\nDEL\r\n$1\r\nk\r\n$1\r\nx\r\n"
             "*1\r\n$3\r\nGET\r\n"
             "*1\r\n$4\r\nNOPE\r\n",
             "+PONG\r\n$2\r\nhi\r\n+OK\r\n$5\r\nhello\r\n$-1\r\n:1\r\n:2\r\n"
             "-ERR value is not an integer or out of range\r\n:2\r\n:1\r\n"
             "-ERR wrong number of arguments for 'get' command\r\n"
             "-ERR unknown command 'NOPE'\r\n");
    cr_assert_eq(s->kvd.keys, 1, "one key is left: n");
    server_stop(s);
}

Test(kvd, inline_commands, .timeout = 10,
     .description = "Q: are inline commands (words on a line, as telnet and redis-benchmark's "
                    "PING_INLINE send) understood, an empty line ignored?") {
    struct server *s = server_start();
    exchange(s, "PING\r\nSET a 12\r\nGET a\r\n\r\n", "+PONG\r\n+OK\r\n$2\r\n12\r\n");
    server_stop(s);
}

Test(kvd, protocol_error_answered_then_closed, .timeout = 10,
     .description = "Q: does a malformed request get -ERR Protocol error with the reason, and "
                    "then the connection closed?") {
    struct server *s = server_start();
    struct reader r = {.fd = test_connect(s->kvd.port), .want = "-ERR Protocol error"};
    send_all(r.fd, "*1\r\n$x\r\n");
    test_run_until(s->loop, reader_has_all, &r, "the error arrives");
    cr_assert(strncmp(r.got, "-ERR Protocol error: ", 21) == 0 &&
                  strstr(r.got, "bulk string length"),
              "the reply names the problem: %s", r.got);
    r.want = "this is never sent: wait for the end of file";
    test_run_until(s->loop, reader_has_all, &r, "the server closes");
    cr_assert(r.eof, "the server closed the connection after saying why");
    cr_assert_eq(s->kvd.protocol_errors, 1, "kvd counted one protocol error");
    close(r.fd);
    server_stop(s);
}

static bool sleep_started(void *ctx) {
    return ((struct kvd_server *)ctx)->in_progress == 1;
}

Test(kvd, debug_sleep_delays_only_its_connection, .timeout = 10,
     .description = "Q: while one client's DEBUG SLEEP runs, is another client answered at once, "
                    "and the sleeper's later commands kept in order?") {
    struct server *s = server_start();
    struct reader a = {.fd = test_connect(s->kvd.port), .want = "+OK\r\n+PONG\r\n"};
    struct reader b = {.fd = test_connect(s->kvd.port), .want = "+PONG\r\n"};
    send_all(a.fd, "*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$3\r\n0.2\r\n*1\r\n$4\r\nPING\r\n");
    test_run_until(s->loop, sleep_started, &s->kvd, "a's DEBUG SLEEP starts");
    send_all(b.fd, "*1\r\n$4\r\nPING\r\n");
    test_run_until(s->loop, reader_has_all, &b, "b's reply arrives");
    cr_assert_str_eq(b.got, "+PONG\r\n", "b was answered while a sleeps");
    reader_poll(&a);
    cr_assert_eq(a.len, 0, "a has no reply yet: its PING waits behind its sleep (got %s)", a.got);
    char text[512];
    TEST_DUMP_INTO(text, kvd_server_dump(&s->kvd, out));
    cr_assert(strstr(text, "in progress 1") && strstr(text, "(in DEBUG SLEEP)"),
              "the dump shows the sleeping connection: %s", text);
    test_run_until(s->loop, reader_has_all, &a, "a's replies arrive");
    cr_assert_str_eq(a.got, "+OK\r\n+PONG\r\n", "a's replies came after its sleep, in order");
    cr_assert_eq(s->kvd.max_in_progress, 1, "one query was in progress at most");
    close(a.fd);
    close(b.fd);
    server_stop(s);
}
