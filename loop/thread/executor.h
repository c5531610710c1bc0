/* executor.h — a fixed pool of worker threads for work that would block the loop (lesson 14):
 * asyncio's loop.run_in_executor and asyncio.to_thread. A job is queued (mutex + condition
 * variable), a worker runs fn(arg), and the result comes back to the loop's thread through
 * loop_call_soon_threadsafe, where the job ends and a task awaiting it is woken. */
#ifndef LOOPSCHOOL_EXECUTOR_H
#define LOOPSCHOOL_EXECUTOR_H

#include <stdbool.h>
#include <stdio.h>

#include "loop/loop.h"
#include "sched/list.h"
#include "sched/task/task.h"

struct executor;
struct executor_job;
/* Runs on a worker thread: it must not touch the loop (except loop_call_soon_threadsafe).
 * Returns the job's result: 0 or more, or a negative errno. */
typedef int (*executor_fn)(void *arg);
/* Runs on the loop's thread when the job has ended: job->result holds what fn returned, or
 * -ECANCELED if the job was cancelled. The job is idle again: on_done may free it. */
typedef void (*executor_done_fn)(struct executor_job *job);

enum executor_job_state {
    EXECUTOR_JOB_IDLE,    /* never submitted, or ended */
    EXECUTOR_JOB_QUEUED,  /* waiting for a worker: cancelling it means it never runs */
    EXECUTOR_JOB_RUNNING, /* a worker runs fn: it cannot be stopped, only its result dropped */
    EXECUTOR_JOB_POSTED,  /* fn returned; the end is on its way to the loop's thread */
};

/* Caller-owned, as libuv's uv_work_t: it and fn's arg must stay alive until the job has ended
 * (executor_job_busy is false), even after a cancel: a running fn cannot be stopped. */
struct executor_job {
    struct list_node node;   /* in the executor's job queue while queued */
    struct list_node flight; /* in the executor's jobs not yet ended (loop's thread only) */
    struct runnable done;    /* posted back to the loop when fn returns */
    struct executor *ex;     /* NULL once executor_free has let go of it */
    struct loop *loop;       /* where its end goes: the executor may be gone by then */
    executor_fn fn;
    void *arg;
    executor_done_fn on_done;
    struct waiter *waiter; /* the task awaiting it, if any (loop's thread only) */
    const char *name;
    int result;
    int state;    /* enum executor_job_state; guarded by the executor's mutex */
    bool discard; /* cancelled while running: the result will be dropped */
    bool busy;    /* submitted and not yet ended: the loop's thread only */
};

/* Starts `threads` workers (1..64) for jobs whose ends come back to `loop`. Loop's thread.
 * 0, -EINVAL, -ENOMEM, or pthread_create's error. */
int executor_new(struct executor **out, struct loop *loop, int threads);
/* Shuts down: jobs still queued end -ECANCELED without running, running ones are waited for,
 * and every worker thread is joined. The ends arrive on the loop's next tick. Then frees. */
void executor_free(struct executor *ex);

void executor_job_init(struct executor_job *job, const char *name);
/* Queues job to run fn(arg) on a worker; on_done (may be NULL) runs on the loop's thread when it
 * has ended. Loop's thread. 0; -EINVAL (NULL fn); -EBUSY (the job has not ended yet); -EPIPE
 * (the executor is shutting down). */
int executor_submit(struct executor *ex, struct executor_job *job, executor_fn fn, void *arg,
                    executor_done_fn on_done);
/* asyncio's Future.cancel on run_in_executor's future. Queued: taken off the queue, it never
 * runs, and it ends -ECANCELED (0). Started: it cannot be stopped, so it runs to the end and its
 * result is dropped: it ends -ECANCELED all the same (-EBUSY says it had started). -EALREADY
 * if it had ended (or was never submitted). Loop's thread. */
int executor_cancel(struct executor_job *job);
bool executor_job_busy(const struct executor_job *job);
/* ANY thread, typically a job's fn: true once executor_free has begun (queued jobs are then
 * cancelled, running ones waited for), so a long job may stop early. ex stays valid while a fn
 * runs: executor_free joins every worker before it frees. False for NULL. */
bool executor_stopping(struct executor *ex);

/* Await a job: submit fn(arg) and wait for its result (fn's return, a negative errno, or
 * -ECANCELED). Cancelling the awaiting task cancels the job as executor_cancel does; the task
 * leaves at once, but its frame (which holds the job) must outlive the job: see struct
 * executor_job. The _CATCH variant hands -ECANCELED to the body (see TASK_AWAIT). */
#define EXECUTOR_AWAIT(t, ex, job, fn, arg)                                                        \
    TASK_AWAIT(t, executor_await_begin((t), (ex), (job), (fn), (arg)))
#define EXECUTOR_AWAIT_CATCH(t, ex, job, fn, arg)                                                  \
    TASK_AWAIT_CATCH(t, executor_await_begin((t), (ex), (job), (fn), (arg)))
bool executor_await_begin(struct task *t, struct executor *ex, struct executor_job *job,
                          executor_fn fn, void *arg);

/* How many workers, how many of them run a job now, how many jobs are queued. */
int executor_threads(const struct executor *ex);
int executor_running(struct executor *ex);
size_t executor_queued(struct executor *ex);
/* Threads, the queue by job name, jobs run and cancelled. Flushes. */
void executor_dump(struct executor *ex, FILE *out);

#endif
