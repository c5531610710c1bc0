/* task_layout_test.c — the promises behind a task's compact layout (lesson 08's table): a
 * runnable's list link and heap slot share their bytes, as do stride's pass and MLFQ's CPU
 * time, and a waiting task's wait-queue link is its ready-queue link. So: switching policy loses
 * no attribute the user set and hands no policy another's account, and a task that waits on a
 * lock, a condition, a join or a timer comes back under every policy. */
#include <criterion/criterion.h>

#include <errno.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "sched/policy/mlfq.h"
#include "sched/policy/stride.h"
#include "sched/sync/lock.h"
#include "tests/support/tasks.h" /* test_virtual_loop */

#define MS INT64_C(1000000)

TestSuite(task_layout, .description = "Does a task that shares its bytes between policies and "
                                      "queues keep every capability it had with separate fields?");

static void nothing(void *arg) {
    (void)arg;
}

static void open_queue(struct readyq *q, const struct policy_ops *ops) {
    struct policy *p;
    cr_assert_eq(policy_new(&p, ops, NULL), 0, "a %s policy can be created", ops->name);
    readyq_init(q, p);
}

/* Push, pop and charge r once under q's policy, as one run of the loop would. */
static void run_once(struct readyq *q, struct runnable *r, int64_t now, int64_t ran_ns) {
    cr_assert_eq(readyq_push(q, r, now), 0);
    cr_assert_eq(readyq_pop(q, now), r, "the only runnable queued is picked");
    readyq_charge(q, r, ran_ns);
}

Test(task_layout, policy_switch_keeps_attributes,
     .description = "Q: after a policy switch, does a runnable keep the priority, tickets and "
                    "deadline the user set, and does each policy start its own account afresh?") {
    struct readyq q;
    open_queue(&q, &policy_mlfq);
    struct runnable r;
    runnable_init(&r, nothing, NULL, "r");
    r.priority = 7;
    cr_assert_eq(runnable_set_tickets(&r, 300), 0);
    r.deadline = 42 * MS;
    r.has_deadline = true;

    run_once(&q, &r, 0, 3 * MS);
    cr_assert_eq(r.used_ns, 3 * MS, "MLFQ counted the 3 ms it ran");
    cr_assert_eq(r.account, RUNNABLE_ACCOUNT_MLFQ, "the union holds MLFQ's account");

    cr_assert_eq(readyq_set_policy(&q, &policy_stride), 0, "an empty queue may switch policy");
    run_once(&q, &r, 0, POLICY_STRIDE_DEFAULT_SLICE_NS);
    /* 300 tickets: stride = 1,000,000 / 300; one slice costs exactly one stride. Had MLFQ's
     * 3,000,000 ns been read as a pass, the pass would be 3,003,333. */
    cr_assert_eq(r.pass, POLICY_STRIDE_DEFAULT_CONSTANT / 300,
                 "stride started a fresh pass (0) and charged one stride: %llu, not MLFQ's "
                 "3 ms read as a pass",
                 (unsigned long long)r.pass);

    cr_assert_eq(readyq_set_policy(&q, &policy_mlfq), 0);
    cr_assert_eq(policy_mlfq_set_level(&r, 1), 0, "MLFQ's level is set while not queued");
    run_once(&q, &r, 0, 0);
    cr_assert_eq(r.used_ns, 0, "back under MLFQ, a fresh allotment: stride's pass is not CPU time");
    cr_assert_eq(r.level, 1, "the level set by hand is kept");

    cr_assert_eq(r.priority, 7, "priority is the user's, untouched by three policies");
    cr_assert_eq(r.tickets, 300u, "tickets too");
    cr_assert_eq(r.deadline, 42 * MS, "and the deadline, with has_deadline");
    cr_assert(r.has_deadline);
    readyq_free(&q);
}

Test(task_layout, list_then_heap_then_list,
     .description = "Q: can a runnable linked by a list policy be queued by a heap policy after a "
                    "switch, and the other way round?") {
    static const struct policy_ops *const order[] = {
        &policy_fifo, &policy_priority, &policy_lifo,   &policy_edf,
        &policy_mlfq, &policy_stride,   &policy_lottery};
    struct readyq q;
    open_queue(&q, order[0]);
    struct runnable r[3];
    for (int i = 0; i < 3; i++)
        runnable_init(&r[i], nothing, NULL, "r");
    for (size_t p = 0; p < sizeof order / sizeof order[0]; p++) {
        if (p > 0)
            cr_assert_eq(readyq_set_policy(&q, order[p]), 0);
        for (int i = 0; i < 3; i++)
            cr_assert_eq(readyq_push(&q, &r[i], 0), 0, "%s: a push after %s works", order[p]->name,
                         p ? order[p - 1]->name : "nothing");
        cr_assert_eq(readyq_remove(&q, &r[1]), 0, "%s: removing the middle one works",
                     order[p]->name);
        cr_assert_eq(readyq_count(&q), 2u, "%s: two are left", order[p]->name);
        int popped = 0;
        while (readyq_pop(&q, 0))
            popped++;
        cr_assert_eq(popped, 2, "%s: and both come out", order[p]->name);
    }
    readyq_free(&q);
}

/* ---- every kind of wait, under every policy -------------------------------------------------- */
struct shared {
    struct lock lock;
    struct condition turn;
    int holder_runs, total;
};

struct worker {
    struct task task;
    struct shared *sh;
    struct task *join; /* NULL: nothing to join */
    int done;
};

/* Sleeps, takes the lock, waits on the condition until a second worker has run, joins. */
static enum coro_status worker_step(struct task *t) {
    struct worker *f = TASK_FRAME(t, struct worker, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP(t, MS);
    LOCK_ACQUIRE(t, &f->sh->lock);
    f->sh->holder_runs++;
    condition_notify_all(&f->sh->turn);
    while (f->sh->holder_runs < 2)
        CONDITION_WAIT(t, &f->sh->turn);
    lock_release(&f->sh->lock, t);
    if (f->join)
        TASK_JOIN(t, f->join);
    f->done = 1;
    f->sh->total++;
    CORO_CLEANUP(&t->co);
    lock_release_if_held(&f->sh->lock, t);
    CORO_END(&t->co);
}

Test(task_layout, waits_under_every_policy,
     .description = "Q: does a task that sleeps, waits for a lock and a condition and joins "
                    "another come back under every policy, the heap ones included?") {
    for (size_t p = 0; policy_by_index(p); p++) {
        const struct policy_ops *ops = policy_by_index(p);
        struct loop_clock clock;
        struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.policy = ops});
        struct shared sh = {0};
        lock_init(&sh.lock, "lock");
        condition_init(&sh.turn, &sh.lock, "turn");
        struct worker w[4] = {{.sh = &sh}, {.sh = &sh}, {.sh = &sh}, {.sh = &sh}};
        w[0].join = &w[3].task;
        w[1].join = &w[0].task;
        for (int i = 0; i < 4; i++)
            cr_assert_eq(loop_spawn(loop, &w[i].task, worker_step, "worker", NULL), 0);
        cr_assert_eq(loop_run(loop), 0, "%s: the loop runs dry", ops->name);
        for (int i = 0; i < 4; i++)
            cr_assert(w[i].done && w[i].task.state == TASK_DONE,
                      "%s: worker %d slept, took the lock, waited on the condition, joined "
                      "and ended (state %s)",
                      ops->name, i, task_state_name((enum task_state)w[i].task.state));
        cr_assert_eq(sh.total, 4, "%s: all four ended once", ops->name);
        cr_assert_null(sh.lock.owner, "%s: the lock is free", ops->name);
        loop_free(loop);
    }
}

Test(task_layout, waiter_finds_its_task,
     .description = "Q: does a waiter find its task without a pointer to it?") {
    struct task t = {0};
    cr_assert_eq(task_of_waiter(&t.waiter), &t, "task_of_waiter is container_of: the task");
}
