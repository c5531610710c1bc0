/* pool.c — the connection pool's connections (lesson 13; see pool.h): a semaphore of N permits
 * bounds how many are leased and queues the rest in arrival order; a permit then becomes a
 * connection, the most recently used idle one that passes its health check, or a new one in a
 * free slot. Release decides whether the connection can be trusted with another query. */
#include "loop/net/pool.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/net/net.h"

/* ---- one connection's life ------------------------------------------------------------------- */

/* The connection cannot be trusted any more: remember why, and tell the task awaiting its reply. */
static void pool_conn_break(struct pool_conn *c, int error) {
    if (!c->broken) {
        c->broken = true;
        c->error = error;
    }
    waitq_wake_all(&c->reply_waiters, c->error);
}

/* Bytes from the server: they must be the reply to the one query in flight, and nothing more. */
static void pool_on_data(struct stream *s, const char *data, size_t len) {
    struct pool_conn *c = s->arg;
    if (!c->in_flight || c->broken) {
        pool_conn_break(c, -EPROTO); /* bytes nobody asked for: the conversation is lost */
        return;
    }
    ssize_t n = resp_parser_feed(&c->parser, data, len);
    if (n < 0) {
        pool_conn_break(c, (int)n);
        return;
    }
    if (!resp_parser_done(&c->parser))
        return; /* the rest of the reply is on its way */
    c->in_flight = false;
    waitq_wake_all(&c->reply_waiters, 0);
    if ((size_t)n < len)
        pool_conn_break(c, -EPROTO); /* a second reply to one query: do not reuse */
}

static void pool_conn_discard(struct pool_conn *c);

/* The server closed (or reset) the connection. */
static void pool_on_close(struct stream *s, int error) {
    struct pool_conn *c = s->arg;
    pool_conn_break(c, error ? error : -ECONNRESET);
    if (c->state == POOL_CONN_IDLE)
        pool_conn_discard(c); /* nobody holds it: free the slot now */
}

/* Closes c at once and frees its slot; a broken one counts as replaced. */
static void pool_conn_discard(struct pool_conn *c) {
    struct pool *p = c->pool;
    if (c->state == POOL_CONN_IDLE) {
        list_remove(&c->idle_node);
        p->idle_count--;
    }
    if (!p->closed) { /* closing the pool replaces nothing */
        p->replaced += c->broken || c->in_flight;
        p->replaced_in_flight += c->in_flight && !c->broken;
    }
    stream_close_now(&c->stream); /* also cancels an on_close not yet delivered */
    pool_conn_break(c, -EPIPE);   /* wakes a task still awaiting a reply (pool_close) */
    resp_parser_free(&c->parser);
    c->state = POOL_CONN_CLOSED;
    c->in_flight = false;
    p->closed_count++;
}

/* Opens a new connection in the free slot c. The connect finishes in the background: a query
 * written meanwhile waits in the stream's ring until the socket is writable. */
static int pool_conn_open(struct pool *p, struct pool_conn *c) {
    int fd;
    int rc = net_connect_tcp(p->host, p->port, &fd);
    if (rc < 0 && rc != -EINPROGRESS)
        return rc;
    if ((rc = resp_parser_init(&c->parser, &p->limits)) < 0 ||
        (rc = stream_open(&c->stream, p->loop, fd, p->name, pool_on_data, pool_on_close, c)) < 0) {
        close(fd);
        return rc;
    }
    waitq_init(&c->reply_waiters);
    c->id = ++p->next_id;
    c->queries = 0;
    c->opened_at = loop_now(p->loop);
    c->error = 0;
    c->in_flight = c->broken = false;
    p->opened++;
    return 0;
}

/* Past its max lifetime: retired at checkout or release, healthy or not (servers and proxies
 * drop old connections, and a rebalanced cluster wants them spread again). */
static bool pool_conn_expired(const struct pool *p, const struct pool_conn *c) {
    return p->max_lifetime_ns > 0 && loop_now(p->loop) - c->opened_at > p->max_lifetime_ns;
}

/* The health check at checkout: cheap, local, no round trip. A peek says whether the server
 * closed the connection (0 bytes: end of file) or sent bytes nobody asked for, either of which
 * the loop may not have delivered yet. */
static bool pool_conn_alive(const struct pool_conn *c) {
    if (c->broken || !stream_is_open(&c->stream))
        return false;
    char byte;
    ssize_t n = recv(c->stream.fd, &byte, 1, MSG_PEEK);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* ---- the pool -------------------------------------------------------------------------------- */

int pool_open(struct pool *p, struct loop *loop, const struct pool_config *config) {
    if (!p || !loop || !config || !config->host || !config->conns || config->size == 0 ||
        config->min_idle > config->size || config->size > INT32_MAX)
        return -EINVAL;
    struct resp_parser probe; /* validates the limits once, here, rather than at every open */
    if (resp_parser_init(&probe, config->limits) < 0)
        return -EINVAL;
    *p = (struct pool){.loop = loop,
                       .host = config->host,
                       .port = config->port,
                       .conns = config->conns,
                       .size = config->size,
                       .limits = probe.limits,
                       .max_lifetime_ns = config->max_lifetime_ns,
                       .name = config->name ? config->name : "pool"};
    semaphore_init(&p->permits, (int)config->size, (int)config->size, p->name);
    list_init(&p->idle);
    for (size_t i = 0; i < p->size; i++) { /* the rest is set when a slot is opened */
        struct pool_conn *c = &p->conns[i];
        c->pool = p;
        c->state = POOL_CONN_CLOSED;
        c->stream.fd = -1;
        c->id = 0;
        c->in_flight = c->broken = false;
    }
    for (size_t i = 0; i < config->min_idle; i++) {
        int rc = pool_conn_open(p, &p->conns[i]);
        if (rc < 0) {
            pool_close(p);
            return rc;
        }
        p->conns[i].state = POOL_CONN_IDLE;
        list_push_back(&p->idle, &p->conns[i].idle_node);
        p->idle_count++;
    }
    return 0;
}

void pool_close(struct pool *p) {
    if (!p || p->closed)
        return;
    p->closed = true;
    waitq_wake_all(&p->permits.waiters, -EPIPE); /* nobody will get a connection now */
    for (size_t i = 0; i < p->size; i++)
        if (p->conns[i].state != POOL_CONN_CLOSED)
            pool_conn_discard(&p->conns[i]); /* a leased one: its release only returns the permit */
}

void pool_lease_init(struct pool_lease *lease, struct pool *p, int64_t timeout_ns) {
    *lease = (struct pool_lease){.pool = p, .timeout_ns = timeout_ns};
}

bool pool_acquire_begin(struct task *t, struct pool_lease *lease) {
    struct pool *p = lease->pool;
    if (!p || p->closed) {
        t->waiter.result = p ? -EPIPE : -EINVAL;
        return false;
    }
    if (!semaphore_acquire_begin(t, &p->permits))
        return false; /* a permit was free: result 0 */
    if (lease->timeout_ns >= 0) {
        int64_t now = loop_now(p->loop);
        int64_t deadline =
            lease->timeout_ns > INT64_MAX - now ? INT64_MAX : now + lease->timeout_ns;
        int rc = waiter_arm_timer(&t->waiter, deadline, true);
        if (rc < 0)
            waiter_wake(&t->waiter, rc); /* leaves the queue: the task resumes with -ENOMEM */
    }
    return true;
}

int pool__acquired(struct pool_lease *lease, int result) {
    struct pool *p = lease->pool;
    if (result == -ETIMEDOUT)
        p->timeouts++;
    if (result < 0)
        return result; /* no permit: nothing to give back */
    if (p->closed) {   /* woken by pool_close with -EPIPE, or handed a permit just before it */
        semaphore_release(&p->permits);
        return -EPIPE;
    }
    struct pool_conn *c = NULL;
    while (!c && !list_empty(&p->idle)) {
        struct pool_conn *candidate =
            container_of(list_first(&p->idle), struct pool_conn, idle_node);
        bool alive = pool_conn_alive(candidate);
        if (alive && !pool_conn_expired(p, candidate)) {
            c = candidate;
            list_remove(&c->idle_node);
            p->idle_count--;
        } else {
            if (!alive)
                pool_conn_break(candidate, -ECONNRESET); /* counted as replaced */
            pool_conn_discard(candidate);                /* else retired: not a replacement */
        }
    }
    for (size_t i = 0; !c && i < p->size; i++) {
        if (p->conns[i].state != POOL_CONN_CLOSED)
            continue;
        int rc = pool_conn_open(p, &p->conns[i]);
        if (rc < 0) {
            semaphore_release(&p->permits); /* the permit goes on to the next waiter */
            return rc;
        }
        c = &p->conns[i];
    }
    /* A permit always finds a connection: permits = slots - leased, and idle ones are open. */
    c->state = POOL_CONN_BUSY;
    lease->conn = c;
    lease->conn_id = c->id;
    p->acquired++;
    if (++p->in_flight > p->max_in_flight)
        p->max_in_flight = p->in_flight;
    return 0;
}

void pool_release(struct pool_lease *lease) {
    if (!lease || !lease->conn)
        return;
    struct pool_conn *c = lease->conn;
    struct pool *p = c->pool;
    lease->conn = NULL;
    p->in_flight--;
    if (c->state == POOL_CONN_BUSY) { /* else pool_close already closed it */
        if (c->in_flight || !pool_conn_alive(c) || pool_conn_expired(p, c)) {
            /* In flight: its reply would reach the next user, who would take it for its own (the
             * classic pool bug). Dead or broken: useless. Expired: retired. */
            if (!c->in_flight && !c->broken && !pool_conn_alive(c))
                pool_conn_break(c, -ECONNRESET);
            pool_conn_discard(c);
        } else {
            resp_parser_next(&c->parser);
            c->state = POOL_CONN_IDLE;
            list_push_front(&p->idle, &c->idle_node);
            p->idle_count++;
        }
    }
    semaphore_release(&p->permits); /* to the oldest waiter, if any */
}

size_t pool_waiting(const struct pool *p) {
    return list_length(&p->permits.waiters.waiters);
}
