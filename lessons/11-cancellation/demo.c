/* demo.c — lesson 11: does a cancelled task still clean up, and who sees its error?
 * Scene 1: a task holding a lock and a pool's only slot is cancelled while it sleeps; its cleanup
 * gives both back and the task waiting for them proceeds. Scene 2: wait_for times out on a slow
 * task. Scene 3: gather and a task group, each with one failing child, side by side. Scene 4: the
 * failure nobody looked at. Scene 5: a joiner cancelled while it joins. All on the virtual
 * clock, narrated tick by tick. `demo --trace` prints only the canonical event lines that
 * asyncio_twin.py also prints (scenes 1, 2, 3 and 5). */
#include "loop/await.h"
#include "loop/loop.h"
#include "loop/observe/narrate.h"
#include "sched/sync/lock.h"
#include "sched/sync/channel.h"
#include "sched/task/taskset.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS INT64_C(1000000)

/* ---- narration: a header for each tick in which something runs, then what each task says ----- */
struct scene_notes {
    uint64_t last_tick;
    int said;                    /* lines said during the current run */
    const struct task *right[4]; /* tasks narrated in the right-hand column (scene 3) */
};

static struct scene_notes *notes; /* the running scene's; library code has no such thing */
static struct narrator narrator;  /* --trace: "<ms> ms: <task> <what>" lines only (narrate.h) */
static struct loop *scene_loop;   /* the running scene's loop, whose clock stamps the trace */

static int column_of(const struct task *t) {
    for (size_t i = 0; i < sizeof notes->right / sizeof notes->right[0]; i++)
        if (notes->right[i] == t)
            return 1;
    return 0;
}

/* One line of a task's narration; column 1 is indented past column 0 (scene 3). */
static void say(const struct task *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (narrator.trace) { /* a task's event carries the time; scene lines do not */
        printf("%lld ms: ", (long long)(loop_now(task_loop(t)) / MS));
        narrate_vtrace(&narrator, t->run.name, fmt, ap);
    } else {
        printf("     %*s%-8s ", column_of(t) * 38, "", t->run.name);
        vprintf(fmt, ap);
        putchar('\n');
    }
    va_end(ap);
    notes->said++;
}

static void before_run(void *ctx, struct loop *loop, const struct runnable *r) {
    struct scene_notes *n = ctx;
    (void)r;
    n->said = 0;
    if (n->last_tick == loop_tick(loop) || narrator.trace)
        return;
    n->last_tick = loop_tick(loop);
    printf("  -- tick %llu, %3lld ms\n", (unsigned long long)loop_tick(loop),
           (long long)(loop_now(loop) / MS));
}

/* A task that ran and said nothing (a set's waiter looking at its set) still gets a line. Every
 * runnable in this demo is a task, so r->arg is one. r is NULL if the task ended. */
static void after_run(void *ctx, struct loop *loop, const struct runnable *r, int64_t ran_ns) {
    struct scene_notes *n = ctx;
    (void)loop;
    (void)ran_ns;
    if (n->said || !r || narrator.trace) /* the trace has no loopschool-only steps */
        return;
    const struct task *t = r->arg;
    if (t->state == TASK_WAITING)
        say(t, "runs, and waits on %s", t->waiter.what);
}

static struct loop *new_loop(struct loop_clock *clock, struct scene_notes *n, FILE *report) {
    loop_clock_init_virtual(clock, 0);
    *n = (struct scene_notes){0};
    notes = n;
    struct loop_config config = {
        .backend = &backend_script,
        .clock = clock,
        .report = report,
        .hooks = {.ctx = n, .before_run = before_run, .after_run = after_run}};
    struct loop *loop = NULL;
    scene_loop = loop_new(&loop, &config) == 0 ? loop : NULL;
    return scene_loop;
}

static const char *error_name(int err) {
    switch (err) {
    case 0:
        return "0";
    case -ECANCELED:
        return "-ECANCELED";
    case -ETIMEDOUT:
        return "-ETIMEDOUT";
    case -EIO:
        return "-EIO";
    case -EALREADY:
        return "-EALREADY";
    default:
        return "another error";
    }
}

/* ---- scene 1: cleanup gives back what the task held ------------------------------------------ */

/* Python:
 *   async def worker(name, slots, lock, work):
 *       slot = await slots.get()
 *       try:
 *           async with lock:
 *               await asyncio.sleep(work)
 *       finally:
 *           slots.put_nowait(slot)                                                              */
struct worker {
    struct task task;
    struct channel *slots; /* a pool: a queue holding one token per slot */
    struct lock *lock;
    int64_t work_ns;
    void *slot;
    bool has_slot;
    int cleanups;
};

static enum coro_status worker_step(struct task *t) {
    struct worker *f = TASK_FRAME(t, struct worker, task);
    CORO_BEGIN(&t->co);
    say(t, "asks the pool for a slot%s", channel_length(f->slots) ? "" : ": none is free, waits");
    CHANNEL_GET(t, f->slots, f->slot);
    f->has_slot = true;
    say(t, "has the slot; asks for the lock%s", f->lock->owner ? ": held, waits" : "");
    LOCK_ACQUIRE(t, f->lock);
    say(t, "has the lock; works for %lld ms (sleeps)", (long long)(f->work_ns / MS));
    LOOP_SLEEP(t, f->work_ns);
    say(t, "finished its work");
    CORO_CLEANUP(&t->co);
    /* Reached however the body ended; coro_error says why. It may not await: it only gives
     * back, and the primitives hand what it gives to whoever waits. */
    f->cleanups++;
    say(t, "cleanup (error %s): %s%s", error_name(coro_error(&t->co)),
        f->has_slot ? "puts the slot back" : "holds no slot",
        f->lock->owner == t ? ", releases the lock" : "");
    if (f->has_slot)
        channel_try_put(f->slots, f->slot);
    lock_release_if_held(f->lock, t);
    CORO_END(&t->co);
}

/* Sleeps, then cancels its target and shows what task_cancel changed at once. */
struct supervisor {
    struct task task;
    struct task *target;
    int64_t after_ns;
};

static enum coro_status supervisor_step(struct task *t) {
    struct supervisor *f = TASK_FRAME(t, struct supervisor, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP(t, f->after_ns);
    int said = task_cancel(f->target);
    if (narrator.trace) {
        say(t, "cancels %s: %s", f->target->run.name, said == 0 ? "accepted" : "refused");
    } else {
        printf("     %-8s task_cancel(%s) = %d; right after it:\n       ", t->run.name,
               f->target->run.name, said);
        task_dump(f->target, stdout);
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static bool scene1(void) {
    narrate_trace(&narrator, "scene 1");
    narrate_story(
        &narrator,
        "Scene 1. A holds the pool's only slot and the lock, and sleeps 100 ms of work. B\n"
        "waits for the slot. At 30 ms the supervisor cancels A.\n\n");
    struct loop_clock clock;
    struct scene_notes n;
    struct loop *loop = new_loop(&clock, &n, NULL);
    if (!loop)
        return false;
    void *storage[1];
    static char token; /* the slot itself: any address will do */
    struct channel slots;
    struct lock lock;
    channel_init(&slots, storage, 1, "pool");
    channel_try_put(&slots, &token);
    lock_init(&lock, "lock");
    struct worker a = {.slots = &slots, .lock = &lock, .work_ns = 100 * MS};
    struct worker b = {.slots = &slots, .lock = &lock, .work_ns = 20 * MS};
    struct supervisor sup = {.target = &a.task, .after_ns = 30 * MS};
    loop_spawn(loop, &a.task, worker_step, "A", NULL);
    loop_spawn(loop, &b.task, worker_step, "B", NULL);
    loop_spawn(loop, &sup.task, supervisor_step, "super", NULL);
    loop_run(loop);
    int again = task_cancel(&a.task);
    narrate_story(&narrator,
                  "\n  A ended %s, error %s; its cleanup ran %d time; cancelling it again\n"
                  "  returns %s. B ended %s at %lld ms, after its 20 ms of work: it did not wait\n"
                  "  for A's 100 ms. The lock is %s; the pool holds %zu slot.\n\n",
                  task_state_name((enum task_state)a.task.state), error_name(a.task.error),
                  a.cleanups, error_name(again), task_state_name((enum task_state)b.task.state),
                  (long long)(loop_now(loop) / MS), lock.owner ? "held" : "free",
                  channel_length(&slots));
    narrate_trace(&narrator, "A %s, its cleanup ran %d time(s); cancel again: %s",
                  task_state_name((enum task_state)a.task.state), a.cleanups,
                  again == -EALREADY ? "refused" : "accepted");
    bool ok = a.task.state == TASK_CANCELLED && a.cleanups == 1 && b.task.state == TASK_DONE &&
              !lock.owner && channel_length(&slots) == 1 && loop_now(loop) == 50 * MS &&
              again == -EALREADY;
    loop_free(loop);
    return ok;
}

/* ---- scene 2: a timeout ---------------------------------------------------------------------- */

/* Python: async def fetch(): try: await asyncio.sleep(0.5) finally: print("closes ...") */
struct fetch {
    struct task task;
    int64_t ns;
    uint64_t ended_tick; /* the tick its step ended in */
};

static enum coro_status fetch_step(struct task *t) {
    struct fetch *f = TASK_FRAME(t, struct fetch, task);
    CORO_BEGIN(&t->co);
    say(t, "sends its request; the answer takes %lld ms", (long long)(f->ns / MS));
    LOOP_SLEEP(t, f->ns);
    say(t, "got its answer");
    CORO_CLEANUP(&t->co);
    say(t, "cleanup (error %s): closes its connection", error_name(coro_error(&t->co)));
    f->ended_tick = loop_tick(scene_loop);
    CORO_END(&t->co);
}

/* Python: try: await asyncio.wait_for(fetch_task, 0.1) except TimeoutError: ... */
struct patient {
    struct task task;
    struct fetch *fetch;
    struct task_set *set;
    int64_t timeout_ns;
    int result;
};

static enum coro_status patient_step(struct task *t) {
    struct patient *f = TASK_FRAME(t, struct patient, task);
    CORO_BEGIN(&t->co);
    say(t, "waits for fetch, at most %lld ms", (long long)(f->timeout_ns / MS));
    LOOP_WAIT_FOR(t, f->set, f->timeout_ns);
    f->result = task_result(t);
    if (narrator.trace) {
        say(t, "wait_for returned %s; fetch is %s", error_name(f->result),
            task_state_name((enum task_state)f->set->members[0]->state));
        say(t, "resumed %llu iteration(s) after fetch ended",
            loop_tick(scene_loop) - f->fetch->ended_tick);
    } else {
        say(t, "wait_for returned %s (%s); fetch is %s", error_name(f->result),
            strerror(-f->result), task_state_name((enum task_state)f->set->members[0]->state));
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static bool scene2(void) {
    narrate_trace(&narrator, "scene 2");
    narrate_story(&narrator, "Scene 2. `patient` gives `fetch` 100 ms; fetch needs 500.\n\n");
    struct loop_clock clock;
    struct scene_notes n;
    struct loop *loop = new_loop(&clock, &n, NULL);
    if (!loop)
        return false;
    struct fetch slow = {.ns = 500 * MS};
    struct task_set one;
    struct task *storage[1];
    task_set_init(&one, storage, 1, false);
    loop_spawn(loop, &slow.task, fetch_step, "fetch", NULL);
    task_set_add(&one, &slow.task);
    struct patient p = {.fetch = &slow, .set = &one, .timeout_ns = 100 * MS};
    loop_spawn(loop, &p.task, patient_step, "patient", NULL);
    loop_run(loop);
    narrate_story(
        &narrator,
        "\n  At 100 ms the deadline woke patient: it cancelled fetch and waited again (tick 2);\n"
        "  fetch cleaned up (tick 3); only then did wait_for return (tick 4). -ETIMEDOUT is\n"
        "  the waiter's answer; fetch's own error is %s. No slow task is left behind.\n\n",
        error_name(slow.task.error));
    bool ok =
        p.result == -ETIMEDOUT && slow.task.state == TASK_CANCELLED && loop_now(loop) == 100 * MS;
    loop_free(loop);
    return ok;
}

/* ---- scene 3: gather and a task group, side by side ------------------------------------------ */

/* Python: async def child(ms, fails): await asyncio.sleep(ms / 1000); if fails: raise OSError */
struct child {
    struct task task;
    int64_t ns;
    bool fails;
    uint64_t ended_tick;
};

static enum coro_status child_step(struct task *t) {
    struct child *f = TASK_FRAME(t, struct child, task);
    CORO_BEGIN(&t->co);
    say(t, "sleeps %lld ms", (long long)(f->ns / MS));
    LOOP_SLEEP(t, f->ns);
    if (f->fails) {
        say(t, "fails with -EIO");
        CORO_FAIL(&t->co, -EIO);
    }
    say(t, "done");
    CORO_CLEANUP(&t->co);
    if (coro_error(&t->co) == -ECANCELED)
        say(t, "cancelled: its cleanup runs");
    f->ended_tick = loop_tick(scene_loop);
    CORO_END(&t->co);
}

/* Python, left:  results = await asyncio.gather(a, b, c, return_exceptions=True)
 *         right: async with asyncio.TaskGroup() as g: ...  (raises on b's failure) */
struct parent {
    struct task task;
    bool group;
    struct task_set *set;
    int result;
};

static enum coro_status parent_step(struct task *t) {
    struct parent *f = TASK_FRAME(t, struct parent, task);
    CORO_BEGIN(&t->co);
    say(t, f->group ? "waits on its group" : "gathers its three");
    if (f->group)
        TASK_GROUP_WAIT(t, f->set);
    else
        TASK_GATHER(t, f->set);
    f->result = task_result(t);
    char errors[64] = "";
    for (size_t i = 0; i < f->set->count; i++)
        snprintf(errors + strlen(errors), sizeof errors - strlen(errors), "%s%s", i ? ", " : "",
                 error_name(f->set->members[i]->error));
    if (narrator.trace) {
        uint64_t last = 0; /* the tick the last member ended in */
        for (size_t i = 0; i < f->set->count; i++) {
            const struct child *c = TASK_FRAME(f->set->members[i], struct child, task);
            last = c->ended_tick > last ? c->ended_tick : last;
        }
        if (f->group)
            say(t, "returns %s, its first failure", error_name(f->result));
        else
            say(t, "returns %s", error_name(f->result));
        say(t, "errors: [%s]", errors);
        say(t, "resumed %llu iteration(s) after its last member ended",
            loop_tick(scene_loop) - last);
    } else {
        say(t, "returns %s", error_name(f->result));
        say(t, "errors: [%s]", errors);
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* Both columns side by side in one loop, or (the trace) only column `only`: asyncio fires
 * timers due at the same instant in no promised order, so the trace keeps each side alone. */
static bool scene3(int only) {
    narrate_trace(&narrator, only == 0 ? "scene 3, gather" : "scene 3, task group");
    narrate_story(
        &narrator,
        "Scene 3. The same three children twice: a (10 ms), b (fails at 20 ms), c (40 ms).\n"
        "Left, gather(..., return_exceptions=True); right, a TaskGroup.\n\n");
    struct loop_clock clock;
    struct scene_notes n;
    struct loop *loop = new_loop(&clock, &n, NULL);
    if (!loop)
        return false;
    struct task_set sets[2];
    struct task *storage[2][3];
    struct child kids[2][3];
    struct parent parents[2];
    static const char *const names[2][3] = {{"a", "b", "c"}, {"a'", "b'", "c'"}};
    static const char *const parent_names[2] = {"gather", "group"};
    static const int64_t work_ms[3] = {10, 20, 40};
    for (int col = 0; col < 2; col++) {
        /* The parent first, as in Python, where the parent's body creates the children. */
        task_set_init(&sets[col], storage[col], 3, col == 1);
        parents[col] = (struct parent){.group = col == 1, .set = &sets[col]};
        if (only >= 0 && col != only)
            continue;
        loop_spawn(loop, &parents[col].task, parent_step, parent_names[col], NULL);
        for (int i = 0; i < 3; i++) {
            kids[col][i] = (struct child){.ns = work_ms[i] * MS, .fails = i == 1};
            task_set_spawn(&sets[col], loop_sched(loop), &kids[col][i].task, child_step,
                           names[col][i], NULL);
        }
    }
    for (int i = 0; i < 3; i++)
        n.right[i] = &kids[1][i].task;
    n.right[3] = &parents[1].task;
    loop_run(loop);
    narrate_story(
        &narrator,
        "\n  gather let c run to its end and handed back every error, in order; the group\n"
        "  cancelled c' the moment b' failed, waited for c' to clean up, and reported -EIO.\n"
        "  Neither parent failed: what to do with the error is the parent's own choice.\n\n");
    bool gather_ok = parents[0].result == 0 && kids[0][2].task.state == TASK_DONE;
    bool group_ok = parents[1].result == -EIO && kids[1][2].task.state == TASK_CANCELLED;
    bool ok = (only == 1 || gather_ok) && (only == 0 || group_ok) &&
              loop_now(loop) == (only == 1 ? 20 : 40) * MS;
    loop_free(loop);
    return ok;
}

/* ---- scene 4: the error nobody looked at ----------------------------------------------------- */

static bool scene4(void) {
    printf("Scene 4. Two children nobody joins: one fails, one is cancelled. The loop reports\n"
           "the failure when it is freed (asyncio: \"Task exception was never retrieved\"); a\n"
           "cancel is not a failure, so it says nothing of the other.\n\n");
    /* The report goes to a buffer first: its one line is too wide for a screen, so it is
     * printed below in two, at its ", at ". */
    char *report_text = NULL;
    size_t report_size = 0;
    FILE *report = open_memstream(&report_text, &report_size);
    struct loop_clock clock;
    struct scene_notes n;
    struct loop *loop = report ? new_loop(&clock, &n, report) : NULL;
    if (!loop)
        return false;
    struct child orphan = {.ns = 10 * MS, .fails = true}, dropped = {.ns = 10 * MS};
    loop_spawn(loop, &orphan.task, child_step, "orphan", NULL);
    loop_spawn(loop, &dropped.task, child_step, "dropped", NULL);
    loop_run_once(loop);
    task_cancel(&dropped.task);
    loop_run(loop);
    printf("  loop_free(loop) reports:\n");
    loop_free(loop);
    fclose(report);
    char *at = strstr(report_text, ", at ");
    if (at)
        printf("  %.*s,\n    %s", (int)(at - report_text), report_text, at + 2);
    else
        printf("  %s", report_text);
    bool reported = strstr(report_text, "'orphan' failed") && !strstr(report_text, "dropped");
    free(report_text);
    return reported && orphan.task.state == TASK_FAILED && dropped.task.state == TASK_CANCELLED;
}

/* ---- scene 5: a joiner is cancelled ---------------------------------------------------------- */

/* Python: async def boss(): await worker_task   (and the supervisor: boss_task.cancel()) */
struct joiner {
    struct task task;
    struct task *joined;
    bool shield; /* Python: await asyncio.shield(worker_task) */
};

static enum coro_status joiner_step(struct task *t) {
    struct joiner *f = TASK_FRAME(t, struct joiner, task);
    CORO_BEGIN(&t->co);
    if (f->shield) {
        say(t, "shields %s", f->joined->run.name);
        TASK_SHIELD(t, f->joined);
    } else {
        say(t, "joins %s", f->joined->run.name);
        TASK_JOIN(t, f->joined);
    }
    say(t, "%s ended", f->joined->run.name);
    CORO_CLEANUP(&t->co);
    say(t, "cleanup (error %s)", error_name(coro_error(&t->co)));
    CORO_END(&t->co);
}

static bool scene5(bool shield) {
    narrate_trace(&narrator, shield ? "scene 5, shield" : "scene 5");
    if (shield)
        narrate_story(
            &narrator,
            "\nNow the same with TASK_SHIELD (asyncio.shield): the cancel stops boss only,\n"
            "and worker runs on to the end of its 50 ms.\n\n");
    else
        narrate_story(
            &narrator,
            "\nScene 5. boss joins worker, which works 50 ms; at 10 ms the supervisor\n"
            "cancels boss. The cancel travels into the joined task first, as in asyncio:\n"
            "worker is cancelled and cleans up, and only then does boss end cancelled.\n\n");
    struct loop_clock clock;
    struct scene_notes n;
    struct loop *loop = new_loop(&clock, &n, NULL);
    if (!loop)
        return false;
    struct lock lock; /* worker_step's; nobody else wants it */
    void *storage[1];
    static char token;
    struct channel slots;
    channel_init(&slots, storage, 1, "pool");
    channel_try_put(&slots, &token);
    lock_init(&lock, "lock");
    struct worker w = {.slots = &slots, .lock = &lock, .work_ns = 50 * MS};
    struct joiner boss = {.joined = &w.task, .shield = shield};
    struct supervisor sup = {.target = &boss.task, .after_ns = 10 * MS};
    loop_spawn(loop, &boss.task, joiner_step, "boss", NULL);
    loop_spawn(loop, &w.task, worker_step, "worker", NULL);
    loop_spawn(loop, &sup.task, supervisor_step, "super", NULL);
    loop_run(loop);
    narrate_story(&narrator, "\n  boss ended %s; worker ended %s at %lld ms.\n",
                  task_state_name((enum task_state)boss.task.state),
                  task_state_name((enum task_state)w.task.state), (long long)(loop_now(loop) / MS));
    bool ok = boss.task.state == TASK_CANCELLED &&
              (shield ? w.task.state == TASK_DONE && loop_now(loop) == 50 * MS
                      : w.task.state == TASK_CANCELLED && loop_now(loop) == 10 * MS);
    loop_free(loop);
    return ok;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line, also into a pipe or under gdb -batch */
    narrate_parse(&narrator, &argc, argv);
    if (narrator.trace) {
        bool ok = scene1() && scene2() && scene3(0) && scene3(1) && scene5(false) && scene5(true);
        return ok ? 0 : 1;
    }
    printf("Lesson 11: a cancel is a request, delivered where the task is parked. The await\n"
           "completes with -ECANCELED and the task leaves through its cleanup section, which\n"
           "runs once and gives back what it held. Virtual clock: every time is exact.\n\n");
    bool ok = scene1() && scene2() && scene3(-1) && scene4() && scene5(false) && scene5(true);
    printf(
        "\nWho saw each error:\n"
        "  the canceller   task_cancel: 0 (a request, delivered later) or -EALREADY (too late)\n"
        "  the task        its await completes with -ECANCELED: it leaves through its cleanup,\n"
        "                  or, with a _CATCH await, gets -ECANCELED in its body\n"
        "  a joiner        the joined task's error; -ECANCELED cancels it too, unless it catches;\n"
        "                  a cancelled joiner cancels the joined task first (TASK_SHIELD: not)\n"
        "  gather          every member's error, in member order; its own result is 0\n"
        "  a task group    its first failure, after cancelling and awaiting the rest\n"
        "                  (asyncio: an ExceptionGroup of every failure)\n"
        "  wait_for        -ETIMEDOUT, its own; the awaited task ends -ECANCELED\n"
        "  nobody          the loop reports a failure when it is freed; never a cancel\n");
    if (!ok)
        fprintf(stderr, "demo: a scene did not end as the lesson says\n");
    return ok ? 0 : 1;
}
