/* service.h — lesson 15's patient: a small image service on the virtual clock. A producer puts
 * five jobs on a queue, one every 100 ms; a resizer takes each and makes a thumbnail; a health
 * check beats every 50 ms. One job is a big photo, and its thumbnail is made in one go: 212 ms
 * of CPU during which the loop runs nothing else. The fixed service makes every thumbnail on
 * lesson 14's executor instead. The demo and the tests run the same service. */
#ifndef LOOPSCHOOL_LESSON15_SERVICE_H
#define LOOPSCHOOL_LESSON15_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "loop/await.h"
#include "loop/thread/executor.h"
#include "sched/sync/channel.h"

enum {
    SERVICE_JOBS = 5,
    SERVICE_BIG_JOB = 3, /* the third job is the big photo */
    SERVICE_BEATS = 12,
};
#define SERVICE_MS           ((int64_t)1000000)
#define SERVICE_SMALL_CPU_NS (4 * SERVICE_MS)
#define SERVICE_BIG_CPU_NS   (212 * SERVICE_MS)

/* The titles of the two timelines the demo draws (and the test redraws). */
#define SERVICE_TITLE       "Lesson 15: one blocking call in the resizer"
#define SERVICE_TITLE_FIXED "Lesson 15, the fix: the thumbnails on the executor's thread"

/* The resizer waits for its next job inside a child coroutine, so its await chain is two deep. */
struct service_fetch {
    struct coro co;
    void *job;
    int result;
};

struct service_resizer {
    struct task task;
    struct service_fetch fetch;
    struct service *service;
    struct executor_job job; /* the fix: the thumbnail on the executor's thread */
};

struct service_worker { /* the producer and the health check */
    struct task task;
    struct service *service;
    int i;
};

struct service {
    struct loop_clock clock;
    struct loop *loop;
    struct channel jobs;
    void *storage[SERVICE_JOBS + 1];
    int sizes[SERVICE_JOBS]; /* job i's CPU cost in ms, what the queue carries a pointer to */
    struct service_worker producer, health;
    struct service_resizer resizer;
    bool fixed;          /* every thumbnail made on the executor's thread */
    struct executor *ex; /* the fixed service's one worker thread; NULL otherwise */
    int thumbnails, beats;
};

/* Makes the loop (virtual clock at 0) and spawns the three tasks; nothing runs yet. 0 or a
 * negative errno. */
int service_init(struct service *s, bool fixed);
/* Runs until all three tasks are done. 0, or the first task error. */
int service_run(struct service *s);
void service_free(struct service *s);
/* The chain function for observe_tasks (see loop/observe/tasks.h): the resizer's fetch. */
size_t service_chain(const struct task *t, const struct coro **out, size_t max);

#endif
