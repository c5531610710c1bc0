/* lock.c — lock and condition on wait queues (lesson 10). The lock is handed over, not just
 * freed: on release the oldest waiter becomes the owner before it even runs. If that waiter is
 * cancelled before it runs, the give-back passes the lock on to the next one. */
#include "sched/sync/lock.h"

#include <errno.h>

void lock_init(struct lock *l, const char *name) {
    l->owner = NULL;
    waitq_init(&l->waiters);
    l->name = name ? name : "lock";
}

static void hand_to_next(struct lock *l);

/* The give-back: the new owner was cancelled before it could use the lock. */
static void lock_give_back(struct waiter *w, void *arg) {
    struct lock *l = arg;
    if (l->owner == task_of_waiter(w)) {
        l->owner = NULL;
        hand_to_next(l);
    }
}

static void hand_to_next(struct lock *l) {
    if (waitq_empty(&l->waiters))
        return; /* uncontended: checked inline, no call */
    struct waiter *w = waitq_first(&l->waiters);
    l->owner = task_of_waiter(w);
    waiter_hand(w, 0, lock_give_back, l);
}

bool lock_acquire_begin(struct task *t, struct lock *l) {
    if (l->owner == t) {
        t->waiter.result = -EDEADLK;
        return false;
    }
    if (!l->owner) {
        l->owner = t;
        t->waiter.result = 0;
        return false;
    }
    return task_wait_on(t, &l->waiters, l->name);
}

int lock_try_acquire(struct lock *l, struct task *t) {
    if (!l || !t)
        return -EINVAL; /* an owner of NULL would read as "free": the lock would be lost */
    if (l->owner)
        return -EBUSY;
    l->owner = t;
    return 0;
}

int lock_release(struct lock *l, struct task *t) {
    if (!l)
        return -EINVAL;
    if (!t || l->owner != t)
        return -EPERM; /* a free lock's owner is NULL: releasing it "as NULL" is no release */
    l->owner = NULL;
    hand_to_next(l);
    return 0;
}

void lock_release_if_held(struct lock *l, struct task *t) {
    if (l && t && l->owner == t) /* NULL-safe: a cleanup may run before the frame got its lock */
        lock_release(l, t);
}

void lock_dump(const struct lock *l, FILE *out) {
    fprintf(out, "lock %s: %s%s, ", l->name, l->owner ? "held by " : "free",
            l->owner ? l->owner->run.name : "");
    waitq_dump(&l->waiters, out);
}

void condition_init(struct condition *c, struct lock *l, const char *name) {
    c->lock = l;
    waitq_init(&c->waiters);
    c->name = name ? name : "condition";
}

bool condition_wait_begin(struct task *t, struct condition *c) {
    if (c->lock->owner != t) {
        t->waiter.result = -EPERM;
        return false;
    }
    lock_release(c->lock, t);
    return task_wait_on(t, &c->waiters, c->name);
}

int condition_notify(struct condition *c, int n) {
    int moved = 0;
    struct waiter *w;
    while (moved < n && (w = waitq_first(&c->waiters)) != NULL) {
        /* Move it to the lock's queue: it stays parked until the lock is handed to it. */
        waitq_move(&c->lock->waiters, w);
        w->what = c->lock->name;
        moved++;
    }
    if (!c->lock->owner)
        hand_to_next(c->lock);
    return moved;
}

int condition_notify_all(struct condition *c) {
    return condition_notify(c, 1 << 30);
}

void condition_dump(const struct condition *c, FILE *out) {
    fprintf(out, "condition %s on lock %s: ", c->name, c->lock->name);
    waitq_dump(&c->waiters, out);
}
