/* resp_out.c — the RESP2 encoder (lesson 13), and reading a parsed value; see resp.h. Each put
 * appends one value to the caller's buffer, all or nothing, so a reply that does not fit is never
 * sent half-written. The parser that makes values is resp_parse.c. */
#include "loop/net/resp.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* ---- values ---------------------------------------------------------------------------------- */

const struct resp_value *resp_value_element(const struct resp_value *array, size_t i) {
    if (!array || array->type != RESP_ARRAY || i >= (size_t)array->integer)
        return NULL;
    const struct resp_value *v = array + 1;
    while (i--)
        v = resp_value_skip(v);
    return v;
}

bool resp_value_is(const struct resp_value *v, const char *s) {
    if (!v || !s || !(v->type == RESP_SIMPLE || v->type == RESP_ERROR || v->type == RESP_BULK))
        return false;
    return v->len == strlen(s) && memcmp(v->str, s, v->len) == 0;
}

/* ---- the encoder ----------------------------------------------------------------------------- */

void resp_out_init(struct resp_out *o, char *buf, size_t cap) {
    *o = (struct resp_out){.buf = buf, .cap = buf ? cap : 0};
}

static void put_raw(struct resp_out *o, const void *data, size_t len) {
    if (o->error)
        return;
    if (len > o->cap - o->len) {
        o->error = -ENOSPC;
        return;
    }
    memcpy(o->buf + o->len, data, len);
    o->len += len;
}

/* One header line such as "$5\r\n" or ":-3\r\n". */
static void put_header(struct resp_out *o, char type, int64_t n) {
    char line[32];
    int len = snprintf(line, sizeof line, "%c%" PRId64 "\r\n", type, n);
    put_raw(o, line, (size_t)len);
}

/* All or nothing: a put that failed halfway takes back what it wrote. */
static void undo_if_failed(struct resp_out *o, size_t mark) {
    if (o->error)
        o->len = mark;
}

static void put_line(struct resp_out *o, char type, const char *s) {
    if (o->error)
        return;
    size_t len = strlen(s), mark = o->len;
    if (memchr(s, '\r', len) || memchr(s, '\n', len)) {
        o->error = -EINVAL; /* it would end the line early: the peer would read garbage */
        return;
    }
    put_raw(o, &type, 1);
    put_raw(o, s, len);
    put_raw(o, "\r\n", 2);
    undo_if_failed(o, mark);
}

void resp_put_simple(struct resp_out *o, const char *s) {
    put_line(o, RESP_SIMPLE, s);
}

void resp_put_error(struct resp_out *o, const char *s) {
    put_line(o, RESP_ERROR, s);
}

void resp_put_integer(struct resp_out *o, int64_t n) {
    put_header(o, RESP_INTEGER, n);
}

void resp_put_bulk(struct resp_out *o, const void *data, size_t len) {
    size_t mark = o->len;
    put_header(o, RESP_BULK, (int64_t)len);
    put_raw(o, data, len);
    put_raw(o, "\r\n", 2);
    undo_if_failed(o, mark);
}

void resp_put_null(struct resp_out *o) {
    put_raw(o, "$-1\r\n", 5);
}

void resp_put_array(struct resp_out *o, size_t count) {
    put_header(o, RESP_ARRAY, (int64_t)count);
}

void resp_put_value(struct resp_out *o, const struct resp_value *v) {
    size_t mark = o->len;
    switch (v->type) {
    case RESP_SIMPLE:
    case RESP_ERROR:
        put_line(o, (char)v->type, v->str);
        break;
    case RESP_INTEGER:
        resp_put_integer(o, v->integer);
        break;
    case RESP_BULK:
        resp_put_bulk(o, v->str, v->len);
        break;
    case RESP_NULL:
        resp_put_null(o);
        break;
    case RESP_ARRAY:
        resp_put_array(o, (size_t)v->integer);
        for (const struct resp_value *e = v + 1; e < v + v->span; e = resp_value_skip(e))
            resp_put_value(o, e);
        break;
    }
    undo_if_failed(o, mark);
}

void resp_put_command(struct resp_out *o, const char *const *argv) {
    size_t mark = o->len, argc = 0;
    while (argv[argc])
        argc++;
    resp_put_array(o, argc);
    for (size_t i = 0; i < argc; i++)
        resp_put_bulk(o, argv[i], strlen(argv[i]));
    undo_if_failed(o, mark);
}
