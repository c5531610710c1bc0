/* pool_query.c — what a task does with a leased connection (lesson 13; see pool.h): send one
 * command, await its reply, and POOL_QUERY, the four steps in one await. POOL_QUERY is one
 * suspension point visited in a loop (as QUEUE_PUT's "look again"): the lease's phase says which
 * step the next visit takes, so the macro stands on one line and still awaits twice. */
#include "loop/net/pool.h"

#include <errno.h>
#include <string.h>

/* Where POOL_QUERY is. */
enum pool_phase {
    POOL_PHASE_IDLE,      /* nothing started, or finished */
    POOL_PHASE_ACQUIRING, /* waiting for a permit */
    POOL_PHASE_REPLY,     /* sent; waiting for the reply */
};

/* The largest command pool_send writes in one piece. */
enum { POOL_COMMAND_MAX = 8192 };

int pool_send(struct pool_lease *lease, const char *const *argv) {
    struct pool_conn *c = lease ? lease->conn : NULL;
    if (!c || !argv || !argv[0] || c->in_flight)
        return -EINVAL;
    if (c->broken)
        return c->error;
    char buf[POOL_COMMAND_MAX];
    struct resp_out o;
    resp_out_init(&o, buf, sizeof buf);
    resp_put_command(&o, argv);
    if (resp_out_result(&o) < 0)
        return -EMSGSIZE;
    resp_parser_next(&c->parser); /* the previous reply, if any, was read */
    int rc = stream_write(&c->stream, buf, o.len);
    if (rc < 0) {
        c->broken = true; /* never reused: part of the command may have gone out */
        c->error = rc;
        return rc;
    }
    c->in_flight = true;
    c->queries++;
    return 0;
}

bool pool_reply_begin(struct task *t, struct pool_lease *lease) {
    struct pool_conn *c = lease->conn;
    if (!c || c->broken || !c->in_flight) {
        /* No connection: -EINVAL. Broken: why. Not in flight: the reply is here already (0),
         * or nothing was sent (-EINVAL). */
        t->waiter.result = !c                             ? -EINVAL
                           : c->broken                    ? c->error
                           : resp_parser_done(&c->parser) ? 0
                                                          : -EINVAL;
        return false;
    }
    waitq_add(&c->reply_waiters, &t->waiter);
    task_park(t, "pool reply");
    return true;
}

const struct resp_value *pool_lease_reply(const struct pool_lease *lease) {
    return lease && lease->conn ? resp_parser_value(&lease->conn->parser) : NULL;
}

/* ---- POOL_QUERY ------------------------------------------------------------------------------ */

void pool__query_start(struct pool_lease *lease, struct pool *p, const char *const *argv,
                       int64_t timeout_ns) {
    pool_lease_init(lease, p, timeout_ns);
    lease->argv = argv;
    lease->phase = POOL_PHASE_ACQUIRING;
}

bool pool__query_begin(struct task *t, struct pool_lease *lease) {
    if (lease->phase == POOL_PHASE_ACQUIRING)
        return pool_acquire_begin(t, lease);
    return pool_reply_begin(t, lease);
}

/* The top level of the reply, copied out of the parser before the connection goes back. */
static void pool_copy_reply(struct pool_reply *r, const struct resp_value *v) {
    *r = (struct pool_reply){.type = v->type, .integer = v->integer, .len = v->len};
    if (v->type == RESP_SIMPLE || v->type == RESP_ERROR || v->type == RESP_BULK) {
        size_t n = v->len < sizeof r->text ? v->len : sizeof r->text - 1;
        memcpy(r->text, v->str, n);
        r->text[n] = '\0';
        r->truncated = n < v->len;
    }
}

/* After each visit of the await: take the next step (true: await again) or finish (false), with
 * the result in t->waiter.result. */
bool pool__query_next(struct task *t, struct pool_lease *lease) {
    int rc = task_result(t);
    if (lease->phase == POOL_PHASE_ACQUIRING) {
        rc = pool__acquired(lease, rc);
        if (rc == 0)
            rc = pool_send(lease, lease->argv);
        if (rc == 0) {
            lease->phase = POOL_PHASE_REPLY;
            return true;
        }
    } else if (rc == 0) {
        pool_copy_reply(&lease->reply, pool_lease_reply(lease));
    }
    pool_release(lease); /* a failed send or reply: the connection is replaced */
    lease->phase = POOL_PHASE_IDLE;
    t->waiter.result = rc;
    return false;
}

/* ---- the dump -------------------------------------------------------------------------------- */

static const char *pool_conn_state_name(const struct pool_conn *c) {
    static const char *const names[] = {"closed", "idle", "busy"};
    return c->state < 3 ? names[c->state] : "corrupt";
}

void pool_dump(const struct pool *p, FILE *out) {
    fprintf(out,
            "pool %s -> %s:%u%s: %zu slots; in flight %zu (peak %zu), idle %zu, waiting %zu; "
            "acquired %llu, opened %llu, closed %llu, replaced %llu (%llu with a reply in "
            "flight), timeouts %llu\n",
            p->name, p->host, p->port, p->closed ? " (closed)" : "", p->size, p->in_flight,
            p->max_in_flight, p->idle_count, pool_waiting(p), (unsigned long long)p->acquired,
            (unsigned long long)p->opened, (unsigned long long)p->closed_count,
            (unsigned long long)p->replaced, (unsigned long long)p->replaced_in_flight,
            (unsigned long long)p->timeouts);
    for (size_t i = 0; i < p->size; i++) {
        const struct pool_conn *c = &p->conns[i];
        if (c->state == POOL_CONN_CLOSED)
            continue;
        fprintf(out, "  slot %zu: connection #%u %s%s%s, %llu queries, fd %d", i, c->id,
                pool_conn_state_name(c), c->in_flight ? ", reply in flight" : "",
                c->broken ? ", broken" : "", (unsigned long long)c->queries, c->stream.fd);
        if (c->broken)
            fprintf(out, " (error %d: %s)", c->error, strerror(-c->error));
        fputc('\n', out);
    }
    fflush(out);
}
