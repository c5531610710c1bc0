/* demo.c — lesson 08: can 100,000 tasks wait at once in one thread, and what does each cost?
 * Part 1: five named tasks sleep, wait on a pipe and join each other, narrated tick by tick on
 * a virtual clock, with a task_dump line for every task after each tick. Part 2: 100,000 tasks
 * each sleep a random 0-100 ms on the real clock, and the demo prints what each one cost. */
#include "loop/await.h"
#include "loop/loop.h"
#include "loop/observe/narrate.h"
#include "loop/observe/record_cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MS INT64_C(1000000)

/* The story, or with --trace only the canonical event lines asyncio_twin.py also prints ("20 ms:
 * boss runs, 1 iteration(s) after fetch-user ended"), from part 1; part 2 runs on the real clock
 * and is left out. narrate.h; part 1 sets the clock that stamps them. */
static struct narrator narrator;

/* A line of a task's own narration, under the tick that runs it. */
static void say(const struct task *t, const char *fmt, ...) {
    if (narrator.trace)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("      %-11s ", t->run.name);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* A canonical event line: "<virtual ms> ms: <name> <what>". */
static void event(const struct task *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    narrate_vtrace(&narrator, t->run.name, fmt, ap);
    va_end(ap);
}

/* ---- part 1: five tasks ---------------------------------------------------------------------- */

/* What woke a task, and in which tick: the trace prints how many ticks later the task ran.
 * Noted by part 1's hooks (timer, fd) and by a task that ends (for its joiners). */
struct wake {
    const char *cause;
    unsigned long long tick;
};

static void woke(const struct task *t, const struct wake *w) {
    event(t, "runs, %llu iteration(s) after %s", loop_tick(task_loop(t)) - w->tick, w->cause);
}

/* Python: async def fetch(ms, fail): await asyncio.sleep(ms / 1000); if fail: raise ...;
 * return 42. The "network" is a sleep. */
struct fetch {
    struct task task;
    int64_t ms;
    int fail;   /* 0, or the negative errno it fails with */
    int result; /* its return value: read from this frame by whoever joins it */
    int64_t deadline;
    struct wake timer; /* when its sleep's timer fired (tick 0: not yet) */
    unsigned long long ended_tick;
};

static enum coro_status fetch_step(struct task *t) {
    struct fetch *f = TASK_FRAME(t, struct fetch, task);
    CORO_BEGIN(&t->co);
    say(t, "asks the network; sleeps %lld ms", (long long)f->ms);
    event(t, "sleeps %lld ms", (long long)f->ms);
    f->deadline = loop_now(task_loop(t)) + f->ms * MS;
    LOOP_SLEEP(t, f->ms * MS);
    woke(t, &f->timer);
    f->ended_tick = loop_tick(task_loop(t));
    if (f->fail) {
        say(t, "the answer is an error: fails with -ETIMEDOUT");
        event(t, "fails with ETIMEDOUT");
        CORO_FAIL(&t->co, f->fail);
    }
    f->result = 42;
    say(t, "the answer is 42: stores it in its frame and ends");
    event(t, "returns 42");
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* Sleeps 10 ms, then writes "ping" into the pipe. */
struct writer {
    struct task task;
    int fd;
    int64_t deadline;
    struct wake timer;
};

static enum coro_status writer_step(struct task *t) {
    struct writer *f = TASK_FRAME(t, struct writer, task);
    CORO_BEGIN(&t->co);
    say(t, "sleeps 10 ms before it writes");
    event(t, "sleeps 10 ms");
    f->deadline = loop_now(task_loop(t)) + 10 * MS;
    LOOP_SLEEP(t, 10 * MS);
    woke(t, &f->timer);
    if (write(f->fd, "ping", 4) != 4)
        CORO_FAIL(&t->co, -EIO);
    say(t, "writes \"ping\" into the pipe and ends");
    event(t, "writes ping into the pipe");
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* Waits until the pipe is readable, then reads it. */
struct reader {
    struct task task;
    struct loop_fd_wait wait; /* the fd watch belongs to the frame: the loop allocates nothing */
    int fd;
    char got[8];
    struct wake readable; /* when its fd watcher ran */
};

static enum coro_status reader_step(struct task *t) {
    struct reader *f = TASK_FRAME(t, struct reader, task);
    CORO_BEGIN(&t->co);
    say(t, "waits until the pipe is readable");
    event(t, "waits until the pipe is readable");
    LOOP_WAIT_READABLE(t, &f->wait, f->fd);
    woke(t, &f->readable);
    if (task_result(t) < 0 || read(f->fd, f->got, 4) != 4)
        CORO_FAIL(&t->co, -EIO);
    say(t, "woken by the fd: reads \"ping\" and ends");
    event(t, "reads ping");
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* Python: user = await user_task; await reader_task; try: await prefs_task except ...: */
struct boss {
    struct task task;
    struct fetch *user, *prefs;
    struct reader *reader;
    int user_id;
    int prefs_error;
};

static enum coro_status boss_step(struct task *t) {
    struct boss *f = TASK_FRAME(t, struct boss, task);
    CORO_BEGIN(&t->co);
    say(t, "joins fetch-user");
    event(t, "joins fetch-user");
    TASK_JOIN(t, &f->user->task);
    woke(t, &(struct wake){"fetch-user ended", f->user->ended_tick});
    if (task_result(t) != 0)
        CORO_FAIL(&t->co, task_result(t));
    f->user_id = f->user->result; /* the result lives in the child's frame */
    say(t, "fetch-user ended: reads 42 from its frame; joins reader");
    event(t, "reads %d; joins reader", f->user_id);
    TASK_JOIN(t, &f->reader->task);
    say(t, "reader had already ended: that join returned at once; joins fetch-prefs");
    event(t, "finds reader already ended; joins fetch-prefs");
    TASK_JOIN(t, &f->prefs->task);
    woke(t, &(struct wake){"fetch-prefs ended", f->prefs->ended_tick});
    f->prefs_error = task_result(t); /* the child's error, handed to the joiner */
    say(t, "fetch-prefs failed with -ETIMEDOUT: the join says so; carries on, ends");
    event(t, "the join says %s", f->prefs_error == -ETIMEDOUT ? "ETIMEDOUT" : "something else");
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* What part 1's hooks watch to narrate each tick: the tasks and what each last showed. */
enum { TASKS = 5 };
struct watch {
    struct task *tasks[TASKS];
    unsigned char shown_state[TASKS]; /* each task's state as last printed */
    struct fetch *fetches[2];
    struct writer *writer;
    struct reader *reader;
    int64_t before_wait_ns;
};

static void before_wait(void *ctx, struct loop *loop, int64_t timeout) {
    struct watch *n = ctx;
    n->before_wait_ns = loop_now(loop);
    if (narrator.trace)
        return;
    printf("tick %llu at %4.1f ms: ", (unsigned long long)loop_tick(loop),
           (double)loop_now(loop) / 1e6);
    if (timeout == 0)
        printf("something is ready, so poll() only looks (timeout 0)\n");
    else if (timeout < 0)
        printf("no timer armed: poll() may block until an fd is ready\n");
    else
        printf("nothing ready; the next timer is %.0f ms away\n", (double)timeout / 1e6);
}

/* A timer due now fires in this tick, right after the wait: note the tick for the trace. */
static void note_timer(struct wake *w, int64_t deadline, struct loop *loop) {
    if (w->tick == 0 && deadline != 0 && deadline <= loop_now(loop))
        *w = (struct wake){"its timer fired", loop_tick(loop)};
}

static void after_wait(void *ctx, struct loop *loop, const struct backend_ready *ready, int n) {
    struct watch *w = ctx;
    for (int i = 0; i < 2; i++)
        note_timer(&w->fetches[i]->timer, w->fetches[i]->deadline, loop);
    note_timer(&w->writer->timer, w->writer->deadline, loop);
    if (narrator.trace)
        return;
    if (loop_now(loop) != w->before_wait_ns)
        printf("  poll() found nothing, so the virtual clock jumps to %.0f ms\n",
               (double)loop_now(loop) / 1e6);
    for (int i = 0; i < n; i++)
        printf("  poll(): fd %d is readable: its watcher goes on the ready queue\n", ready[i].fd);
}

/* Whether t sleeps on a timer that fired in this very tick. */
static bool timer_fired_now(const struct watch *n, const struct task *t, struct loop *loop) {
    const struct wake *w = NULL;
    for (int i = 0; i < 2; i++)
        if (t == &n->fetches[i]->task)
            w = &n->fetches[i]->timer;
    if (t == &n->writer->task)
        w = &n->writer->timer;
    return w && w->tick == loop_tick(loop);
}

static void before_run(void *ctx, struct loop *loop, const struct runnable *r) {
    struct watch *n = ctx;
    for (int i = 0; i < TASKS; i++)
        if (r == &n->tasks[i]->run) {
            if (narrator.trace)
                return;
            if (timer_fired_now(n, n->tasks[i], loop))
                printf("  runs task %s: its timer fired this tick (asyncio: one iteration "
                       "later)\n",
                       r->name);
            else
                printf("  runs task %s\n", r->name);
            return;
        }
    n->reader->readable = (struct wake){"the fd was ready", loop_tick(loop)};
    if (!narrator.trace)
        printf("  runs the fd watcher of %s: it wakes the task (which runs next tick)\n", r->name);
}

/* After each tick, one line: the tasks whose state changed in it, and how. */
static void show_changes(struct watch *n) {
    if (narrator.trace)
        return;
    const char *sep = "    now:";
    for (int i = 0; i < TASKS; i++) {
        const struct task *t = n->tasks[i];
        if (t->state == n->shown_state[i])
            continue;
        printf("%s %s %s", sep, t->run.name, task_state_name(t->state));
        sep = ",";
        n->shown_state[i] = t->state;
    }
    if (sep[0] == ',')
        printf("\n");
}

/* loop_dump, with the lesson's folder cut from each "resumes at" so a line fits the screen. */
static void show_loop(struct loop *loop) {
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    if (!mem)
        return;
    loop_dump(loop, mem);
    fclose(mem);
    static const char folder[] = "lessons/08-tasks/";
    for (char *at = text; (at = strstr(at, folder)) != NULL;)
        memmove(at, at + sizeof folder - 1, strlen(at + sizeof folder - 1) + 1);
    fputs(text, stdout);
    free(text);
}

/* --record FILE: the first loop's ticks, for the tick viewer (make view). */
static struct record_cli record;

static bool part1(void) {
    if (!narrator.trace)
        printf("Part 1: five tasks on one loop (virtual clock, so times are exact).\n"
               "  boss joins fetch-user, then reader, then fetch-prefs; writer sleeps 10 ms and\n"
               "  writes into a pipe that reader waits on; fetch-prefs fails after 35 ms.\n\n");
    int p[2];
    if (pipe(p) != 0)
        return false;
    struct loop_clock clock;
    loop_clock_init_virtual(&clock, 0);
    struct fetch user = {.ms = 20}, prefs = {.ms = 35, .fail = -ETIMEDOUT};
    struct reader reader = {.fd = p[0]};
    struct writer writer = {.fd = p[1]};
    struct boss boss = {.user = &user, .prefs = &prefs, .reader = &reader};
    struct watch n = {
        .tasks = {&boss.task, &user.task, &prefs.task, &writer.task, &reader.task},
        .fetches = {&user, &prefs},
        .writer = &writer,
        .reader = &reader,
    };
    struct loop_config config = {.backend = &backend_poll, /* the story says poll() */
                                 .clock = &clock,
                                 .hooks = {.ctx = &n,
                                           .before_wait = before_wait,
                                           .after_wait = after_wait,
                                           .before_run = before_run}};
    struct loop *loop;
    if (loop_new(&loop, &config) != 0 || record_cli_attach(&record, loop) != 0)
        return false;
    narrator.clock = loop;
    narrator.stamp = NARRATE_MS;

    loop_spawn(loop, &boss.task, boss_step, "boss", NULL);
    loop_spawn(loop, &user.task, fetch_step, "fetch-user", NULL);
    loop_spawn(loop, &prefs.task, fetch_step, "fetch-prefs", NULL);
    loop_spawn(loop, &writer.task, writer_step, "writer", NULL);
    loop_spawn(loop, &reader.task, reader_step, "reader", NULL);
    for (int i = 0; i < TASKS; i++)
        n.shown_state[i] = n.tasks[i]->state;
    if (!narrator.trace)
        printf("spawned 5 tasks: each is queued (state ready), none has run\n");

    while (!task_done(&boss.task)) {
        if (loop_run_once(loop) != 0)
            break;
        if (loop_tick(loop) == 1 && !narrator.trace) {
            printf("\n  After the first tick every task waits. loop_dump shows them all, with\n"
                   "  the watched fd and the timer heap:\n");
            show_loop(loop);
            printf("\n  From here on, each tick ends with the tasks whose state changed.\n");
            for (int i = 0; i < TASKS; i++)
                n.shown_state[i] = n.tasks[i]->state;
        }
        show_changes(&n);
    }
    bool ok = boss.task.state == TASK_DONE && boss.user_id == 42 &&
              boss.prefs_error == -ETIMEDOUT && memcmp(reader.got, "ping", 4) == 0 &&
              loop_now(loop) == 35 * MS;
    if (!narrator.trace)
        printf("\nboss read %d from fetch-user's frame and got %d (%s)\n"
               "from joining fetch-prefs. The loop's clock stopped at %.0f ms, after %llu ticks:\n"
               "waiting cost no time at all.\n",
               boss.user_id, boss.prefs_error, strerror(-boss.prefs_error),
               (double)loop_now(loop) / 1e6, (unsigned long long)loop_tick(loop));
    loop_free(loop); /* fetch-prefs' failure was joined: there is nothing to report */
    close(p[0]);
    close(p[1]);
    return ok;
}

/* ---- part 2: 100,000 sleepers on the real clock ---------------------------------------------- */
enum { SLEEPERS = 100000 };

/* Python: async def sleeper(ns): await asyncio.sleep(ns / 1e9) */
struct sleeper {
    struct task task;
    int64_t ns;       /* how long it sleeps, counted from its first step */
    int64_t deadline; /* absolute, on the loop's clock: noted when it starts sleeping */
    int64_t woke_at;
};

static enum coro_status sleeper_step(struct task *t) {
    struct sleeper *f = TASK_FRAME(t, struct sleeper, task);
    CORO_BEGIN(&t->co);
    f->deadline = loop_now(task_loop(t)) + f->ns;
    LOOP_SLEEP_UNTIL(t, f->deadline);
    f->woke_at = loop_now(task_loop(t));
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

static long ended; /* counted by on_done: every task must end exactly once */
static void count_end(struct task *t) {
    (void)t;
    ended++;
}

/* A small, seeded generator: the same "random" sleeps on every run. */
static uint64_t next_random(uint64_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static bool part2(void) {
    printf("\nPart 2: %d tasks, each sleeping a random 0-100 ms, on the real clock.\n", SLEEPERS);
    struct sleeper *frames = calloc(SLEEPERS, sizeof *frames); /* one array, one allocation */
    struct loop *loop;
    struct loop_config config = {.backend = &backend_poll}; /* whole-ms waits, as told */
    if (!frames || loop_new(&loop, &config) != 0)
        return false;
    uint64_t seed = 0x5eed;
    int64_t start = loop_now(loop);
    for (int i = 0; i < SLEEPERS; i++) {
        frames[i].ns = (int64_t)(next_random(&seed) % (100 * MS + 1));
        loop_spawn(loop, &frames[i].task, sleeper_step, "sleeper", count_end);
    }
    int64_t spawned = loop_now(loop);
    loop_run_once(loop); /* the first tick: every task runs up to its sleep */
    size_t waiting = loop_sched(loop)->task_count;
    int64_t parked = loop_now(loop);
    int err = loop_run(loop);
    int64_t finished = loop_now(loop);

    /* Lateness has two causes, told apart here: a deadline that passed while the first tick was
     * still starting the other tasks (the loop was busy), and the rest, where poll()'s whole-ms
     * timeout (rounded up) accounts for up to 1 ms and anything beyond it is the loop running
     * the other tasks due in the same tick, or another process holding the CPU. */
    int64_t worst_late = 0, sum_late = 0, worst_after = 0;
    long due_in_first_tick = 0;
    for (int i = 0; i < SLEEPERS; i++) {
        int64_t late = frames[i].woke_at - frames[i].deadline;
        worst_late = late > worst_late ? late : worst_late;
        sum_late += late;
        if (frames[i].deadline < parked)
            due_in_first_tick++;
        else if (late > worst_after)
            worst_after = late;
    }
    printf("  Spawning took %.1f ms, most of it the kernel handing out %.0f MiB of fresh pages\n"
           "  for the frames. The first tick ran every task up to its sleep in %.1f ms; then\n"
           "  %zu tasks were waiting at once, in one thread.\n",
           (double)(spawned - start) / 1e6,
           (double)sizeof(struct sleeper) * SLEEPERS / (1024.0 * 1024.0),
           (double)(parked - spawned) / 1e6, waiting);
    printf("  The last one ended %.1f ms after that first tick began, %llu ticks later.\n"
           "  A task woke on average %.2f ms after its deadline, at worst %.2f ms.\n"
           "  %ld deadlines ran out while the first tick was still starting the others: the\n"
           "  loop was busy. Of the rest, the latest woke %.2f ms late: up to 1 ms of that is\n"
           "  poll() counting in whole ms; anything more is time the loop spent running the\n"
           "  other tasks due in the same tick, or the CPU given to another process.\n",
           (double)(finished - spawned) / 1e6, (unsigned long long)loop_tick(loop) - 1,
           (double)sum_late / SLEEPERS / 1e6, (double)worst_late / 1e6, due_in_first_tick,
           (double)worst_after / 1e6);

    size_t frame_extra = sizeof(struct sleeper) - sizeof(struct task);
    /* The timer heap's array holds, per armed timer, a pointer to it and copies of its key
     * and tie-breaker. */
    const struct heap *timers = &loop_sched(loop)->timers.heap;
    size_t heap_slot = sizeof timers->items[0] + sizeof timers->keys[0]; /* keys: (key, tie) */
    size_t total = sizeof(struct sleeper) + heap_slot;
    printf("\nWhat each task cost:\n"
           "  struct task (the library's part)      %4zu bytes\n"
           "  this frame's own fields               %4zu bytes (ns, deadline, woke_at)\n"
           "  its slot in the timer heap's array    %4zu bytes while it sleeps\n"
           "  total                                 %4zu bytes; %d tasks: %.1f MiB\n",
           sizeof(struct task), frame_extra, heap_slot, total, SLEEPERS,
           (double)total * SLEEPERS / (1024.0 * 1024.0));
    struct rlimit stack;
    if (getrlimit(RLIMIT_STACK, &stack) == 0 && stack.rlim_cur != RLIM_INFINITY)
        printf("  a thread instead: %llu KiB of stack reserved each (ulimit -s), %.0f GiB of\n"
               "  address space for %d of them, and a kernel task each.\n",
               (unsigned long long)stack.rlim_cur / 1024,
               (double)stack.rlim_cur * SLEEPERS / (1024.0 * 1024.0 * 1024.0), SLEEPERS);

    bool ok =
        err == 0 && ended == SLEEPERS && waiting == SLEEPERS && loop_sched(loop)->task_count == 0;
    for (int i = 0; ok && i < SLEEPERS; i++)
        ok = frames[i].task.state == TASK_DONE && frames[i].woke_at >= frames[i].deadline;
    loop_free(loop);
    free(frames);
    return ok;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line, also into a pipe or under gdb -batch */
    if (record_cli_parse(&record, &argc, argv, "Lesson 08: five tasks on one loop") != 0) {
        fprintf(stderr, "usage: demo [--trace] [--record FILE]\n");
        return 2;
    }
    narrate_parse(&narrator, &argc, argv);
    if (narrator.trace)
        return part1() ? 0 : 1;
    printf("Lesson 08: a task is a coroutine with a life on the loop. It waits on a timer, an fd\n"
           "or another task, costs a few hundred bytes while it waits, and the loop runs it again\n"
           "when what it waits for happens.\n\n");
    bool ok1 = part1();
    bool ok2 = part2();
    int written = record_cli_finish(&record);
    if (written != 0) {
        fprintf(stderr, "demo: cannot write %s: %s\n", record.path, strerror(-written));
        return 1;
    }
    if (!ok1 || !ok2) {
        fprintf(stderr, "demo: part %d did not go as described\n", ok1 ? 2 : 1);
        return 1;
    }
    printf("\nAnswer: yes. %d tasks waited at once in one thread, and each cost a few hundred\n"
           "bytes of memory it owns: no stack, no kernel thread. The loop woke each when its\n"
           "timer was due, and the whole crowd finished in about the longest sleep.\n",
           SLEEPERS);
    return 0;
}
