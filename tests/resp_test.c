/* resp_test.c — the RESP2 parser and encoder (loop/net/resp.*, lesson 13): property tests (random
 * values survive encode, then parse under every split of their bytes) and hostile input (random
 * and mutated bytes, every limit): the parser answers -EPROTO with a sentence, never crashes,
 * never overreads and never holds more memory than its limits allow. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loop/net/resp.h"
#include "tests/support/tasks.h"

TestSuite(resp, .description = "Does the RESP parser rebuild every value from any split of its "
                               "bytes, and refuse hostile input without crashing?");

/* Under make check (sanitizers, valgrind) the random tests run fewer cases: the same code paths,
 * a fraction of the time. */
static int scaled(int n) {
    return getenv("LOOPSCHOOL_CHECK") ? n / 10 + 1 : n;
}

/* ---- random values, encoded ------------------------------------------------------------------ */

/* Appends one random value, at most `depth` arrays deep, to o. Bulk strings hold any byte, CR
 * and LF included: the parser must count, not scan, them. */
static void put_random(struct resp_out *o, uint64_t *rng, int depth) {
    char text[64];
    int kind = (int)(test_random(rng) % (depth > 0 ? 6 : 5));
    size_t len = test_random(rng) % 40;
    switch (kind) {
    case 0:
    case 1:
        for (size_t i = 0; i < len; i++)
            text[i] = (char)(' ' + test_random(rng) % 95); /* printable: no CR, no LF */
        text[len] = '\0';
        if (kind == 0)
            resp_put_simple(o, text);
        else
            resp_put_error(o, text);
        break;
    case 2:
        resp_put_integer(o, (int64_t)test_random(rng)); /* negative ones, and INT64_MIN's kin */
        break;
    case 3:
        for (size_t i = 0; i < len; i++)
            text[i] = (char)test_random(rng);
        resp_put_bulk(o, text, len);
        break;
    case 4:
        resp_put_null(o);
        break;
    default: {
        size_t n = test_random(rng) % 5; /* 0: the empty array */
        resp_put_array(o, n);
        for (size_t i = 0; i < n; i++)
            put_random(o, rng, depth - 1);
    }
    }
}

/* Feeds `len` bytes in pieces that end at the given cut points (sorted, inside 0..len) and
 * expects exactly one complete value at the end, and none before. */
static const struct resp_value *feed_in_pieces(struct resp_parser *p, const char *bytes, size_t len,
                                               const size_t *cuts, size_t ncuts) {
    size_t from = 0;
    for (size_t c = 0; c <= ncuts; c++) {
        size_t to = c < ncuts ? cuts[c] : len;
        while (from < to) {
            cr_assert(!resp_parser_done(p), "the value is not complete before its last byte");
            ssize_t n = resp_parser_feed(p, bytes + from, to - from);
            cr_assert_geq(n, 0, "valid bytes parse (%s)", resp_parser_error(p));
            cr_assert(n > 0 || resp_parser_done(p), "a feed makes progress");
            from += (size_t)n;
            if (resp_parser_done(p))
                cr_assert_eq(from, len, "the value ends exactly where its bytes end");
        }
    }
    cr_assert(resp_parser_done(p), "all of its bytes make one complete value");
    return resp_parser_value(p);
}

/* Encodes what the parser built and compares with the original bytes: equal bytes mean equal
 * values, since the encoding of a value is unique. */
static void assert_same_encoding(const struct resp_value *v, const char *bytes, size_t len) {
    static char again[16384];
    struct resp_out o;
    resp_out_init(&o, again, sizeof again);
    resp_put_value(&o, v);
    cr_assert_eq(resp_out_result(&o), 0, "the parsed value encodes again");
    cr_assert_eq(o.len, len, "the parsed value encodes to as many bytes as the original");
    cr_assert(memcmp(again, bytes, len) == 0, "the parsed value encodes to the same bytes");
}

Test(resp, round_trip_every_split,
     .description = "Q: does a random value encode and parse back to itself, whichever two "
                    "pieces (and whatever byte-by-byte trickle) its bytes arrive in?") {
    static char buf[16384];
    uint64_t rng = 0x5eed1234;
    struct resp_parser p;
    cr_assert_eq(resp_parser_init(&p, NULL), 0, "a parser with the default limits initialises");
    int values = scaled(300);
    for (int k = 0; k < values; k++) {
        struct resp_out o;
        resp_out_init(&o, buf, sizeof buf);
        put_random(&o, &rng, 3);
        cr_assert_eq(resp_out_result(&o), 0, "a random value fits in 16 KiB");
        for (size_t cut = 0; cut <= o.len; cut++) { /* every split into two pieces */
            assert_same_encoding(feed_in_pieces(&p, buf, o.len, &cut, 1), buf, o.len);
            cr_assert_eq(resp_parser_next(&p), 0, "a complete value lets the parser go on");
        }
        size_t cuts[4096], ncuts = 0; /* and one byte at a time */
        for (size_t c = 1; c < o.len && ncuts < 4096; c++)
            cuts[ncuts++] = c;
        assert_same_encoding(feed_in_pieces(&p, buf, o.len, cuts, ncuts), buf, o.len);
        cr_assert_eq(resp_parser_next(&p), 0, "a complete value lets the parser go on");
    }
    resp_parser_free(&p);
}

Test(resp, back_to_back_values,
     .description = "Q: does the parser stop at the end of one value, so that pipelined values "
                    "in one read are taken one at a time?") {
    const char wire[] = "+OK\r\n:7\r\n$3\r\nbar\r\n*2\r\n$1\r\na\r\n*-1\r\n";
    struct resp_parser p;
    resp_parser_init(&p, NULL);
    size_t at = 0, len = sizeof wire - 1;
    const enum resp_type expect[] = {RESP_SIMPLE, RESP_INTEGER, RESP_BULK, RESP_ARRAY};
    for (int k = 0; k < 4; k++) {
        ssize_t n = resp_parser_feed(&p, wire + at, len - at);
        cr_assert_gt(n, 0, "value %d is read (got %zd)", k, n);
        at += (size_t)n;
        const struct resp_value *v = resp_parser_value(&p);
        cr_assert_not_null(v, "value %d is complete", k);
        cr_assert_eq(v->type, expect[k], "value %d has the type it was sent with", k);
        if (k == 3) {
            cr_assert(resp_value_is(resp_value_element(v, 0), "a"), "element 0 is \"a\"");
            cr_assert_eq(resp_value_element(v, 1)->type, RESP_NULL, "element 1 is a null");
            cr_assert_null(resp_value_element(v, 2), "there is no element 2");
        }
        resp_parser_next(&p);
    }
    cr_assert_eq(at, len, "all four values were taken, nothing more");
    resp_parser_free(&p);
}

/* ---- hostile input --------------------------------------------------------------------------- */

/* Feeds everything (restarting after each value or failure), as a server would from a peer it
 * cannot trust; returns how many failures it saw. Each failure must say why, and the memory
 * held must stay within what the limits allow. */
static int feed_hostile(struct resp_parser *p, const char *bytes, size_t len) {
    int failures = 0;
    size_t at = 0;
    while (at < len) {
        ssize_t n = resp_parser_feed(p, bytes + at, len - at);
        cr_assert(n >= 0 || n == -EPROTO, "hostile bytes give a count or -EPROTO, got %zd", n);
        if (n < 0) {
            cr_assert_neq(resp_parser_error(p)[0], '\0', "a failure says why in a sentence");
            failures++;
            resp_parser_reset(p);
            at++; /* resynchronise one byte further on */
            continue;
        }
        at += (size_t)n;
        if (resp_parser_done(p))
            resp_parser_next(p);
        cr_assert(n > 0 || at == len, "a feed of unfinished input takes every byte");
    }
    cr_assert_leq(p->byte_capacity, 2 * (p->limits.max_bytes + p->limits.max_line + 2),
                  "string room stays bounded");
    cr_assert_leq(p->node_capacity, 2 * p->limits.max_nodes, "node room stays bounded");
    return failures;
}

Test(resp, random_bytes_never_crash,
     .description = "Q: do random bytes only ever give -EPROTO with a reason, never a crash or "
                    "unbounded memory?") {
    static char junk[4096];
    const char alphabet[] = "+-:$*\r\n0123456789-1x";
    uint64_t rng = 0xbadc0ffee;
    struct resp_limits tight = {.max_line = 64,
                                .max_bulk = 256,
                                .max_elements = 16,
                                .max_depth = 4,
                                .max_nodes = 64,
                                .max_bytes = 1024};
    struct resp_parser p;
    cr_assert_eq(resp_parser_init(&p, &tight), 0, "tight limits are accepted");
    int failures = 0;
    for (int k = 0; k < scaled(400); k++) {
        size_t len = 1 + test_random(&rng) % sizeof junk;
        bool from_alphabet = k % 2; /* half pure noise, half noise that looks like RESP */
        for (size_t i = 0; i < len; i++)
            junk[i] = from_alphabet ? alphabet[test_random(&rng) % (sizeof alphabet - 1)]
                                    : (char)test_random(&rng);
        failures += feed_hostile(&p, junk, len);
        resp_parser_reset(&p);
    }
    cr_assert_gt(failures, 0, "random bytes are refused, not silently accepted");
    resp_parser_free(&p);
}

Test(resp, mutated_values_never_crash,
     .description = "Q: does a valid value with bytes flipped, dropped or duplicated give a "
                    "value or -EPROTO, never a crash?") {
    static char buf[8192], mutant[8192];
    uint64_t rng = 0xfeedface;
    struct resp_limits tight = {.max_line = 64,
                                .max_bulk = 64,
                                .max_elements = 8,
                                .max_depth = 3,
                                .max_nodes = 64,
                                .max_bytes = 1024};
    struct resp_parser p;
    cr_assert_eq(resp_parser_init(&p, &tight), 0, "tight limits are accepted");
    for (int k = 0; k < scaled(2000); k++) {
        struct resp_out o;
        resp_out_init(&o, buf, sizeof buf / 2);
        put_random(&o, &rng, 3);
        size_t len = o.len;
        memcpy(mutant, buf, len);
        size_t at = test_random(&rng) % len;
        switch (test_random(&rng) % 3) {
        case 0:
            mutant[at] = (char)test_random(&rng); /* flip */
            break;
        case 1:
            memmove(mutant + at, mutant + at + 1, len - at - 1); /* drop */
            len--;
            break;
        default:
            memmove(mutant + at + 1, mutant + at, len - at); /* duplicate */
            len++;
        }
        feed_hostile(&p, mutant, len);
        resp_parser_reset(&p);
    }
    resp_parser_free(&p);
}

/* Feeds a whole string and returns what the feed said. */
static ssize_t feed_str(struct resp_parser *p, const char *s) {
    return resp_parser_feed(p, s, strlen(s));
}

Test(resp, limits_refuse_before_allocating,
     .description = "Q: is a bulk string announced as 1 TB refused at its header, before any "
                    "memory is taken for it?") {
    struct resp_parser p;
    resp_parser_init(&p, NULL);
    cr_assert_eq(feed_str(&p, "$1000000000000\r\n"), -EPROTO, "a 1 TB bulk string is refused");
    cr_assert(strstr(resp_parser_error(&p), "max_bulk"), "the reason names the limit: %s",
              resp_parser_error(&p));
    cr_assert_lt(p.byte_capacity, 1024, "no room was made for the payload (%zu bytes)",
                 p.byte_capacity);
    cr_assert_eq(feed_str(&p, "+OK\r\n"), -EPROTO, "a failed parser stays failed");
    resp_parser_reset(&p);
    cr_assert_eq(feed_str(&p, "+OK\r\n"), 5, "after a reset it parses again");
    resp_parser_free(&p);
}

Test(resp, every_limit_and_malformation,
     .description = "Q: do deep nesting, long arrays, long lines, bad numbers, a missing CRLF "
                    "and an unknown type byte each get -EPROTO and a sentence?") {
    static char deep[401], longline[200]; /* static: NUL-terminated */
    for (int i = 0; i < 100; i++)
        memcpy(deep + 4 * i, "*1\r\n", 4);
    memset(longline, 'a', sizeof longline - 1);
    longline[0] = '+';
    const struct {
        const char *input, *reason;
    } cases[] = {
        {deep, "max_depth"},
        {"*2000\r\n", "max_elements"},
        {longline, "max_line"},
        {":12a\r\n", "integer"},
        {":99999999999999999999\r\n", "integer"},
        {"$-2\r\n", "bulk string length"},
        {"$3\r\nabcX\r\n", "CRLF"},
        {"!oops\r\n", "type byte"},
        {"+a\rb\r\n", "bare CR"},
        {"\r\n", "type byte"},
    };
    struct resp_limits limits = {.max_line = 100, .max_elements = 1000};
    struct resp_parser p;
    resp_parser_init(&p, &limits);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp_parser_reset(&p);
        ssize_t n = feed_str(&p, cases[i].input);
        cr_assert_eq(n, -EPROTO, "case %zu (%.20s) is refused", i, cases[i].input);
        cr_assert(strstr(resp_parser_error(&p), cases[i].reason),
                  "case %zu's sentence mentions \"%s\": %s", i, cases[i].reason,
                  resp_parser_error(&p));
    }
    struct resp_limits too_deep = {.max_depth = RESP_DEPTH_MAX + 1};
    cr_assert_eq(resp_parser_init(&p, &too_deep), -EINVAL, "a depth past the stack is refused");
    cr_assert_eq(resp_parser_feed(NULL, "x", 1), -EINVAL, "a NULL parser is refused");
    resp_parser_free(&p);
}

Test(resp, encoder_all_or_nothing,
     .description = "Q: does a put that does not fit leave the buffer untouched, and a simple "
                    "string with a newline get refused?") {
    char buf[8];
    struct resp_out o;
    resp_out_init(&o, buf, sizeof buf);
    resp_put_integer(&o, 5);
    cr_assert_eq(o.len, 4, ":5\\r\\n is 4 bytes");
    resp_put_bulk(&o, "hello", 5);
    cr_assert_eq(resp_out_result(&o), -ENOSPC, "an 11-byte bulk does not fit in 4 free bytes");
    cr_assert_eq(o.len, 4, "and nothing of it was written");
    resp_out_init(&o, buf, sizeof buf);
    resp_put_simple(&o, "a\nb");
    cr_assert_eq(resp_out_result(&o), -EINVAL, "a simple string cannot hold a newline");
    cr_assert_eq(o.len, 0, "and nothing of it was written");
    char big[64];
    resp_out_init(&o, big, sizeof big);
    resp_put_command(&o, (const char *const[]){"SET", "k", "v", NULL});
    cr_assert_eq(o.len, strlen("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"));
    cr_assert(memcmp(big, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", o.len) == 0,
              "a command is an array of bulk strings");
}

Test(resp, dump_says_where_it_is,
     .description = "Q: does resp_parser_dump show the state and the reason of a failure?") {
    struct resp_parser p;
    resp_parser_init(&p, NULL);
    feed_str(&p, "*2\r\n:1\r\n");
    char text[256];
    TEST_DUMP_INTO(text, resp_parser_dump(&p, out));
    cr_assert(strstr(text, "line, depth 1, 2 nodes"), "mid-array: %s", text);
    feed_str(&p, "?\r\n");
    TEST_DUMP_INTO(text, resp_parser_dump(&p, out));
    cr_assert(strstr(text, "failed") && strstr(text, "type byte"), "failed: %s", text);
    resp_parser_free(&p);
}
