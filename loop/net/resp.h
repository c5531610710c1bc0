/* resp.h — RESP2, the wire protocol of Redis (lesson 13): an encoder that appends values to a
 * caller's buffer, and an incremental parser that takes bytes as they arrive, in any split, and
 * builds one value at a time under hard limits, so hostile input gets -EPROTO and a sentence,
 * never a crash, an overread or unbounded memory. The pool and the kvd server stand on it. */
#ifndef LOOPSCHOOL_RESP_H
#define LOOPSCHOOL_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* The first byte of each value on the wire names its type; a null is "$-1" or "*-1". */
enum resp_type {
    RESP_SIMPLE = '+',  /* +OK\r\n */
    RESP_ERROR = '-',   /* -ERR unknown command\r\n */
    RESP_INTEGER = ':', /* :42\r\n */
    RESP_BULK = '$',    /* $5\r\nhello\r\n: binary-safe */
    RESP_ARRAY = '*',   /* *2\r\n followed by two values */
    RESP_NULL = '_',    /* $-1\r\n or *-1\r\n (RESP3 spells it _; RESP2 never sends that byte) */
};

/* One node of a parsed value. A value is its nodes in pre-order: an array's elements follow it,
 * and `span` (the nodes of its whole subtree, itself included) jumps over one. */
struct resp_value {
    enum resp_type type;
    int64_t integer; /* RESP_INTEGER: the number; RESP_ARRAY: how many elements */
    const char *str; /* SIMPLE, ERROR, BULK: the bytes, NUL-terminated for convenience */
    size_t len;      /* their length, without that NUL */
    size_t span;     /* nodes in this subtree, itself included */
};

/* The element after v at the same level (v's next sibling, or what follows the subtree). */
static inline const struct resp_value *resp_value_skip(const struct resp_value *v) {
    return v + v->span;
}
/* Element i (0-based) of an array, or NULL if there is no such element. */
const struct resp_value *resp_value_element(const struct resp_value *array, size_t i);
/* True if v is a SIMPLE, ERROR or BULK whose bytes are exactly the C string s. */
bool resp_value_is(const struct resp_value *v, const char *s);

/* ---- parsing --------------------------------------------------------------------------------- */

/* What one value may cost. A parser refuses (-EPROTO) a value that would go past any of them:
 * they bound its memory, whatever the peer sends. Zero fields take the defaults below. */
struct resp_limits {
    size_t max_line;     /* a simple string, an error or a number's line, CRLF excluded */
    size_t max_bulk;     /* one bulk string */
    size_t max_elements; /* one array's element count */
    size_t max_depth;    /* arrays inside arrays; at most RESP_DEPTH_MAX */
    size_t max_nodes;    /* nodes in one value, all levels */
    size_t max_bytes;    /* string bytes in one value, all levels */
};
enum {
    RESP_DEFAULT_MAX_LINE = 4096,
    RESP_DEFAULT_MAX_BULK = 512 * 1024,
    RESP_DEFAULT_MAX_ELEMENTS = 1024,
    RESP_DEFAULT_MAX_DEPTH = 8,
    RESP_DEFAULT_MAX_NODES = 4096,
    RESP_DEFAULT_MAX_BYTES = 1024 * 1024,
    RESP_DEPTH_MAX = 32, /* the stack below is an array: no memory for nesting */
    RESP_ERROR_TEXT = 120,
};

/* Where the parser is inside the current value. */
enum resp_parse_state {
    RESP_PARSE_LINE,    /* reading a type byte and its line, up to CRLF */
    RESP_PARSE_PAYLOAD, /* reading a bulk string's bytes */
    RESP_PARSE_CRLF,    /* reading the CRLF after them */
    RESP_PARSE_DONE,    /* one value is complete: read it, then resp_parser_next */
    RESP_PARSE_FAILED,  /* the input broke the protocol or a limit: see error_text */
};

/* Caller-owned. resp_parser_init allocates nothing: the two arrays grow (through realloc) the
 * first time a value needs the room, never past the limits, and are reused for every later
 * value. resp_parser_free gives them back. */
struct resp_parser {
    struct resp_limits limits;
    enum resp_parse_state state;
    struct resp_value *nodes; /* the value in pre-order; node 0 is the value itself */
    size_t node_count, node_capacity;
    char *bytes; /* every string of the value, each NUL-terminated */
    size_t byte_count, byte_capacity;
    size_t line_start;    /* where the current line began in bytes */
    size_t current;       /* the node the line or payload belongs to */
    int64_t payload_left; /* bulk bytes still to read */
    size_t crlf_seen;     /* of the CRLF after a payload */
    struct {              /* open arrays: which node, and how many elements are still due */
        size_t node;
        int64_t left;
    } stack[RESP_DEPTH_MAX];
    size_t depth;
    uint64_t values;   /* complete values so far */
    uint64_t consumed; /* bytes taken so far, all values: error messages cite offsets */
    char error_text[RESP_ERROR_TEXT];
};

/* Takes the limits (NULL: all defaults). -EINVAL for a NULL p or max_depth > RESP_DEPTH_MAX. */
int resp_parser_init(struct resp_parser *p, const struct resp_limits *limits);
void resp_parser_free(struct resp_parser *p);

/* Feeds bytes. It stops at the end of one value, so the caller keeps what follows: returns how
 * many bytes it took (0..len), and the value is complete when resp_parser_done says so. A
 * negative errno: -EPROTO when the input breaks RESP or a limit (resp_parser_error says how, in
 * a sentence; the parser stays failed until resp_parser_reset: a stream that broke the protocol
 * cannot be trusted again), -ENOMEM if the arrays cannot grow, -EINVAL for NULL arguments. */
ssize_t resp_parser_feed(struct resp_parser *p, const char *data, size_t len);
static inline bool resp_parser_done(const struct resp_parser *p) {
    return p->state == RESP_PARSE_DONE;
}
/* True before the first byte of a value: where a server may look for something else (kvd's
 * inline commands). */
static inline bool resp_parser_at_start(const struct resp_parser *p) {
    return p->state == RESP_PARSE_LINE && p->byte_count == 0 && p->node_count == 0;
}
/* The complete value (valid until the next feed, next or reset), or NULL while incomplete. */
const struct resp_value *resp_parser_value(const struct resp_parser *p);
/* Forgets the complete value to parse the next one. -EALREADY if none was complete. */
int resp_parser_next(struct resp_parser *p);
/* Forgets everything, a failure included (keeps the memory and the limits). */
void resp_parser_reset(struct resp_parser *p);
/* Why the parser failed, in a sentence; "" if it has not. */
const char *resp_parser_error(const struct resp_parser *p);
/* One line: state, depth, nodes and bytes held, values parsed. Flushes. */
void resp_parser_dump(const struct resp_parser *p, FILE *out);

/* ---- encoding -------------------------------------------------------------------------------- */

/* Appends values to a caller's buffer. Nothing is ever written past cap: a put that does not
 * fit leaves the buffer as it was and sets error to -ENOSPC; -EINVAL for a simple string or an
 * error holding CR or LF. Once set, error stays, and every later put does nothing: check it
 * once, at the end (resp_out_result). */
struct resp_out {
    char *buf;
    size_t cap, len;
    int error;
};

void resp_out_init(struct resp_out *o, char *buf, size_t cap);
static inline int resp_out_result(const struct resp_out *o) {
    return o->error;
}
void resp_put_simple(struct resp_out *o, const char *s);
void resp_put_error(struct resp_out *o, const char *s);
void resp_put_integer(struct resp_out *o, int64_t n);
void resp_put_bulk(struct resp_out *o, const void *data, size_t len);
void resp_put_null(struct resp_out *o);
void resp_put_array(struct resp_out *o, size_t count); /* then put the count elements */
/* A parsed value, its whole subtree. */
void resp_put_value(struct resp_out *o, const struct resp_value *v);
/* A command as clients send it: an array of bulk strings, argv ending with NULL. */
void resp_put_command(struct resp_out *o, const char *const *argv);

#endif
