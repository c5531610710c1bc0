/* taskset.c — gather, task groups, wait-first and wait_for, on one small state machine (lesson
 * 11). The waiting task loops: wait for any member to end (or the deadline), then look at the
 * set. A failure in a group, the deadline or a cancel of the waiter turns the set to
 * "cancelling": every member still running is cancelled, and the wait goes on until all ended. */
#include "sched/task/taskset.h"

#include <errno.h>

static void member_ended(struct task *member, const struct task_done_hook *hook);

/* A failure is an end with an error other than a cancel (asyncio: an exception, not
 * CancelledError). */
static bool is_failure(int error) {
    return error != 0 && error != -ECANCELED;
}

int task_set_init(struct task_set *s, struct task **storage, size_t capacity,
                  bool cancel_on_failure) {
    if (!s || (!storage && capacity))
        return -EINVAL;
    *s = (struct task_set){
        .members = storage, .capacity = capacity, .cancel_on_failure = cancel_on_failure};
    waitq_init(&s->waiters);
    s->member_ended.fn = member_ended;
    list_init(&s->scope.node);
    return 0;
}

/* What the owner ends with: a body the group cancelled, or one that never waited to see the
 * members end, reports the group's first failure. */
static int group_result(const struct task_set *s, int owner_error) {
    if (s->seen || s->first_failure == 0)
        return owner_error;
    return owner_error == 0 || (owner_error == -ECANCELED && s->cancelled_owner) ? s->first_failure
                                                                                 : owner_error;
}

/* The scope's exit: the owner's body is over. Hold its end while members run. */
static bool group_exit(struct task_scope *scope) {
    struct task_set *s = container_of(scope, struct task_set, scope);
    struct task *owner = scope->owner;
    if (s->ended == s->count) {
        owner->error = group_result(s, owner->error);
        return false;
    }
    if (owner->error != 0)
        task_set_cancel_all(s); /* the body failed or was cancelled: so are the members */
    s->holding = true;
    return true;
}

int task_group_enter(struct task *t, struct task_set *s) {
    if (!t || !s || !s->cancel_on_failure)
        return -EINVAL;
    if (s->scope.owner)
        return -EBUSY;
    return task_scope_open(t, &s->scope, group_exit);
}

/* The owner is in its body: not in a wait on the set, and its body not over. */
static bool owner_in_body(const struct task_set *s) {
    return s->scope.owner && list_linked(&s->scope.node) && !s->in_wait;
}

static int add_member(struct task_set *s, struct task *t) {
    if (s->count == s->capacity)
        return -ENOSPC;
    int err = task_add_done_hook(t, &s->member_ended); /* -EBUSY: in a set already */
    if (err)
        return err;
    s->members[s->count++] = t;
    return 0;
}

int task_set_spawn(struct task_set *s, struct sched *sched, struct task *t, task_step_fn step,
                   const char *name, task_done_fn on_done) {
    if (!s)
        return -EINVAL;
    if (s->count == s->capacity)
        return -ENOSPC;
    int err = task_spawn(sched, t, step, name, on_done);
    return err ? err : add_member(s, t);
}

int task_set_add(struct task_set *s, struct task *t) {
    if (!s || !t)
        return -EINVAL;
    if (t->done_hook)
        return -EBUSY;
    int err = add_member(s, t);
    if (err == 0 && task_done(t))
        s->member_ended.fn(t, &s->member_ended); /* ended before it joined: no hook will run */
    return err;
}

void task_set_cancel_all(struct task_set *s) {
    s->cancelling = true;
    for (size_t i = 0; i < s->count; i++)
        task_cancel(s->members[i]); /* -EALREADY for those that ended: harmless */
}

/* The done hook of every member: count it, and a group's first failure cancels the rest. */
static void member_ended(struct task *member, const struct task_done_hook *hook) {
    struct task_set *s = container_of(hook, struct task_set, member_ended);
    s->ended++;
    if (!s->first_ended)
        s->first_ended = member;
    if (member->error != 0 && s->first_error == 0)
        s->first_error = member->error;
    if (is_failure(member->error) && s->first_failure == 0) {
        s->first_failure = member->error;
        if (s->cancel_on_failure) {
            s->outcome = member->error; /* the group reports its first failure */
            task_set_cancel_all(s);
            if (owner_in_body(s) && task_cancel(s->scope.owner) == 0)
                s->cancelled_owner = true; /* its body leaves at its next await */
        }
    }
    waitq_wake_all(&s->waiters, 0); /* the waiter looks at the set again */
    if (s->holding && s->ended == s->count) {
        s->holding = false; /* last: the owner's end may free the frame holding the set */
        task_scope_release(&s->scope, group_result(s, s->scope.owner->error));
    }
}

void task_set_expire(struct task_set *s) {
    if (s->ended == s->count || s->cancelling)
        return;
    s->outcome = -ETIMEDOUT;
    task_set_cancel_all(s);
}

void task_set_wait_start(struct task_set *s, enum task_set_until until, int64_t deadline) {
    s->deadline = deadline;
    s->until = (unsigned char)until;
    s->in_wait = true;
    if (!s->cancelling)
        s->outcome = s->cancel_on_failure ? s->first_failure : 0;
}

bool task_set_keep_waiting(const struct task_set *s) {
    if (s->cancelling || s->until == TASK_SET_ALL)
        return s->ended < s->count;
    if (s->until == TASK_SET_FIRST)
        return s->first_ended == NULL && s->count > 0;
    return s->ended < s->count && s->first_error == 0; /* TASK_SET_FIRST_ERROR */
}

bool task_set_wait_begin(struct task *t, struct task_set *s) {
    if (s->deadline >= 0 && !s->cancelling) {
        int err = waiter_arm_timer(&t->waiter, s->deadline, true);
        if (err) {
            t->waiter.result = err;
            return false;
        }
    }
    return task_wait_on(t, &s->waiters, "task set");
}

void task_set_woken(struct task *t, struct task_set *s) {
    int result = task_result(t);
    if (result >= 0)
        return; /* a member ended: the loop looks at the set again */
    /* The deadline passed (-ETIMEDOUT), the waiter itself was cancelled, or its deadline could
     * not be armed (-ENOMEM: treated as a timeout, else the wait would retry forever without
     * suspending). A cancel of the waiter wins even if the set is already cancelling (after a
     * failure or a timeout): the catching await spent it, so it must not be forgotten here. */
    if (result == -ECANCELED || !s->cancelling)
        s->outcome = result;
    if (!s->cancelling)
        task_set_cancel_all(s);
}

int task_set_timed_out(const struct task_set *s) {
    bool cancelled = false;
    for (size_t i = 0; i < s->count; i++) {
        int err = s->members[i]->error;
        if (is_failure(err))
            return err;
        cancelled |= err == -ECANCELED;
    }
    return cancelled ? -ETIMEDOUT : 0;
}

size_t task_set_failures(const struct task_set *s) {
    size_t n = 0;
    for (size_t i = 0; i < s->count; i++)
        n += task_done(s->members[i]) && is_failure(s->members[i]->error);
    return n;
}

int task_set_finish_wait(struct task *t, struct task_set *s) {
    s->in_wait = false;
    s->seen |= s->ended == s->count;
    if (s->outcome == -ETIMEDOUT)
        s->outcome = task_set_timed_out(s); /* the members' ends decide, as in asyncio */
    else if (s->until == TASK_SET_FIRST_ERROR && !s->cancelling)
        s->outcome = s->first_error;
    t->waiter.result = s->outcome;
    return s->outcome;
}

void task_set_dump(const struct task_set *s, FILE *out) {
    fprintf(out, "task set: %zu member%s, %zu ended%s%s, first failure %d; waiting: ", s->count,
            s->count == 1 ? "" : "s", s->ended, s->cancel_on_failure ? ", a group" : "",
            s->cancelling ? ", cancelling" : "", s->first_failure);
    waitq_dump(&s->waiters, out);
    for (size_t i = 0; i < s->count; i++) {
        fprintf(out, "  ");
        task_dump(s->members[i], out);
    }
    fflush(out);
}
