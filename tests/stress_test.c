/* stress_test.c — the sync primitives and cancellation under load (lessons 10 and 11): 1,000
 * tasks run seeded random sequences of lock, semaphore, queue put and get, sleep, yield, join and
 * cancel — 100,000 steps in all — on the virtual clock. A task that ends (done or cancelled) is
 * spawned again in its slot while steps remain. Between ticks no waiter may sleep beside a free
 * lock, a free permit or an item meant for it; at the end nothing may be lost, duplicated, held,
 * stuck or leaked. Failure messages name the seed; LOOPSCHOOL_STRESS_SEED=N replaces the fourth. */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/sync/lock.h"
#include "sched/sync/channel.h"
#include "sched/sync/semaphore.h"
#include "tests/support/tasks.h"

#define MS 1000000LL

enum {
    WORKERS = 1000,
    STEPS = 100000,
    MAX_ITEMS = 2 * STEPS,  /* the workers' puts, and the keeper's */
    LONGEST_LIFE = 100,     /* an incarnation takes 1..LONGEST_LIFE steps, then ends */
    KEEPER_PATIENCE = 1000, /* keeper rounds without one step taken: the workload is stuck */
    PERMITS = 3,
    CHANNEL_CAPACITY = 8,
    NAME_LEN = 8,
};

/* What one step does. The weights (out of 100) keep cancels rare enough that most steps are
 * real work, yet every slot is cancelled several times over the run. */
enum op {
    OP_LOCK,        /* acquire, hold across a sleep, release */
    OP_LOCK_CATCH,  /* the same, catching a cancel at the acquire */
    OP_SEMAPHORE,   /* take a permit, hold it across a sleep, give it back */
    OP_PUT,         /* put a fresh item */
    OP_GET,         /* get an item */
    OP_SLEEP,       /* sleep 0-3 ms */
    OP_SLEEP_CATCH, /* sleep, catching a cancel (and going on) */
    OP_YIELD,       /* let the others run */
    OP_JOIN,        /* join a lower slot (no cycles), catching its cancel */
    OP_JOIN_PLAIN,  /* the same without catching: its cancel becomes ours */
    OP_CANCEL,      /* cancel any slot, ourselves included */
};
static const struct {
    enum op op;
    int weight;
} op_weights[] = {
    {OP_LOCK, 10}, {OP_LOCK_CATCH, 4}, {OP_SEMAPHORE, 13},  {OP_PUT, 16},
    {OP_GET, 16},  {OP_SLEEP, 12},     {OP_SLEEP_CATCH, 4}, {OP_YIELD, 8},
    {OP_JOIN, 8},  {OP_JOIN_PLAIN, 2}, {OP_CANCEL, 7},
};

struct stress;

struct worker {
    struct task task;
    struct stress *st;
    int slot;
    uint64_t rng;
    int life; /* steps this incarnation will still take */
    enum op op;
    int64_t ns;
    void *got;
    bool started;    /* this incarnation's body began */
    bool holds_lock; /* set in the same step as the acquire returns: no window */
    bool holds_permit;
    int cleanups; /* of this incarnation */
};

struct stress {
    uint64_t seed;
    struct loop_clock clock;
    struct loop *loop;
    struct lock lock;
    struct semaphore sem;
    struct channel queue;
    void *slots[CHANNEL_CAPACITY];
    struct worker *workers;
    struct task keeper;
    int keeper_idle_rounds;
    long keeper_moves;
    char (*names)[NAME_LEN];
    char *items;         /* item i is the address items + i */
    unsigned char *puts; /* per item: times it was put successfully */
    unsigned char *gets; /* per item: times it was got */
    int next_item;
    long steps_left;
    /* what the workers observed; asserted at the end, where the seed can be printed */
    int in_lock, permits_out;
    long lock_overlaps, permit_overruns, bad_owner, bad_release, bad_results;
    long stranded;
    long incarnations, started, cleanups, bad_cleanups, cancels_accepted, cancels_ealready;
};

static int below(uint64_t *state, int n) {
    return (int)test_random_below(state, (uint64_t)n);
}

static enum op pick_op(uint64_t *state) {
    int r = below(state, 100);
    for (size_t i = 0; i < sizeof op_weights / sizeof op_weights[0]; i++) {
        if (r < op_weights[i].weight)
            return op_weights[i].op;
        r -= op_weights[i].weight;
    }
    return OP_YIELD;
}

static void note_result(struct stress *st, int result, int expected) {
    if (result != expected)
        st->bad_results++;
}

static void took_lock(struct worker *f) {
    struct stress *st = f->st;
    if (st->lock.owner != &f->task)
        st->bad_owner++;
    f->holds_lock = true;
    if (++st->in_lock > 1)
        st->lock_overlaps++;
}

static void drop_lock(struct worker *f) {
    struct stress *st = f->st;
    st->in_lock--;
    f->holds_lock = false;
    if (lock_release(&st->lock, &f->task) != 0)
        st->bad_release++;
}

static void took_permit(struct worker *f) {
    f->holds_permit = true;
    if (++f->st->permits_out > PERMITS)
        f->st->permit_overruns++;
}

static void drop_permit(struct worker *f) {
    f->st->permits_out--;
    f->holds_permit = false;
    if (semaphore_release(&f->st->sem) != 0)
        f->st->bad_release++; /* a bounded semaphore refuses a permit it never gave */
}

static enum coro_status worker_step(struct task *t) {
    struct worker *f = TASK_FRAME(t, struct worker, task);
    struct stress *st = f->st;
    CORO_BEGIN(&t->co);
    f->started = true;
    while (f->life > 0 && st->steps_left > 0) {
        f->life--;
        st->steps_left--;
        st->keeper_idle_rounds = 0;
        f->op = pick_op(&f->rng);
        f->ns = below(&f->rng, 4) * MS;
        if (f->op == OP_LOCK) {
            LOCK_ACQUIRE(t, &st->lock);
            note_result(st, task_result(t), 0);
            took_lock(f);
            LOOP_SLEEP(t, f->ns);
            drop_lock(f);
        } else if (f->op == OP_LOCK_CATCH) {
            LOCK_ACQUIRE_CATCH(t, &st->lock);
            if (task_result(t) == 0) {
                took_lock(f);
                TASK_YIELD(t);
                drop_lock(f);
            } else {
                note_result(st, task_result(t), -ECANCELED);
                if (st->lock.owner == t)
                    st->bad_owner++; /* a cancelled acquire must not leave us the lock */
            }
        } else if (f->op == OP_SEMAPHORE) {
            SEMAPHORE_ACQUIRE(t, &st->sem);
            note_result(st, task_result(t), 0);
            took_permit(f);
            LOOP_SLEEP(t, f->ns);
            drop_permit(f);
        } else if (f->op == OP_PUT) {
            f->got = st->next_item < MAX_ITEMS ? st->items + st->next_item++ : NULL;
            if (f->got) {
                CHANNEL_PUT(t, &st->queue, f->got);
                if (task_result(t) == 0)
                    st->puts[(char *)f->got - st->items]++;
                else
                    note_result(st, task_result(t), -EPIPE); /* only once closed, at the end */
            }
        } else if (f->op == OP_GET) {
            CHANNEL_GET(t, &st->queue, f->got);
            if (task_result(t) == 0)
                st->gets[(char *)f->got - st->items]++;
            else
                note_result(st, task_result(t), -EPIPE); /* only once closed, at the end */
        } else if (f->op == OP_SLEEP) {
            LOOP_SLEEP(t, f->ns);
        } else if (f->op == OP_SLEEP_CATCH) {
            TASK_AWAIT_CATCH(t, loop_sleep_begin(t, f->ns));
        } else if (f->op == OP_YIELD) {
            TASK_YIELD(t);
        } else if (f->op == OP_JOIN && f->slot > 0) {
            TASK_JOIN_CATCH(t, &st->workers[below(&f->rng, f->slot)].task);
        } else if (f->op == OP_JOIN_PLAIN && f->slot > 0) {
            TASK_JOIN(t, &st->workers[below(&f->rng, f->slot)].task);
        } else if (f->op == OP_CANCEL) {
            int err = task_cancel(&st->workers[below(&f->rng, WORKERS)].task);
            if (err == 0)
                st->cancels_accepted++;
            else if (err == -EALREADY)
                st->cancels_ealready++;
            else
                st->bad_results++;
        }
    }
    CORO_CLEANUP(&t->co);
    f->cleanups++;
    if (f->holds_lock)
        drop_lock(f);
    if (f->holds_permit)
        drop_permit(f);
    CORO_END(&t->co);
}

static void worker_done(struct task *t);

static void worker_start(struct stress *st, int slot) {
    struct worker *f = &st->workers[slot];
    uint64_t rng = f->rng; /* each incarnation goes on with the slot's random stream */
    *f = (struct worker){.st = st, .slot = slot, .rng = rng};
    f->life = 1 + below(&f->rng, LONGEST_LIFE);
    st->incarnations++;
    cr_assert_eq(
        task_spawn(loop_sched(st->loop), &f->task, worker_step, st->names[slot], worker_done), 0,
        "seed %" PRIu64 ": spawn", st->seed);
}

/* An incarnation ended: check its cleanup count, then start the slot again while steps remain. */
static void worker_done(struct task *t) {
    struct worker *f = TASK_FRAME(t, struct worker, task);
    struct stress *st = f->st;
    st->started += f->started;
    st->cleanups += f->cleanups;
    if (f->cleanups != (f->started ? 1 : 0))
        st->bad_cleanups++;
    if (!f->started && t->state != TASK_CANCELLED)
        st->bad_cleanups++; /* only a cancel before the first step skips the body */
    if (f->holds_lock || f->holds_permit)
        st->bad_release++;
    if (st->steps_left > 0)
        worker_start(st, f->slot);
}

/* No waiter may sleep beside what it waits for: while getters wait, every item in the queue must
 * be promised to a getter that was woken for it and has not run yet (its waiter holds the
 * give-back); the same for free slots and putters. A wake-up lost on a cancel breaks this. */
static void check_no_stranded_waiter(struct stress *st) {
    size_t woken_getters = 0, woken_putters = 0;
    for (int i = 0; i < WORKERS; i++) {
        const struct worker *w = &st->workers[i];
        if (w->task.state != TASK_READY || !w->task.waiter.undo)
            continue;
        woken_getters += w->op == OP_GET;
        woken_putters += w->op == OP_PUT;
    }
    size_t items = channel_length(&st->queue);
    if (!waitq_empty(&st->queue.getters) && items > woken_getters)
        st->stranded++;
    if (!waitq_empty(&st->queue.putters) && CHANNEL_CAPACITY - items > woken_putters)
        st->stranded++;
    /* The lock and the permits are handed over, never left lying while someone waits. */
    if (!waitq_empty(&st->lock.waiters) && !st->lock.owner)
        st->stranded++;
    if (!waitq_empty(&st->sem.waiters) && st->sem.value > 0)
        st->stranded++;
}

/* Between two ticks nothing runs: the moment to look for a stranded waiter. */
static void check_between_ticks(void *ctx, struct loop *loop, int64_t timeout_ns) {
    (void)loop;
    (void)timeout_ns;
    check_no_stranded_waiter(ctx);
}

/* The queue's outside world: every 2 ms, if getters wait on an empty queue it puts an item, and
 * if putters wait on a full one it takes one. Without it the workload itself could jam (every
 * task joined to one that waits on the queue); with it, every wait on the queue ends, so a task
 * still stuck at the end is the library's fault. It gives up if no step is taken for a long
 * while: the loop then goes idle and the test reports who waits on what. */
static enum coro_status keeper_step(struct task *t) {
    struct stress *st = container_of(t, struct stress, keeper);
    CORO_BEGIN(&t->co);
    while (st->steps_left > 0 && st->keeper_idle_rounds < KEEPER_PATIENCE) {
        st->keeper_idle_rounds++; /* a worker's step resets it */
        LOOP_SLEEP(t, 2 * MS);
        if (!waitq_empty(&st->queue.getters) && channel_length(&st->queue) == 0 &&
            st->next_item < MAX_ITEMS) {
            char *item = st->items + st->next_item++;
            if (channel_try_put(&st->queue, item) == 0) {
                st->puts[item - st->items]++;
                st->keeper_moves++;
            }
        }
        void *item;
        if (!waitq_empty(&st->queue.putters) && channel_length(&st->queue) == CHANNEL_CAPACITY &&
            channel_try_get(&st->queue, &item) == 0) {
            st->gets[(char *)item - st->items]++;
            st->keeper_moves++;
        }
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* Why a task that is not done may be waiting once the loop is idle: for an item or a slot in the
 * queue (nobody will put or get again), or for a task that waits so. Never for the lock or a
 * permit: every holder releases them after a finite sleep. */
static bool legitimately_blocked(const struct stress *st, const struct task *t) {
    if (t->state != TASK_WAITING || !t->waiter.what)
        return false;
    return strcmp(t->waiter.what, st->queue.name) == 0 || strcmp(t->waiter.what, "join") == 0;
}

/* "412 on stress-queue, 80 on join, ..." : what the live tasks wait for, for failure messages. */
static const char *waiting_summary(const struct stress *st, char *buf, size_t size) {
    static const char *const whats[] = {"stress-queue", "join", "stress-lock", "stress-sem",
                                        "sleep"};
    int counts[6] = {0};
    for (int i = 0; i < WORKERS; i++) {
        const struct task *t = &st->workers[i].task;
        if (task_done(t))
            continue;
        size_t k = 0;
        while (k < 5 && !(t->state == TASK_WAITING && t->waiter.what &&
                          strcmp(t->waiter.what, whats[k]) == 0))
            k++;
        counts[k]++;
    }
    snprintf(buf, size,
             "%d on the queue, %d on a join, %d on the lock, %d on the semaphore, "
             "%d asleep, %d otherwise; queue holds %zu; lock %s",
             counts[0], counts[1], counts[2], counts[3], counts[4], counts[5],
             channel_length(&st->queue), st->lock.owner ? st->lock.owner->run.name : "free");
    return buf;
}

static void run_stress(uint64_t seed) {
    char summary[256];
    struct stress *st = calloc(1, sizeof *st);
    cr_assert_not_null(st);
    st->seed = seed;
    st->workers = calloc(WORKERS, sizeof *st->workers);
    st->names = calloc(WORKERS, sizeof *st->names);
    st->items = calloc(MAX_ITEMS, 1);
    st->puts = calloc(MAX_ITEMS, 1);
    st->gets = calloc(MAX_ITEMS, 1);
    cr_assert(st->workers && st->names && st->items && st->puts && st->gets);
    st->steps_left = STEPS;

    st->loop = test_virtual_loop(
        &st->clock,
        &(struct loop_config){.hooks = {.ctx = st, .before_wait = check_between_ticks}});
    lock_init(&st->lock, "stress-lock");
    cr_assert_eq(semaphore_init(&st->sem, PERMITS, PERMITS, "stress-sem"), 0);
    cr_assert_eq(channel_init(&st->queue, st->slots, CHANNEL_CAPACITY, "stress-queue"), 0);

    for (int i = 0; i < WORKERS; i++) {
        snprintf(st->names[i], NAME_LEN, "w%d", i);
        st->workers[i].rng = seed * 1000003u + (uint64_t)i;
        worker_start(st, i);
    }

    cr_assert_eq(task_spawn(loop_sched(st->loop), &st->keeper, keeper_step, "keeper", NULL), 0);

    /* Run until the loop is idle: every step is taken, and what is left waits on the queue. */
    cr_assert_eq(loop_run(st->loop), 0, "seed %" PRIu64 ": the loop runs to idle", seed);
    cr_assert_eq(st->steps_left, 0,
                 "seed %" PRIu64
                 ": the loop went idle with %ld steps left: every task was stuck (%s)",
                 seed, st->steps_left, waiting_summary(st, summary, sizeof summary));
    size_t blocked = 0;
    for (int i = 0; i < WORKERS; i++) {
        struct task *t = &st->workers[i].task;
        if (task_done(t))
            continue;
        blocked++;
        cr_assert(legitimately_blocked(st, t),
                  "seed %" PRIu64 ": with the loop idle, task %s is %s on %s: stuck", seed,
                  t->run.name, task_state_name((enum task_state)t->state),
                  t->waiter.what ? t->waiter.what : "nothing");
    }
    cr_assert(waitq_empty(&st->queue.getters) || channel_length(&st->queue) == 0,
              "seed %" PRIu64 ": getters wait while %zu items sit in the queue: a lost wake-up",
              seed, channel_length(&st->queue));
    cr_assert(waitq_empty(&st->queue.putters) || channel_length(&st->queue) == CHANNEL_CAPACITY,
              "seed %" PRIu64 ": putters wait while the queue has room: a lost wake-up", seed);

    /* Close the queue: blocked getters and putters end, and so do their joiners. */
    channel_close(&st->queue);
    cr_assert_eq(loop_run(st->loop), 0);
    for (int i = 0; i < WORKERS; i++)
        cr_assert(task_done(&st->workers[i].task),
                  "seed %" PRIu64 ": task w%d ended after the close", seed, i);

    /* Items: what was put was got exactly once, or is still in the queue. */
    void *left;
    while (channel_try_get(&st->queue, &left) == 0)
        st->gets[(char *)left - st->items]++;
    long puts = 0, gets = 0;
    for (int i = 0; i < st->next_item; i++) {
        puts += st->puts[i];
        gets += st->gets[i];
        cr_assert(st->puts[i] <= 1 && st->gets[i] == st->puts[i],
                  "seed %" PRIu64 ": item %d was put %d and got %d times: lost or duplicated", seed,
                  i, st->puts[i], st->gets[i]);
    }

    cr_assert_eq(st->bad_results, 0, "seed %" PRIu64 ": %ld awaits returned what they must not",
                 seed, st->bad_results);
    cr_assert_eq(st->stranded, 0,
                 "seed %" PRIu64 ": %ld times a waiter slept beside an item or slot meant for it",
                 seed, st->stranded);
    cr_assert_eq(st->lock_overlaps, 0, "seed %" PRIu64 ": two tasks held the lock at once", seed);
    cr_assert_eq(st->bad_owner, 0, "seed %" PRIu64 ": the lock's owner was wrong %ld times", seed,
                 st->bad_owner);
    cr_assert_eq(st->permit_overruns, 0, "seed %" PRIu64 ": more than %d permits were out", seed,
                 PERMITS);
    cr_assert_eq(st->bad_release, 0, "seed %" PRIu64 ": %ld releases were refused or missing", seed,
                 st->bad_release);
    cr_assert_eq(st->bad_cleanups, 0,
                 "seed %" PRIu64 ": %ld incarnations did not run their cleanup exactly once", seed,
                 st->bad_cleanups);
    cr_assert_eq(st->cleanups, st->started, "seed %" PRIu64 ": every started task cleaned up once",
                 seed);
    cr_assert_null(st->lock.owner, "seed %" PRIu64 ": the lock is free at the end", seed);
    cr_assert(waitq_empty(&st->lock.waiters));
    cr_assert_eq(st->sem.value, PERMITS, "seed %" PRIu64 ": the semaphore is back to %d (is %d)",
                 seed, PERMITS, st->sem.value);
    cr_assert(waitq_empty(&st->sem.waiters));
    cr_assert_eq(loop_sched(st->loop)->task_count, 0, "seed %" PRIu64 ": no task is live", seed);
    cr_assert_eq(loop_timer_count(st->loop), 0, "seed %" PRIu64 ": no timer is left armed", seed);
    cr_assert_eq(loop_ready_count(st->loop), 0);
    /* The run was a real one: plenty of each kind of event, not a quiet corner. */
    cr_assert(st->cancels_accepted > 1000 && st->incarnations > 2 * WORKERS && puts > 5000 &&
                  blocked < WORKERS,
              "seed %" PRIu64 ": a busy run (%ld cancels, %ld incarnations, %ld items)", seed,
              st->cancels_accepted, st->incarnations, puts);
    cr_log_info(
        "seed %" PRIu64 ": %d steps, %ld incarnations (%ld started), %ld cancels "
        "(%ld too late), %ld items moved (%ld by the keeper), %zu tasks waited for the close, "
        "%.1f virtual s",
        seed, STEPS, st->incarnations, st->started, st->cancels_accepted, st->cancels_ealready,
        gets, st->keeper_moves, blocked, (double)loop_now(st->loop) / 1e9);

    loop_free(st->loop);
    free(st->workers);
    free(st->names);
    free(st->items);
    free(st->puts);
    free(st->gets);
    free(st);
}

TestSuite(stress, .description = "Do locks, semaphores, queues and cancellation keep their "
                                 "promises under 100,000 random steps?");

Test(stress, seed_1, .timeout = 300,
     .description = "Q: with seed 1, is every item moved once, every cleanup run once, and "
                    "everything released?") {
    run_stress(1);
}
Test(stress, seed_20240611, .timeout = 300,
     .description = "Q: with seed 20240611, is every item moved once, every cleanup run once, "
                    "and everything released?") {
    run_stress(20240611);
}
Test(stress, seed_deadbeef, .timeout = 300,
     .description = "Q: with seed 0xdeadbeef, is every item moved once, every cleanup run once, "
                    "and everything released?") {
    run_stress(0xdeadbeef);
}
Test(stress, seed_7_or_from_environment, .timeout = 300,
     .description = "Q: with seed 7, or the seed in LOOPSCHOOL_STRESS_SEED if it is set, is every "
                    "item moved once, every cleanup run once, and everything released?") {
    const char *text = getenv("LOOPSCHOOL_STRESS_SEED");
    run_stress(text && *text ? strtoull(text, NULL, 0) : 7);
}
