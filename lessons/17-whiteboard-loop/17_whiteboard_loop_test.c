/* 17_whiteboard_loop_test.c — lesson 17 (whiteboard-loop): the questions of lessons 04, 05, 06, 08
 * and 02, with those lessons' expectations, asked of the whiteboard loop. Timing runs on its
 * virtual clock and reads the timeout it computed (last_timeout_ms), never a stopwatch. Questions
 * that do not apply, because the whiteboard has no such feature: loop_stop and cancelling a
 * queued callback (04), stopping and re-arming a timer (05), 100,000 tasks (08: it holds 256).
 * Also: loop.c stays within its line budget and includes only libc; the demo and its asyncio
 * twin print the same trace. */
#include "lessons/17-whiteboard-loop/loop.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/twin.h"

TestSuite(whiteboard_loop,
          .description = "Can you write a whole event loop and scheduler in one file, in an "
                         "interview?");

/* Every task here notes (name, tick, clock) in the journal when its body says so. */
enum { JOURNAL_MAX = 64 };
static struct {
    const char *name[JOURNAL_MAX];
    uint64_t tick[JOURNAL_MAX];
    int64_t at[JOURNAL_MAX];
    int count;
} journal;

static void note(struct wb_task *t) {
    if (journal.count < JOURNAL_MAX) {
        journal.name[journal.count] = t->name;
        journal.tick[journal.count] = t->loop->ticks;
        journal.at[journal.count] = wb_now(t->loop);
        journal.count++;
    }
}

/* A loop on the virtual clock, and an empty journal: how most tests here begin. */
static void fresh_loop(struct wb_loop *l) {
    journal.count = 0;
    wb_loop_init(l, true);
}

/* Ticks until nothing is left to run, noting every timeout box 1 computed. Bounded. */
static int run_noting_timeouts(struct wb_loop *l, int *timeouts, int max) {
    int n = 0;
    while (l->ready_count || l->timer_count || l->fd_count) {
        cr_assert_lt(l->ticks, 100000u, "the loop finishes within 100,000 ticks");
        cr_assert_eq(wb_run_once(l), 0, "a tick succeeds");
        if (n < max)
            timeouts[n++] = l->last_timeout_ms;
    }
    return n;
}

/* ---- lesson 04: the ready queue -------------------------------------------------------------- */

/* Notes itself, then spawns `spawns` (if set). */
struct chain {
    struct wb_task task;
    struct chain *spawns;
};

static enum wb_status chain_step(struct wb_task *t) {
    struct chain *f = (struct chain *)t;
    WB_BEGIN(t);
    note(t);
    if (f->spawns)
        cr_assert_eq(wb_spawn(t->loop, &f->spawns->task, chain_step, f->spawns->task.name), 0);
    WB_END(t);
}

Test(whiteboard_loop, spawned_during_tick_runs_next_tick,
     .description = "Q: when a task spawns another during a tick, does the new one run in the "
                    "same tick?") {
    struct wb_loop l;
    fresh_loop(&l);
    struct chain c = {.task.name = "C"}, b = {.task.name = "B", .spawns = &c};
    struct chain a = {.spawns = &b};
    cr_assert_eq(wb_spawn(&l, &a.task, chain_step, "A"), 0, "spawning returns 0");
    cr_assert_eq(wb_run_once(&l), 0);
    cr_assert_eq(journal.count, 1, "tick 1 runs A only: B, spawned while A ran, waits");
    cr_assert_eq(l.ready_count, 1u, "B is on the ready queue at the end of tick 1");
    cr_assert_eq(wb_run(&l), 0);
    cr_assert_eq(journal.count, 3, "three runs in all: A, then B, then C");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(journal.tick[i], (uint64_t)i + 1,
                     "%s runs in tick %d: each one was made ready during the tick before",
                     journal.name[i], i + 1);
}

Test(whiteboard_loop, fifo_order, .description = "Q: in what order does one batch run its tasks?") {
    struct wb_loop l;
    fresh_loop(&l);
    static const char *const names[5] = {"first", "second", "third", "fourth", "fifth"};
    struct chain s[5] = {{.spawns = NULL}};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(wb_spawn(&l, &s[i].task, chain_step, names[i]), 0);
    cr_assert_eq(wb_run_once(&l), 0);
    cr_assert_eq(journal.count, 5, "all five, ready when the tick began, run in tick 1");
    for (int i = 0; i < 5; i++)
        cr_assert_str_eq(journal.name[i], names[i], "position %d runs %s: first in, first out", i,
                         names[i]);
}

/* Yields until told to stop, counting its runs. */
struct spinner {
    struct wb_task task;
    int calls;
    bool stop;
};

static enum wb_status spinner_step(struct wb_task *t) {
    struct spinner *f = (struct spinner *)t;
    WB_BEGIN(t);
    while (!f->stop) {
        f->calls++;
        WB_YIELD(t);
    }
    WB_END(t);
}

/* Waits until fd is ready for `events` (POLLIN or POLLOUT), then reads a byte if it was POLLIN. */
struct fd_waiter {
    struct wb_task task;
    int fd;
    short events;
    int steps, result;
    uint64_t woke_in_tick;
    int64_t woke_at;
    char byte;
};

static enum wb_status fd_waiter_step(struct wb_task *t) {
    struct fd_waiter *f = (struct fd_waiter *)t;
    f->steps++;
    WB_BEGIN(t);
    WB_AWAIT(t, wb_wait_fd(t, f->fd, f->events));
    f->result = t->result;
    f->woke_in_tick = t->loop->ticks;
    f->woke_at = wb_now(t->loop);
    if (f->result > 0 && (f->result & POLLIN))
        cr_assert_eq(read(f->fd, &f->byte, 1), 1, "the byte written is there to read");
    WB_END(t);
}

Test(whiteboard_loop, busy_task_does_not_starve_io, .timeout = 30,
     .description = "Q: can a task that yields forever keep the loop from serving a readable "
                    "fd?") {
    struct wb_loop l;
    wb_loop_init(&l, false); /* a real pipe, the real clock: nothing here ever has to wait */
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct spinner spin = {.calls = 0};
    struct fd_waiter r = {.fd = p[0], .events = POLLIN};
    cr_assert_eq(wb_spawn(&l, &spin.task, spinner_step, "spinner"), 0);
    cr_assert_eq(wb_spawn(&l, &r.task, fd_waiter_step, "reader"), 0);
    cr_assert_eq(write(p[1], "x", 1), 1);
    for (int tick = 0; tick < 10 && r.woke_in_tick == 0; tick++) {
        cr_assert_eq(wb_run_once(&l), 0);
        cr_assert_eq(l.last_timeout_ms, 0, "with the spinner always ready, poll only looks");
    }
    cr_assert_eq(r.woke_in_tick, 2u,
                 "the reader parks in tick 1 and is served in tick 2, beside the spinner: "
                 "box 1 saw the ready queue non-empty and polled with timeout 0");
    cr_assert_eq(r.byte, 'x', "and read the byte");
    cr_assert_eq(spin.calls, 2,
                 "the spinner ran once per tick, not without end: its yield "
                 "put it in the next batch");
    for (int tick = 0; tick < 3; tick++)
        wb_run_once(&l);
    cr_assert_eq(spin.calls, 5, "one spin per tick, tick after tick");
    spin.stop = true;
    cr_assert_eq(wb_run(&l), 0, "with the spinner stopped, the loop runs out of work");
    close(p[0]);
    close(p[1]);
}

/* ---- lesson 05: timers ----------------------------------------------------------------------- */

/* Sleeps ns, `times` times over (at least once), noting each wake. */
struct sleeper {
    struct wb_task task;
    int64_t ns;
    int times, round;
};

static enum wb_status sleeper_step(struct wb_task *t) {
    struct sleeper *f = (struct sleeper *)t;
    WB_BEGIN(t);
    for (f->round = 0; f->round < (f->times ? f->times : 1); f->round++) {
        WB_AWAIT(t, wb_sleep(t, f->ns));
        note(t);
    }
    WB_END(t);
}

Test(whiteboard_loop, deadline_order,
     .description = "Q: do timers fire in deadline order, whatever the order they were started "
                    "in?") {
    struct wb_loop l;
    fresh_loop(&l);
    static const char *const names[4] = {"at-30ms", "at-10ms", "at-40ms", "at-20ms"};
    struct sleeper s[4] = {
        {.ns = 30 * WB_MS}, {.ns = 10 * WB_MS}, {.ns = 40 * WB_MS}, {.ns = 20 * WB_MS}};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(wb_spawn(&l, &s[i].task, sleeper_step, names[i]), 0);
    cr_assert_eq(wb_run(&l), 0);
    static const char *const expected[4] = {"at-10ms", "at-20ms", "at-30ms", "at-40ms"};
    cr_assert_eq(journal.count, 4, "all four timers fire");
    for (int i = 0; i < 4; i++) {
        cr_assert_str_eq(journal.name[i], expected[i], "timer %d to fire is %s", i, expected[i]);
        cr_assert_eq(journal.at[i], (i + 1) * 10 * WB_MS,
                     "%s fires when the clock reads exactly %d ms", expected[i], (i + 1) * 10);
    }
}

Test(whiteboard_loop, equal_deadlines_fire_in_start_order,
     .description = "Q: in what order do timers with the same deadline fire?") {
    struct wb_loop l;
    fresh_loop(&l);
    static const char *const names[5] = {"one", "two", "three", "four", "five"};
    struct sleeper s[5];
    for (int i = 0; i < 5; i++) {
        s[i] = (struct sleeper){.ns = 7 * WB_MS};
        cr_assert_eq(wb_spawn(&l, &s[i].task, sleeper_step, names[i]), 0);
    }
    cr_assert_eq(wb_run_once(&l), 0, "tick 1: all five start their sleeps");
    cr_assert_eq(l.timer_count, 5u, "five timers in the heap");
    cr_assert_eq(wb_run_once(&l), 0, "tick 2 reaches 7 ms");
    cr_assert_eq(journal.count, 5, "all five fire in the one tick that reaches 7 ms");
    for (int i = 0; i < 5; i++)
        cr_assert_str_eq(journal.name[i], names[i],
                         "position %d is %s: equal deadlines fire in the order the timers were "
                         "started (the heap breaks ties on a sequence number)",
                         i, names[i]);
}

Test(whiteboard_loop, waits_until_next_deadline,
     .description = "Q: how long does each tick wait when only timers are pending?") {
    struct wb_loop l;
    fresh_loop(&l);
    static const int64_t ms[4] = {5, 12, 12, 40};
    struct sleeper s[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (struct sleeper){.ns = ms[i] * WB_MS};
        cr_assert_eq(wb_spawn(&l, &s[i].task, sleeper_step, "t"), 0);
    }
    int timeouts[16];
    int n = run_noting_timeouts(&l, timeouts, 16);
    cr_assert_eq(journal.count, 4, "all four timers fire");
    cr_assert_eq(n, 4, "four ticks: one to start the sleeps, then one per distinct deadline");
    cr_assert_eq(timeouts[0], 0, "tick 1 only looks: the four tasks were ready");
    cr_assert_eq(timeouts[1], 5, "then 5 ms, until the first deadline");
    cr_assert_eq(timeouts[2], 7, "then 7 ms, from 5 ms to the two timers at 12 ms");
    cr_assert_eq(timeouts[3], 28, "then 28 ms, from 12 ms to 40 ms");
    cr_assert_eq(wb_now(&l), 40 * WB_MS, "virtual time stands at 40 ms");
}

Test(whiteboard_loop, poll_wait_rounds_up,
     .description = "Q: with poll's millisecond timeouts, how does the loop wait for a timer "
                    "1.5 ms away?") {
    static const int64_t delays[4] = {1500000, 3 * WB_MS, 1, WB_MS + 1};
    static const int rounded[4] = {2, 3, 1, 2};
    for (int i = 0; i < 4; i++) {
        struct wb_loop l;
        fresh_loop(&l);
        struct sleeper s = {.ns = delays[i]};
        cr_assert_eq(wb_spawn(&l, &s.task, sleeper_step, "edge"), 0);
        cr_assert_eq(wb_run_once(&l), 0, "tick 1 starts the sleep");
        cr_assert_eq(wb_run_once(&l), 0, "tick 2 waits for it");
        cr_assert_eq(l.last_timeout_ms, rounded[i],
                     "a timer %lld ns away gives a wait of %d ms: rounded UP to poll's "
                     "resolution (got %d)",
                     (long long)delays[i], rounded[i], l.last_timeout_ms);
        cr_assert_eq(journal.count, 1,
                     "and the timer fired in that same tick: no short wait that wakes early, "
                     "then a spin of 0 ms waits until the deadline");
        cr_assert_eq(journal.at[0], rounded[i] * WB_MS,
                     "it woke when the clock read %d ms, never before its deadline", rounded[i]);
    }
}

/* ---- lesson 06: where a coroutine resumes ---------------------------------------------------- */

/* Before each suspension the body notes that suspension's line, and after it that it ran. */
struct liner {
    struct wb_task task;
    int line[3];
    int after[3];
    int counter; /* in the frame: survives every suspension */
};

static enum wb_status liner_step(struct wb_task *t) {
    struct liner *f = (struct liner *)t;
    WB_BEGIN(t);
    f->counter = 10;
    f->line[0] = __LINE__ + 1;
    WB_AWAIT(t, wb_sleep(t, WB_MS));
    f->after[0] = 1;
    f->counter++;
    f->line[1] = __LINE__ + 1;
    WB_YIELD(t);
    f->after[1] = 1;
    f->counter++;
    f->line[2] = __LINE__ + 1;
    WB_AWAIT(t, wb_sleep(t, 2 * WB_MS));
    f->after[2] = 1;
    f->counter++;
    WB_END(t);
}

Test(whiteboard_loop, resumes_after_its_await,
     .description = "Q: after each tick, where is the task parked, and does it resume right "
                    "after that await, with its frame intact?") {
    struct wb_loop l;
    wb_loop_init(&l, true);
    struct liner f = {.counter = 0};
    cr_assert_eq(wb_spawn(&l, &f.task, liner_step, "liner"), 0);
    cr_assert_eq(f.task.line, 0, "a task not yet started has resume line 0");
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(wb_run_once(&l), 0);
        cr_assert_eq(f.task.line, f.line[k],
                     "after tick %d the saved resume point is line %d, the line of suspension "
                     "%d",
                     k + 1, f.line[k], k + 1);
        cr_assert_eq(f.after[k], 0, "the code after suspension %d has not run yet", k + 1);
        if (k > 0)
            cr_assert_eq(f.after[k - 1], 1, "the resume continued right after suspension %d", k);
        cr_assert_eq(f.counter, 10 + k, "the counter in the frame reads %d: it survived", 10 + k);
    }
    cr_assert(f.line[0] < f.line[1] && f.line[1] < f.line[2],
              "the resume lines advance down the function: %d, %d, %d", f.line[0], f.line[1],
              f.line[2]);
    cr_assert_eq(wb_run(&l), 0);
    cr_assert(f.task.done && f.after[2] == 1, "the last resume ran the body to its end");
    cr_assert_eq(f.counter, 13, "three resumes, three increments, all kept in the frame");
}

/* ---- lesson 08: tasks ------------------------------------------------------------------------ */

Test(whiteboard_loop, sleep_wake_order,
     .description = "Q: in what order, and at what moment, do sleeping tasks wake?") {
    struct wb_loop l;
    fresh_loop(&l);
    /* Lesson 08's scene. a: 30 ms; b: 10 ms, three times; c: 0 ms; d: 20 ms; e: 30 ms. */
    struct sleeper n[5] = {{.ns = 30 * WB_MS},
                           {.ns = 10 * WB_MS, .times = 3},
                           {.ns = 0},
                           {.ns = 20 * WB_MS},
                           {.ns = 30 * WB_MS}};
    static const char *const names[5] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(wb_spawn(&l, &n[i].task, sleeper_step, names[i]), 0);
    int timeouts[32];
    int ticks = run_noting_timeouts(&l, timeouts, 32);
    /* At 20 ms d (armed at 0) before b (armed at 10); at 30 ms a, e before b (armed at 20). */
    static const char expect[7] = {'c', 'b', 'd', 'b', 'a', 'e', 'b'};
    static const int at_ms[7] = {0, 10, 20, 20, 30, 30, 30};
    cr_assert_eq(journal.count, 7, "7 wakes: b's three and one each for the others");
    for (int i = 0; i < 7; i++) {
        cr_assert_eq(journal.name[i][0], expect[i],
                     "wake %d is %c's, not %c's: deadline order, ties in the order the sleeps "
                     "began",
                     i, expect[i], journal.name[i][0]);
        cr_assert_eq(journal.at[i], at_ms[i] * WB_MS, "%c woke at exactly %d ms", expect[i],
                     at_ms[i]);
    }
    int sleeps = 0;
    for (int i = 0; i < ticks; i++)
        if (timeouts[i] > 0) {
            cr_assert_eq(timeouts[i], 10,
                         "each sleep of the loop was exactly the 10 ms to the next deadline");
            sleeps++;
        }
    cr_assert_eq(sleeps, 3, "the loop slept 3 times: once per distinct deadline ahead");
}

/* Sleeps 50 ms, then writes a byte into the pipe. */
struct pipe_writer {
    struct wb_task task;
    int fd;
    uint64_t wrote_in_tick;
};

static enum wb_status pipe_writer_step(struct wb_task *t) {
    struct pipe_writer *f = (struct pipe_writer *)t;
    WB_BEGIN(t);
    WB_AWAIT(t, wb_sleep(t, 50 * WB_MS));
    cr_assert_eq(write(f->fd, "!", 1), 1);
    f->wrote_in_tick = t->loop->ticks;
    WB_END(t);
}

Test(whiteboard_loop, pipe_wakes_on_write,
     .description = "Q: does a task waiting on a pipe wake when the other end writes, and not "
                    "before?") {
    struct wb_loop l;
    wb_loop_init(&l, true);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct fd_waiter r = {.fd = p[0], .events = POLLIN};
    struct pipe_writer w = {.fd = p[1]};
    cr_assert_eq(wb_spawn(&l, &r.task, fd_waiter_step, "reader"), 0);
    cr_assert_eq(wb_spawn(&l, &w.task, pipe_writer_step, "writer"), 0);
    while (!r.task.done) {
        cr_assert_lt(l.ticks, 20u, "the reader ends within a few ticks");
        cr_assert_eq(wb_run_once(&l), 0);
        if (!w.task.done)
            cr_assert_eq(r.woke_in_tick, 0u, "at %lld ns nothing was written: the reader waits",
                         (long long)wb_now(&l));
    }
    cr_assert_eq(r.steps, 2,
                 "the loop ran the reader's step twice, to park and after the write: never for "
                 "nothing (ran %d times)",
                 r.steps);
    cr_assert(r.result & POLLIN, "it woke because the pipe became readable (revents %#x)",
              (unsigned)r.result);
    cr_assert_eq(r.byte, '!', "and read what the writer wrote");
    cr_assert_eq(r.woke_at, 50 * WB_MS, "it woke at the moment of the write, 50 ms, not before");
    cr_assert_eq(r.woke_in_tick, w.wrote_in_tick + 1,
                 "in the tick after the write: that tick's poll saw the fd readable, and box 3 "
                 "put the task itself on the ready queue (asyncio needs one tick more: its fd "
                 "callback resolves a future, whose callback wakes the task)");
    cr_assert_eq(l.fd_count, 0u, "the wake stopped watching the fd");
    close(p[0]);
    close(p[1]);
}

Test(whiteboard_loop, writable_waits_for_room,
     .description = "Q: does a task waiting for a full pipe to become writable wake only when "
                    "the reader makes room?") {
    struct wb_loop l;
    wb_loop_init(&l, true);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
    char block[4096] = {0};
    while (write(p[1], block, sizeof block) > 0) {
    }
    cr_assert_eq(errno, EAGAIN, "the pipe is full");
    struct fd_waiter w = {.fd = p[1], .events = POLLOUT};
    cr_assert_eq(wb_spawn(&l, &w.task, fd_waiter_step, "writer"), 0);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(wb_run_once(&l), 0);
    cr_assert_eq(w.woke_in_tick, 0u, "five ticks on, the full pipe still holds the writer back");
    cr_assert_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
    while (read(p[0], block, sizeof block) > 0) {
    }
    cr_assert_eq(wb_run_once(&l), 0);
    cr_assert_eq(w.woke_in_tick, 6u, "the tick after the reader drained it, the writer wakes");
    cr_assert(w.result & POLLOUT, "because the pipe is writable (revents %#x)", (unsigned)w.result);
    close(p[0]);
    close(p[1]);
}

Test(whiteboard_loop, wait_on_bad_fd,
     .description = "Q: what does a task get when it waits on an fd that cannot be watched?") {
    struct wb_loop l;
    wb_loop_init(&l, true);
    struct fd_waiter r = {.fd = -1, .events = POLLIN};
    cr_assert_eq(wb_spawn(&l, &r.task, fd_waiter_step, "reader"), 0);
    cr_assert_eq(wb_run(&l), 0);
    cr_assert_eq(r.result, -EBADF, "the wait's result is -EBADF at once, got %d", r.result);
    cr_assert_eq(r.steps, 1, "it never parked: one step ran the whole task");
    cr_assert_eq(l.fd_count, 0u, "nothing is left watched");
}

/* Sleeps 5 ms, then stores value * value in its frame. */
struct square {
    struct wb_task task;
    int value, result;
};

static enum wb_status square_step(struct wb_task *t) {
    struct square *f = (struct square *)t;
    WB_BEGIN(t);
    WB_AWAIT(t, wb_sleep(t, 5 * WB_MS));
    f->result = f->value * f->value;
    note(t);
    WB_END(t);
}

/* Joins child, reads its result from its frame; then joins it again, itself, and a task never
 * spawned, noting what each join gave and whether it parked. */
struct parent {
    struct wb_task task;
    struct square *child;
    struct wb_task *never;
    int joined, squared, again, self, stranger;
    uint64_t resumed_in_tick, again_in_tick;
};

static enum wb_status parent_step(struct wb_task *t) {
    struct parent *f = (struct parent *)t;
    WB_BEGIN(t);
    WB_AWAIT(t, wb_join(t, &f->child->task));
    f->joined = t->result;
    f->squared = f->child->result;
    f->resumed_in_tick = t->loop->ticks;
    WB_AWAIT(t, wb_join(t, &f->child->task));
    f->again = t->result;
    f->again_in_tick = t->loop->ticks;
    WB_AWAIT(t, wb_join(t, t));
    f->self = t->result;
    WB_AWAIT(t, wb_join(t, f->never));
    f->stranger = t->result;
    WB_END(t);
}

Test(whiteboard_loop, join_hands_back_the_result,
     .description = "Q: does join wait for the child, hand back its result from its frame, and "
                    "refuse a join that cannot end?") {
    struct wb_loop l;
    fresh_loop(&l);
    struct wb_task never = {.name = "never spawned"};
    struct square seven = {.value = 7};
    struct parent p = {.child = &seven, .joined = 1, .never = &never};
    struct parent second = {.child = &seven, .joined = 1, .never = &never};
    cr_assert_eq(wb_spawn(&l, &p.task, parent_step, "parent"), 0);
    cr_assert_eq(wb_spawn(&l, &seven.task, square_step, "seven"), 0);
    cr_assert_eq(wb_spawn(&l, &second.task, parent_step, "second"), 0);
    cr_assert_eq(wb_run(&l), 0);
    cr_assert_eq(p.joined, 0, "the join returned 0: the child ended");
    cr_assert_eq(p.squared, 49, "the child's result is read from its frame: 7 * 7 = 49");
    cr_assert_eq(journal.count, 1, "the child finished once, though two parents joined it");
    cr_assert_eq(p.resumed_in_tick, journal.tick[0] + 1,
                 "the parent resumed in the tick after the child ended: waking it is a push "
                 "onto the ready queue, and the batch was already counted");
    cr_assert_eq(p.again, 0, "joining a child that has ended completes with 0 ...");
    cr_assert_eq(p.again_in_tick, p.resumed_in_tick, "... at once, without parking");
    cr_assert_eq(p.self, -EDEADLK, "joining itself is refused with -EDEADLK: it could never end");
    cr_assert_eq(p.stranger, -EINVAL, "joining a task never spawned is refused with -EINVAL");
    cr_assert_eq(second.joined, -EBUSY,
                 "a second joiner of a running task gets -EBUSY: one joiner each, the "
                 "whiteboard's rule (the library keeps a wait queue)");
}

Test(whiteboard_loop, full_house_and_misuse,
     .description = "Q: how many tasks can wait at once, and what does a spawn that cannot be "
                    "honoured return?") {
    struct wb_loop l;
    fresh_loop(&l);
    static struct sleeper s[WB_MAX_TASKS];
    for (int i = 0; i < WB_MAX_TASKS; i++) {
        s[i] = (struct sleeper){.ns = (i % 10 + 1) * WB_MS};
        cr_assert_eq(wb_spawn(&l, &s[i].task, sleeper_step, "many"), 0);
    }
    cr_assert_eq(wb_run_once(&l), 0);
    cr_assert_eq(l.timer_count, (size_t)WB_MAX_TASKS, "all %d sleep at once", WB_MAX_TASKS);
    struct sleeper extra = {.ns = 0};
    cr_assert_eq(wb_spawn(&l, &extra.task, sleeper_step, "extra"), -ENOSPC,
                 "one more is refused with -ENOSPC: the arrays are full, and a spawn is where "
                 "that is checked, never a wake-up inside a tick");
    cr_assert_eq(wb_spawn(&l, &s[0].task, sleeper_step, "again"), -EBUSY,
                 "spawning a task that is alive is refused with -EBUSY");
    cr_assert_eq(wb_spawn(&l, &extra.task, NULL, "no step"), -EINVAL,
                 "a task without a step is refused with -EINVAL");
    cr_assert_eq(wb_run(&l), 0);
    cr_assert_eq(l.live_tasks, 0u, "every task ended");
    cr_assert_eq(wb_now(&l), 10 * WB_MS, "the last ones woke at 10 ms");
    cr_assert_eq(wb_spawn(&l, &s[0].task, sleeper_step, "reused"), 0,
                 "a frame whose task has ended can be spawned again");
    cr_assert_eq(wb_run(&l), 0);
}

/* ---- lesson 02: two clients at once, over real sockets --------------------------------------- */

struct echo_server;

/* Echoes each read back until end-of-file. */
struct echo_conn {
    struct wb_task task;
    struct echo_server *server;
    int fd;
    char buf[64];
    ssize_t got;
};

/* Accepts two connections, spawning a conn task for each, then stops listening. */
struct echo_server {
    struct wb_task task;
    int listen_fd, accepted, open;
    struct echo_conn conns[2];
};

static enum wb_status echo_conn_step(struct wb_task *t) {
    struct echo_conn *c = (struct echo_conn *)t;
    WB_BEGIN(t);
    for (;;) {
        WB_AWAIT(t, wb_wait_fd(t, c->fd, POLLIN));
        c->got = read(c->fd, c->buf, sizeof c->buf);
        if (c->got <= 0)
            break;
        WB_AWAIT(t, wb_wait_fd(t, c->fd, POLLOUT));
        cr_assert_eq(write(c->fd, c->buf, (size_t)c->got), c->got, "the echo is written whole");
    }
    close(c->fd);
    c->server->open--;
    WB_END(t);
}

static enum wb_status echo_server_step(struct wb_task *t) {
    struct echo_server *s = (struct echo_server *)t;
    WB_BEGIN(t);
    while (s->accepted < 2) {
        WB_AWAIT(t, wb_wait_fd(t, s->listen_fd, POLLIN));
        s->conns[s->accepted] = (struct echo_conn){.server = s};
        s->conns[s->accepted].fd = accept(s->listen_fd, NULL, NULL);
        cr_assert_geq(s->conns[s->accepted].fd, 0, "accept succeeds once the listener is ready");
        cr_assert_eq(wb_spawn(t->loop, &s->conns[s->accepted].task, echo_conn_step, "conn"), 0);
        s->accepted++;
        s->open++;
    }
    close(s->listen_fd);
    WB_END(t);
}

/* Sends a line from a client socket, then ticks the loop until the echo is back. */
static void expect_echo(struct wb_loop *l, int fd, const char *line) {
    size_t len = strlen(line), have = 0;
    char got[64];
    cr_assert_eq(send(fd, line, len, MSG_NOSIGNAL), (ssize_t)len, "the client sends its line");
    for (int tick = 0; have < len; tick++) {
        cr_assert_lt(tick, 100000, "the echo of \"%s\" comes back", line);
        cr_assert_eq(wb_run_once(l), 0);
        ssize_t n = recv(fd, got + have, len - have, MSG_DONTWAIT);
        if (n > 0)
            have += (size_t)n;
    }
    cr_assert(memcmp(got, line, len) == 0, "the client gets exactly its line back");
}

static int connect_to(uint16_t port) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    /* The kernel completes the handshake through the listener's backlog: no accept needed. */
    cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0, "the client connects");
    return fd;
}

Test(whiteboard_loop, two_clients_at_once, .timeout = 30,
     .description = "Q: is B answered while A is connected and has more to say (lesson 01's "
                    "failing case)?") {
    struct wb_loop l;
    wb_loop_init(&l, true); /* virtual time: poll only looks, so no tick can block the test */
    struct echo_server s = {.accepted = 0};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    s.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(bind(s.listen_fd, (struct sockaddr *)&addr, sizeof addr), 0, "bind port 0");
    cr_assert_eq(listen(s.listen_fd, 8), 0);
    cr_assert_eq(getsockname(s.listen_fd, (struct sockaddr *)&addr, &len), 0);
    cr_assert_eq(wb_spawn(&l, &s.task, echo_server_step, "server"), 0);
    int a = connect_to(ntohs(addr.sin_port));
    expect_echo(&l, a, "hello from A\n");
    int b = connect_to(ntohs(addr.sin_port));
    expect_echo(&l, b, "hello from B\n");
    cr_assert_eq(s.open, 2, "B was answered while A was connected: one thread holds both");
    expect_echo(&l, a, "bye from A\n");
    close(a);
    close(b);
    for (int tick = 0; l.live_tasks > 0; tick++) {
        cr_assert_lt(tick, 100000, "the server sees both ends of file and ends");
        cr_assert_eq(wb_run_once(&l), 0);
    }
    cr_assert_eq(s.open, 0, "both connections were closed by the server");
}

/* ---- the budget, the demo, the twin ---------------------------------------------------------- */

/* Non-blank lines that are not only comment: the count the README quotes. */
static int count_code_lines(const char *path, int *library_includes) {
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s can be read (the runner starts at the top of the tree)", path);
    char line[512];
    bool in_comment = false;
    int count = 0;
    while (fgets(line, sizeof line, f)) {
        bool code = false;
        for (const char *c = line; *c; c++) {
            if (in_comment) {
                if (c[0] == '*' && c[1] == '/')
                    in_comment = false, c++;
            } else if (c[0] == '/' && c[1] == '*') {
                in_comment = true, c++;
            } else if (c[0] == '/' && c[1] == '/') {
                break;
            } else if (*c != ' ' && *c != '\t' && *c != '\n') {
                code = true;
            }
        }
        count += code;
        if (strncmp(line, "#include \"", 10) == 0 && strcmp(line, "#include \"loop.h\"\n") != 0)
            (*library_includes)++;
    }
    fclose(f);
    return count;
}

Test(whiteboard_loop, fits_on_a_whiteboard,
     .description = "Q: is the whole loop still whiteboard-sized, and libc only?") {
    int library = 0;
    int c = count_code_lines("lessons/17-whiteboard-loop/loop.c", &library);
    int h = count_code_lines("lessons/17-whiteboard-loop/loop.h", &library);
    cr_assert_leq(c, 200,
                  "loop.c has %d lines of code (not blank, not only comment): the "
                  "budget is 200",
                  c);
    cr_assert_leq(h, 80, "loop.h, the types and the four coroutine macros, has %d: at most 80", h);
    cr_assert_eq(library, 0, "loop.c and loop.h include only libc headers and each other");
}

Test(whiteboard_loop, demo_narrates_and_succeeds, .timeout = 60,
     .description = "Q: does the demo serve its two clients at once, in lines a class can "
                    "read?") {
    struct test_twin_output *out =
        test_twin_run(LOOPSCHOOL_BUILD_DIR "/lessons/17-whiteboard-loop/demo");
    /* Read everything, free, then assert: a failed assertion must not also leak the output. */
    int status = out->exit_status;
    size_t count = out->count, widest = 0;
    char wide[TEST_TWIN_LINE] = "";
    bool said = false;
    int ticks = -1;
    for (size_t i = 0; i < out->count; i++) {
        const char *in = strstr(out->lines[i], ", in ");
        if (in)
            sscanf(in, ", in %d ticks", &ticks);
        if (strlen(out->lines[i]) > widest) {
            widest = strlen(out->lines[i]);
            memcpy(wide, out->lines[i], widest + 1);
        }
        said = said || strstr(out->lines[i], "== served concurrently: yes") != NULL;
    }
    free(out);
    cr_assert_eq(status, 0, "the demo exits 0: its clients were served at once");
    cr_assert_lt(count, (size_t)TEST_TWIN_MAX_LINES,
                 "it tells its story in fewer than %d lines (got %zu)", TEST_TWIN_MAX_LINES, count);
    cr_assert_leq(widest, 90u, "every line fits in 90 columns; the widest is %zu: \"%s\"", widest,
                  wide);
    cr_assert(said, "and it says the two clients were served concurrently");
    cr_assert(ticks > 0 && ticks < 60,
              "in a few dozen ticks (it took %d): no tick spun on a 0 ms timeout while a timer "
              "was not yet due",
              ticks);
}

Test(whiteboard_loop, asyncio_twin, .timeout = 60,
     .description = "Q: does asyncio, running the same scene, print the same events in the same "
                    "order?") {
    struct test_twin_output *c, *py;
    test_twin_pair("17-whiteboard-loop", &c, &py);
    test_twin_assert_same(c, py);
    free(c);
    free(py);
}
