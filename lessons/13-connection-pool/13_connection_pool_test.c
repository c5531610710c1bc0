/* 13_connection_pool_test.c — lesson 13's question, answered against two servers: the lesson's
 * kvd (in this process, on the same loop) and a real redis-server (started here on a free port,
 * stopped at the end; skipped with a sentence if it cannot be had). Does in-flight stay at or
 * under N, are waiters served in arrival order, do a timeout and a cancel leak nothing, is a
 * connection with a reply in flight at cancellation discarded, and does a server that closes a
 * connection cost one connection, not every later query? Real sockets and the real clock; every
 * test is bounded by .timeout and asserts counts and orders, never durations. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <time.h>
#include <unistd.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "loop/net/kvd.h"
#include "loop/net/net.h"
#include "loop/net/pool.h"
#include "tests/support/tasks.h" /* test_canceller */
#include "tests/support/twin.h"

#define MS 1000000LL

TestSuite(connection_pool,
          .description = "With a pool of N connections, how many queries are in flight?");

/* ---- the two servers ------------------------------------------------------------------------- */

enum server_kind { KVD, REDIS };

struct fixture {
    struct loop *loop;
    enum server_kind kind;
    uint16_t port;
    struct kvd_server kvd; /* KVD: on fx->loop */
    struct kvd_conn *kvd_conns;
    pid_t redis; /* REDIS: the child process */
};

/* A port nobody listens on now: bind port 0, read it, let it go. */
static uint16_t free_port(void) {
    int fd;
    uint16_t port;
    cr_assert_eq(net_listen_tcp(NET_LOOPBACK, 0, 1, &fd, &port), 0, "a free port can be found");
    close(fd);
    return port;
}

/* Waits (up to ~5 s) until something accepts connections on port. */
static bool accepts(uint16_t port) {
    for (int i = 0; i < 500; i++) {
        int fd;
        int rc = net_connect_tcp(NET_LOOPBACK, port, &fd);
        if (rc == -EINPROGRESS) {
            struct timespec pause = {0, 10 * 1000 * 1000};
            nanosleep(&pause, NULL); /* waiting for another process to start, not a timing */
            rc = net_connect_result(fd);
        }
        if (fd >= 0)
            close(fd);
        if (rc == 0)
            return true;
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return false;
}

/* In a child about to exec a server: a failed assertion ends the test's process without its
 * cleanup, so on Linux the server is told to die with its parent instead of living on. */
static void die_with_parent(pid_t parent) {
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    if (getppid() != parent)
        _exit(127); /* the parent is already gone */
}

static void start_redis(struct fixture *fx) {
    if (system("command -v redis-server >/dev/null 2>&1") != 0)
        cr_skip_test("redis-server is not installed, so the pool cannot be tried against real "
                     "Redis: install it (apt-get install redis-server) or run `make test`, "
                     "which does");
    fx->port = free_port();
    char port[8];
    snprintf(port, sizeof port, "%u", fx->port);
    pid_t parent = getpid();
    fx->redis = fork();
    cr_assert_geq(fx->redis, 0, "fork");
    if (fx->redis == 0) {
        die_with_parent(parent);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        /* DEBUG is off by default since Redis 7: the tests need DEBUG SLEEP. */
        execlp("redis-server", "redis-server", "--port", port, "--bind", NET_LOOPBACK, "--save", "",
               "--appendonly", "no", "--enable-debug-command", "yes", (char *)NULL);
        _exit(127);
    }
    cr_assert(accepts(fx->port), "redis-server accepts connections on port %u", fx->port);
}

static struct fixture *fixture_start(enum server_kind kind) {
    struct fixture *fx = calloc(1, sizeof *fx);
    cr_assert_not_null(fx);
    fx->kind = kind;
    fx->redis = -1;
    cr_assert_eq(loop_new(&fx->loop, NULL), 0, "a loop on the real clock");
    if (kind == REDIS) {
        start_redis(fx);
        return fx;
    }
    fx->kvd_conns = calloc(64, sizeof *fx->kvd_conns);
    cr_assert_not_null(fx->kvd_conns);
    cr_assert_eq(kvd_server_open(&fx->kvd, fx->loop, NET_LOOPBACK, 0, fx->kvd_conns, 64), 0,
                 "kvd listens");
    fx->port = fx->kvd.port;
    return fx;
}

static void fixture_stop(struct fixture *fx) {
    if (fx->redis > 0) {
        kill(fx->redis, SIGTERM);
        waitpid(fx->redis, NULL, 0);
    }
    if (fx->kvd_conns)
        kvd_server_close(&fx->kvd);
    loop_free(fx->loop);
    free(fx->kvd_conns);
    free(fx);
}

static void open_pool(struct fixture *fx, struct pool *p, struct pool_conn *conns, size_t n) {
    struct pool_config config = {
        .host = NET_LOOPBACK, .port = fx->port, .conns = conns, .size = n, .name = "test pool"};
    cr_assert_eq(pool_open(p, fx->loop, &config), 0, "the pool opens");
}

/* Runs the loop until every task has ended. */
static void run_until_done(struct loop *loop, struct task *const *tasks, size_t n) {
    for (;;) {
        size_t done = 0;
        for (size_t i = 0; i < n; i++)
            done += task_done(tasks[i]);
        if (done == n)
            return;
        cr_assert_eq(loop_run_once(loop), 0, "the loop runs: %s", loop_last_error(loop));
    }
}

/* ---- the tasks ------------------------------------------------------------------------------- */

/* Runs `queries` times the command argv through POOL_QUERY, after start_ns; notes the result,
 * the last reply and the connection it ran on; appends its id to `order` when it gets a
 * connection (a query's acquire). */
struct client {
    struct task task;
    struct pool *pool;
    struct pool_lease lease;
    const char *const *argv;
    int queries, done;
    int64_t start_ns, timeout_ns;
    int result; /* of the last query; 1 until one returns */
    struct pool_reply reply;
    int cleanups;
};

static enum coro_status client_step(struct task *t) {
    struct client *f = TASK_FRAME(t, struct client, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP(t, f->start_ns);
    for (; f->done < f->queries; f->done++) {
        POOL_QUERY(t, &f->lease, f->pool, f->argv, f->timeout_ns);
        f->result = task_result(t);
        if (f->result < 0)
            CORO_RETURN(&t->co);
        f->reply = f->lease.reply;
    }
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    pool_release(&f->lease); /* a cancelled query gives its connection back here */
    CORO_END(&t->co);
}

static void spawn_client(struct fixture *fx, struct client *c, struct pool *p, const char *name,
                         const char *const *argv, int queries, int64_t start_ns) {
    *c = (struct client){.pool = p,
                         .argv = argv,
                         .queries = queries,
                         .start_ns = start_ns,
                         .timeout_ns = -1,
                         .result = 1};
    cr_assert_eq(loop_spawn(fx->loop, &c->task, client_step, name, NULL), 0);
}

/* Acquires after start_ns (with a timeout, if >= 0), notes the order it got a connection in,
 * holds it hold_ns, releases it. */
struct holder {
    struct task task;
    struct pool *pool;
    struct pool_lease lease;
    int64_t start_ns, hold_ns, timeout_ns;
    int result, id, *order, *order_len;
    unsigned conn_id;
    int cleanups;
};

static enum coro_status holder_step(struct task *t) {
    struct holder *f = TASK_FRAME(t, struct holder, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP(t, f->start_ns);
    POOL_ACQUIRE(t, &f->lease, f->pool, f->timeout_ns);
    f->result = task_result(t);
    if (f->result < 0)
        CORO_RETURN(&t->co);
    f->conn_id = f->lease.conn->id;
    if (f->order)
        f->order[(*f->order_len)++] = f->id;
    LOOP_SLEEP(t, f->hold_ns);
    pool_release(&f->lease);
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    pool_release(&f->lease);
    CORO_END(&t->co);
}

static void spawn_holder(struct fixture *fx, struct holder *h, struct pool *p, const char *name,
                         int64_t start_ns, int64_t hold_ns, int64_t timeout_ns) {
    *h = (struct holder){
        .pool = p, .start_ns = start_ns, .hold_ns = hold_ns, .timeout_ns = timeout_ns, .result = 1};
    cr_assert_eq(loop_spawn(fx->loop, &h->task, holder_step, name, NULL), 0);
}

/* A one-off query from the test body: spawns a client and runs the loop until it is done. */
static struct pool_reply query(struct fixture *fx, struct pool *p, const char *const *argv) {
    struct client c;
    spawn_client(fx, &c, p, "one query", argv, 1, 0);
    struct task *tasks[] = {&c.task};
    run_until_done(fx->loop, tasks, 1);
    cr_assert_eq(c.result, 0, "%s succeeds (result %d)", argv[0], c.result);
    return c.reply;
}

/* "connected_clients:K" from INFO, which both servers answer. */
static int connected_clients(struct fixture *fx, struct pool *p) {
    struct pool_reply r = query(fx, p, (const char *const[]){"INFO", "clients", NULL});
    const char *at = strstr(r.text, "connected_clients:");
    cr_assert_not_null(at, "INFO names connected_clients: %s", r.text);
    return atoi(at + strlen("connected_clients:"));
}

static bool is_ok(const struct pool_reply *r) {
    return r->type == RESP_SIMPLE && strcmp(r->text, "OK") == 0;
}

static const char *const sleep_10ms[] = {"DEBUG", "SLEEP", "0.01", NULL};

/* Under make check (sanitizers, valgrind) a tick can take milliseconds: the scenes whose order
 * depends on time spread their moments five times wider, so the order stays the one asserted. */
static int64_t spread(void) {
    return getenv("LOOPSCHOOL_CHECK") ? 5 : 1;
}

/* ---- in flight never exceeds N --------------------------------------------------------------- */

static void in_flight_bound(enum server_kind kind) {
    struct fixture *fx = fixture_start(kind);
    enum { N = 4, CLIENTS = 20 };
    struct pool p;
    struct pool_conn conns[N];
    open_pool(fx, &p, conns, N);
    static struct client clients[CLIENTS];
    struct task *tasks[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        spawn_client(fx, &clients[i], &p, "client", sleep_10ms, 2, 0);
        tasks[i] = &clients[i].task;
    }
    run_until_done(fx->loop, tasks, CLIENTS);
    for (int i = 0; i < CLIENTS; i++)
        cr_assert(clients[i].result == 0 && is_ok(&clients[i].reply),
                  "client %d's queries all answered +OK (result %d)", i, clients[i].result);
    cr_assert_eq(p.max_in_flight, N,
                 "the pool had exactly N = %d connections leased at its "
                 "peak, with 20 tasks wanting one (peak %zu)",
                 N, p.max_in_flight);
    cr_assert_eq(p.opened, N, "it opened N connections and reused them (opened %llu)",
                 (unsigned long long)p.opened);
    if (kind == KVD)
        cr_assert_eq(fx->kvd.max_in_progress, N,
                     "kvd counted at most N = %d queries in "
                     "progress at once (peak %u)",
                     N, fx->kvd.max_in_progress);
    int clients_seen = connected_clients(fx, &p);
    cr_assert(clients_seen >= 1 && clients_seen <= N,
              "the server sees at most N = %d "
              "connections from the pool (it counts %d)",
              N, clients_seen);
    pool_close(&p);
    fixture_stop(fx);
}

Test(connection_pool, in_flight_bound_kvd, .timeout = 20,
     .description = "Q: with 20 tasks and N = 4, does kvd ever see more than 4 queries at "
                    "once?") {
    in_flight_bound(KVD);
}

Test(connection_pool, in_flight_bound_redis, .timeout = 20,
     .description = "Q: with 20 tasks and N = 4, does a real redis-server ever see more than 4 "
                    "connections from the pool?") {
    in_flight_bound(REDIS);
}

/* ---- waiters in arrival order ---------------------------------------------------------------- */

static void fifo_waiters(enum server_kind kind) {
    struct fixture *fx = fixture_start(kind);
    enum { WAITERS = 6 };
    struct pool p;
    struct pool_conn conns[1];
    open_pool(fx, &p, conns, 1);
    struct holder h[WAITERS];
    struct task *tasks[WAITERS];
    int order[WAITERS], order_len = 0;
    for (int i = 0; i < WAITERS; i++) { /* they queue in order 0, 1, 2, ... one ms apart */
        spawn_holder(fx, &h[i], &p, "waiter", i * spread() * MS, 5 * spread() * MS, -1);
        h[i].id = i;
        h[i].order = order;
        h[i].order_len = &order_len;
        tasks[i] = &h[i].task;
    }
    run_until_done(fx->loop, tasks, WAITERS);
    cr_assert_eq(order_len, WAITERS, "every waiter got the connection");
    for (int i = 0; i < WAITERS; i++)
        cr_assert_eq(order[i], i, "the %d-th to get it is waiter %d, who queued %d-th (FIFO)", i,
                     order[i], i);
    cr_assert_eq(p.opened, 1, "one connection served them all, handed on in turn");
    pool_close(&p);
    fixture_stop(fx);
}

Test(connection_pool, fifo_kvd, .timeout = 20,
     .description = "Q: are tasks waiting for a connection served in the order they came?") {
    fifo_waiters(KVD);
}

Test(connection_pool, fifo_redis, .timeout = 20,
     .description = "Q: are tasks waiting for a redis connection served in the order they "
                    "came?") {
    fifo_waiters(REDIS);
}

/* ---- a timeout and a cancel while waiting ---------------------------------------------------- */

static void waiting_leaks_nothing(enum server_kind kind) {
    struct fixture *fx = fixture_start(kind);
    struct pool p;
    struct pool_conn conns[1];
    open_pool(fx, &p, conns, 1);
    struct holder owner, timed, cancelled, patient;
    int64_t k = spread();
    spawn_holder(fx, &owner, &p, "owner", 0, 60 * k * MS, -1);
    spawn_holder(fx, &timed, &p, "timed", 5 * k * MS, 0, 10 * k * MS); /* gives up after 10 */
    spawn_holder(fx, &cancelled, &p, "cancelled", 5 * k * MS, 0, -1);  /* cancelled at 20 */
    spawn_holder(fx, &patient, &p, "patient", 6 * k * MS, 0, -1);
    struct test_canceller canceller = {.ns = 20 * k * MS, .target = &cancelled.task};
    cr_assert_eq(loop_spawn(fx->loop, &canceller.task, test_canceller_step, "canceller", NULL), 0);
    struct task *tasks[] = {&owner.task, &timed.task, &cancelled.task, &patient.task,
                            &canceller.task};
    run_until_done(fx->loop, tasks, 5);
    cr_assert_eq(timed.result, -ETIMEDOUT, "the timed waiter gave up with -ETIMEDOUT (%d)",
                 timed.result);
    cr_assert_eq(cancelled.task.state, TASK_CANCELLED, "the cancelled waiter ended cancelled");
    cr_assert_eq(cancelled.cleanups, 1, "and ran its cleanup once");
    cr_assert_eq(patient.result, 0, "the waiter behind them was served (%d)", patient.result);
    cr_assert_eq(patient.conn_id, owner.conn_id, "with the owner's connection, handed on");
    cr_assert_eq(p.timeouts, 1, "the pool counted one timeout");
    cr_assert(p.in_flight == 0 && pool_waiting(&p) == 0 && p.permits.value == 1 &&
                  p.idle_count == 1,
              "nothing leaked: 0 leased (%zu), 0 waiting (%zu), 1 permit free (%d), 1 idle (%zu)",
              p.in_flight, pool_waiting(&p), p.permits.value, p.idle_count);
    pool_close(&p);
    fixture_stop(fx);
}

Test(connection_pool, waiting_leaks_nothing_kvd, .timeout = 20,
     .description = "Q: does a timeout or a cancel while waiting for a connection leak "
                    "nothing, and is the next waiter still served?") {
    waiting_leaks_nothing(KVD);
}

Test(connection_pool, waiting_leaks_nothing_redis, .timeout = 20,
     .description = "Q: against redis, does a timeout or a cancel while waiting leak nothing?") {
    waiting_leaks_nothing(REDIS);
}

/* ---- the classic bug: a reply in flight at cancellation -------------------------------------- */

static void cancelled_in_flight(enum server_kind kind) {
    struct fixture *fx = fixture_start(kind);
    struct pool p;
    struct pool_conn conns[1];
    open_pool(fx, &p, conns, 1);
    struct client slow, next;
    const char *const *sleep_50ms = spread() > 1
                                        ? (const char *const[]){"DEBUG", "SLEEP", "0.25", NULL}
                                        : (const char *const[]){"DEBUG", "SLEEP", "0.05", NULL};
    spawn_client(fx, &slow, &p, "slow", sleep_50ms, 1, 0); /* its reply comes at ~50 ms */
    struct test_canceller canceller = {.ns = 10 * MS, .target = &slow.task};
    cr_assert_eq(loop_spawn(fx->loop, &canceller.task, test_canceller_step, "canceller", NULL), 0);
    /* queued behind slow: it gets the pool's one connection slot once slow lets go */
    spawn_client(fx, &next, &p, "next", (const char *const[]){"PING", "mine", NULL}, 1, 1 * MS);
    struct task *tasks[] = {&slow.task, &canceller.task, &next.task};
    run_until_done(fx->loop, tasks, 3);
    cr_assert_eq(slow.task.state, TASK_CANCELLED, "the slow query was cancelled mid-flight");
    cr_assert_eq(slow.cleanups, 1, "its cleanup released the lease once");
    cr_assert_eq(next.result, 0, "the next query succeeded (%d)", next.result);
    cr_assert(next.reply.type == RESP_BULK && strcmp(next.reply.text, "mine") == 0,
              "the next user read its own reply \"mine\", not the slow query's +OK (got %c%s)",
              (char)next.reply.type, next.reply.text);
    cr_assert_eq(p.replaced_in_flight, 1,
                 "the connection with a reply in flight was closed and "
                 "replaced, not reused");
    cr_assert_eq(p.opened, 2, "so a second connection was opened (opened %llu)",
                 (unsigned long long)p.opened);
    pool_close(&p);
    fixture_stop(fx);
}

Test(connection_pool, cancelled_in_flight_kvd, .timeout = 20,
     .description = "Q: is a connection whose reply is still in flight when its task is "
                    "cancelled discarded, so the next user gets its own reply?") {
    cancelled_in_flight(KVD);
}

Test(connection_pool, cancelled_in_flight_redis, .timeout = 20,
     .description = "Q: against redis, is a connection cancelled mid-query discarded, not "
                    "reused?") {
    cancelled_in_flight(REDIS);
}

/* ---- a server that closes a connection ------------------------------------------------------- */

static void server_closes(enum server_kind kind) {
    struct fixture *fx = fixture_start(kind);
    struct pool p;
    struct pool_conn conns[2];
    open_pool(fx, &p, conns, 2);
    query(fx, &p, (const char *const[]){"SET", "k", "v", NULL});
    struct pool_reply bye = query(fx, &p, (const char *const[]){"QUIT", NULL});
    cr_assert(is_ok(&bye), "QUIT is answered +OK, then the server closes the connection");
    /* Let the close arrive. A close still on its way when a connection is checked out fails
     * that one query (no check can see the future: the README's "health checks"); this test
     * asks the other question, whether every later query pays for it. */
    while (p.replaced == 0)
        cr_assert_eq(loop_run_once(fx->loop), 0);
    for (int i = 0; i < 5; i++) {
        struct pool_reply r = query(fx, &p, (const char *const[]){"GET", "k", NULL});
        cr_assert(r.type == RESP_BULK && strcmp(r.text, "v") == 0,
                  "query %d after the close succeeds and reads \"v\"", i);
    }
    cr_assert_eq(p.replaced, 1, "the closed connection was replaced once (replaced %llu)",
                 (unsigned long long)p.replaced);
    cr_assert_eq(p.opened, 2, "by one new connection (opened %llu)", (unsigned long long)p.opened);
    pool_close(&p);
    fixture_stop(fx);
}

Test(connection_pool, server_closes_kvd, .timeout = 20,
     .description = "Q: when the server closes a connection, is it replaced, rather than every "
                    "later query failing?") {
    server_closes(KVD);
}

Test(connection_pool, server_closes_redis, .timeout = 20,
     .description = "Q: when redis closes a connection, is it replaced?") {
    server_closes(REDIS);
}

/* ---- the asyncio twin ------------------------------------------------------------------------ */

/* Starts `demo --serve 0` and reads the port it says it listens on; *from stays open for its
 * closing line (closed early, the server's last write would die of SIGPIPE). */
static pid_t start_demo_server(uint16_t *port, FILE **from_out) {
    int out[2];
    cr_assert_eq(pipe(out), 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork");
    if (pid == 0) {
        die_with_parent(parent);
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl(LOOPSCHOOL_BUILD_DIR "/lessons/13-connection-pool/demo", "demo", "--serve", "0",
              (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *from = fdopen(out[0], "r");
    char line[128] = "";
    unsigned p = 0;
    cr_assert_not_null(fgets(line, sizeof line, from), "demo --serve says where it listens");
    cr_assert_eq(sscanf(line, "listening on 127.0.0.1:%u", &p), 1, "its first line: %s", line);
    *from_out = from;
    *port = (uint16_t)p;
    return pid;
}

Test(connection_pool, asyncio_twin_same_lines, .timeout = 60,
     .description = "Q: does an asyncio.Semaphore-bounded pool print the same lines as ours "
                    "against the same server: the same peak, the same replaced connection?") {
    test_twin_require_python();
    uint16_t port;
    FILE *from;
    pid_t server = start_demo_server(&port, &from);
    char command[256];
    snprintf(command, sizeof command, "%s/lessons/13-connection-pool/demo --trace --port %u",
             LOOPSCHOOL_BUILD_DIR, port);
    struct test_twin_output *c = test_twin_run(command);
    snprintf(command, sizeof command, "python3 lessons/13-connection-pool/asyncio_twin.py %u",
             port);
    struct test_twin_output *py = test_twin_run(command);
    kill(server, SIGTERM);
    char line[256], last[256] = "";
    while (fgets(line, sizeof line, from))
        memcpy(last, line, sizeof last);
    fclose(from);
    int status;
    waitpid(server, &status, 0);
    cr_assert_eq(c->exit_status, 0, "demo --trace exits 0");
    cr_assert_eq(py->exit_status, 0, "the asyncio twin exits 0");
    test_twin_assert_same(c, py);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(last, "stopping"),
              "demo --serve stops cleanly on SIGTERM, saying so: %s", last);
    free(c);
    free(py);
}

/* ---- misuse, and what a dump shows (kvd only) ------------------------------------------------ */

Test(connection_pool, misuse_gets_clear_errors, .timeout = 20,
     .description = "Q: do a bad config, a send without a connection, an await with nothing "
                    "sent, a double release and an acquire after close each get a clear "
                    "error?") {
    struct fixture *fx = fixture_start(KVD);
    struct pool p;
    struct pool_conn conns[2];
    struct pool_config bad = {.host = NET_LOOPBACK, .port = fx->port, .conns = conns, .size = 0};
    cr_assert_eq(pool_open(&p, fx->loop, &bad), -EINVAL, "size 0 is refused");
    bad.size = 2;
    bad.min_idle = 3;
    cr_assert_eq(pool_open(&p, fx->loop, &bad), -EINVAL, "min_idle > size is refused");
    bad.min_idle = 0;
    bad.host = NULL;
    cr_assert_eq(pool_open(&p, fx->loop, &bad), -EINVAL, "a NULL host is refused");
    struct pool_lease lease;
    pool_lease_init(&lease, NULL, -1);
    cr_assert_eq(pool_send(&lease, (const char *const[]){"PING", NULL}), -EINVAL,
                 "sending without a connection is refused");
    pool_release(&lease); /* holds nothing: does nothing */
    open_pool(fx, &p, conns, 2);
    struct pool_reply r = query(fx, &p, (const char *const[]){"NOSUCH", NULL});
    cr_assert(r.type == RESP_ERROR && strstr(r.text, "unknown command"),
              "an error reply is a reply, handed to the caller: %s", r.text);
    pool_close(&p);
    pool_close(&p); /* harmless */
    struct client late;
    spawn_client(fx, &late, &p, "late", (const char *const[]){"PING", NULL}, 1, 0);
    struct task *tasks[] = {&late.task};
    run_until_done(fx->loop, tasks, 1);
    cr_assert_eq(late.result, -EPIPE, "an acquire after pool_close gets -EPIPE (%d)", late.result);
    fixture_stop(fx);
}

Test(connection_pool, reply_over_limit_is_eproto, .timeout = 20,
     .description = "Q: does a reply over the pool's limits fail that query with -EPROTO and "
                    "replace the connection, while the next query works?") {
    struct fixture *fx = fixture_start(KVD);
    struct pool p;
    struct pool_conn conns[1];
    struct resp_limits small = {.max_bulk = 8};
    struct pool_config config = {.host = NET_LOOPBACK,
                                 .port = fx->port,
                                 .conns = conns,
                                 .size = 1,
                                 .limits = &small,
                                 .min_idle = 1};
    cr_assert_eq(pool_open(&p, fx->loop, &config), 0);
    cr_assert_eq(p.opened, 1, "min_idle = 1 opened one connection ahead");
    query(fx, &p, (const char *const[]){"SET", "big", "0123456789abcdef", NULL});
    struct client c;
    spawn_client(fx, &c, &p, "reader", (const char *const[]){"GET", "big", NULL}, 1, 0);
    struct task *tasks[] = {&c.task};
    run_until_done(fx->loop, tasks, 1);
    cr_assert_eq(c.result, -EPROTO, "a 16-byte bulk over max_bulk = 8 fails with -EPROTO (%d)",
                 c.result);
    cr_assert_eq(p.replaced, 1, "and its connection was replaced");
    struct pool_reply r = query(fx, &p, (const char *const[]){"PING", NULL});
    cr_assert(r.type == RESP_SIMPLE && strcmp(r.text, "PONG") == 0, "the next query works");
    char text[1024];
    TEST_DUMP_INTO(text, pool_dump(&p, out));
    cr_assert(strstr(text, "replaced 1") && strstr(text, "connection #2 idle"),
              "pool_dump shows the counters and each open connection: %s", text);
    pool_close(&p);
    fixture_stop(fx);
}

Test(connection_pool, max_lifetime_retires, .timeout = 20,
     .description = "Q: is a connection older than max_lifetime retired at release, counted as "
                    "closed but not as replaced, and the next query served by a new one?") {
    struct fixture *fx = fixture_start(KVD);
    struct pool p;
    struct pool_conn conns[1];
    struct pool_config config = {.host = NET_LOOPBACK,
                                 .port = fx->port,
                                 .conns = conns,
                                 .size = 1,
                                 .max_lifetime_ns = 1}; /* older than 1 ns: always */
    cr_assert_eq(pool_open(&p, fx->loop, &config), 0);
    for (int i = 0; i < 3; i++)
        query(fx, &p, (const char *const[]){"PING", NULL});
    cr_assert_eq(p.opened, 3, "each query ran on a new connection (opened %llu)",
                 (unsigned long long)p.opened);
    cr_assert_eq(p.closed_count, 3, "each was closed at its release (closed %llu)",
                 (unsigned long long)p.closed_count);
    cr_assert_eq(p.replaced, 0, "none counted as replaced: nothing was wrong with them");
    pool_close(&p);
    fixture_stop(fx);
}

Test(connection_pool, server_down_leaks_nothing, .timeout = 20,
     .description = "Q: when nobody listens, does a query fail with -ECONNREFUSED and give its "
                    "permit back, so every later query fails the same way instead of hanging?") {
    struct fixture *fx = fixture_start(KVD);
    uint16_t nobody = free_port();
    struct pool p;
    struct pool_conn conns[1];
    struct pool_config config = {.host = NET_LOOPBACK, .port = nobody, .conns = conns, .size = 1};
    cr_assert_eq(pool_open(&p, fx->loop, &config), 0, "a lazy pool opens without connecting");
    static const char *const ping[] = {"PING", NULL}; /* outlives the loop that spawns */
    struct client c[3];
    struct task *tasks[3];
    for (int i = 0; i < 3; i++) {
        spawn_client(fx, &c[i], &p, "client", ping, 1, 0);
        tasks[i] = &c[i].task;
    }
    run_until_done(fx->loop, tasks, 3);
    for (int i = 0; i < 3; i++)
        cr_assert(c[i].result == -ECONNREFUSED || c[i].result == -ECONNRESET,
                  "client %d's query failed: nobody listens (%d)", i, c[i].result);
    cr_assert(p.in_flight == 0 && pool_waiting(&p) == 0 && p.permits.value == 1,
              "nothing leaked: 0 leased, 0 waiting, the permit free (%d)", p.permits.value);
    pool_close(&p);
    fixture_stop(fx);
}
