/* pool.h — a connection pool for a RESP server (lesson 13), built on lesson 10's semaphore: at
 * most N connections, opened lazily; acquire waits in arrival order, with an optional timeout,
 * and can be cancelled; release hands a healthy connection to the next user and closes one that
 * cannot be trusted (its peer closed, it broke the protocol, or its reply was still in flight
 * when its task was cancelled: the next user would read that reply as its own). */
#ifndef LOOPSCHOOL_POOL_H
#define LOOPSCHOOL_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "loop/net/resp.h"
#include "loop/net/stream.h"
#include "sched/sync/semaphore.h"

struct pool;

enum pool_conn_state {
    POOL_CONN_CLOSED, /* a free slot: the next acquire that finds no idle connection opens it */
    POOL_CONN_IDLE,   /* open, in the idle list */
    POOL_CONN_BUSY,   /* leased to a task */
};

/* One connection slot: a stream and its reply parser. Caller-owned, in the array handed to
 * pool_open; read the fields, never write them. */
struct pool_conn {
    struct stream stream;
    struct resp_parser parser;
    struct waitq reply_waiters; /* the task awaiting this connection's reply, if any */
    struct pool *pool;
    struct list_node idle_node; /* in pool->idle while idle */
    unsigned id;                /* 1, 2, 3...: the n-th connection the pool opened */
    uint64_t queries;           /* sent on this connection */
    int64_t opened_at;          /* on the loop's clock */
    int error;                  /* why it broke: -ECONNRESET, -EPROTO, ... (0: it did not) */
    unsigned char state;        /* enum pool_conn_state */
    bool in_flight;             /* a query was sent and its reply is not complete yet */
    bool broken;                /* must never be used again */
};

struct pool_config {
    const char *host; /* an IPv4 literal, e.g. NET_LOOPBACK; the pool keeps the pointer */
    uint16_t port;
    struct pool_conn *conns; /* `size` slots, caller-owned: the pool never allocates one */
    size_t size;             /* N: the most connections open at once, >= 1 */
    size_t min_idle;         /* opened by pool_open, ahead of the first acquire (<= size) */
    int64_t max_lifetime_ns; /* a connection older than this is closed at release; 0: never */
    const struct resp_limits *limits; /* for the replies; NULL: resp.h's defaults */
    const char *name;
};

/* Read the counters, never write them. */
struct pool {
    struct loop *loop;
    const char *host;
    uint16_t port;
    struct pool_conn *conns;
    size_t size;
    struct semaphore permits; /* N permits: one per connection that may be leased */
    struct list_node idle;    /* idle connections, the most recently used first */
    struct resp_limits limits;
    int64_t max_lifetime_ns;
    const char *name;
    unsigned next_id;
    bool closed;
    size_t in_flight, max_in_flight; /* connections leased now, and the most at once */
    size_t idle_count;
    uint64_t acquired, opened, closed_count, timeouts;
    uint64_t replaced;           /* closed because they could not be trusted, and replaced */
    uint64_t replaced_in_flight; /* ... of which: a reply was in flight when released */
};

/* Sets the pool up on loop and opens min_idle connections. -EINVAL for a NULL argument, size 0,
 * min_idle > size or a limit resp_parser_init refuses; or the first connect's error (nothing is
 * left open then). */
int pool_open(struct pool *p, struct loop *loop, const struct pool_config *config);
/* Closes every connection now and refuses every later acquire (-EPIPE): tasks waiting for a
 * permit are woken with -EPIPE, a task awaiting a reply with -EPIPE. Leases still held must be
 * released afterwards; the pool's memory must outlive them. Safe to call twice. */
void pool_close(struct pool *p);

/* ---- a lease: one use of one connection -------------------------------------------------------
 * Caller-owned, in the task's frame. The awaits below leave the body for the cleanup section
 * when the task is cancelled (lesson 11); every cleanup calls pool_release(&f->lease), which does
 * nothing when nothing is held, so a lease never leaks. */
enum { POOL_REPLY_TEXT = 256 };

/* POOL_QUERY's copy of the top level of a reply: the lease lets go of its connection at once,
 * and the parser's value goes with it. */
struct pool_reply {
    enum resp_type type;
    int64_t integer;            /* RESP_INTEGER's number; RESP_ARRAY's element count */
    size_t len;                 /* a string's full length */
    bool truncated;             /* longer than text could hold */
    char text[POOL_REPLY_TEXT]; /* SIMPLE, ERROR, BULK: the bytes, NUL-terminated */
};

struct pool_lease {
    struct pool *pool;
    struct pool_conn *conn;  /* while held */
    unsigned conn_id;        /* the id of the connection it held last (0: none yet) */
    const char *const *argv; /* POOL_QUERY's command */
    int64_t timeout_ns;      /* for the acquire; negative: wait as long as it takes */
    unsigned char phase;     /* where POOL_QUERY is: see pool_query.c */
    struct pool_reply reply; /* POOL_QUERY's result */
};

/* Acquire a connection for the lease. Result 0 (lease->conn is yours), -ETIMEDOUT after
 * timeout_ns without a free one (negative timeout: wait forever), -EPIPE if the pool is closed,
 * or the error of opening a new connection. Waiters are served in arrival order. */
#define POOL_ACQUIRE(t, lease, pool, timeout_ns)                                                   \
    do {                                                                                           \
        pool_lease_init((lease), (pool), (timeout_ns));                                            \
        TASK_AWAIT(t, pool_acquire_begin((t), (lease)));                                           \
        (t)->waiter.result = pool__acquired((lease), task_result(t));                              \
    } while (0)

/* Sends one command (argv ends with NULL) on the held connection. 0; -EINVAL without a
 * connection or while a reply is still due; -EMSGSIZE if it does not fit in one write; or the
 * connection's error (it is broken then, and will be replaced at release). */
int pool_send(struct pool_lease *lease, const char *const *argv);

/* Await the reply to what pool_send sent. Result 0: pool_lease_reply() is the whole value, valid
 * until the release. Or the connection's error (-ECONNRESET: the peer closed; -EPROTO: the
 * reply broke RESP or a limit; -EPIPE: the pool was closed). */
#define POOL_AWAIT_REPLY(t, lease) TASK_AWAIT(t, pool_reply_begin((t), (lease)))
const struct resp_value *pool_lease_reply(const struct pool_lease *lease);

/* Gives the connection back: to the next waiter if it is healthy, else closed (and replaced by
 * the next acquire that needs one). Does nothing if the lease holds nothing. */
void pool_release(struct pool_lease *lease);

/* acquire, send, await the reply, release: asyncpg's `async with pool.acquire() as conn: await
 * conn.execute(...)`. Result 0 and the reply in lease->reply (an error reply from the server is
 * a reply: type RESP_ERROR), or the first error of the four steps. Cancelled at any step, the
 * task leaves for its cleanup, whose pool_release does the right thing. */
#define POOL_QUERY(t, lease, pool, argv, timeout_ns)                                               \
    do {                                                                                           \
        pool__query_start((lease), (pool), (argv), (timeout_ns));                                  \
        do {                                                                                       \
            TASK_AWAIT(t, pool__query_begin((t), (lease)));                                        \
        } while (pool__query_next((t), (lease)));                                                  \
    } while (0)

void pool_lease_init(struct pool_lease *lease, struct pool *p, int64_t timeout_ns);
bool pool_acquire_begin(struct task *t, struct pool_lease *lease);
bool pool_reply_begin(struct task *t, struct pool_lease *lease);

/* Tasks waiting for a connection now. */
size_t pool_waiting(const struct pool *p);
/* The counters, then one line per open connection. Flushes: gdb can `call pool_dump(p, stdout)`. */
void pool_dump(const struct pool *p, FILE *out);

/* The machinery behind the macros (double underscore: do not call). */
/* After the permit wait: a result of 0 becomes a connection (or the error of opening one). */
int pool__acquired(struct pool_lease *lease, int result);
void pool__query_start(struct pool_lease *lease, struct pool *p, const char *const *argv,
                       int64_t timeout_ns);
bool pool__query_begin(struct task *t, struct pool_lease *lease);
bool pool__query_next(struct task *t, struct pool_lease *lease);

#endif
