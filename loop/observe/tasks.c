/* tasks.c — the task dump of lesson 15; see tasks.h. The live tasks come from the scheduler's
 * list (sched->tasks, lesson 08); the only thing this file adds is the moment each one parked,
 * noted by an after_run observer, because a waiter does not keep the time it began waiting. */
#include "loop/observe/tasks.h"

#include <errno.h>
#include <string.h>

bool observe_is_task(struct loop *loop, const struct runnable *r) {
    if (!loop || !r)
        return false;
    /* Every task's runnable calls the same function (the scheduler's step of a task): a
     * runnable that calls another is no task. A live task is on the list, so it has a first. */
    const struct list_node *live = &loop_sched(loop)->tasks;
    return !list_empty(live) && container_of(live->next, struct task, live)->run.fn == r->fn;
}

struct task *observe_task_of(struct loop *loop, const struct runnable *r) {
    if (!observe_is_task(loop, r))
        return NULL; /* a plain callback is told so at once */
    /* Then a walk of the live tasks, to find which. */
    list_for_each(n, &loop_sched(loop)->tasks) {
        struct task *t = container_of(n, struct task, live);
        if (&t->run == r)
            return t;
    }
    return NULL;
}

static void note_parked(void *ctx, struct loop *loop, const struct runnable *r, int64_t ran_ns) {
    struct observe_tasks *ot = ctx;
    (void)ran_ns;
    struct task *t = observe_task_of(loop, r);
    if (!t || t->state != TASK_WAITING)
        return;
    unsigned slot = ot->next_slot;
    for (unsigned i = 0; i < OBSERVE_TASKS_SLOTS; i++)
        if (ot->parked[i].task == t)
            slot = i; /* its own slot again: one entry per task */
    if (slot == ot->next_slot)
        ot->next_slot = (ot->next_slot + 1) % OBSERVE_TASKS_SLOTS;
    ot->parked[slot].task = t;
    ot->parked[slot].since = loop_now(loop);
}

int observe_tasks_start(struct observe_tasks *ot, struct loop *loop, observe_chain_fn chain) {
    if (!ot || !loop)
        return -EINVAL;
    if (loop_observing(loop, &ot->obs))
        return -EBUSY; /* running: resetting it would corrupt the loop's list */
    memset(ot, 0, sizeof *ot);
    ot->loop = loop;
    ot->chain = chain;
    ot->obs.hooks = (struct loop_hooks){.ctx = ot, .after_run = note_parked};
    return loop_observe(loop, &ot->obs);
}

int observe_tasks_stop(struct observe_tasks *ot) {
    return ot ? loop_unobserve(ot->loop, &ot->obs) : -EINVAL;
}

static int64_t parked_since(const struct observe_tasks *ot, const struct task *t) {
    for (unsigned i = 0; ot && i < OBSERVE_TASKS_SLOTS; i++)
        if (ot->parked[i].task == t)
            return ot->parked[i].since;
    return -1;
}

static void dump_point(const struct coro *co, FILE *out) {
    if (co->line)
        fprintf(out, "    %s:%d\n", co->file ? co->file : "?", (int)co->line);
    else
        fprintf(out, "    (not started)\n");
}

static void dump_one(const struct observe_tasks *ot, struct loop *loop, const struct task *t,
                     FILE *out) {
    fprintf(out, "task '%s' %s", t->run.name ? t->run.name : "?",
            task_state_name((enum task_state)t->state));
    if (t->state == TASK_WAITING) {
        fprintf(out, " on %s", t->waiter.what ? t->waiter.what : "?");
        int64_t since = parked_since(ot, t);
        if (since >= 0)
            fprintf(out, " for %lld ms", (long long)((loop_now(loop) - since) / 1000000));
    } else if (t->state == TASK_READY && !t->run.has_deadline) {
        /* Without a deadline of its own a runnable's deadline is the moment it was queued
         * (runnable.h): how long it has been ready, which a blocked loop makes long. */
        fprintf(out, " for %lld ms", (long long)((loop_now(loop) - t->run.deadline) / 1000000));
        /* Woken by its sleep's timer (whose deadline stays in the entry after it fires): how
         * late the loop got to it. A blocked loop shows here as sleeps woken long after due. */
        const char *what = t->waiter.what;
        int64_t due = t->waiter.timer.deadline;
        if (what && strcmp(what, "sleep") == 0 && due > 0 && due < t->run.deadline)
            fprintf(out, ", its sleep ended %lld ms late",
                    (long long)((t->run.deadline - due) / 1000000));
    }
    fputc('\n', out);
    /* The chain, outermost first, so the innermost — where it really is — comes last, as in a
     * Python traceback. */
    dump_point(&t->co, out);
    if (ot && ot->chain) {
        const struct coro *chain[OBSERVE_CHAIN_MAX];
        size_t n = ot->chain(t, chain, OBSERVE_CHAIN_MAX);
        for (size_t i = 0; i < n && i < OBSERVE_CHAIN_MAX; i++)
            dump_point(chain[i], out);
    }
}

void observe_tasks_dump(const struct observe_tasks *ot, struct loop *loop, FILE *out) {
    if (!loop || !out)
        return;
    size_t n = 0;
    list_for_each(it, &loop_sched(loop)->tasks) {
        n++;
    }
    fprintf(out, "%zu live task%s at tick %llu:\n", n, n == 1 ? "" : "s",
            (unsigned long long)loop_tick(loop));
    list_for_each(it, &loop_sched(loop)->tasks) {
        dump_one(ot, loop, container_of(it, struct task, live), out);
    }
    fflush(out);
}
