/* resp_parse.c — the RESP2 parser (lesson 13); see resp.h. A small state machine over three
 * states (a line, a bulk payload, the CRLF after it) and a stack of open arrays. Every length the
 * peer announces is checked against a limit BEFORE anything is allocated or copied for it: that
 * is the whole defence against hostile input. The encoder is in resp_out.c. */
#include "loop/net/resp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- parser: setup --------------------------------------------------------------------------- */

int resp_parser_init(struct resp_parser *p, const struct resp_limits *limits) {
    if (!p)
        return -EINVAL;
    struct resp_limits l = limits ? *limits : (struct resp_limits){0};
    if (l.max_depth > RESP_DEPTH_MAX)
        return -EINVAL;
    *p = (struct resp_parser){
        .limits = {
            .max_line = l.max_line ? l.max_line : RESP_DEFAULT_MAX_LINE,
            .max_bulk = l.max_bulk ? l.max_bulk : RESP_DEFAULT_MAX_BULK,
            .max_elements = l.max_elements ? l.max_elements : RESP_DEFAULT_MAX_ELEMENTS,
            .max_depth = l.max_depth ? l.max_depth : RESP_DEFAULT_MAX_DEPTH,
            .max_nodes = l.max_nodes ? l.max_nodes : RESP_DEFAULT_MAX_NODES,
            .max_bytes = l.max_bytes ? l.max_bytes : RESP_DEFAULT_MAX_BYTES,
        }};
    return 0;
}

void resp_parser_free(struct resp_parser *p) {
    if (!p)
        return;
    free(p->nodes);
    free(p->bytes);
    p->nodes = NULL;
    p->bytes = NULL;
    p->node_capacity = p->byte_capacity = 0;
    resp_parser_reset(p);
}

void resp_parser_reset(struct resp_parser *p) {
    p->state = RESP_PARSE_LINE;
    p->node_count = p->byte_count = p->line_start = 0;
    p->depth = 0;
    p->error_text[0] = '\0';
}

int resp_parser_next(struct resp_parser *p) {
    if (!p || p->state != RESP_PARSE_DONE)
        return -EALREADY;
    resp_parser_reset(p);
    return 0;
}

const struct resp_value *resp_parser_value(const struct resp_parser *p) {
    return p && p->state == RESP_PARSE_DONE ? p->nodes : NULL;
}

const char *resp_parser_error(const struct resp_parser *p) {
    return p ? p->error_text : "";
}

/* The parser fails for good (until reset), saying why and where. */
static ssize_t fail(struct resp_parser *p, uint64_t at, const char *format, ...) {
    int n = snprintf(p->error_text, sizeof p->error_text, "byte %" PRIu64 ": ", at);
    va_list ap;
    va_start(ap, format);
    if (n > 0 && (size_t)n < sizeof p->error_text)
        vsnprintf(p->error_text + n, sizeof p->error_text - (size_t)n, format, ap);
    va_end(ap);
    p->state = RESP_PARSE_FAILED;
    return -EPROTO;
}

/* Grows an array to hold `need` elements of `size` bytes (the callers checked `need` against the
 * limits first). 0 or -ENOMEM, and nothing changes then. */
static int grow(void **array, size_t *capacity, size_t need, size_t size) {
    if (need <= *capacity)
        return 0;
    size_t cap = *capacity ? *capacity : 64;
    while (cap < need)
        cap *= 2;
    void *bigger = realloc(*array, cap * size);
    if (!bigger)
        return -ENOMEM;
    *array = bigger;
    *capacity = cap;
    return 0;
}

/* ---- parser: building the value -------------------------------------------------------------- */

/* A new node (its `integer` holds a string's offset in bytes until the value is complete). */
static ssize_t add_node(struct resp_parser *p, enum resp_type type, uint64_t at) {
    if (p->node_count >= p->limits.max_nodes)
        return fail(p, at, "more than %zu values in one reply (max_nodes)", p->limits.max_nodes);
    if (grow((void **)&p->nodes, &p->node_capacity, p->node_count + 1, sizeof *p->nodes))
        return -ENOMEM;
    p->current = p->node_count++;
    p->nodes[p->current] = (struct resp_value){.type = type, .span = 1};
    return 0;
}

/* A value (a string, a number, a null, an empty or a finished array) is complete: count it in
 * its array, close every array it completes, and finish when the outermost one is done. */
static void complete_value(struct resp_parser *p) {
    while (p->depth > 0) {
        if (--p->stack[p->depth - 1].left > 0)
            return;
        size_t array = p->stack[--p->depth].node;
        p->nodes[array].span = p->node_count - array;
    }
    for (size_t i = 0; i < p->node_count; i++) {
        struct resp_value *v = &p->nodes[i];
        if (v->type == RESP_SIMPLE || v->type == RESP_ERROR || v->type == RESP_BULK) {
            v->str = p->bytes + v->integer; /* the array cannot move any more: pointers now */
            v->integer = 0;
        }
    }
    p->state = RESP_PARSE_DONE;
    p->values++;
}

/* "-12" -> -12: an optional minus, then 1 to 19 digits, no overflow, nothing else. */
static bool parse_int64(const char *s, size_t len, int64_t *out) {
    bool negative = len > 0 && s[0] == '-';
    size_t i = negative ? 1 : 0;
    if (i == len || len - i > 19)
        return false;
    int64_t n = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        int d = s[i] - '0';
        if (n > (INT64_MAX - d) / 10)
            return false;
        n = n * 10 + d;
    }
    *out = negative ? -n : n;
    return true;
}

/* What a length line announces, in the words of a refusal, and the name of its limit. */
struct length_kind {
    const char *value, *unit, *limit_name;
};
static const struct length_kind bulk_length = {"a bulk string", "bytes", "max_bulk"};
static const struct length_kind array_length = {"an array", "elements", "max_elements"};

/* A bulk string's or an array's length: -1 (a null) or a count up to `limit`, checked before
 * anything is allocated for it. 0, or the parser fails saying what was announced. */
static ssize_t take_length(struct resp_parser *p, uint64_t at, const char *text, size_t len,
                           const struct length_kind *kind, size_t limit, int64_t *n) {
    if (!parse_int64(text, len, n) || *n < -1)
        return fail(p, at, "%s length that is neither -1 nor a count of %s", kind->value,
                    kind->unit);
    if (*n > 0 && (uint64_t)*n > limit)
        return fail(p, at, "%s of %" PRId64 " %s, over the limit of %zu (%s)", kind->value, *n,
                    kind->unit, limit, kind->limit_name);
    return 0;
}

/* A whole line is in bytes[line_start..byte_count): the type byte, the text and the CR. */
static ssize_t take_line(struct resp_parser *p, uint64_t at) {
    size_t start = p->line_start, len = p->byte_count - start;
    char *line = p->bytes + start;
    if (len < 2 || line[len - 1] != '\r')
        return fail(p, at, "a line must end with CRLF and start with a type byte");
    const char *text = line + 1;
    size_t text_len = len - 2;
    if (memchr(text, '\r', text_len))
        return fail(p, at, "a bare CR inside a line");
    char type = line[0];
    int64_t n = 0;
    ssize_t err;
    p->byte_count = start; /* the line is consumed; a string's text is moved back in below */
    switch (type) {
    case RESP_SIMPLE:
    case RESP_ERROR:
        if ((err = add_node(p, (enum resp_type)type, at)) < 0)
            return err;
        memmove(line, text, text_len);
        line[text_len] = '\0';
        p->nodes[p->current].integer = (int64_t)start;
        p->nodes[p->current].len = text_len;
        p->byte_count = start + text_len + 1;
        if (p->byte_count > p->limits.max_bytes)
            return fail(p, at, "more than %zu string bytes in one reply (max_bytes)",
                        p->limits.max_bytes);
        complete_value(p);
        return 0;
    case RESP_INTEGER:
        if (!parse_int64(text, text_len, &n))
            return fail(p, at, "an integer that is not a 64-bit decimal number");
        if ((err = add_node(p, RESP_INTEGER, at)) < 0)
            return err;
        p->nodes[p->current].integer = n;
        complete_value(p);
        return 0;
    case RESP_BULK:
        if ((err = take_length(p, at, text, text_len, &bulk_length, p->limits.max_bulk, &n)) < 0)
            return err;
        if ((err = add_node(p, n < 0 ? RESP_NULL : RESP_BULK, at)) < 0)
            return err;
        if (n < 0) {
            complete_value(p);
            return 0;
        }
        if (start + (size_t)n + 1 > p->limits.max_bytes)
            return fail(p, at, "more than %zu string bytes in one reply (max_bytes)",
                        p->limits.max_bytes);
        if (grow((void **)&p->bytes, &p->byte_capacity, start + (size_t)n + 1, 1))
            return -ENOMEM; /* the room for the payload, and only then: the length is checked */
        p->nodes[p->current].integer = (int64_t)start;
        p->nodes[p->current].len = (size_t)n;
        p->payload_left = n;
        p->state = n > 0 ? RESP_PARSE_PAYLOAD : RESP_PARSE_CRLF;
        p->crlf_seen = 0;
        return 0;
    case RESP_ARRAY:
        if ((err = take_length(p, at, text, text_len, &array_length, p->limits.max_elements, &n)) <
            0)
            return err;
        if (n > 0 && p->depth >= p->limits.max_depth)
            return fail(p, at, "arrays nested deeper than %zu (max_depth)", p->limits.max_depth);
        if ((err = add_node(p, n < 0 ? RESP_NULL : RESP_ARRAY, at)) < 0)
            return err;
        p->nodes[p->current].integer = n < 0 ? 0 : n;
        if (n <= 0) {
            complete_value(p);
            return 0;
        }
        p->stack[p->depth].node = p->current;
        p->stack[p->depth].left = n;
        p->depth++;
        return 0;
    default:
        return fail(p, at, "0x%02x is not a RESP type byte (+ - : $ *)", (unsigned char)type);
    }
}

/* ---- parser: feeding ------------------------------------------------------------------------- */

ssize_t resp_parser_feed(struct resp_parser *p, const char *data, size_t len) {
    if (!p || (!data && len))
        return -EINVAL;
    if (p->state == RESP_PARSE_FAILED)
        return -EPROTO;
    size_t i = 0;
    ssize_t err = 0;
    while (i < len && p->state != RESP_PARSE_DONE && err == 0) {
        uint64_t at = p->consumed + i;
        if (p->state == RESP_PARSE_LINE) {
            const char *nl = memchr(data + i, '\n', len - i);
            size_t chunk = nl ? (size_t)(nl - (data + i)) : len - i;
            size_t have = p->byte_count - p->line_start;
            if (have + chunk > p->limits.max_line + 2) /* type byte + text + CR */
                err = fail(p, at, "a line longer than %zu bytes (max_line)", p->limits.max_line);
            else if (grow((void **)&p->bytes, &p->byte_capacity, p->byte_count + chunk, 1))
                err = -ENOMEM;
            if (err)
                break;
            memcpy(p->bytes + p->byte_count, data + i, chunk);
            p->byte_count += chunk;
            i += chunk;
            if (nl) {
                i++; /* the LF */
                err = take_line(p, p->consumed + i);
                p->line_start = p->byte_count;
            }
        } else if (p->state == RESP_PARSE_PAYLOAD) {
            size_t take = len - i < (uint64_t)p->payload_left ? len - i : (size_t)p->payload_left;
            memcpy(p->bytes + p->byte_count, data + i, take);
            p->byte_count += take;
            p->payload_left -= (int64_t)take;
            i += take;
            if (p->payload_left == 0)
                p->state = RESP_PARSE_CRLF;
        } else { /* RESP_PARSE_CRLF */
            if (data[i] != "\r\n"[p->crlf_seen]) {
                err = fail(p, at, "a bulk string is not followed by CRLF where its length ends");
                break;
            }
            i++;
            if (++p->crlf_seen == 2) {
                p->bytes[p->byte_count++] = '\0'; /* room was grown with the payload's */
                p->line_start = p->byte_count;
                p->state = RESP_PARSE_LINE;
                complete_value(p);
            }
        }
    }
    p->consumed += i;
    return err ? err : (ssize_t)i;
}

static const char *state_name(enum resp_parse_state s) {
    static const char *const names[] = {"line", "payload", "crlf", "done", "failed"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "corrupt";
}

void resp_parser_dump(const struct resp_parser *p, FILE *out) {
    fprintf(out,
            "resp parser: %s, depth %zu, %zu nodes (room %zu), %zu bytes (room %zu), "
            "%" PRIu64 " values from %" PRIu64 " bytes",
            state_name(p->state), p->depth, p->node_count, p->node_capacity, p->byte_count,
            p->byte_capacity, p->values, p->consumed);
    if (p->state == RESP_PARSE_FAILED)
        fprintf(out, ": %s", p->error_text);
    fputc('\n', out);
    fflush(out);
}
