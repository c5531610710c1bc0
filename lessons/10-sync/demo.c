/* demo.c — lesson 10: how does a bounded queue slow a fast producer down?
 * Part 1: a producer that makes an item every 1 ms and a consumer that needs 4 ms per item, over a
 * queue of 3 slots, as a timeline tick by tick; then the same pair over an unbounded queue.
 * Part 2: a semaphore admits 20 tasks 3 at a time. Part 3: four tasks add to one counter across
 * an await, without a lock (updates are lost) and with one. All on the virtual clock.
 * `demo --trace` prints only the canonical event lines that asyncio_twin.py also prints. */
#include "loop/await.h"
#include "loop/loop.h"
#include "loop/observe/narrate.h"
#include "loop/observe/record_cli.h"
#include "sched/sync/lock.h"
#include "sched/sync/channel.h"
#include "sched/sync/semaphore.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MS INT64_C(1000000)

/* --trace: event lines stamped with the virtual time ("9 ms: consumer gets item 3"), and the
 * settled rows and counts, without narration or dumps (narrate.h). */
static struct narrator narrator;

/* --record FILE: the first loop's ticks, for the tick viewer (make view). */
static struct record_cli record;

static struct loop *virtual_loop(struct loop_clock *clock, const struct loop_hooks *hooks) {
    loop_clock_init_virtual(clock, 0);
    struct loop_config config = {.clock = clock};
    if (hooks)
        config.hooks = *hooks;
    struct loop *loop = NULL;
    if (loop_new(&loop, &config) != 0)
        return NULL;
    (void)record_cli_attach(&record, loop); /* a failure shows at record_cli_finish */
    return loop;
}

/* ---- part 1: backpressure -------------------------------------------------------------------- */
enum { ITEMS = 10, SLOTS = 3, MAKE_MS = 1, WORK_MS = 4 };

/* What each task did during the current tick: the timeline prints one row per tick. */
struct row {
    char producer[48];
    char consumer[48];
};

/* Notes what `who` (the producer or the consumer) did into its cell of this tick's row; in
 * trace mode prints it at once as an event line instead. */
static void note(struct row *row, const char *who, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (narrator.trace) {
        narrate_vtrace(&narrator, who, fmt, ap);
        va_end(ap);
        return;
    }
    char *cell = strcmp(who, "producer") == 0 ? row->producer : row->consumer;
    size_t size = sizeof row->producer, used = strlen(cell);
    if (used && used + 2 < size) {
        strcat(cell, "; ");
        used += 2;
    }
    vsnprintf(cell + used, size - used, fmt, ap);
    va_end(ap);
}

/* Python: for i in range(1, 11): await asyncio.sleep(0.001); await q.put(i)
 *         q.shutdown()  (Python 3.13; before it, a sentinel item told the consumer to stop) */
struct producer {
    struct task task;
    struct channel *q;
    struct row *row; /* NULL: say nothing */
    int i;
    bool had_to_wait, consumer_waiting;
    int64_t waited_ns, wait_began;
};

static enum coro_status producer_step(struct task *t) {
    struct producer *f = TASK_FRAME(t, struct producer, task);
    CORO_BEGIN(&t->co);
    if (f->row)
        note(f->row, "producer", "starts making item 1");
    for (f->i = 1; f->i <= ITEMS; f->i++) {
        LOOP_SLEEP(t, MAKE_MS * MS); /* making the item takes 1 ms */
        f->had_to_wait = f->q->bounded && channel_length(f->q) == f->q->capacity;
        if (f->row && f->had_to_wait)
            note(f->row, "producer", "item %d made; full: WAITS", f->i);
        f->consumer_waiting = !waitq_empty(&f->q->getters); /* this put will wake it */
        f->wait_began = t->sched->now;
        CHANNEL_PUT(t, f->q, (void *)(intptr_t)f->i);
        f->waited_ns += t->sched->now - f->wait_began;
        if (f->row)
            note(f->row, "producer", "%sputs item %d%s", f->had_to_wait ? "woken: " : "", f->i,
                 f->consumer_waiting ? ", wakes consumer" : "");
    }
    channel_close(f->q);
    if (f->row)
        note(f->row, "producer", "closes queue");
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* Python: while True: item = await q.get(); await asyncio.sleep(0.004)  # the work */
struct consumer {
    struct task task;
    struct channel *q;
    struct row *row;
    void *item;
    bool producer_was_waiting;
    int got;
};

static enum coro_status consumer_step(struct task *t) {
    struct consumer *f = TASK_FRAME(t, struct consumer, task);
    CORO_BEGIN(&t->co);
    for (;;) {
        if (f->row && channel_length(f->q) == 0 && !f->q->closed)
            note(f->row, "consumer", "queue empty: WAITS");
        f->producer_was_waiting = !waitq_empty(&f->q->putters);
        CHANNEL_GET(t, f->q, f->item);
        if (task_result(t) == -EPIPE)
            break;
        f->got++;
        if (f->row)
            note(f->row, "consumer", "gets item %d%s", (int)(intptr_t)f->item,
                 f->producer_was_waiting ? ", wakes producer" : "");
        LOOP_SLEEP(t, WORK_MS * MS); /* the work: 4 ms per item */
    }
    if (f->row)
        note(f->row, "consumer", "queue closed and empty: ends");
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* Prints what a dump function printed, each line indented: a dump flushes its stream, so it
 * can print into a memory buffer as well as to stdout. */
static void print_indented(const char *text, const char *indent) {
    while (*text) {
        const char *end = strchr(text, '\n');
        int len = end ? (int)(end - text) : (int)strlen(text);
        printf("%s%.*s\n", indent, len, text);
        text += len + (end ? 1 : 0);
    }
}

static void channel_bar(const struct channel *q, char *out) {
    size_t i = 0;
    for (; i < q->count; i++)
        out[i] = '#';
    for (; i < q->capacity; i++)
        out[i] = '.';
    out[i] = '\0';
}

struct run_result {
    int64_t producer_done, consumer_done, producer_waited;
    size_t max_length;
    int got;
};

/* Runs one producer and one consumer over q; prints a row per tick if `timeline`. */
static bool run_pair(struct channel *q, bool timeline, struct run_result *res) {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock, NULL);
    if (!loop)
        return false;
    struct row row = {0};
    struct producer prod = {.q = q, .row = timeline ? &row : NULL};
    struct consumer cons = {.q = q, .row = timeline ? &row : NULL};
    loop_spawn(loop, &prod.task, producer_step, "producer", NULL);
    loop_spawn(loop, &cons.task, consumer_step, "consumer", NULL);
    narrator.clock = loop;
    narrator.stamp = NARRATE_MS;
    *res = (struct run_result){0};
    bool dumped = narrator.trace; /* the trace has no dumps */
    if (timeline && !narrator.trace)
        printf("   time  tick  queue  producer                          consumer\n");
    while (!task_done(&prod.task) || !task_done(&cons.task)) {
        if (loop_run_once(loop) != 0)
            break;
        if (channel_length(q) > res->max_length)
            res->max_length = channel_length(q);
        if (task_done(&prod.task) && !res->producer_done)
            res->producer_done = loop_now(loop);
        if (!timeline || narrator.trace)
            continue;
        char bar[SLOTS + 1];
        channel_bar(q, bar);
        printf("  %3lld ms %4llu  [%s]  %-33s %s\n", (long long)(loop_now(loop) / MS),
               (unsigned long long)loop_tick(loop), bar, row.producer, row.consumer);
        row = (struct row){0};
        if (!dumped && prod.task.state == TASK_WAITING && !waitq_empty(&q->putters)) {
            char text[256] = "";
            FILE *mem = fmemopen(text, sizeof text - 1, "w");
            if (mem) {
                channel_dump(q, mem);
                fclose(mem);
            }
            printf("         the producer is parked in put; channel_dump(q, stdout) prints:\n");
            print_indented(text, "           | ");
            dumped = true;
        }
    }
    res->consumer_done = loop_now(loop);
    res->producer_waited = prod.waited_ns;
    res->got = cons.got;
    loop_free(loop);
    return prod.task.state == TASK_DONE && cons.task.state == TASK_DONE;
}

/* The trace's summary of one run, the same words as the twin's. */
static void trace_summary(const char *kind, const struct run_result *r) {
    if (narrator.trace)
        printf("%s: producer done at %lld ms, waited %lld ms; at most %zu queued;"
               " consumer done at %lld ms\n",
               kind, (long long)(r->producer_done / MS), (long long)(r->producer_waited / MS),
               r->max_length, (long long)(r->consumer_done / MS));
}

static bool part1(void) {
    if (!narrator.trace)
        printf("Part 1: backpressure. The producer makes an item every %d ms; the consumer needs\n"
               "%d ms per item; between them, a queue of %d slots. Virtual clock: times are "
               "exact.\n\n",
               MAKE_MS, WORK_MS, SLOTS);
    void *slots[SLOTS];
    struct channel q;
    struct run_result bounded, unbounded;
    if (channel_init(&q, slots, SLOTS, "jobs") != 0 || !run_pair(&q, true, &bounded))
        return false;
    channel_free(&q);
    trace_summary("bounded", &bounded);
    if (!narrator.trace)
        printf(
            "\n  The producer could make all %d items in %d ms, but it finished at %lld ms: it\n"
            "  waited %lld ms in put. After the queue first filled, it put one item each time the\n"
            "  consumer took one: the queue made it run at the consumer's pace, and never held\n"
            "  more than %zu items.\n",
            ITEMS, ITEMS * MAKE_MS, (long long)(bounded.producer_done / MS),
            (long long)(bounded.producer_waited / MS), bounded.max_length);

    if (channel_init_unbounded(&q, NULL, "jobs") != 0 || !run_pair(&q, false, &unbounded))
        return false;
    channel_free(&q);
    trace_summary("unbounded", &unbounded);
    if (!narrator.trace)
        printf(
            "\n  The same pair over an UNBOUNDED queue: the producer finished at %lld ms and\n"
            "  never waited, but the queue grew to %zu items. The consumer finished at %lld ms\n"
            "  both times (%lld ms bounded): the bound cost no throughput, and it capped the\n"
            "  memory. With a producer that never stops (a socket, a log), only the bound keeps\n"
            "  it finite.\n",
            (long long)(unbounded.producer_done / MS), unbounded.max_length,
            (long long)(unbounded.consumer_done / MS), (long long)(bounded.consumer_done / MS));
    return bounded.got == ITEMS && unbounded.got == ITEMS && bounded.max_length == SLOTS &&
           bounded.producer_waited > 0 && unbounded.producer_waited == 0 &&
           unbounded.max_length > SLOTS && bounded.consumer_done == unbounded.consumer_done;
}

/* ---- part 2: a semaphore as a concurrency limit ---------------------------------------------- */
enum { VISITORS = 20, ADMIT = 3 };
static const char *const visitor_names[VISITORS] = {"v01", "v02", "v03", "v04", "v05", "v06", "v07",
                                                    "v08", "v09", "v10", "v11", "v12", "v13", "v14",
                                                    "v15", "v16", "v17", "v18", "v19", "v20"};

struct gate {
    struct semaphore sem;
    bool inside[VISITORS];
    int count, max_count, served;
    int64_t work_total_ns;
};

/* Python: async with sem: await asyncio.sleep(work) */
struct visitor {
    struct task task;
    struct gate *gate;
    int id;
    int64_t work_ns;
};

static enum coro_status visitor_step(struct task *t) {
    struct visitor *f = TASK_FRAME(t, struct visitor, task);
    CORO_BEGIN(&t->co);
    SEMAPHORE_ACQUIRE(t, &f->gate->sem);
    f->gate->inside[f->id] = true;
    if (++f->gate->count > f->gate->max_count)
        f->gate->max_count = f->gate->count;
    LOOP_SLEEP(t, f->work_ns);
    f->gate->inside[f->id] = false;
    f->gate->count--;
    f->gate->served++;
    semaphore_release(&f->gate->sem); /* handed straight to the oldest waiter */
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

/* A loop hook: the loop is about to wait, so everything due at this instant has run. Print the
 * settled state once per instant: who is inside, how many wait. */
static void gate_before_wait(void *ctx, struct loop *loop, int64_t timeout) {
    struct gate *g = ctx;
    if (timeout == 0)
        return; /* more runs at this same instant: not settled yet */
    char inside[4 * VISITORS + 1] = "";
    for (int i = 0; i < VISITORS; i++)
        if (g->inside[i]) {
            strcat(inside, " ");
            strcat(inside, visitor_names[i]);
        }
    size_t waiting = list_length(&g->sem.waiters.waiters);
    if (narrator.trace) {
        printf("%lld ms: inside%s, waiting %zu, served %d\n", (long long)(loop_now(loop) / MS),
               g->count ? inside : " nobody", waiting, g->served);
        return;
    }
    printf("  %3lld ms  inside:%-13s   waiting: %2zu   served: %2d\n",
           (long long)(loop_now(loop) / MS), g->count ? inside : " nobody", waiting, g->served);
}

static bool part2(void) {
    if (!narrator.trace)
        printf(
            "\nPart 2: a semaphore of %d permits in front of %d tasks (asyncio.Semaphore(%d)); "
            "each\nholds a permit for 5 to 15 ms of work. One row per instant the loop settles at:"
            "\n\n",
            ADMIT, VISITORS, ADMIT);
    struct gate gate = {0};
    if (semaphore_init(&gate.sem, ADMIT, ADMIT, "gate") != 0)
        return false;
    struct loop_clock clock;
    struct loop_hooks hooks = {.ctx = &gate, .before_wait = gate_before_wait};
    struct loop *loop = virtual_loop(&clock, &hooks);
    if (!loop)
        return false;
    struct visitor v[VISITORS];
    int64_t longest = 0;
    for (int i = 0; i < VISITORS; i++) {
        v[i] = (struct visitor){.gate = &gate, .id = i, .work_ns = (5 + (i * 7) % 11) * MS};
        gate.work_total_ns += v[i].work_ns;
        longest = v[i].work_ns > longest ? v[i].work_ns : longest;
        loop_spawn(loop, &v[i].task, visitor_step, visitor_names[i], NULL);
    }
    loop_run_once(loop); /* the first tick: three enter, seventeen park on the semaphore */
    if (!narrator.trace) {
        /* Through a buffer: the dump's one line names all 17 waiters, too wide for a screen. */
        char text[512] = "";
        FILE *mem = fmemopen(text, sizeof text - 1, "w");
        if (mem) {
            semaphore_dump(&gate.sem, mem);
            fclose(mem);
        }
        char *names = strstr(text, "waiters: ");
        if (names) /* "v04, v05, ..., v20": first and last are enough */
            snprintf(names + 9, sizeof text - (size_t)(names + 9 - text), "v04, v05, ... v20");
        printf("         after the first tick, semaphore_dump(&sem, stdout) prints:\n"
               "           | %s\n",
               text);
    }
    int err = loop_run(loop);
    gate_before_wait(&gate, loop, -1); /* the last instant: the loop has nothing left to wait for */
    if (!narrator.trace)
        printf(
            "\n  At most %d were ever inside at once; all %d were served in %lld ms. One at a\n"
            "  time would take %lld ms; all at once, %lld ms, with nothing limiting the load on\n"
            "  whatever the permits stand for (connections, memory, an API's rate limit).\n",
            gate.max_count, gate.served, (long long)(loop_now(loop) / MS),
            (long long)(gate.work_total_ns / MS), (long long)(longest / MS));
    bool ok =
        err == 0 && gate.max_count == ADMIT && gate.served == VISITORS && gate.sem.value == ADMIT;
    loop_free(loop);
    return ok;
}

/* ---- part 3: a lock around a read-await-write ------------------------------------------------ */
enum { ADDERS = 4, ROUNDS = 5 };

/* Python: for _ in range(5): v = counter; await db_roundtrip(); counter = v + 1
 * (with the lock: async with lock: around the three lines). */
struct adder {
    struct task task;
    struct lock *lock; /* NULL: unguarded */
    int *counter;
    int round;
    int seen; /* the value it read: a frame field, because it must survive the await */
    bool trace;
};

static enum coro_status adder_step(struct task *t) {
    struct adder *f = TASK_FRAME(t, struct adder, task);
    CORO_BEGIN(&t->co);
    for (f->round = 0; f->round < ROUNDS; f->round++) {
        if (f->lock)
            LOCK_ACQUIRE(t, f->lock);
        f->seen = *f->counter;
        if (f->trace && f->round == 0)
            printf(narrator.trace ? "%s reads %d\n" : "    %s reads %d\n", t->run.name, f->seen);
        TASK_YIELD(t); /* an await between the read and the write: others run here */
        *f->counter = f->seen + 1;
        if (f->trace && f->round == 0)
            printf(narrator.trace ? "%s writes %d\n" : "    %s writes %d\n", t->run.name,
                   f->seen + 1);
        if (f->lock)
            lock_release(f->lock, t);
    }
    CORO_CLEANUP(&t->co);
    lock_release_if_held(f->lock, t);
    CORO_END(&t->co);
}

static int count_with(struct lock *lock, bool trace) {
    struct loop_clock clock;
    struct loop *loop = virtual_loop(&clock, NULL);
    if (!loop)
        return -1;
    int counter = 0;
    static const char *const names[ADDERS] = {"a", "b", "c", "d"};
    struct adder adders[ADDERS];
    for (int i = 0; i < ADDERS; i++) {
        adders[i] = (struct adder){.lock = lock, .counter = &counter, .trace = trace};
        loop_spawn(loop, &adders[i].task, adder_step, names[i], NULL);
    }
    if (lock && !narrator.trace) {
        loop_run_once(loop);
        printf("    after the first tick, lock_dump(&lock, stdout) prints:\n    | ");
        lock_dump(lock, stdout);
    }
    int err = loop_run(loop);
    loop_free(loop);
    return err ? -1 : counter;
}

static bool part3(void) {
    if (narrator.trace) {
        int unguarded = count_with(NULL, true);
        printf("without a lock the counter says %d\n", unguarded);
        struct lock lock;
        lock_init(&lock, "counter");
        int guarded = count_with(&lock, true);
        printf("with a lock the counter says %d\n", guarded);
        return unguarded == ROUNDS && guarded == ADDERS * ROUNDS;
    }
    printf("\nPart 3: %d tasks each add 1 to a shared counter %d times; each reads the counter,\n"
           "awaits something (a yield here, a database round trip in real life), then writes\n"
           "what it read + 1.\n\n  Without a lock, the first round:\n",
           ADDERS, ROUNDS);
    int unguarded = count_with(NULL, true);
    printf("  Every task read the same value before anyone wrote: %d increments, the counter\n"
           "  says %d. %d updates were lost, and no thread was involved at all.\n\n",
           ADDERS * ROUNDS, unguarded, ADDERS * ROUNDS - unguarded);
    struct lock lock;
    lock_init(&lock, "counter");
    printf("  With a lock held from the read to the write:\n");
    int guarded = count_with(&lock, false);
    printf("  The counter says %d: each read-await-write ran alone. The others waited in\n"
           "  FIFO order, and each release handed the lock to the oldest waiter.\n",
           guarded);
    return unguarded == ROUNDS && guarded == ADDERS * ROUNDS && lock.owner == NULL;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line, also into a pipe or under gdb -batch */
    if (record_cli_parse(&record, &argc, argv,
                         "Lesson 10: a producer, a consumer and a bounded queue") != 0) {
        fprintf(stderr, "usage: demo [--trace] [--record FILE]\n");
        return 2;
    }
    narrate_parse(&narrator, &argc, argv);
    if (narrator.trace) {
        bool ok1 = part1(), ok2 = part2(), ok3 = part3();
        return ok1 && ok2 && ok3 ? 0 : 1;
    }
    printf("Lesson 10: tasks in one thread still need queues, semaphores and locks: to wait for\n"
           "each other, and to keep together a read and a write that an await separates.\n"
           "(Between two awaits nothing else runs, so no atomic instructions are needed.)\n\n");
    bool ok1 = part1(), ok2 = part2(), ok3 = part3();
    int written = record_cli_finish(&record);
    if (written != 0) {
        fprintf(stderr, "demo: cannot write %s: %s\n", record.path, strerror(-written));
        return 1;
    }
    if (!ok1 || !ok2 || !ok3) {
        fprintf(stderr, "demo: part %d did not go as described\n", !ok1 ? 1 : !ok2 ? 2 : 3);
        return 1;
    }
    printf("\nAnswer: a bounded queue makes put wait while the queue is full, so a fast producer\n"
           "is parked until the slow consumer takes an item; from then on it runs at the\n"
           "consumer's pace, and the queue never holds more than its bound.\n");
    return 0;
}
