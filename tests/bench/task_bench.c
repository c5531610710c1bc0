/* task_bench.c — what a task costs (lesson 08). Time: a task switch through the ready queue
 * against a bare coroutine resume and against two threads handing a turn back and forth with a
 * mutex and a condition variable; spawn + run + join against pthread_create + join. Memory: the
 * bytes the library adds per task, and the resident memory of 100,000 and of 1,000,000 waiting
 * tasks against that of 10,000 idle threads, each measured in a forked child so nothing else is
 * counted. */
#include "loop/await.h"
#include "loop/loop.h"
#include "tests/bench/lib/bench.h"
#include "tests/bench/lib/spin.h" /* (a) the floor: a bare coroutine resume + yield */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what, int err) {
    fprintf(stderr, "task_bench: %s failed (%d: %s)\n", what, err, strerror(err < 0 ? -err : err));
    exit(1);
}

/* ---- a task switch: yield -> ready queue -> the loop resumes the next task ------------------- */
struct yielder {
    struct task task;
    uint64_t count;
};

static enum coro_status yielder_step(struct task *t) {
    struct yielder *f = TASK_FRAME(t, struct yielder, task);
    CORO_BEGIN(&t->co);
    for (;;) {
        f->count++;
        TASK_YIELD(t);
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

struct switch_bench {
    struct loop *loop;
    struct yielder *tasks;
    int count;
};

/* Each tick resumes every task once (FIFO, the batch rule), so n switches are n / count ticks. */
static void task_switches(void *ctx, long n) {
    struct switch_bench *b = ctx;
    for (long done = 0; done < n; done += b->count) {
        int err = loop_run_once(b->loop);
        if (err)
            die("loop_run_once", err);
    }
    bench_sink(b->tasks[0].count);
}

/* count tasks that yield forever; the median ns per switch; then they are cancelled and the
 * loop is run dry, so every task ends properly. */
static double measure_switch(int count, long switches) {
    struct switch_bench b = {.count = count};
    b.tasks = calloc((size_t)count, sizeof *b.tasks);
    if (!b.tasks)
        die("calloc", -ENOMEM);
    int err = loop_new(&b.loop, NULL); /* what a program gets: the default backend, FIFO */
    if (err)
        die("loop_new", err);
    for (int i = 0; i < count; i++)
        if ((err = loop_spawn(b.loop, &b.tasks[i].task, yielder_step, "yielder", NULL)) != 0)
            die("loop_spawn", err);
    loop_run_once(b.loop); /* every task runs its first step and yields: all are warm */
    double ns = bench_median_ns(task_switches, &b, switches, 7);
    for (int i = 0; i < count; i++)
        task_cancel(&b.tasks[i].task);
    if ((err = loop_run(b.loop)) != 0)
        die("loop_run", err);
    loop_free(b.loop);
    free(b.tasks);
    return ns;
}

/* ---- (b) two threads, one mutex, one condition variable: whose turn is it? ------------------- */
struct pingpong {
    pthread_mutex_t lock;
    pthread_cond_t turn_changed;
    int turn; /* 0: the main thread's turn, 1: the partner's */
    long rounds;
};

/* Wait for my turn, give the turn away, wake the other: one hand-off. */
static void hand_off(struct pingpong *p, int me) {
    pthread_mutex_lock(&p->lock);
    while (p->turn != me)
        pthread_cond_wait(&p->turn_changed, &p->lock);
    p->turn = 1 - me;
    pthread_cond_signal(&p->turn_changed);
    pthread_mutex_unlock(&p->lock);
}

static void *partner_main(void *arg) {
    struct pingpong *p = arg;
    for (long i = 0; i < p->rounds; i++)
        hand_off(p, 1);
    return NULL;
}

/* n hand-offs: n / 2 rounds, each a hand-off there and one back. */
static void pingpong_handoffs(void *ctx, long n) {
    (void)ctx;
    struct pingpong p = {.turn = 0, .rounds = n / 2};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.turn_changed, NULL);
    pthread_t partner;
    int err = pthread_create(&partner, NULL, partner_main, &p);
    if (err)
        die("pthread_create", err);
    for (long i = 0; i < p.rounds; i++)
        hand_off(&p, 0);
    pthread_join(partner, NULL);
    pthread_cond_destroy(&p.turn_changed);
    pthread_mutex_destroy(&p.lock);
}

/* ---- spawn + run + join: a parent task spawns children in batches and joins each ------------- */
enum { SPAWN_BATCH = 1000 };

struct child {
    struct task task;
    uint64_t input, result;
};

static enum coro_status child_step(struct task *t) {
    struct child *f = TASK_FRAME(t, struct child, task);
    CORO_BEGIN(&t->co);
    f->result = f->input * 2 + 1;
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

struct parent {
    struct task task;
    struct child *children; /* SPAWN_BATCH frames, reused by every batch */
    long total, spawned;
    int i;
    uint64_t sum;
};

/* asyncio: for each batch, tasks = [create_task(child(x)) ...]; for t in tasks: sum += await t */
static enum coro_status parent_step(struct task *t) {
    struct parent *f = TASK_FRAME(t, struct parent, task);
    CORO_BEGIN(&t->co);
    while (f->spawned < f->total) {
        for (f->i = 0; f->i < SPAWN_BATCH; f->i++) {
            f->children[f->i].input = (uint64_t)(f->spawned + f->i);
            task_spawn(t->sched, &f->children[f->i].task, child_step, "child", NULL);
        }
        for (f->i = 0; f->i < SPAWN_BATCH; f->i++) {
            TASK_JOIN(t, &f->children[f->i].task);
            f->sum += f->children[f->i].result; /* the child's result, read from its frame */
        }
        f->spawned += SPAWN_BATCH;
    }
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static void spawn_run_join(void *ctx, long n) {
    struct child *children = ctx;
    struct loop *loop;
    int err = loop_new(&loop, NULL);
    if (err)
        die("loop_new", err);
    struct parent p = {.children = children, .total = n};
    loop_spawn(loop, &p.task, parent_step, "parent", NULL);
    if ((err = loop_run_until_complete(loop, &p.task)) != 0)
        die("the parent task", err);
    bench_sink(p.sum);
    loop_free(loop);
}

static void *thread_returns(void *arg) {
    return arg;
}

static void thread_create_join(void *ctx, long n) {
    (void)ctx;
    for (long i = 0; i < n; i++) {
        pthread_t th;
        int err = pthread_create(&th, NULL, thread_returns, NULL);
        if (err)
            die("pthread_create", err);
        pthread_join(th, NULL);
    }
}

/* ---- memory, measured in a forked child ------------------------------------------------------ */
/* A field of /proc/self/status ("VmRSS:", "VmHWM:"), in bytes; -1 if it cannot be read. */
static long long status_bytes(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long long kib = -1;
    size_t len = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0) {
            kib = atoll(line + len);
            break;
        }
    fclose(f);
    return kib < 0 ? -1 : kib * 1024;
}

/* Runs measure() in a forked child, which writes `count` doubles back through a pipe: a child
 * starts small, and whatever it maps dies with it instead of inflating the next row. */
static void in_child(void (*measure)(double *out), double *out, size_t count) {
    int p[2];
    if (pipe(p) != 0)
        die("pipe", errno);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork", errno);
    if (pid == 0) {
        close(p[0]);
        double figures[8] = {0};
        measure(figures);
        ssize_t w = write(p[1], figures, count * sizeof figures[0]);
        _exit(w == (ssize_t)(count * sizeof figures[0]) ? 0 : 1);
    }
    close(p[1]);
    ssize_t got = read(p[0], out, count * sizeof out[0]);
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != (ssize_t)(count * sizeof out[0]) || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("the measuring child", -EIO);
}

enum { WAITING_TASKS = 1000000, FEWER_WAITING_TASKS = 100000, IDLE_THREADS = 10000 };

/* The smallest useful task: a frame that is nothing but the task, sleeping a minute. */
struct napper {
    struct task task;
};

static enum coro_status napper_step(struct task *t) {
    CORO_BEGIN(&t->co);
    LOOP_SLEEP(t, INT64_C(60000000000));
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* out: [0] resident bytes before, [1] peak resident bytes with `count` tasks waiting. */
static void measure_waiting(int count, double *out) {
    out[0] = (double)status_bytes("VmRSS:");
    struct napper *frames = calloc((size_t)count, sizeof *frames);
    struct loop *loop;
    if (!frames || loop_new(&loop, NULL) != 0)
        _exit(1);
    for (int i = 0; i < count; i++)
        loop_spawn(loop, &frames[i].task, napper_step, "napper", NULL);
    loop_run_once(loop); /* each runs its first step and parks on its timer */
    if (loop_timer_count(loop) != (size_t)count || loop_sched(loop)->task_count != (size_t)count)
        _exit(1);
    out[1] = (double)status_bytes("VmHWM:");
    /* Ended properly, not dropped: loop_free reports every task still live, one line each. */
    for (int i = 0; i < count; i++)
        task_cancel(&frames[i].task);
    if (loop_run(loop) != 0 || loop_sched(loop)->task_count != 0)
        _exit(1);
    loop_free(loop);
    free(frames);
}
/* Two counts, each in a child of its own: asyncio's figure is for 100k (a million asyncio
 * tasks would take well over a gigabyte), and the million is the figure lesson 08 quotes. */
static void measure_waiting_tasks(double *out) {
    measure_waiting(WAITING_TASKS, out);
}
static void measure_fewer_waiting_tasks(double *out) {
    measure_waiting(FEWER_WAITING_TASKS, out);
}

struct idle_threads {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int parked;
    bool release;
};

static void *idle_thread_main(void *arg) {
    struct idle_threads *s = arg;
    pthread_mutex_lock(&s->lock);
    s->parked++;
    pthread_cond_broadcast(&s->changed);
    while (!s->release)
        pthread_cond_wait(&s->changed, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* out: [0] resident bytes before, [1] with every thread parked, [2] threads made. */
static void measure_idle_threads(double *out) {
    static struct idle_threads s = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false};
    pthread_t *threads = calloc(IDLE_THREADS, sizeof *threads);
    if (!threads)
        _exit(1);
    out[0] = (double)status_bytes("VmRSS:");
    int made = 0;
    while (made < IDLE_THREADS && pthread_create(&threads[made], NULL, idle_thread_main, &s) == 0)
        made++;
    pthread_mutex_lock(&s.lock);
    while (s.parked < made)
        pthread_cond_wait(&s.changed, &s.lock);
    out[1] = (double)status_bytes("VmRSS:");
    s.release = true;
    pthread_cond_broadcast(&s.changed);
    pthread_mutex_unlock(&s.lock);
    for (int i = 0; i < made; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    out[2] = made;
}

int main(void) {
    /* Time. Each row's baseline is measured here, in the same run. */
    struct bench_spin s = {0};
    double bare = bench_median_ns(bench_spin_resumes, &s, 20000000, 5);
    double switch_ns = measure_switch(100, 5000000);
    double lone_ns = measure_switch(1, 300000);
    double pingpong = bench_median_ns(pingpong_handoffs, NULL, 40000, 5);
    bench_row_vs_asyncio("task: switch, FIFO, 100 tasks yielding", switch_ns, "ns/switch",
                         "bare coroutine resume + yield", bare, "task_switch");
    bench_row("threads: mutex+condvar ping-pong hand-off", pingpong, "ns/handoff", "task switch",
              switch_ns);
    bench_row("task: switch, 1 task (a whole tick each)", lone_ns, "ns/switch",
              "switch among 100 tasks", switch_ns);

    struct child *children = calloc(SPAWN_BATCH, sizeof *children);
    if (!children)
        die("calloc", -ENOMEM);
    double task_life = bench_median_ns(spawn_run_join, children, 1000000, 5);
    free(children);
    double thread_life = bench_median_ns(thread_create_join, NULL, 10000, 3);
    bench_row_vs_asyncio("task: spawn + run + join, 1M tasks", task_life, "ns/task",
                         "bare coroutine resume + yield", bare, "spawn_join");
    bench_row("threads: pthread_create + join, 10k", thread_life, "ns/thread",
              "task spawn + run + join", task_life);

    /* Memory. */
    double tasks[2], fewer[2], threads[3];
    in_child(measure_waiting_tasks, tasks, 2);
    in_child(measure_fewer_waiting_tasks, fewer, 2);
    in_child(measure_idle_threads, threads, 3);
    double per_task = (tasks[1] - tasks[0]) / WAITING_TASKS;
    double per_thread = (threads[1] - threads[0]) / threads[2];
    bench_row("task: library bytes per task (sizeof)", (double)sizeof(struct task), "B/task",
              "sizeof(struct coro) alone", (double)sizeof(struct coro));
    /* Its two largest parts (lesson 08's table has every field). */
    bench_row("task: of which its runnable (sizeof)", (double)sizeof(struct runnable), "B/task",
              "sizeof(struct task)", (double)sizeof(struct task));
    bench_row("task: of which its waiter (sizeof)", (double)sizeof(struct waiter), "B/task",
              "sizeof(struct task)", (double)sizeof(struct task));
    /* asyncio's column beside the 100k row only: the same count in both (see above). */
    bench_row_vs_asyncio("task: RSS per waiting task (100k sleeping)",
                         (fewer[1] - fewer[0]) / FEWER_WAITING_TASKS, "B/task",
                         "sizeof(struct task)", (double)sizeof(struct task), "sleeping_task_bytes");
    bench_row("task: RSS per waiting task (1M sleeping)", per_task, "B/task", "sizeof(struct task)",
              (double)sizeof(struct task));
    char name[64];
    snprintf(name, sizeof name, "threads: RSS per idle thread (%.0f)", threads[2]);
    bench_row(name, per_thread, "B/thread", "RSS per waiting task", per_task);
    bench_row("task: peak RSS, 1M tasks waiting at once", tasks[1] / (1024.0 * 1024.0), "MiB",
              "RSS of the same child before", tasks[0] / (1024.0 * 1024.0));
    return 0;
}
