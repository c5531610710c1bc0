/* task_test.c — the library's own tests of tasks, waiters and the loop's awaits (lesson 08's
 * layer): life cycle, wake-up order, join, cancellation delivery, failure reports, and that
 * running tasks allocates nothing. All on the virtual clock with the script backend. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop/await.h"
#include "loop/loop.h"
#include "tests/support/tasks.h"

TestSuite(task_layer,
          .description = "Do tasks keep their life cycle, wake-up and failure promises?");

Test(task_layer, sleep_order,
     .description = "Q: do sleeping tasks wake in deadline order, at their deadline?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    int log[4], len = 0;
    static const int64_t ms[] = {30, 10, 20, 10};
    struct test_sleeper s[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (struct test_sleeper){.ns = ms[i] * 1000000, .log = log, .log_len = &len, .id = i};
        cr_assert_eq(loop_spawn(loop, &s[i].task, test_sleeper_step, "sleeper", NULL), 0);
    }
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(len, 4, "every sleeper woke exactly once");
    int expect[] = {1, 3, 2, 0};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(log[i], expect[i], "wake %d was task %d: deadline order, ties in sleep order",
                     i, log[i]);
    cr_assert_eq(loop_now(loop), 30 * 1000000, "virtual time stopped at the last deadline");
    for (int i = 0; i < 4; i++)
        cr_assert_eq(s[i].task.state, TASK_DONE);
    loop_free(loop);
}

struct failer {
    struct task task;
    int err;
    int fail_line;
};
static enum coro_status failer_step(struct task *t) {
    struct failer *f = TASK_FRAME(t, struct failer, task);
    CORO_BEGIN(&t->co);
    TASK_YIELD(t);
    f->fail_line = __LINE__ + 1;
    CORO_FAIL(&t->co, f->err);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(task_layer, join_error, .description = "Q: does join hand back the child's error unchanged?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct failer child = {.err = -EIO};
    struct test_joiner parent = {.other = &child.task, .catches = true, .seen = 1};
    loop_spawn(loop, &child.task, failer_step, "child", NULL);
    loop_spawn(loop, &parent.task, test_joiner_step, "parent", NULL);
    cr_assert_eq(loop_run_until_complete(loop, &parent.task), 0);
    cr_assert_eq(parent.seen, -EIO, "the joiner saw the child's -EIO, got %d", parent.seen);
    cr_assert_eq(child.task.state, TASK_FAILED);
    loop_free(loop);
}

Test(task_layer, unjoined_failure_reported,
     .description = "Q: is a failure nobody joined reported when the loop is freed?") {
    char buf[512] = "";
    FILE *report = fmemopen(buf, sizeof buf, "w");
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, &(struct loop_config){.report = report});
    struct failer f = {.err = -EPIPE};
    loop_spawn(loop, &f.task, failer_step, "lonely-worker", NULL);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(buf[0], '\0', "nothing is reported while the loop lives");
    loop_free(loop);
    fclose(report);
    cr_assert(strstr(buf, "lonely-worker"), "the report names the task: %s", buf);
    cr_assert(strstr(buf, "Broken pipe") || strstr(buf, "-32"), "the report gives the error: %s",
              buf);
    char where[64];
    snprintf(where, sizeof where, "task_test.c:%d", f.fail_line);
    cr_assert(strstr(buf, where), "the report gives the line that failed (%s): %s", where, buf);
}

Test(task_layer, cancel_sleeping,
     .description =
         "Q: does cancelling a sleeping task run its cleanup once and end it cancelled?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct test_sleeper c = {.ns = 1000000000, .result = 1};
    loop_spawn(loop, &c.task, test_sleeper_step, "sleepy", NULL);
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(c.task.state, TASK_WAITING, "it sleeps");
    cr_assert_eq(task_cancel(&c.task), 0);
    cr_assert_eq(task_cancel(&c.task), 0, "cancelling twice is harmless");
    cr_assert_eq(loop_timer_count(loop), 0, "the wake disarmed its timer");
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(c.task.state, TASK_CANCELLED);
    cr_assert_eq(c.task.error, -ECANCELED);
    cr_assert_eq(c.cleanups, 1, "cleanup ran exactly once");
    cr_assert_eq(c.result, 1, "the body after the sleep never ran");
    cr_assert_eq(task_cancel(&c.task), -EALREADY,
                 "cancelling an ended task changes nothing and says so");
    cr_assert(loop_now(loop) < 1000000000, "the loop did not wait for the cancelled sleep");
    loop_free(loop);
}

Test(task_layer, cancel_before_run,
     .description = "Q: does a task cancelled before it ever ran skip body and cleanup?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct test_sleeper c = {.ns = 1000000000, .result = 1};
    loop_spawn(loop, &c.task, test_sleeper_step, "never", NULL);
    cr_assert_eq(task_cancel(&c.task), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(c.task.state, TASK_CANCELLED);
    cr_assert_eq(c.cleanups, 0, "no body ran, so no cleanup runs");
    loop_free(loop);
}

struct reader {
    struct task task;
    struct loop_fd_wait wait;
    int fd;
    int result;
    char byte;
};
static enum coro_status reader_step(struct task *t) {
    struct reader *f = TASK_FRAME(t, struct reader, task);
    CORO_BEGIN(&t->co);
    LOOP_WAIT_READABLE(t, &f->wait, f->fd);
    f->result = task_result(t);
    cr_assert_eq(read(f->fd, &f->byte, 1), 1);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(
    task_layer, fd_wait,
    .description = "Q: does a task waiting on a pipe wake when the other end writes, not before?") {
    struct loop *loop = test_loop_new(NULL); /* a real pipe on the real clock */
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct reader r = {.fd = p[0]};
    loop_spawn(loop, &r.task, reader_step, "reader", NULL);
    cr_assert_eq(loop_run_once(loop), 0, "first tick: the task runs and parks on the fd");
    cr_assert_eq(r.task.state, TASK_WAITING, "nothing was written: it still waits");
    cr_assert_eq(write(p[1], "x", 1), 1);
    cr_assert_eq(loop_run_until_complete(loop, &r.task), 0);
    cr_assert_eq(r.result, LOOP_READABLE, "it woke because the pipe became readable");
    cr_assert_eq(r.byte, 'x');
    cr_assert_eq(loop_watch_count(loop), 0, "the wake unwatched the fd");
    close(p[0]);
    close(p[1]);
    loop_free(loop);
}

struct catcher {
    struct task task;
    int first;
    int second;
};
static enum coro_status catcher_step(struct task *t) {
    struct catcher *f = TASK_FRAME(t, struct catcher, task);
    CORO_BEGIN(&t->co);
    LOOP_SLEEP_CATCH(t, 1000000000);
    f->first = task_result(t);
    LOOP_SLEEP(t, 1000);
    f->second = task_result(t);
    CORO_CLEANUP(&t->co);
    CORO_END(&t->co);
}

Test(task_layer, catch_variant,
     .description =
         "Q: does a _CATCH await hand the cancel to the body, and is the cancel then spent?") {
    struct loop_clock clock;
    struct loop *loop = test_virtual_loop(&clock, NULL);
    struct catcher c = {.first = 1, .second = 1};
    loop_spawn(loop, &c.task, catcher_step, "catcher", NULL);
    cr_assert_eq(loop_run_once(loop), 0);
    cr_assert_eq(task_cancel(&c.task), 0);
    cr_assert_eq(loop_run(loop), 0);
    cr_assert_eq(c.first, -ECANCELED, "the body saw -ECANCELED from the caught sleep");
    cr_assert_eq(c.second, 0, "the cancel was spent: the next sleep completed normally");
    cr_assert_eq(c.task.state, TASK_DONE, "the task ended normally after catching its cancel");
    loop_free(loop);
}
