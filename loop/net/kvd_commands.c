/* kvd_commands.c — what the lesson-13 key-value server does with a command (see kvd.h): the keys
 * in a chained hash table, and one small function per command. Replies are encoded with
 * resp.h's encoder; the answers and error texts follow Redis's, so redis-cli reads them. */
#include "loop/net/kvd.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One key and its value (bytes, any of them). */
struct kvd_entry {
    struct kvd_entry *next;
    char *value;
    size_t key_len, value_len;
    char key[]; /* key_len bytes */
};

/* ---- the store ------------------------------------------------------------------------------- */

static uint64_t kvd_hash(const char *key, size_t len) {
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211u;
    return h;
}

/* The link that points at key's entry (or at the NULL where it would go). */
static struct kvd_entry **kvd_slot(struct kvd_server *s, const struct resp_value *key) {
    if (s->bucket_count == 0)
        return NULL;
    struct kvd_entry **link = &s->buckets[kvd_hash(key->str, key->len) % s->bucket_count];
    while (*link && !((*link)->key_len == key->len && !memcmp((*link)->key, key->str, key->len)))
        link = &(*link)->next;
    return link;
}

static struct kvd_entry *kvd_find(struct kvd_server *s, const struct resp_value *key) {
    struct kvd_entry **link = kvd_slot(s, key);
    return link ? *link : NULL;
}

/* Doubles the table when keys outnumber buckets, so chains stay short. 0 or -ENOMEM. */
static int kvd_grow(struct kvd_server *s) {
    if (s->keys < s->bucket_count)
        return 0;
    size_t count = s->bucket_count ? 2 * s->bucket_count : 64;
    struct kvd_entry **buckets = calloc(count, sizeof *buckets);
    if (!buckets)
        return -ENOMEM;
    for (size_t i = 0; i < s->bucket_count; i++) {
        for (struct kvd_entry *e = s->buckets[i], *next; e; e = next) {
            next = e->next;
            struct kvd_entry **head = &buckets[kvd_hash(e->key, e->key_len) % count];
            e->next = *head;
            *head = e;
        }
    }
    free(s->buckets);
    s->buckets = buckets;
    s->bucket_count = count;
    return 0;
}

static int kvd_set(struct kvd_server *s, const struct resp_value *key, const char *value,
                   size_t len) {
    char *copy = malloc(len ? len : 1);
    if (!copy || kvd_grow(s) < 0) {
        free(copy);
        return -ENOMEM;
    }
    memcpy(copy, value, len);
    struct kvd_entry **link = kvd_slot(s, key);
    if (!*link) {
        struct kvd_entry *e = malloc(sizeof *e + key->len);
        if (!e) {
            free(copy);
            return -ENOMEM;
        }
        *e = (struct kvd_entry){.key_len = key->len};
        memcpy(e->key, key->str, key->len);
        *link = e;
        s->keys++;
    }
    free((*link)->value);
    (*link)->value = copy;
    (*link)->value_len = len;
    return 0;
}

static bool kvd_delete(struct kvd_server *s, const struct resp_value *key) {
    struct kvd_entry **link = kvd_slot(s, key);
    if (!link || !*link)
        return false;
    struct kvd_entry *e = *link;
    *link = e->next;
    free(e->value);
    free(e);
    s->keys--;
    return true;
}

void kvd__store_clear(struct kvd_server *s) {
    for (size_t i = 0; i < s->bucket_count; i++) {
        for (struct kvd_entry *e = s->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e->value);
            free(e);
        }
    }
    free(s->buckets);
    s->buckets = NULL;
    s->bucket_count = s->keys = 0;
}

/* ---- the commands ---------------------------------------------------------------------------- */

/* argv[0] is the command name, compared without regard to case as Redis does. */
static bool kvd_named(const struct resp_value *arg, const char *name) {
    size_t n = strlen(name);
    if (arg->len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = arg->str[i];
        if ((ch >= 'a' && ch <= 'z' ? ch - 32 : ch) != name[i])
            return false;
    }
    return true;
}

static void kvd_wrong_arity(struct resp_out *o, const char *name) {
    char line[80];
    snprintf(line, sizeof line, "ERR wrong number of arguments for '%s' command", name);
    resp_put_error(o, line);
}

static void kvd_incr(struct kvd_server *s, struct resp_out *o, const struct resp_value *key) {
    struct kvd_entry *e = kvd_find(s, key);
    int64_t n = 0;
    if (e) {
        char text[24];
        char *end;
        if (e->value_len == 0 || e->value_len >= sizeof text)
            goto not_integer;
        memcpy(text, e->value, e->value_len);
        text[e->value_len] = '\0';
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (*end || errno || v == INT64_MAX)
            goto not_integer;
        n = (int64_t)v;
    }
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%" PRId64, n + 1);
    if (kvd_set(s, key, digits, (size_t)len) < 0)
        resp_put_error(o, "OOM command not allowed when used memory > 'maxmemory'");
    else
        resp_put_integer(o, n + 1);
    return;
not_integer:
    resp_put_error(o, "ERR value is not an integer or out of range");
}

static void kvd_debug_sleep(struct kvd_conn *c, struct resp_out *o, const struct resp_value *arg) {
    char *end;
    double seconds = strtod(arg->str, &end); /* bulk strings are NUL-terminated by the parser */
    if (end == arg->str || *end || !(seconds >= 0 && seconds <= 60)) {
        resp_put_error(o, "ERR DEBUG SLEEP takes seconds, 0 to 60");
        return;
    }
    if (kvd__sleep(c, (int64_t)llround(seconds * 1e9)) < 0)
        resp_put_error(o, "ERR cannot start a timer");
    /* else no reply now: kvd.c answers +OK when the timer fires */
}

int kvd__execute(struct kvd_conn *c, const struct resp_value *command) {
    struct kvd_server *s = c->server;
    if (command->type != RESP_ARRAY || command->integer == 0)
        return -EPROTO;
    size_t argc = (size_t)command->integer;
    const struct resp_value *argv = command + 1; /* depth 1: the elements are contiguous */
    for (size_t i = 0; i < argc; i++)
        if (argv[i].type != RESP_BULK)
            return -EPROTO;
    s->commands++;
    char buf[KVD_VALUE_MAX + 64]; /* the largest reply: a GET of the largest value */
    struct resp_out o;
    resp_out_init(&o, buf, sizeof buf);
    bool quit = false;
    if (kvd_named(&argv[0], "PING")) {
        if (argc == 1)
            resp_put_simple(&o, "PONG");
        else
            resp_put_bulk(&o, argv[1].str, argv[1].len);
    } else if (kvd_named(&argv[0], "GET")) {
        struct kvd_entry *e = argc == 2 ? kvd_find(s, &argv[1]) : NULL;
        if (argc != 2)
            kvd_wrong_arity(&o, "get");
        else if (e)
            resp_put_bulk(&o, e->value, e->value_len);
        else
            resp_put_null(&o);
    } else if (kvd_named(&argv[0], "SET")) {
        if (argc != 3)
            kvd_wrong_arity(&o, "set");
        else if (kvd_set(s, &argv[1], argv[2].str, argv[2].len) < 0)
            resp_put_error(&o, "OOM command not allowed when used memory > 'maxmemory'");
        else
            resp_put_simple(&o, "OK");
    } else if (kvd_named(&argv[0], "DEL") || kvd_named(&argv[0], "EXISTS")) {
        bool del = kvd_named(&argv[0], "DEL");
        int64_t n = 0;
        for (size_t i = 1; i < argc; i++)
            n += del ? kvd_delete(s, &argv[i]) : kvd_find(s, &argv[i]) != NULL;
        if (argc < 2)
            kvd_wrong_arity(&o, del ? "del" : "exists");
        else
            resp_put_integer(&o, n);
    } else if (kvd_named(&argv[0], "INCR")) {
        if (argc != 2)
            kvd_wrong_arity(&o, "incr");
        else
            kvd_incr(s, &o, &argv[1]);
    } else if (kvd_named(&argv[0], "DEBUG") && argc == 3 && kvd_named(&argv[1], "SLEEP")) {
        kvd_debug_sleep(c, &o, &argv[2]);
    } else if (kvd_named(&argv[0], "INFO")) {
        char text[128];
        int len = snprintf(text, sizeof text,
                           "# Clients\r\nconnected_clients:%zu\r\n"
                           "# Keyspace\r\nkeys:%zu\r\n",
                           s->open_connections, s->keys);
        resp_put_bulk(&o, text, (size_t)len);
    } else if (kvd_named(&argv[0], "QUIT")) {
        resp_put_simple(&o, "OK");
        quit = true;
    } else if (kvd_named(&argv[0], "CONFIG") && argc == 3 && kvd_named(&argv[1], "GET")) {
        resp_put_array(&o, 2); /* redis-benchmark asks for save and appendonly: both off */
        resp_put_bulk(&o, argv[2].str, argv[2].len);
        bool aof = kvd_named(&argv[2], "APPENDONLY");
        resp_put_bulk(&o, aof ? "no" : "", aof ? 2 : 0);
    } else if (kvd_named(&argv[0], "COMMAND")) {
        resp_put_array(&o, 0); /* redis-cli asks for command docs: it does without them */
    } else {
        char line[64];
        snprintf(line, sizeof line, "ERR unknown command '%.32s'", argv[0].str);
        for (char *p = line; *p; p++)
            if (*p == '\r' || *p == '\n')
                *p = ' ';
        resp_put_error(&o, line);
    }
    if (o.len > 0) {
        int rc = stream_write(&c->stream, o.buf, o.len);
        if (rc == -ENOBUFS)
            return rc; /* the client does not read its replies: kvd.c closes it */
    }
    if (quit)
        stream_close(&c->stream); /* after +OK is sent, as Redis does */
    return 0;
}
