/* lottery.c — lottery scheduling: each pick is a random draw, and a runnable's chance
 * to win is its tickets over all tickets queued (lesson 09; OSTEP chapter 9). Shares come out
 * proportional only on average, over many picks; stride gets them exact. The random
 * generator lives in the policy's state (no globals) and is seeded: same seed, same order. */
#include <errno.h>

#include "sched/policy/list_base.h"
#include "sched/policy/lottery.h"

struct lottery_policy {
    struct policy_list list; /* in push order: the order the draw walks */
    uint64_t total_tickets;  /* kept up to date by push and remove, so a draw needs no extra walk */
    uint64_t rng;            /* the generator's whole state */
};

/* SplitMix64: one 64-bit word of state, any seed (0 included) is fine, and its output is well
 * mixed for its size. Enough for a lottery; not for anything that needs secrecy. */
static uint64_t lottery_next_random(uint64_t *state) {
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static int lottery_new(struct policy **out, const struct sched_alloc *alloc) {
    int err = policy_list_new(out, sizeof(struct lottery_policy), &policy_lottery, alloc);
    if (err)
        return err;
    struct lottery_policy *l = (struct lottery_policy *)*out;
    l->total_tickets = 0;
    l->rng = POLICY_LOTTERY_DEFAULT_SEED;
    return 0;
}

/* Tickets are read here and in remove: change them only while the runnable is not queued. */
static int lottery_push(struct policy *p, struct runnable *r, int64_t now) {
    (void)now;
    struct lottery_policy *l = (struct lottery_policy *)p;
    if (r->tickets == 0)
        r->tickets = 1; /* set by hand past runnable_set_tickets: 0 could never win, and a
                         * wake-up has nobody to refuse to */
    policy_list_push(p, r, now);
    l->total_tickets += r->tickets; /* at most 2^32 per runnable: 2^32 runnables to overflow */
    return 0;
}

static void lottery_unlink(struct lottery_policy *l, struct runnable *r) {
    policy_list_remove(&l->list.base, r);
    l->total_tickets -= r->tickets;
}

/* Draw a number in [0, total) and walk the queue summing tickets: the runnable whose range
 * holds the number wins. O(n), and honestly so: a tree of partial sums would make it
 * O(log n), but the walk is the algorithm as taught, and lottery is here to be understood.
 * The modulo is biased by at most total/2^64: invisible next to the randomness itself. */
static struct runnable *lottery_pop(struct policy *p, int64_t now) {
    (void)now;
    struct lottery_policy *l = (struct lottery_policy *)p;
    if (l->list.count == 0)
        return NULL;
    uint64_t winning = lottery_next_random(&l->rng) % l->total_tickets;
    uint64_t sum = 0;
    list_for_each(n, &l->list.queue) { /* ends at the last one at the latest: the draw < total */
        struct runnable *r = container_of(n, struct runnable, node);
        sum += r->tickets; /* r holds the numbers [sum - r->tickets, sum) */
        if (winning < sum) {
            lottery_unlink(l, r);
            return r;
        }
    }
    return NULL; /* unreachable while total_tickets is the sum of the queued tickets */
}

static void lottery_remove(struct policy *p, struct runnable *r) {
    lottery_unlink((struct lottery_policy *)p, r);
}

static void lottery_describe(const struct runnable *r, FILE *out) {
    fprintf(out, ", tickets %u", r->tickets);
}

/* Pop order is a draw not yet made, so for_each (the list base's) lists the runnables in push
 * order: the order a draw walks them. The dump says so. */
static void lottery_describe_listing(const struct policy *p, FILE *out) {
    (void)p;
    fprintf(out, " (listed in push order: the next pick is a draw)");
}

int policy_lottery_seed(struct policy *p, uint64_t seed) {
    if (!p || p->ops != &policy_lottery)
        return -EINVAL;
    ((struct lottery_policy *)p)->rng = seed;
    return 0;
}

const struct policy_ops policy_lottery = {
    .name = "lottery",
    .new = lottery_new,
    .free = policy_list_free,
    .push = lottery_push,
    .pop = lottery_pop,
    .remove = lottery_remove,
    .count = policy_list_count,
    .charge = NULL, /* a lottery has no memory: each draw only sees the tickets */
    .for_each = policy_list_for_each,
    .describe = lottery_describe,
    .describe_listing = lottery_describe_listing,
};
