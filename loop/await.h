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
 * on the loop's clock. The result is 0. */
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
 * for at most ns. When the time is up the members are cancelled and awaited, and the result is
 * -ETIMEDOUT, distinct from -ECANCELED (the waiter itself was cancelled). */
#define LOOP_WAIT_FOR(t, s, ns)                                                                    \
    TASK_SET_WAIT(t, s, false, loop_deadline_after(task_loop(t), (ns)))

/* Runs ticks until t has ended, and returns its error (0 if it succeeded). t must outlive the
 * call (its on_done must not free it). -EDEADLK if the loop runs out of work first: t waits for
 * something nothing can wake. */
int loop_run_until_complete(struct loop *loop, struct task *t);

#endif
