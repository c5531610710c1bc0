/* task.c — the life of a task (lesson 08): spawn queues it; each time the ready queue runs it, its
 * coroutine takes one step; the step either ends it, parks it on its waiter, or (a plain yield)
 * puts it back on the ready queue. Ending wakes its joiners, and a failure nobody joined is
 * remembered and reported when the scheduler is destroyed. Stopping a task from outside is
 * cancel.c's, the scopes that may hold its end are scope.c's (both lesson 11). */
#include "sched/task/task.h"

#include <errno.h>
#include <string.h>

static void remember_unretrieved(struct sched *s, const struct task *t) {
    if (s->unretrieved_count == SCHED_MAX_UNRETRIEVED) {
        s->unretrieved_dropped++; /* a fixed array: reporting must never need memory */
        return;
    }
    s->unretrieved[s->unretrieved_count++] = (struct sched_failure){
        .task = t, .name = t->run.name, .file = t->co.file, .line = t->co.line, .error = t->error};
}

/* A late join reads the failure: it is retrieved after all. */
static void forget_unretrieved(struct sched *s, const struct task *t) {
    for (size_t i = 0; i < s->unretrieved_count; i++) {
        if (s->unretrieved[i].task == t) {
            s->unretrieved[i] = s->unretrieved[--s->unretrieved_count];
            return;
        }
    }
}

static void end(struct task *t) {
    struct sched *s = t->sched;
    t->state = t->error == -ECANCELED ? TASK_CANCELLED : t->error ? TASK_FAILED : TASK_DONE;
    /* Its place on the ready queue, reserved by task_spawn, given back here and not in finish:
     * a scope that held the end comes back through finish a second time. */
    sched_release(s);
    list_remove(&t->live);
    s->task_count--;
    bool someone_joined = !waitq_empty(&t->joiners);
    waitq_wake_all(&t->joiners, t->error);
    if (t->done_hook)
        t->done_hook->fn(t, t->done_hook); /* e.g. a gather, group or wait set counts it */
    else if (t->state == TASK_FAILED && !someone_joined)
        remember_unretrieved(s, t);
    sched_runnable_gone(s, &t->run); /* on_done may free the frame: the loop must let go */
    if (t->on_done)
        t->on_done(t);
}

static void finish(struct task *t) {
    struct sched *s = t->sched;
    /* An await in the cleanup section registered the task (a timer, an fd, a wait queue, the
     * ready queue) and then the coroutine refused to suspend there, ending with -EDEADLK. Undo
     * that registration: on_done may free the frame, and nothing may keep pointing into it. */
    if (t->waiter.waiting)
        waiter_wake(&t->waiter, -EDEADLK);
    sched_unqueue(s, &t->run); /* -EALREADY, the usual case: a running task is not queued */
    t->error = coro_error(&t->co);
    if (list_empty(&s->scopes) || !task__scopes_hold_end(t))
        end(t); /* the usual case: no scope is open, one test */
}

/* The scheduler's resume_waiter: every registration of the wait is undone; the task may run
 * again. */
static void resume_task(struct waiter *w) {
    struct task *t = task_of_waiter(w);
    t->state = TASK_READY;
    sched_push_ready(t->sched, &t->run);
}

/* What the ready queue runs for a task: one step of its coroutine. */
static void run_step(void *arg) {
    struct task *t = arg;
    t->state = TASK_RUNNING;
    /* Off the ready queue, so its link is free for a wait queue (waiter.h). A heap policy left
     * a slot index in those bytes: make it an unlinked node, which waking may unlink again. */
    list_init(&t->run.node);
    if (t->step(t) == CORO_DONE) {
        finish(t);
        return;
    }
    if (t->state == TASK_RUNNING) {
        /* Suspended without waiting on anything (a bare CORO_YIELD): that is a yield. */
        t->state = TASK_READY;
        sched_push_ready(t->sched, &t->run);
    }
}

/* For a task still live when its scheduler is freed: ends it as cancelled without running it
 * again, and detaches it from every queue and from the scheduler. */
static void task_detach(struct task *t) {
    struct sched *s = t->sched;
    struct waiter *w = &t->waiter;
    if (w->waiting) {
        w->waiting = false;
        list_remove(&t->run.node); /* its wait-queue link (waiter.h) */
        if (timerq_armed(&w->timer))
            timerq_remove(&s->timers, &w->timer);
    }
    w->undo = NULL; /* an fd watch: the loop unwatched every fd before it freed its scheduler */
    sched_unqueue(s, &t->run);
    sched_release(s);
    list_remove(&t->live);
    s->task_count--;
    t->error = -ECANCELED;
    t->state = TASK_CANCELLED;
    t->sched = NULL;
}

/* asyncio warns "Task was destroyed but it is pending!" when a pending task is collected; here
 * the scheduler's end is that moment. Each task is then ended as cancelled and detached: an
 * owner that still holds it may call task_cancel or task_dump, and neither reaches s again. */
static void end_live_tasks(struct sched *s) {
    while (!list_empty(&s->tasks)) {
        struct task *t = container_of(list_first(&s->tasks), struct task, live);
        fprintf(s->report, "loopschool: task '%s' was destroyed while still pending (%s%s%s)\n",
                t->run.name, task_state_name((enum task_state)t->state),
                t->state == TASK_WAITING ? " on " : "",
                t->state == TASK_WAITING && t->waiter.what ? t->waiter.what : "");
        task_detach(t);
    }
    fflush(s->report);
}

int task_spawn(struct sched *s, struct task *t, task_step_fn step, const char *name,
               task_done_fn on_done) {
    if (!s || !t || !step)
        return s ? sched_refuse(s, -EINVAL, "task_spawn: %s is NULL", t ? "the step" : "the task")
                 : -EINVAL;
    if (task_spawned(t) && !task_done(t))
        return sched_refuse(s, -EBUSY,
                            "task_spawn(%s): this task is still %s; spawn it again only after "
                            "it has ended (task_done), or spawn another struct task",
                            t->run.name, task_state_name((enum task_state)t->state));
    /* Every wake-up of this task pushes it without anyone to tell of a failure: its place on
     * the ready queue is reserved now, while the caller can still hear -ENOMEM. */
    int err = sched_reserve(s);
    if (err)
        return sched_refuse(s, err,
                            "task_spawn(%s): out of memory for its place on the ready "
                            "queue",
                            name ? name : "(unnamed)");
    memset(t, 0, sizeof *t);
    t->magic = TASK_MAGIC;
    runnable_init(&t->run, run_step, t, name);
    waiter_init(&t->waiter, t->run.name);
    s->resume_waiter = resume_task;
    s->end_live_tasks = end_live_tasks;
    waitq_init(&t->joiners);
    t->sched = s;
    t->step = step;
    t->on_done = on_done;
    forget_unretrieved(s, t); /* a new task at the address of an old one is a new task */
    list_push_back(&s->tasks, &t->live);
    s->task_count++;
    t->state = TASK_READY;
    return sched_push_ready(s, &t->run);
}

int task_add_done_hook(struct task *t, const struct task_done_hook *hook) {
    if (!t || !hook || !hook->fn)
        return -EINVAL;
    if (t->done_hook)
        return -EBUSY;
    t->done_hook = hook;
    return 0;
}

void task_park(struct task *t, const char *what) {
    t->waiter.waiting = true;
    t->waiter.result = 0;
    t->waiter.what = what;
    t->state = TASK_WAITING;
}

bool task_wait_on(struct task *t, struct waitq *q, const char *what) {
    waitq_add(q, &t->waiter);
    task_park(t, what);
    return true;
}

bool task_yield_begin(struct task *t) {
    t->waiter.result = 0;
    t->state = TASK_READY;
    sched_push_ready(t->sched, &t->run);
    return true;
}

bool task_shield_begin(struct task *t, struct task *other) {
    if (!other || other == t) {
        t->waiter.result = other ? -EDEADLK : -EINVAL; /* joining yourself would never end */
        return false;
    }
    if (!task_spawned(other)) {
        t->waiter.result = sched_refuse(t->sched, -EINVAL,
                                        "task '%s' joined a task that was never spawned: spawn "
                                        "it (task_spawn) before joining it",
                                        t->run.name);
        return false;
    }
    if (task_done(other)) {
        t->waiter.result = other->error;
        forget_unretrieved(t->sched, other);
        return false;
    }
    return task_wait_on(t, &other->joiners, "join");
}

bool task_join_begin(struct task *t, struct task *other) {
    if (!task_shield_begin(t, other))
        return false;
    /* The joined task, for task_cancel; no undo: its end removes t from its joiners. Both are
     * cleared when the wait ends, however it ends. */
    t->waiter.undo_arg = other;
    t->waiter.joining = true;
    return true;
}

const char *task_state_name(enum task_state state) {
    static const char *const names[] = {"created", "ready",  "running",  "waiting",
                                        "done",    "failed", "cancelled"};
    return (unsigned)state < sizeof names / sizeof names[0] ? names[state] : "corrupt";
}

void task_dump(const struct task *t, FILE *out) {
    fprintf(out, "task %-14s %-9s", t->run.name, task_state_name((enum task_state)t->state));
    if (t->state == TASK_WAITING) {
        fprintf(out, " on %s", t->waiter.what ? t->waiter.what : "?");
        if (timerq_armed(&t->waiter.timer))
            fprintf(out, " (due in %.3f ms)",
                    (double)(t->waiter.timer.deadline - t->sched->now) / 1e6);
    }
    if (task_done(t))
        fprintf(out, " error %d (%s)", t->error, t->error ? strerror(-t->error) : "none");
    else if (t->co.line)
        fprintf(out, " resumes at %s:%d", t->co.file ? t->co.file : "?", (int)t->co.line);
    else
        fprintf(out, " not started");
    fputc('\n', out);
    fflush(out);
}
