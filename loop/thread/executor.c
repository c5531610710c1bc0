/* executor.c — the thread pool behind executor_submit and EXECUTOR_AWAIT (lesson 14). Workers
 * sleep on a condition variable until a job is queued; a finished job goes back to the loop's
 * thread as a loop_call_soon_threadsafe post, so everything a job's end touches (the waiter,
 * on_done, the loop's hold) is touched on the loop's thread only. */
#include "loop/thread/executor.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "loop/loop_internal.h"
#include "loop/thread/threadsafe.h"

enum { EXECUTOR_MAX_THREADS = 64 };

struct executor {
    pthread_mutex_t lock; /* guards everything below but loop, threads and ids */
    pthread_cond_t work;  /* signalled when a job is queued or the pool stops */
    struct list_node queue;
    size_t queued;
    int running;
    bool stopping;
    unsigned long jobs_run, jobs_cancelled;
    struct list_node flight; /* jobs submitted and not yet ended: the loop's thread only */
    struct loop *loop;
    int threads;
    pthread_t ids[EXECUTOR_MAX_THREADS];
};

/* On the loop's thread: the job has ended. It touches the job, never the executor, which may be
 * gone already (executor_free leaves its last ends to the loop's next tick). No lock: once a job
 * is posted, no worker touches it again, and the inbox's mutex orders the worker's writes
 * before this read. */
static void job_end(void *arg) {
    struct executor_job *job = arg;
    if (job->discard)
        job->result = -ECANCELED; /* run_in_executor: a cancelled future drops the result */
    job->state = EXECUTOR_JOB_IDLE;
    job->busy = false;
    if (job->ex)
        list_remove(&job->flight);
    job->ex = NULL;
    loop_threadsafe_release(job->loop);
    struct waiter *w = job->waiter;
    job->waiter = NULL; /* first: the wake runs the waiter's undo, which must find nothing */
    if (w)
        waiter_wake(w, job->result);
    if (job->on_done)
        job->on_done(job); /* last: it may free the job */
}

static void *worker_main(void *p) {
    struct executor *ex = p;
    pthread_mutex_lock(&ex->lock);
    for (;;) {
        while (!ex->stopping && list_empty(&ex->queue))
            pthread_cond_wait(&ex->work, &ex->lock);
        if (list_empty(&ex->queue))
            break; /* stopping, and executor_free took what was queued */
        struct executor_job *job =
            container_of(list_pop_front(&ex->queue), struct executor_job, node);
        ex->queued--;
        ex->running++;
        job->state = EXECUTOR_JOB_RUNNING;
        pthread_mutex_unlock(&ex->lock);

        int result = job->fn(job->arg); /* the point of it all: off the loop's thread */

        pthread_mutex_lock(&ex->lock);
        ex->running--;
        ex->jobs_run++;
        job->result = result;
        job->state = EXECUTOR_JOB_POSTED;
        pthread_mutex_unlock(&ex->lock);
        /* The job's hold reserved room for this post: it cannot fail. */
        loop_call_soon_threadsafe(job->loop, &job->done, job_end, job);
        pthread_mutex_lock(&ex->lock);
    }
    pthread_mutex_unlock(&ex->lock);
    return NULL;
}

int executor_new(struct executor **out, struct loop *loop, int threads) {
    if (!out || !loop || threads < 1 || threads > EXECUTOR_MAX_THREADS)
        return -EINVAL;
    int err = loop_threadsafe_enable(loop, false);
    if (err)
        return err;
    struct executor *ex = calloc(1, sizeof *ex);
    if (!ex)
        return -ENOMEM;
    list_init(&ex->queue);
    list_init(&ex->flight);
    ex->loop = loop;
    if ((err = pthread_mutex_init(&ex->lock, NULL)) != 0) {
        free(ex);
        return -err;
    }
    if ((err = pthread_cond_init(&ex->work, NULL)) != 0) {
        pthread_mutex_destroy(&ex->lock);
        free(ex);
        return -err;
    }
    for (; ex->threads < threads; ex->threads++) {
        err = pthread_create(&ex->ids[ex->threads], NULL, worker_main, ex);
        if (err) {
            executor_free(ex); /* joins the ones that started */
            return -err;
        }
    }
    *out = ex;
    return 0;
}

/* Loop's thread, with the lock held: job leaves the queue, and its end runs in a coming tick. */
static void end_unrun(struct executor *ex, struct executor_job *job) {
    list_remove(&job->node);
    ex->queued--;
    ex->jobs_cancelled++;
    job->result = -ECANCELED;
    job->state = EXECUTOR_JOB_POSTED;
    sched_push_ready(loop_sched(job->loop), &job->done);
}

void executor_free(struct executor *ex) {
    if (!ex)
        return;
    pthread_mutex_lock(&ex->lock);
    ex->stopping = true;
    list_for_each(it, &ex->queue) {
        end_unrun(ex, container_of(it, struct executor_job, node));
    }
    pthread_cond_broadcast(&ex->work);
    pthread_mutex_unlock(&ex->lock);
    /* Waits for every running job: a worker leaves only between jobs. */
    for (int i = 0; i < ex->threads; i++)
        pthread_join(ex->ids[i], NULL);
    /* The running jobs' ends were posted: put them on the ready queue now, so the loop's next
     * tick delivers them even if nothing else wakes it. */
    loop_threadsafe_drain(ex->loop);
    /* No worker is left to touch a job: the jobs not yet ended forget the executor. */
    list_for_each(it, &ex->flight) {
        struct executor_job *job = container_of(it, struct executor_job, flight);
        list_remove(&job->flight);
        job->ex = NULL;
    }
    pthread_cond_destroy(&ex->work);
    pthread_mutex_destroy(&ex->lock);
    free(ex);
}

void executor_job_init(struct executor_job *job, const char *name) {
    *job = (struct executor_job){.name = name, .state = EXECUTOR_JOB_IDLE};
    list_init(&job->node);
    list_init(&job->flight);
    runnable_init(&job->done, job_end, job, name);
}

int executor_submit(struct executor *ex, struct executor_job *job, executor_fn fn, void *arg,
                    executor_done_fn on_done) {
    if (!ex || !job || !fn)
        return -EINVAL;
    LOOP_CHECK_THREAD(ex->loop, "executor_submit");
    if (job->busy) {
        loop_set_error(ex->loop, "executor_submit(%s): the job has not ended yet", job->name);
        return -EBUSY;
    }
    if (ex->stopping) /* written only on this thread, by executor_free */
        return -EPIPE;
    int err = loop_threadsafe_hold(ex->loop); /* the loop waits for the job's end */
    if (err)
        return err;
    job->ex = ex;
    job->loop = ex->loop;
    job->fn = fn;
    job->arg = arg;
    job->on_done = on_done;
    job->waiter = NULL;
    job->result = 0;
    job->discard = false;
    job->busy = true;
    list_push_back(&ex->flight, &job->flight);
    pthread_mutex_lock(&ex->lock);
    job->state = EXECUTOR_JOB_QUEUED;
    list_push_back(&ex->queue, &job->node);
    ex->queued++;
    pthread_cond_signal(&ex->work);
    pthread_mutex_unlock(&ex->lock);
    return 0;
}

int executor_cancel(struct executor_job *job) {
    if (!job)
        return -EINVAL;
    struct executor *ex = job->ex;
    if (!ex) {
        /* Never submitted, ended, or its executor was shut down (its workers are joined, so
         * nothing else touches the job): only an end still on its way can be dropped. */
        if (!job->busy)
            return -EALREADY;
        job->discard = true;
        return -EBUSY;
    }
    pthread_mutex_lock(&ex->lock);
    int rc = 0;
    if (job->state == EXECUTOR_JOB_QUEUED) {
        end_unrun(ex, job);
    } else if (job->state == EXECUTOR_JOB_IDLE) {
        rc = -EALREADY;
    } else {
        /* Running, or run and on its way back (or taken off the queue by an earlier cancel):
         * it cannot be unrun, so its result is dropped. */
        if (!job->discard && job->state == EXECUTOR_JOB_RUNNING)
            ex->jobs_cancelled++;
        job->discard = true;
        rc = -EBUSY;
    }
    pthread_mutex_unlock(&ex->lock);
    return rc;
}

bool executor_job_busy(const struct executor_job *job) {
    return job->busy;
}

bool executor_stopping(struct executor *ex) {
    if (!ex)
        return false;
    pthread_mutex_lock(&ex->lock); /* written under it by executor_free */
    bool stopping = ex->stopping;
    pthread_mutex_unlock(&ex->lock);
    return stopping;
}

/* The awaiting task's undo: it was woken by something other than the job's end (a cancel). */
static void job_abandon(struct waiter *w, void *arg) {
    struct executor_job *job = arg;
    if (job->waiter != w)
        return; /* the job ended first and already let go of the waiter */
    job->waiter = NULL;
    executor_cancel(job);
}

bool executor_await_begin(struct task *t, struct executor *ex, struct executor_job *job,
                          executor_fn fn, void *arg) {
    if (!job->name)
        executor_job_init(job, t->run.name);
    int err = executor_submit(ex, job, fn, arg, NULL);
    if (err) {
        t->waiter.result = err;
        return false;
    }
    job->waiter = &t->waiter;
    t->waiter.undo = job_abandon;
    t->waiter.undo_arg = job;
    task_park(t, "executor job");
    return true;
}

int executor_threads(const struct executor *ex) {
    return ex->threads;
}

int executor_running(struct executor *ex) {
    pthread_mutex_lock(&ex->lock);
    int n = ex->running;
    pthread_mutex_unlock(&ex->lock);
    return n;
}

size_t executor_queued(struct executor *ex) {
    pthread_mutex_lock(&ex->lock);
    size_t n = ex->queued;
    pthread_mutex_unlock(&ex->lock);
    return n;
}

void executor_dump(struct executor *ex, FILE *out) {
    pthread_mutex_lock(&ex->lock);
    fprintf(out, "executor: %d threads, %d running, %zu queued, %lu run, %lu cancelled%s\n",
            ex->threads, ex->running, ex->queued, ex->jobs_run, ex->jobs_cancelled,
            ex->stopping ? ", shutting down" : "");
    list_for_each(it, &ex->queue) {
        fprintf(out, "  queued: %s\n", container_of(it, struct executor_job, node)->name);
    }
    pthread_mutex_unlock(&ex->lock);
    fflush(out);
}
