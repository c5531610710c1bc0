/* stride.c — stride scheduling, proportional share without randomness (lesson 09; the
 * textbook example is OSTEP's, chapter 9). stride = constant / tickets; the lowest pass runs
 * next (ties: the earlier push); each slice of CPU a runnable uses adds its stride to its pass.
 * Over time every runnable's share of CPU is proportional to its tickets. O(log n) on a heap. */
#include "sched/policy/heap_base.h"
#include "sched/policy/stride.h"

#include <errno.h>

struct stride_policy {
    struct policy_heap base; /* first: the shared heap functions see a struct policy_heap */
    uint64_t stride_constant;
    int64_t slice_ns;
    /* The pass of the runnable popped (and then charged) last. Push needs it: see stride_push. */
    uint64_t last_run_pass;
    /* Popped and not charged yet: the runnable that is running now. An owner that ends during
     * its run gets no charge (sched_runnable_gone), so this may point at freed memory until
     * the next pop: it is only ever compared, never read through. */
    struct runnable *uncharged;
    /* Re-queued by itself while it ran, appended unsifted until its charge: see stride_push.
     * Always the live `uncharged` when set, but not derivable from it: once settled (another
     * push or pop came first), uncharged is still queued and needs no second sift. */
    struct runnable *unsettled;
};

/* The key is the pass, mapped from uint64 to int64 keeping its order (the heap's keys are
 * signed): 0 becomes INT64_MIN. The tie is the push sequence number, so equal passes run in
 * the order they came. Neither wraps in practice: both are 64 bits and only count up (the
 * pass saturates); at a billion a second that is 584 years. */
static int64_t pass_order(uint64_t pass) {
    const uint64_t half = (uint64_t)1 << 63;
    return pass >= half ? (int64_t)(pass - half) : -(int64_t)(half - pass - 1) - 1;
}

static struct heap_key stride_key(const struct heap_node *n) {
    const struct runnable *r = container_of(n, const struct runnable, heap);
    return (struct heap_key){pass_order(r->pass), r->seq};
}

static uint64_t saturating_add(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t stride_of(const struct stride_policy *s, const struct runnable *r) {
    /* push counts 0 tickets as 1; should they be zeroed after a push, charge as 1 would */
    uint64_t tickets = r->tickets ? r->tickets : 1;
    uint64_t stride = s->stride_constant / tickets;
    return stride ? stride : 1; /* more tickets than the constant: they all look like `constant` */
}

/* Charging is proportional to the time used, not one stride per run: a runnable that yields
 * after a short run pays for a short run. So the share that comes out is a share of CPU
 * time, as the tickets promise, even when runs differ in length. One slice costs exactly one
 * stride; a part of a slice is rounded up, so no run that took any time is free. A run that
 * took no time costs nothing: where nothing is ever charged, ties make stride plain FIFO. */
static uint64_t stride_cost(uint64_t stride, int64_t ran_ns, int64_t slice_ns) {
    if (ran_ns <= 0)
        return 0;
    uint64_t slice = (uint64_t)slice_ns;
    uint64_t whole = (uint64_t)ran_ns / slice, rest = (uint64_t)ran_ns % slice;
    /* stride and slice are both at most 2^32 (configure checks), so this cannot overflow */
    uint64_t part = (stride * rest + slice - 1) / slice;
    if (whole > (UINT64_MAX - part) / stride)
        return UINT64_MAX;
    return whole * stride + part;
}

static int stride_new(struct policy **out, const struct sched_alloc *alloc) {
    int err = policy_heap_new(out, sizeof(struct stride_policy), &policy_stride, stride_key, alloc);
    if (err)
        return err;
    struct stride_policy *s = (struct stride_policy *)*out;
    s->stride_constant = POLICY_STRIDE_DEFAULT_CONSTANT;
    s->slice_ns = POLICY_STRIDE_DEFAULT_SLICE_NS;
    s->last_run_pass = 0;
    s->uncharged = s->unsettled = NULL;
    return 0;
}

/* The runnable appended by push while it ran gets its place: its charge did not come (or
 * the heap is needed before it comes). */
static void settle(struct stride_policy *s) {
    if (s->unsettled && heap_node_queued(&s->unsettled->heap))
        heap_update(&s->base.heap, &s->unsettled->heap);
    s->unsettled = NULL;
}

/* A runnable coming back from waiting must not cash in the time it spent asleep: its old low
 * pass would let it run alone until it caught up. So push raises its pass to at least the
 * minimum pass among the ready runnables. Push cannot tell a wake from a yield (a runnable
 * re-queued right after its run, before or after its charge), so the runnable that ran last
 * counts as ready until the next pop: the minimum is taken over the heap AND its pass. Then a
 * yield is never raised (its own pass is in the minimum), and a new runnable (pass 0) starts
 * level with the others instead of owning the CPU until it catches up.
 *
 * A runnable that re-queues itself while it runs (a yield) is pushed before its charge raises
 * its pass. Sifting it in with the old, lowest pass would carry it up to the top, and the
 * charge would then carry it all the way down again: two walks of the heap per switch. So it
 * is appended unsifted, and the charge sifts it once, from the bottom, with its new pass. */
static int stride_push(struct policy *p, struct runnable *r, int64_t now) {
    (void)now;
    struct stride_policy *s = (struct stride_policy *)p;
    if (r->tickets == 0)
        r->tickets = 1; /* set by hand past runnable_set_tickets: a wake-up cannot refuse */
    uint64_t old_pass = r->pass;
    uint8_t old_account = r->account;
    if (runnable_claim_account(r, RUNNABLE_ACCOUNT_STRIDE))
        r->pass = 0; /* new to stride: raised to the lowest pass below, as a new runnable is */
    heap_node_init(&r->heap); /* its bytes may hold a list link from an earlier policy */
    settle(s);
    uint64_t lowest = s->last_run_pass;
    struct heap_node *top = heap_peek(&s->base.heap);
    if (top && container_of(top, struct runnable, heap)->pass < lowest)
        lowest = container_of(top, struct runnable, heap)->pass;
    if (r->pass < lowest)
        r->pass = lowest;
    bool running = r == s->uncharged;
    int err = running ? heap_append(&s->base.heap, &r->heap) : heap_push(&s->base.heap, &r->heap);
    if (err) {
        r->pass = old_pass; /* a failed push changes nothing */
        r->account = old_account;
    } else if (running)
        s->unsettled = r;
    return err;
}

static struct runnable *stride_pop(struct policy *p, int64_t now) {
    struct stride_policy *s = (struct stride_policy *)p;
    settle(s);
    struct runnable *r = policy_heap_pop(p, now);
    if (r)
        s->last_run_pass = r->pass;
    s->uncharged = r;
    return r;
}

/* r just ran (the loop charges right after the run). It may already be queued again if it
 * re-queued itself while running: then its key changed and the heap must re-place it. */
static void stride_charge(struct policy *p, struct runnable *r, int64_t ran_ns) {
    struct stride_policy *s = (struct stride_policy *)p;
    if (runnable_claim_account(r, RUNNABLE_ACCOUNT_STRIDE))
        r->pass = 0; /* run under the policy before a switch: a fresh account */
    r->pass = saturating_add(r->pass, stride_cost(stride_of(s, r), ran_ns, s->slice_ns));
    s->last_run_pass = r->pass;
    if (r == s->uncharged)
        s->uncharged = NULL;
    if (r == s->unsettled)
        s->unsettled = NULL; /* the update below is its one sift */
    if (r->queued) /* the flag, not the heap slot: a list policy may have left its bytes */
        heap_update(&s->base.heap, &r->heap);
}

static void stride_remove(struct policy *p, struct runnable *r) {
    struct stride_policy *s = (struct stride_policy *)p;
    settle(s);
    if (r == s->uncharged)
        s->uncharged = NULL; /* its owner is going away: nothing is left to charge */
    policy_heap_remove(p, r);
}

static void stride_describe(const struct runnable *r, FILE *out) {
    fprintf(out, ", pass %llu, tickets %u", (unsigned long long)r->pass, r->tickets);
}

int policy_stride_configure(struct policy *p, uint64_t stride_constant, int64_t slice_ns) {
    if (!p || p->ops != &policy_stride || stride_constant == 0 ||
        stride_constant > POLICY_STRIDE_MAX_CONSTANT || slice_ns <= 0 ||
        slice_ns > POLICY_STRIDE_MAX_SLICE_NS)
        return -EINVAL;
    struct stride_policy *s = (struct stride_policy *)p;
    if (heap_count(&s->base.heap) > 0)
        return -EBUSY;
    s->stride_constant = stride_constant;
    s->slice_ns = slice_ns;
    return 0;
}

const struct policy_ops policy_stride = {
    .name = "stride",
    .new = stride_new,
    .free = policy_heap_free,
    .reserve = policy_heap_reserve,
    .push = stride_push,
    .pop = stride_pop,
    .remove = stride_remove,
    .count = policy_heap_count,
    .charge = stride_charge,
    .for_each = policy_heap_for_each,
    .describe = stride_describe,
    .describe_listing = policy_heap_describe_listing,
};
