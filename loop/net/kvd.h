/* kvd.h — the small key-value server of lesson 13, speaking RESP so that redis-cli,
 * redis-benchmark and the connection pool can all talk to it: PING, GET, SET, DEL, INCR, EXISTS,
 * INFO, QUIT, and DEBUG SLEEP, which delays one connection's reply without blocking any other
 * client (real Redis blocks the whole server there). It counts how many queries are in progress
 * at once, so a test can check a pool's bound from the server's side. */
#ifndef LOOPSCHOOL_KVD_H
#define LOOPSCHOOL_KVD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop/loop.h"
#include "loop/net/resp.h"
#include "loop/net/stream.h"

/* Bytes a connection may send while its DEBUG SLEEP runs (they wait, unparsed, until it ends);
 * a client that sends more is disconnected with an error. The largest value a key may hold:
 * a GET's reply must fit in the stream's ring beside the other replies of one read. */
enum { KVD_PENDING_MAX = 8192, KVD_VALUE_MAX = 4096 };
/* An inline command ("PING\r\n", as typed into telnet; redis-benchmark's PING_INLINE sends it):
 * its longest line and its most words. */
enum { KVD_INLINE_MAX = 1024, KVD_INLINE_WORDS = 16 };

struct kvd_server;
struct kvd_entry; /* one key, in kvd_store.c */

/* One connection slot, caller-owned as the echo server's are. */
struct kvd_conn {
    struct stream stream;
    struct resp_parser parser;
    struct loop_timer sleep_timer; /* armed while a DEBUG SLEEP runs */
    struct kvd_server *server;
    struct list_node free_node; /* on the server's free list while unused */
    size_t pending_len;
    size_t inline_len;
    bool in_inline; /* reading an inline command's line */
    bool sleeping;
    bool in_use;
    char pending[KVD_PENDING_MAX]; /* read during a sleep, parsed after it */
    char inline_line[KVD_INLINE_MAX + 1];
};

/* Read the fields, never write them. */
struct kvd_server {
    struct loop *loop;
    struct loop_watcher listener;
    int listen_fd; /* -1 once closed */
    uint16_t port;
    bool accepting;
    struct kvd_conn *conns;
    size_t capacity;
    struct list_node free_slots;
    size_t open_connections;
    struct kvd_entry **buckets; /* the keys: chained hashing, grown as keys arrive */
    size_t bucket_count, keys;
    uint64_t accepted, commands, protocol_errors;
    unsigned in_progress;     /* queries started and not yet answered: the DEBUG SLEEPs now */
    unsigned max_in_progress; /* the most at once since open (or kvd_server_reset_peak) */
    int last_error;
};

/* Listens on host:port (port 0: any free port; s->port says which) with `capacity` slots.
 * -EINVAL for a NULL argument or capacity 0, or the listen's error. */
int kvd_server_open(struct kvd_server *s, struct loop *loop, const char *host, uint16_t port,
                    struct kvd_conn *conns, size_t capacity);
/* Stops listening, closes every connection at once, forgets every key. Safe to call twice. */
void kvd_server_close(struct kvd_server *s);
/* Starts counting max_in_progress afresh. */
void kvd_server_reset_peak(struct kvd_server *s);
/* The listener, the counters, the keys and each open connection. Flushes. */
void kvd_server_dump(const struct kvd_server *s, FILE *out);

/* `--serve PORT`: kvd on 127.0.0.1:port on a new loop, until SIGINT or SIGTERM. Writes
 * "listening on 127.0.0.1:PORT" to out (flushed: a parent may wait for it) and a closing line;
 * errors as one line on err. 0 after a signal stopped it, else a negative errno. */
int kvd_serve_until_signal(uint16_t port, FILE *out, FILE *err);

/* For kvd.c: runs one parsed command and writes its reply (kvd_commands.c). 0, or a negative
 * errno when the connection must close: -EPROTO (not an array of bulk strings: the caller says
 * so), -ENOBUFS (its reply did not fit). */
int kvd__execute(struct kvd_conn *c, const struct resp_value *command);
/* For kvd_commands.c: DEBUG SLEEP answers "+OK" once ns have passed (kvd.c). 0 or -ENOMEM. */
int kvd__sleep(struct kvd_conn *c, int64_t ns);
void kvd__store_clear(struct kvd_server *s);

#endif
