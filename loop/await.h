/* await.h — what a task can await that needs the loop's clock or its backend (lesson 08): a
 * sleep, an fd becoming readable or writable, and running the loop until a task is complete.
 * The awaits that need neither (yield, join, and lesson 10's locks and queues) are in sched/. */
#ifndef LOOPSCHOOL_AWAIT_H
#define LOOPSCHOOL_AWAIT_H

#include "loop/loop.h"
#include "sched/task/task.h"
#include "sched/task/taskset.h"

/* Spawns t on the loop's scheduler: task_spawn(loop_sched(loop), ...). */
int loop_spawn(struct loop *loop, struct task *t, task_step_fn step, const char *name,
               task_done_fn on_done);

/* Sleep for ns (a negative ns counts as 0: the task still yields), or until an absolute deadline
 * on the loop's clock. The result is 0. asyncio differs: the sleeping task runs in the very
 * tick its timer fires here; asyncio's timer resolves a future whose callback, the task's
 * wake-up, goes through call_soon: it runs one iteration later. The order is the same. */
#define LOOP_SLEEP(t, ns)             TASK_AWAIT(t, loop_sleep_begin((t), (ns)))
#define LOOP_SLEEP_UNTIL(t, deadline) TASK_AWAIT(t, loop_sleep_until_begin((t), (deadline)))
/* The _CATCH variants hand -ECANCELED to the body instead of leaving it (see TASK_AWAIT). */
#define LOOP_SLEEP_CATCH(t, ns) TASK_AWAIT_CATCH(t, loop_sleep_begin((t), (ns)))
#define LOOP_SLEEP_UNTIL_CATCH(t, deadline)                                                        \
    TASK_AWAIT_CATCH(t, loop_sleep_until_begin((t), (deadline)))

/* An fd wait needs a watcher, which the frame owns (the library allocates nothing per task). */
struct loop_fd_wait {
    struct loop_watcher watcher;
    struct task *task;
};

/* Wait until fd is readable / writable. The result is the ready bits (LOOP_READABLE, ...: a
 * positive number), or a negative errno if the fd cannot be watched (e.g. -EBADF). */
#define LOOP_WAIT_READABLE(t, fdwait, fd)                                                          \
    TASK_AWAIT(t, loop_fd_wait_begin((t), (fdwait), (fd), LOOP_READABLE))
#define LOOP_WAIT_WRITABLE(t, fdwait, fd)                                                          \
    TASK_AWAIT(t, loop_fd_wait_begin((t), (fdwait), (fd), LOOP_WRITABLE))
#define LOOP_WAIT_READABLE_CATCH(t, fdwait, fd)                                                    \
    TASK_AWAIT_CATCH(t, loop_fd_wait_begin((t), (fdwait), (fd), LOOP_READABLE))
#define LOOP_WAIT_WRITABLE_CATCH(t, fdwait, fd)                                                    \
    TASK_AWAIT_CATCH(t, loop_fd_wait_begin((t), (fdwait), (fd), LOOP_WRITABLE))

bool loop_sleep_begin(struct task *t, int64_t ns);
bool loop_sleep_until_begin(struct task *t, int64_t deadline);
bool loop_fd_wait_begin(struct task *t, struct loop_fd_wait *fw, int fd, unsigned interest);

/* asyncio.wait_for: wait for every member of s (a set of one: task_set_add the awaited task)
 * for at most ns (evaluated twice: pass a plain value). When the time is up the members are
 * cancelled and awaited; ns <= 0 cancels a member still running at once, before it starts if it
 * has not. The result then follows what the member did, as in asyncio 3.11: -ETIMEDOUT if it
 * ended cancelled, 0 if it caught the cancel and returned, its error if it failed while being
 * cancelled (task_set_timed_out). -ETIMEDOUT is distinct from -ECANCELED (the waiter itself
 * was cancelled). */
#define LOOP_WAIT_FOR(t, s, ns)                                                                    \
    do {                                                                                           \
        if ((ns) <= 0)                                                                             \
            task_set_expire(s);                                                                    \
        TASK_SET_WAIT(t, s, TASK_SET_ALL, loop_deadline_after(task_loop(t), (ns)));                \
    } while (0)

/* ---- asyncio.timeout(): a deadline on a block of awaits ----------------------------------------
 *   loop_timeout_enter(t, &f->budget, 50 * MS);   // async with asyncio.timeout(0.05):
 *   LOCK_ACQUIRE(t, &f->lock);
 *   if (task_result(t) == 0) {
 *       LOOP_SLEEP(t, 20 * MS);                   //     ... every await in the block
 *       lock_release(&f->lock, t);
 *   }
 *   f->err = loop_timeout_exit(&f->budget);       // -ETIMEDOUT if the deadline cut it short
 *   ...
 *   CORO_CLEANUP(&t->co);
 *   loop_timeout_exit(&f->budget);                // a cancel may leave the block: exit here too
 * When the deadline passes, the await in progress ends with -ETIMEDOUT (a task set's wait
 * treats it as its own deadline: it cancels and awaits its members); if the task is ready, its
 * next await ends so without waiting. It is delivered once, as asyncio's timeout() cancels
 * once: the block tests its awaits' results, as C code tests every call, and leaves. Exit
 * disarms the deadline and withdraws it if no await met it yet (asyncio would still cancel
 * the next await after the block). asyncio differs: there the deadline is a CancelledError
 * that unwinds the block by itself and becomes TimeoutError at its exit; here it is the
 * result of one await, and the block's code passes it on. A join in progress is left at once
 * and the joined task runs on (asyncio cancels it and waits): cancel it yourself if needed.
 * A scope whose deadline is not in the future times out at its first await. */
struct loop_timeout {
    struct loop_timer timer;
    struct task *task; /* NULL once exited */
    bool expired;      /* the deadline passed while the block ran */
};

/* Arms the deadline ns from now (or at an absolute deadline) for t's block. The scope starts
 * zeroed ({0}) or exited. 0, -EINVAL for NULL, -EBUSY if it is still entered (the frame's
 * memory was not zeroed, or the block was entered twice), -ENOMEM if its timer cannot be
 * armed. */
int loop_timeout_enter(struct task *t, struct loop_timeout *scope, int64_t ns);
int loop_timeout_enter_at(struct task *t, struct loop_timeout *scope, int64_t deadline);
/* Leaves the block: -ETIMEDOUT if its deadline passed, else 0. Calling it again (from the
 * cleanup) is harmless and answers the same. */
int loop_timeout_exit(struct loop_timeout *scope);
static inline bool loop_timeout_expired(const struct loop_timeout *scope) {
    return scope->expired;
}

/* Runs ticks until t has ended, and returns its error (0 if it succeeded). t must outlive the
 * call (its on_done must not free it). -EDEADLK if the loop runs out of work first: t waits for
 * something nothing can wake. */
int loop_run_until_complete(struct loop *loop, struct task *t);

#endif
