/* scope.c — the scopes a task has open (lesson 11: a task group entered with task_group_enter).
 * When the body is over, each scope exits first, and one may hold the task's end until it
 * releases it. The scopes live in the scheduler's list, not in the task: a task costs no more. */
#include <errno.h>

#include "sched/task/task.h"

/* The owner's first open scope, taken out of the list, or NULL. */
static struct task_scope *take_scope(struct sched *s, const struct task *t) {
    list_for_each(it, &s->scopes) {
        struct task_scope *scope = container_of(it, struct task_scope, node);
        if (scope->owner == t) {
            list_remove(&scope->node);
            return scope;
        }
    }
    return NULL;
}

bool task__scopes_hold_end(struct task *t) {
    struct task_scope *scope;
    while ((scope = take_scope(t->sched, t)) != NULL) {
        if (scope->exit(scope)) {
            t->state = TASK_WAITING; /* neither ready nor ended: task_cancel does nothing */
            t->waiter.what = "scope exit";
            return true;
        }
    }
    return false;
}

int task_scope_open(struct task *t, struct task_scope *scope,
                    bool (*exit)(struct task_scope *scope)) {
    if (!t || !scope || !exit || !task_spawned(t))
        return -EINVAL; /* never spawned: it has no scheduler to keep the scope */
    if (task_done(t) || coro_is_done(&t->co))
        return -EALREADY;
    scope->owner = t;
    scope->exit = exit;
    list_push_back(&t->sched->scopes, &scope->node);
    return 0;
}

void task_scope_close(struct task_scope *scope) {
    list_remove(&scope->node); /* harmless when it is not open: an unlinked node is its own */
}

void task_scope_release(struct task_scope *scope, int error) {
    struct task *t = scope->owner;
    /* Not ended here: the caller may be a member's done hook, and the owner's on_done may
     * free a frame that holds that member. The owner's next step (its coroutine is over, so
     * the step only says so) comes back through finish, which reads the error from here. */
    t->co.error = (int16_t)(error == 0 || (error < 0 && error >= INT16_MIN) ? error : -EINVAL);
    t->state = TASK_READY;
    t->waiter.what = NULL;
    sched_push_ready(t->sched, &t->run);
}
