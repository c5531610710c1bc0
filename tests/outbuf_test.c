/* outbuf_test.c — the output rings' free list (loop/net/outbuf.*, lesson 12): a stream holds a
 * ring only while bytes wait, the pool reuses what it kept, and nothing leaks or is kept past
 * its bound. */
#include <criterion/criterion.h>

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop/net/outbuf.h"
#include "loop/net/stream.h"
#include "tests/support/net_client.h"

TestSuite(outbuf, .description = "Is an output ring held only while bytes wait, and reused?");

/* libc behind a counter: how many blocks are live. */
static long live_blocks;

static void *counting_resize(void *ctx, void *ptr, size_t size) {
    (void)ctx;
    if (size == 0) {
        if (ptr)
            live_blocks--;
        free(ptr);
        return NULL;
    }
    void *p = realloc(ptr, size);
    if (p && !ptr)
        live_blocks++;
    return p;
}

static const struct sched_alloc counting = {.resize = counting_resize};

Test(outbuf, keeps_at_most_its_bound,
     .description = "Q: Does the pool reuse the rings it kept, give back those beyond its bound, "
                    "and free the rest on release?") {
    struct outbuf_pool p;
    live_blocks = 0;
    outbuf_pool_init(&p, &counting, 2);
    unsigned char *a = outbuf_take(&p), *b = outbuf_take(&p), *c = outbuf_take(&p);
    cr_assert(a && b && c, "three rings");
    cr_assert_eq(p.allocations, 3, "three allocations for three rings");
    cr_assert_eq(p.lent, 3, "all three are lent");
    outbuf_give(&p, a);
    outbuf_give(&p, b);
    outbuf_give(&p, c);
    cr_assert_eq(p.free_count, 2, "two are kept (the bound)");
    cr_assert_eq(live_blocks, 2, "the third went back to the allocator");
    unsigned char *again = outbuf_take(&p);
    cr_assert_not_null(again, "a ring again");
    cr_assert_eq(p.allocations, 3, "taken from the free list: no new allocation");
    cr_assert_eq(p.peak_lent, 3, "the peak is remembered");
    outbuf_give(&p, again);
    outbuf_give(&p, NULL); /* ignored */
    outbuf_pool_release(&p);
    cr_assert_eq(p.free_count, 0, "release empties the list");
    cr_assert_eq(live_blocks, 0, "and frees every block: nothing leaks");
}

static void owner_data(struct stream *s, const char *data, size_t len) {
    (void)s;
    (void)data;
    (void)len;
}

static void owner_close(struct stream *s, int error) {
    (void)s;
    (void)error;
}

Test(outbuf, stream_borrows_only_while_bytes_wait, .timeout = 60,
     .description = "Q: Does a stream take a ring only when the kernel will not take its bytes, "
                    "give it back once they are sent, and refuse a pool change meanwhile?") {
    struct loop *loop = test_loop_new(&backend_poll);
    int sp[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0, "socketpair");
    test_set_buffer(sp[0], SO_SNDBUF, 4096);
    struct outbuf_pool pool;
    outbuf_pool_init(&pool, NULL, 4);
    struct stream s;
    cr_assert_eq(stream_open(&s, loop, sp[0], "borrower", owner_data, owner_close, NULL), 0,
                 "open");
    cr_assert_eq(stream_use_pool(NULL, &pool), -EINVAL, "a NULL stream is -EINVAL");
    cr_assert_eq(stream_use_pool(&s, &pool), 0, "the pool is taken while nothing waits");
    char small[100] = {0};
    cr_assert_eq(stream_write(&s, small, sizeof small), 0, "a small write");
    cr_assert_eq(pool.lent, 0, "went straight to the kernel: no ring was taken");
    static char big[STREAM_HIGH_WATER];
    while (stream_buffered(&s) == 0)
        cr_assert_eq(stream_write(&s, big, sizeof big), 0, "writes until bytes must wait");
    cr_assert_eq(pool.lent, 1, "now one ring is lent");
    cr_assert_eq(stream_use_pool(&s, NULL), -EBUSY,
                 "changing the pool while a ring is held is -EBUSY: it must go back where it "
                 "came from");
    char sink[65536];
    while (stream_buffered(&s) > 0) { /* the peer reads; the loop flushes */
        while (read(sp[1], sink, sizeof sink) == (ssize_t)sizeof sink) {
        }
        test_tick(loop);
    }
    cr_assert_eq(pool.lent, 0, "once sent, the ring is back in the pool");
    cr_assert_eq(pool.free_count, 1, "kept for the next time");
    stream_close_now(&s);
    close(sp[1]);
    outbuf_pool_release(&pool);
    loop_free(loop);
}
