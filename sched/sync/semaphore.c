/* semaphore.c — the semaphore on a wait queue (lesson 10). A permit released while tasks
 * wait goes straight to the oldest waiter; if it is cancelled before it runs, the give-back
 * releases the permit again, so no permit is lost. */
#include "sched/sync/semaphore.h"

#include <errno.h>
#include <limits.h>

int semaphore_init(struct semaphore *s, int value, int bound, const char *name) {
    if (!s || value < 0 || bound < 0 || (bound && bound < value))
        return -EINVAL;
    s->value = value;
    s->bound = bound;
    waitq_init(&s->waiters);
    s->name = name ? name : "semaphore";
    return 0;
}

bool semaphore_acquire_begin(struct task *t, struct semaphore *s) {
    if (s->value > 0) {
        s->value--;
        t->waiter.result = 0;
        return false;
    }
    return task_wait_on(t, &s->waiters, s->name);
}

int semaphore_try_acquire(struct semaphore *s) {
    if (!s)
        return -EINVAL;
    if (s->value == 0)
        return -EAGAIN;
    s->value--;
    return 0;
}

static void semaphore_give_back(struct waiter *w, void *arg) {
    (void)w;
    semaphore_release(arg);
}

int semaphore_release(struct semaphore *s) {
    if (!s)
        return -EINVAL;
    struct waiter *w = waitq_first(&s->waiters);
    if (w) {
        waiter_hand(w, 0, semaphore_give_back, s); /* the permit goes to w, value unchanged */
        return 0;
    }
    if ((s->bound && s->value >= s->bound) || s->value == INT_MAX)
        return -EOVERFLOW; /* released more often than acquired (or the count would overflow) */
    s->value++;
    return 0;
}

void semaphore_dump(const struct semaphore *s, FILE *out) {
    fprintf(out, "semaphore %s: %d free", s->name, s->value);
    if (s->bound)
        fprintf(out, " of %d", s->bound);
    fprintf(out, ", ");
    waitq_dump(&s->waiters, out);
}
