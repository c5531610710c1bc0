/* waiter.c — waking, written once (lesson 08). Whatever ends a wait — a timer, an fd, a task
 * that ends, a lock released, a cancel — calls waiter_wake, and waiter_wake undoes every
 * registration of that wait, so the other wake sources find nothing left to do. */
#include "sched/task/waiter.h"

#include <errno.h>

#include "sched/task/sched.h"

/* A waiter's link in a wait queue: its task's ready-queue link, which is idle while it waits. */
static struct list_node *queue_link(struct waiter *w) {
    return &task_of_waiter(w)->run.node;
}

static struct waiter *waiter_of_link(const struct list_node *n) {
    return &container_of(n, struct task, run.node)->waiter;
}

void waiter_init(struct waiter *w, const char *name) {
    timerq_entry_init(&w->timer, NULL, name); /* on_due: set when armed */
    w->undo = NULL;
    w->undo_arg = NULL;
    w->what = NULL;
    w->result = 0;
    w->waiting = false;
    w->joining = false;
}

void waiter_wake(struct waiter *w, int result) {
    if (!w->waiting)
        return; /* woken already (or never waiting): the second waker is harmless */
    w->waiting = false;
    w->joining = false;
    w->result = result;
    struct sched *s = task_of_waiter(w)->sched;
    list_remove(queue_link(w)); /* out of any wait queue (run_step unlinked it for a sleep) */
    if (timerq_armed(&w->timer))
        timerq_remove(&s->timers, &w->timer); /* a timeout that will not fire now */
    if (w->undo) {
        void (*undo)(struct waiter *, void *) = w->undo;
        w->undo = NULL;
        undo(w, w->undo_arg); /* an fd watch, undone by the loop */
    }
    s->resume_waiter(w); /* the task layer's: it puts the task back on the ready queue */
}

static void timer_sleep_over(struct timerq_entry *e, void *sched) {
    (void)sched;
    waiter_wake(container_of(e, struct waiter, timer), 0);
}

static void timer_timed_out(struct timerq_entry *e, void *sched) {
    (void)sched;
    waiter_wake(container_of(e, struct waiter, timer), -ETIMEDOUT);
}

int waiter_arm_timer(struct waiter *w, int64_t deadline, bool is_timeout) {
    w->timer.on_due = is_timeout ? timer_timed_out : timer_sleep_over;
    return timerq_add(&task_of_waiter(w)->sched->timers, &w->timer, deadline);
}

void waiter_hand(struct waiter *w, int result, void (*give_back)(struct waiter *w, void *arg),
                 void *arg) {
    if (!w->waiting)
        return; /* nothing can be handed to a task that is not waiting for it */
    waiter_wake(w, result);
    w->undo = give_back;
    w->undo_arg = arg;
}

void waitq_add(struct waitq *q, struct waiter *w) {
    list_push_back(&q->waiters, queue_link(w));
}

void waitq_move(struct waitq *q, struct waiter *w) {
    list_remove(queue_link(w));
    list_push_back(&q->waiters, queue_link(w));
}

struct waiter *waitq_first(const struct waitq *q) {
    struct list_node *n = list_first(&q->waiters);
    return n ? waiter_of_link(n) : NULL;
}

bool waitq_wake_one(struct waitq *q, int result) {
    struct waiter *w = waitq_first(q);
    if (w)
        waiter_wake(w, result);
    return w != NULL;
}

int waitq_wake_all(struct waitq *q, int result) {
    int n = 0;
    while (waitq_wake_one(q, result))
        n++;
    return n;
}

void waitq_dump(const struct waitq *q, FILE *out) {
    size_t n = list_length(&q->waiters);
    fprintf(out, "%zu waiter%s", n, n == 1 ? "" : "s");
    const char *sep = ": ";
    list_for_each(it, &q->waiters) {
        const struct waiter *w = waiter_of_link(it);
        fprintf(out, "%s%s", sep, w->timer.name); /* the timer carries its task's name */
        sep = ", ";
    }
    fputc('\n', out);
    fflush(out);
}
