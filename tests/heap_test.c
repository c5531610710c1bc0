/* heap_test.c — the generic index-tracking d-ary heap (sched/heap.*, introduced in lesson 05)
 * keeps its promises: pops come out in order, every node knows its slot (the children of slot i
 * are d*i+1 .. d*i+d), remove and update work on any node, a keyed heap's packed keys decide
 * without reading nodes, misuse is refused, and a failed allocation leaves the heap as it was. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sched/heap.h"
#include "tests/support/random.h"

struct item {
    struct heap_node node;
    int key;
};

#define ITEM_OF(n) container_of(n, struct item, node)

static bool key_before(const struct heap_node *a, const struct heap_node *b) {
    return ITEM_OF(a)->key < ITEM_OF(b)->key;
}

static void print_key(const struct heap_node *n, FILE *out, void *ctx) {
    (void)ctx;
    fprintf(out, "key %d", ITEM_OF(n)->key);
}

/* An allocator that refuses once armed: lets a test see what -ENOMEM leaves behind. */
struct refusing_alloc {
    struct sched_alloc base;
    bool refuse;
};

static void *refusing_resize(void *ctx, void *ptr, size_t size) {
    struct refusing_alloc *a = ctx;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return a->refuse ? NULL : realloc(ptr, size);
}

TestSuite(heap, .description = "Does the generic heap hand out nodes in order, and can any node "
                               "be removed or re-keyed in O(log n)?");

Test(heap, pops_in_order, .timeout = 60,
     .description = "Q: do 1,000 random keys pop out smallest first, with "
                    "the heap valid after every push and pop?") {
    enum { N = 1000 };
    static struct item items[N];
    struct heap h;
    heap_init(&h, key_before, NULL);
    uint64_t rng = 42;
    for (int i = 0; i < N; i++) {
        heap_node_init(&items[i].node);
        items[i].key = (int)(test_random(&rng) % 500); /* many duplicates on purpose */
        cr_assert_eq(heap_push(&h, &items[i].node), 0, "a push into a growing heap succeeds");
        cr_assert(heap_is_valid(&h), "after push %d every parent still comes before its children",
                  i);
    }
    cr_assert_eq(heap_count(&h), (size_t)N, "the heap holds every node pushed");
    int last = -1;
    for (int i = 0; i < N; i++) {
        struct heap_node *n = heap_pop(&h);
        cr_assert_not_null(n, "pop %d finds a node while the heap is not empty", i);
        cr_assert(!heap_node_queued(n), "a popped node is marked as in no heap");
        cr_assert_geq(ITEM_OF(n)->key, last, "keys pop in non-decreasing order (%d after %d)",
                      ITEM_OF(n)->key, last);
        last = ITEM_OF(n)->key;
        cr_assert(heap_is_valid(&h), "after pop %d the heap is still valid", i);
    }
    cr_assert_null(heap_pop(&h), "popping an empty heap gives NULL, not a crash");
    cr_assert_null(heap_peek(&h), "peeking an empty heap gives NULL");
    heap_free(&h);
}

Test(heap, remove_any_node,
     .description = "Q: can a node in the middle of the heap be removed, "
                    "leaving the others in order?") {
    enum { N = 200 };
    static struct item items[N];
    struct heap h;
    heap_init(&h, key_before, NULL);
    for (int i = 0; i < N; i++) {
        heap_node_init(&items[i].node);
        items[i].key = (i * 37) % N; /* a permutation of 0..N-1 */
        cr_assert_eq(heap_push(&h, &items[i].node), 0, "a push with memory to spare succeeds");
    }
    /* Remove every third node, wherever it sits. */
    for (int i = 0; i < N; i += 3) {
        cr_assert_eq(heap_remove(&h, &items[i].node), 0, "removing a queued node returns 0");
        cr_assert(!heap_node_queued(&items[i].node), "a removed node knows it is out");
        cr_assert(heap_is_valid(&h), "after removing node %d the heap is still valid", i);
    }
    cr_assert_eq(heap_remove(&h, &items[0].node), -EALREADY,
                 "removing a node twice returns -EALREADY, not a corrupted heap");
    int last = -1;
    size_t popped = 0;
    struct heap_node *n;
    while ((n = heap_pop(&h)) != NULL) {
        int index = (int)(ITEM_OF(n) - items);
        cr_assert_neq(index % 3, 0, "a removed node never pops out (node %d did)", index);
        cr_assert_gt(ITEM_OF(n)->key, last, "the rest pop in order");
        last = ITEM_OF(n)->key;
        popped++;
    }
    cr_assert_eq(popped, (size_t)(N - (N + 2) / 3), "exactly the nodes not removed pop out");
    heap_free(&h);
}

Test(heap, update_moves_a_node,
     .description = "Q: after a node's key changes, does heap_update "
                    "move it up or down to its right place?") {
    struct item items[8];
    struct heap h;
    heap_init(&h, key_before, NULL);
    for (int i = 0; i < 8; i++) {
        heap_node_init(&items[i].node);
        items[i].key = 10 * (i + 1); /* 10..80 */
        heap_push(&h, &items[i].node);
    }
    items[6].key = 1; /* 70 becomes the smallest: it must rise to the root */
    heap_update(&h, &items[6].node);
    cr_assert(heap_is_valid(&h), "after a decrease the heap is valid");
    cr_assert_eq(heap_peek(&h), &items[6].node, "a key made smallest rises to the root");
    cr_assert_eq(items[6].node.index, 0u, "and the node records slot 0 as its own");

    items[6].key = 99; /* now the largest: it must sink */
    heap_update(&h, &items[6].node);
    cr_assert(heap_is_valid(&h), "after an increase the heap is valid");
    cr_assert_eq(heap_peek(&h), &items[0].node, "the next smallest (10) is at the root again");
    struct heap_node *n = NULL;
    for (int i = 0; i < 8; i++)
        n = heap_pop(&h);
    cr_assert_eq(n, &items[6].node, "the node made largest pops last");
    heap_free(&h);
}

Test(heap, misuse_is_refused,
     .description = "Q: what do a double push and a remove from the "
                    "wrong heap do?") {
    struct item a = {.key = 1}, b = {.key = 2};
    heap_node_init(&a.node);
    heap_node_init(&b.node);
    struct heap h1, h2;
    heap_init(&h1, key_before, NULL);
    heap_init(&h2, key_before, NULL);
    cr_assert_eq(heap_push(&h1, &a.node), 0, "a push with memory to spare succeeds");
    cr_assert_eq(heap_push(&h1, &a.node), -EEXIST,
                 "pushing a node already in a heap returns -EEXIST: it is never linked twice");
    cr_assert_eq(heap_push(&h2, &a.node), -EEXIST,
                 "a node already in one heap cannot join another");
    cr_assert_eq(heap_push(&h2, &b.node), 0, "a push with memory to spare succeeds");
    cr_assert_eq(heap_remove(&h2, &a.node), -EALREADY,
                 "removing a node from a heap it is not in returns -EALREADY (its index points "
                 "at someone else's slot)");
    cr_assert_eq(heap_count(&h2), 1u, "and the other heap is untouched");
    cr_assert_eq(heap_count(&h1), 1u, "the first heap still holds its one node");
    heap_free(&h1);
    heap_free(&h2);
    cr_assert(!heap_node_queued(&a.node) && !heap_node_queued(&b.node),
              "heap_free marks every node it held as in no heap, so they can be reused");
}

Test(heap, failed_growth_changes_nothing,
     .description = "Q: when the array cannot grow, does "
                    "push fail cleanly with -ENOMEM?") {
    struct refusing_alloc alloc = {{refusing_resize, NULL}, false};
    alloc.base.ctx = &alloc;
    enum { N = 16 }; /* the first allocation's size: the 17th push must grow the array */
    struct item items[N + 1];
    struct heap h;
    heap_init(&h, key_before, &alloc.base);
    for (int i = 0; i < N; i++) {
        heap_node_init(&items[i].node);
        items[i].key = N - i;
        cr_assert_eq(heap_push(&h, &items[i].node), 0, "a push with memory to spare succeeds");
    }
    alloc.refuse = true;
    heap_node_init(&items[N].node);
    items[N].key = 0;
    cr_assert_eq(heap_push(&h, &items[N].node), -ENOMEM,
                 "a push that needs memory it cannot get returns -ENOMEM");
    cr_assert(!heap_node_queued(&items[N].node), "the refused node is not in the heap");
    cr_assert_eq(heap_count(&h), (size_t)N, "the heap still holds exactly what it held");
    cr_assert(heap_is_valid(&h), "and is still valid");
    cr_assert_eq(ITEM_OF(heap_peek(&h))->key, 1, "with the same minimum");
    alloc.refuse = false;
    heap_free(&h);
}

Test(heap, dump_draws_a_tree,
     .description = "Q: does heap_dump draw every node, its (up to "
                    "HEAP_ARITY) children indented under it?") {
    struct item items[6];
    struct heap h;
    heap_init(&h, key_before, NULL);
    for (int i = 0; i < 6; i++) {
        heap_node_init(&items[i].node);
        items[i].key = 5 + i; /* pushed in order: each lands in the next slot */
        heap_push(&h, &items[i].node);
    }
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cr_assert_not_null(out, "open_memstream gives a stream to dump into");
    heap_dump(&h, out, print_key, NULL);
    fclose(out);
    cr_assert_not_null(strstr(text, "heap: 6 nodes"), "the dump starts with the count:\n%s", text);
    /* With HEAP_ARITY d, the children of slot 0 are 1..d and slot 1's first child is d+1. */
    const char *expected = HEAP_ARITY == 2 ? "    [0] key 5\n        [1] key 6\n"
                                             "            [3] key 8\n            [4] key 9\n"
                                             "        [2] key 7\n            [5] key 10\n"
                                           : "    [0] key 5\n        [1] key 6\n"
                                             "            [5] key 10\n        [2] key 7\n"
                                             "        [3] key 8\n        [4] key 9\n";
    cr_assert_not_null(strstr(text, expected),
                       "the children of slot i are slots d*i+1 .. d*i+d (d = HEAP_ARITY = %d), "
                       "each drawn one level deeper than its parent:\n%s",
                       HEAP_ARITY, text);
    free(text);
    heap_free(&h);
}

/* For the keyed heap: the key is the item's `key` (the heap adds the tie, its push number), and
 * the key function is counted, so a test can see when the heap read a node. */
static int key_reads;

static int64_t key_of_item(const struct heap_node *n) {
    key_reads++;
    return ITEM_OF(n)->key;
}

Test(heap, keys_decide_without_reading_nodes,
     .description = "Q: with a key function, does the heap order nodes by the packed "
                    "(key, tie) pairs alone, reading a node only when it is pushed or "
                    "updated?") {
    enum { N = 500 };
    static struct item items[N];
    struct heap h;
    heap_init_keyed(&h, key_of_item, NULL);
    uint64_t rng = 7;
    for (int i = 0; i < N; i++) {
        heap_node_init(&items[i].node);
        items[i].key = i * 1000 + (int)(test_random(&rng) % 1000); /* all distinct */
    }
    key_reads = 0;
    for (int i = N - 1; i >= 0; i--) /* pushed largest first: plenty of sifting */
        heap_push(&h, &items[i].node);
    cr_assert_eq(key_reads, N, "each push reads its node's key once (%d reads for %d pushes)",
                 key_reads, N);
    for (int i = 0; i < N; i++) {
        struct heap_node *n = heap_pop(&h);
        cr_assert_eq(n, &items[i].node, "pop %d is the %d-th smallest key", i, i);
    }
    cr_assert_eq(key_reads, N,
                 "popping reads no node at all (%d key reads in all): the packed keys decide",
                 key_reads);

    for (int i = 0; i < 8; i++)
        items[i].key = 42; /* eight equal keys, pushed 7 first: the push order decides */
    for (int i = 7; i >= 0; i--)
        heap_push(&h, &items[i].node);
    cr_assert(heap_is_valid(&h), "the keys cached in the heap match the nodes'");
    heap_update(&h, &items[7].node);  /* the same key: an update keeps its place in line */
    heap_requeue(&h, &items[6].node); /* a requeue sends it to the back of the line */
    static const int order[8] = {7, 5, 4, 3, 2, 1, 0, 6};
    for (int i = 0; i < 8; i++)
        cr_assert_eq(heap_pop(&h), &items[order[i]].node,
                     "equal keys come out in push order (pop %d is item %d), a requeued node "
                     "last",
                     i, order[i]);

    items[0].key = 10;
    items[1].key = 20;
    heap_push(&h, &items[0].node);
    heap_push(&h, &items[1].node);
    items[1].key = 5; /* re-keyed while queued: heap_update copies the new key in */
    heap_update(&h, &items[1].node);
    cr_assert(heap_is_valid(&h), "after heap_update the packed key is the new one");
    cr_assert_eq(heap_pop(&h), &items[1].node, "the re-keyed node now comes first");
    heap_free(&h);
}

Test(heap, ties_numbered_without_keys,
     .description = "Q: in a heap ordered by before() alone, is each node's tie still the "
                    "number of its push after sifts up and down?") {
    enum { N = 40 };
    static struct item items[N];
    struct heap h;
    heap_init(&h, key_before, NULL);
    for (int i = 0; i < N; i++) {
        heap_node_init(&items[i].node);
        items[i].key = N - i; /* pushed largest first: every push sifts up */
        cr_assert_eq(heap_push(&h, &items[i].node), 0);
    }
    cr_assert_eq(heap_pop(&h), &items[N - 1].node, "the smallest key comes out first");
    heap_pop(&h); /* each pop sifts the last node down from the root */
    for (int i = 0; i < N - 2; i++)
        cr_assert_eq(heap_tie(&h, &items[i].node), (uint64_t)i,
                     "item %d, pushed %d-th, keeps tie %d wherever the sifts moved it", i, i, i);
    heap_free(&h);
}
