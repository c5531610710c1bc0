/* loop.c — lesson 17 (whiteboard-loop): the whole loop, in the order to write it on a
 * whiteboard: the clock, the ready queue, the timer heap, the awaits, then the tick's four boxes.
 * libc only. Each part has its full-size twin in the library, named in the lesson's README. */
#include "loop.h"

#include <errno.h>
#include <limits.h>
#include <time.h>

/* ---- the clock ------------------------------------------------------------------------------- */

void wb_loop_init(struct wb_loop *l, bool virtual_time) {
    *l = (struct wb_loop){.virtual_time = virtual_time};
    wb_now(l);
}

/* Virtual time is a number that only box 2 moves; real time is read each time it is asked. */
int64_t wb_now(struct wb_loop *l) {
    struct timespec ts;
    if (!l->virtual_time && clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
        l->now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    return l->now;
}

/* ---- the ready queue: FIFO, intrusive, O(1) at both ends ------------------------------------- */

static void wb_make_ready(struct wb_loop *l, struct wb_task *t) {
    t->next = NULL;
    if (l->ready_tail)
        l->ready_tail->next = t;
    else
        l->ready_head = t;
    l->ready_tail = t;
    l->ready_count++;
}

static struct wb_task *wb_pop_ready(struct wb_loop *l) {
    struct wb_task *t = l->ready_head;
    l->ready_head = t->next;
    if (!l->ready_head)
        l->ready_tail = NULL;
    l->ready_count--;
    return t;
}

int wb_spawn(struct wb_loop *l, struct wb_task *t, wb_step_fn step, const char *name) {
    if (!step)
        return -EINVAL;
    if (t->loop && !t->done)
        return -EBUSY;
    if (l->live_tasks == WB_MAX_TASKS)
        return -ENOSPC;
    *t = (struct wb_task){.name = name, .step = step, .loop = l};
    l->live_tasks++;
    wb_make_ready(l, t); /* asyncio's create_task: the first step runs in the next batch */
    return 0;
}

/* ---- the timer heap: earliest (deadline, seq) at timers[0], children of i at 2i+1, 2i+2 ------ */

static bool wb_earlier(const struct wb_task *a, const struct wb_task *b) {
    return a->deadline != b->deadline ? a->deadline < b->deadline : a->seq < b->seq;
}

static void wb_heap_push(struct wb_loop *l, struct wb_task *t) {
    size_t i = l->timer_count++;
    for (; i > 0 && wb_earlier(t, l->timers[(i - 1) / 2]); i = (i - 1) / 2)
        l->timers[i] = l->timers[(i - 1) / 2]; /* sift up: move the later parent down */
    l->timers[i] = t;
}

static struct wb_task *wb_heap_pop(struct wb_loop *l) {
    struct wb_task *top = l->timers[0], *last = l->timers[--l->timer_count];
    size_t i = 0, child;
    while ((child = 2 * i + 1) < l->timer_count) { /* sift the last one down from the root */
        if (child + 1 < l->timer_count && wb_earlier(l->timers[child + 1], l->timers[child]))
            child++;
        if (!wb_earlier(l->timers[child], last))
            break;
        l->timers[i] = l->timers[child];
        i = child;
    }
    l->timers[i] = last;
    return top;
}

/* ---- the awaits: register and park (true), or finish at once with a result (false) ----------- */

static bool wb_finish_now(struct wb_task *t, int result) {
    t->result = result;
    return false;
}

bool wb_sleep(struct wb_task *t, int64_t ns) {
    ns = ns < 0 ? 0 : ns > INT64_MAX / 4 ? INT64_MAX / 4 : ns; /* no wrap-around */
    t->deadline = wb_now(t->loop) + ns;
    t->seq = t->loop->next_seq++;
    t->result = 0;
    wb_heap_push(t->loop, t);
    return true;
}

bool wb_wait_fd(struct wb_task *t, int fd, short events) {
    struct wb_loop *l = t->loop;
    if (fd < 0)
        return wb_finish_now(t, -EBADF);
    l->fds[l->fd_count] = (struct pollfd){.fd = fd, .events = events};
    l->fd_tasks[l->fd_count++] = t;
    return true;
}

bool wb_join(struct wb_task *t, struct wb_task *other) {
    if (!other->loop)
        return wb_finish_now(t, -EINVAL); /* never spawned */
    if (other == t)
        return wb_finish_now(t, -EDEADLK);
    if (other->done)
        return wb_finish_now(t, 0);
    if (other->joiner)
        return wb_finish_now(t, -EBUSY); /* one joiner each: a whiteboard-size rule */
    other->joiner = t;
    t->result = 0;
    return true;
}

/* ---- one tick, four boxes -------------------------------------------------------------------- */

/* Box 1: don't wait if anything is ready; else until the earliest timer, rounded UP to poll's
 * milliseconds (rounding down wakes early and spins on 0 ms waits); else block (-1). */
int wb_timeout_ms(struct wb_loop *l) {
    if (l->ready_count)
        return 0;
    if (!l->timer_count)
        return -1;
    int64_t ns = l->timers[0]->deadline - wb_now(l);
    int64_t ms = ns <= 0 ? 0 : (ns + WB_MS - 1) / WB_MS;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Box 2: ask the kernel which fds are ready, waiting at most timeout_ms. On virtual time poll
 * only looks, and if nothing is ready the clock jumps by what poll would have slept. */
int wb_poll(struct wb_loop *l, int timeout_ms) {
    l->last_timeout_ms = timeout_ms;
    int n = poll(l->fds, (nfds_t)l->fd_count, l->virtual_time ? 0 : timeout_ms);
    if (n < 0 && errno != EINTR)
        return -errno;
    if (l->virtual_time && n <= 0 && timeout_ms > 0)
        l->now += timeout_ms * WB_MS;
    return n < 0 ? 0 : n;
}

/* Box 3: tasks whose fd is ready, then tasks whose deadline has passed, join the ready queue. */
void wb_wake(struct wb_loop *l) {
    size_t kept = 0;
    for (size_t i = 0; i < l->fd_count; i++) {
        if (l->fds[i].revents) {
            l->fd_tasks[i]->result = l->fds[i].revents; /* POLLHUP and POLLERR wake it too */
            wb_make_ready(l, l->fd_tasks[i]);
        } else {
            l->fds[kept] = l->fds[i];
            l->fd_tasks[kept++] = l->fd_tasks[i];
        }
    }
    l->fd_count = kept;
    int64_t now = wb_now(l);
    while (l->timer_count && l->timers[0]->deadline <= now)
        wb_make_ready(l, wb_heap_pop(l));
}

/* Box 4: run N tasks, N fixed as the batch begins. What this batch makes ready (a spawn, a
 * yield, a joiner woken) waits for the next tick, as in asyncio: a busy task never starves I/O. */
void wb_run_batch(struct wb_loop *l) {
    for (size_t n = l->ready_count; n > 0; n--) {
        struct wb_task *t = wb_pop_ready(l);
        enum wb_status status = t->step(t);
        if (status == WB_YIELDED)
            wb_make_ready(l, t);
        if (status != WB_DONE)
            continue;
        t->done = true;
        l->live_tasks--;
        if (t->joiner)
            wb_make_ready(l, t->joiner);
    }
}

int wb_run_once(struct wb_loop *l) {
    l->ticks++;
    int rc = wb_poll(l, wb_timeout_ms(l));
    if (rc < 0)
        return rc;
    wb_wake(l);
    wb_run_batch(l);
    return 0;
}

/* Until nothing can ever run again: no task ready, asleep, or waiting for an fd. */
int wb_run(struct wb_loop *l) {
    while (l->ready_count || l->timer_count || l->fd_count) {
        int rc = wb_run_once(l);
        if (rc < 0)
            return rc;
    }
    return 0;
}
