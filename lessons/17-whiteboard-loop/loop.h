/* loop.h — lesson 17 (whiteboard-loop): the whole event loop and task scheduler, in one header and
 * one file a candidate can write in an interview. libc only: nothing from the library. The tick is
 * four boxes (timeout, poll, wake, batch); a task is a coroutine on Duff's device whose state lives
 * in its own frame; the loop can run on a virtual clock so tests read timeouts, never real time. */
#ifndef LOOPSCHOOL_WHITEBOARD_LOOP_H
#define LOOPSCHOOL_WHITEBOARD_LOOP_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WB_MS INT64_C(1000000)

/* What a step tells the loop when it returns. */
enum wb_status {
    WB_WAITING, /* parked in an await: a timer, an fd or a join will put it back */
    WB_YIELDED, /* wants to run again: back of the ready queue, so in the next tick */
    WB_DONE,    /* ran off its end */
};

struct wb_task;
typedef enum wb_status (*wb_step_fn)(struct wb_task *t);

/* A task is the first member of its caller-owned frame: everything that must survive a
 * suspension lives in that frame, because the step's C locals do not. */
struct wb_task {
    const char *name;
    wb_step_fn step;
    struct wb_loop *loop;
    int line;               /* Duff's device: the __LINE__ to resume after; 0 = not started */
    int result;             /* what the last await gave: poll revents, 0, or a negative errno */
    bool done;              /* ran off its end; a joiner may now read its frame */
    struct wb_task *next;   /* the ready queue's link */
    struct wb_task *joiner; /* the one task waiting in wb_join for this one */
    int64_t deadline;       /* while asleep: when to wake, in ns of the loop's clock */
    uint64_t seq;           /* while asleep: breaks deadline ties, first started first */
};

/* Fixed arrays, checked when a task is spawned: a task waits for one thing at a time, so no
 * array can overflow later, inside a tick (waking never fails). */
enum { WB_MAX_TASKS = 256 };

struct wb_loop {
    struct wb_task *ready_head, *ready_tail; /* FIFO, linked through the tasks */
    size_t ready_count;
    struct wb_task *timers[WB_MAX_TASKS]; /* a binary min-heap on (deadline, seq) */
    size_t timer_count;
    uint64_t next_seq;
    struct pollfd fds[WB_MAX_TASKS]; /* what poll() watches, and the task behind each */
    struct wb_task *fd_tasks[WB_MAX_TASKS];
    size_t fd_count;
    size_t live_tasks;   /* spawned and not done */
    uint64_t ticks;      /* ticks begun: the first is tick 1 */
    int last_timeout_ms; /* what the last box 1 computed: tests read it instead of a stopwatch */
    bool virtual_time;   /* poll only looks (timeout 0), then the clock jumps by the timeout */
    int64_t now;         /* the clock: virtual, or the last reading of CLOCK_MONOTONIC */
};

void wb_loop_init(struct wb_loop *l, bool virtual_time);
int64_t wb_now(struct wb_loop *l);
/* 0, -EINVAL (no step), -EBUSY (the task is alive), -ENOSPC (WB_MAX_TASKS are alive). */
int wb_spawn(struct wb_loop *l, struct wb_task *t, wb_step_fn step, const char *name);

/* The awaits. Each returns true if the task must park; false if it completed at once, with its
 * outcome in t->result. Use them inside WB_AWAIT. */
bool wb_sleep(struct wb_task *t, int64_t ns);
bool wb_wait_fd(struct wb_task *t, int fd, short events); /* POLLIN or POLLOUT; -EBADF if fd<0 */
bool wb_join(struct wb_task *t, struct wb_task *other);   /* -EINVAL, -EDEADLK, -EBUSY: misuse */

/* One tick, the four boxes; wb_run ticks until nothing is ready, asleep or watched. */
int wb_timeout_ms(struct wb_loop *l);
int wb_poll(struct wb_loop *l, int timeout_ms);
void wb_wake(struct wb_loop *l);
void wb_run_batch(struct wb_loop *l);
int wb_run_once(struct wb_loop *l);
int wb_run(struct wb_loop *l);

/* The coroutine, on Duff's device: a switch on the saved line jumps back into the body. One
 * suspension per line (the line is its name); no switch of your own around a suspension. */
#define WB_BEGIN(t)                                                                                \
    switch ((t)->line) {                                                                           \
    case 0:
#define WB_SUSPEND(t, status)                                                                      \
    do {                                                                                           \
        (t)->line = __LINE__;                                                                      \
        return (status);                                                                           \
    case __LINE__:;                                                                                \
    } while (0)
#define WB_YIELD(t) WB_SUSPEND(t, WB_YIELDED)
#define WB_AWAIT(t, parks)                                                                         \
    do {                                                                                           \
        if (parks)                                                                                 \
            WB_SUSPEND(t, WB_WAITING);                                                             \
    } while (0)
#define WB_END(t)                                                                                  \
    }                                                                                              \
    return WB_DONE

#endif
