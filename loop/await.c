/* await.c — the awaits that need the loop: sleeping on the timer queue and waiting for an fd
 * (lesson 08). Each registers the task's waiter where the wake will come from, and leaves an
 * undo so that whichever wake comes first undoes the others. */
#include "loop/await.h"

#include <errno.h>

#include "loop/loop_internal.h"

int loop_spawn(struct loop *loop, struct task *t, task_step_fn step, const char *name,
               task_done_fn on_done) {
    if (!loop)
        return -EINVAL;
    LOOP_CHECK_THREAD(loop, "loop_spawn");
    return task_spawn(&loop->sched, t, step, name, on_done);
}

bool loop_sleep_until_begin(struct task *t, int64_t deadline) {
    int err = waiter_arm_timer(&t->waiter, deadline, false);
    if (err) {
        t->waiter.result = err;
        return false;
    }
    task_park(t, "sleep");
    return true;
}

bool loop_sleep_begin(struct task *t, int64_t ns) {
    return loop_sleep_until_begin(t, loop_deadline_after(task_loop(t), ns));
}

/* The watcher's callback: the fd is ready, so the wait is over. */
static void fd_ready(struct loop_watcher *w, unsigned ready) {
    struct loop_fd_wait *fw = container_of(w, struct loop_fd_wait, watcher);
    waiter_wake(&fw->task->waiter, (int)ready);
}

/* The waiter's undo: woken by anything (the fd, a cancel, a timeout), stop watching the fd. */
static void fd_unwatch(struct waiter *w, void *arg) {
    (void)w;
    struct loop_fd_wait *fw = arg;
    if (fw->watcher.loop)
        loop_unwatch(fw->watcher.loop, &fw->watcher);
}

bool loop_fd_wait_begin(struct task *t, struct loop_fd_wait *fw, int fd, unsigned interest) {
    loop_watcher_init(&fw->watcher, t->run.name);
    fw->task = t;
    int err = loop_watch_fd(task_loop(t), &fw->watcher, fd, interest, fd_ready, fw);
    if (err) {
        t->waiter.result = err;
        return false;
    }
    t->waiter.undo = fd_unwatch;
    t->waiter.undo_arg = fw;
    task_park(t, interest & LOOP_WRITABLE ? "fd writable" : "fd readable");
    return true;
}

/* The scope's timer: its deadline passed while the block ran. */
static void timeout_due(struct loop_timer *timer) {
    struct loop_timeout *scope = container_of(timer, struct loop_timeout, timer);
    scope->expired = true;
    task_time_out(scope->task);
}

int loop_timeout_enter_at(struct task *t, struct loop_timeout *scope, int64_t deadline) {
    if (!t || !scope)
        return -EINVAL;
    if (scope->task)
        return -EBUSY; /* entered and not exited: its timer may be armed */
    *scope = (struct loop_timeout){.task = t};
    loop_timer_init(&scope->timer, t->run.name);
    return loop_timer_start_at(task_loop(t), &scope->timer, deadline, timeout_due, NULL);
}

int loop_timeout_enter(struct task *t, struct loop_timeout *scope, int64_t ns) {
    if (!t)
        return -EINVAL;
    return loop_timeout_enter_at(t, scope, loop_deadline_after(task_loop(t), ns));
}

int loop_timeout_exit(struct loop_timeout *scope) {
    if (scope->task) {
        loop_timer_stop(task_loop(scope->task), &scope->timer);
        task_time_out_withdraw(scope->task);
        scope->task = NULL;
    }
    return scope->expired ? -ETIMEDOUT : 0;
}

int loop_run_until_complete(struct loop *loop, struct task *t) {
    int err = loop_may_run(loop, "loop_run_until_complete");
    if (err)
        return err;
    while (!task_done(t)) {
        if (!loop_alive(loop)) {
            loop_set_error(loop, "task '%s' waits for something nothing can wake (%s)", t->run.name,
                           t->waiter.what ? t->waiter.what : "?");
            return -EDEADLK;
        }
        err = loop_run_once(loop);
        if (err)
            return err;
        if (loop->stop_requested && !task_done(t)) {
            /* asyncio: "Event loop stopped before Future completed." The stop is spent. */
            loop->stop_requested = false;
            loop_set_error(loop,
                           "loop_run_until_complete: the loop was stopped (loop_stop) "
                           "before task '%s' completed; it is still %s",
                           t->run.name, task_state_name((enum task_state)t->state));
            return -EINTR;
        }
    }
    loop->stop_requested = false;
    return t->error;
}
