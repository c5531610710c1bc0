/* coro_test.c — the coroutine module's promises (coro/coro.h, lessons 06 and 07): states, early
 * exits and cleanup, cancellation, and every misuse it turns into a clear error. The whole file
 * runs in both builds, switch and labels; one test exists only with labels. */
#include "coro/coro.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(coro, .description = "Does a stackless coroutine keep its contract: states, cleanup, "
                               "cancellation and misuse?");

/* One frame that scripts what the tests need: fail or return after the first yield, or not. */
struct probe {
    struct coro co;
    int fail_with;     /* after the first yield: CORO_FAIL with this, if non-zero */
    bool return_early; /* after the first yield: CORO_RETURN */
    int body_runs, after_yield, after_leave, cleanups, cleanup_saw;
};

static enum coro_status probe_step(struct probe *p) {
    CORO_BEGIN(&p->co);
    p->body_runs++;
    CORO_YIELD(&p->co);
    p->after_yield++;
    if (p->fail_with != 0)
        CORO_FAIL(&p->co, p->fail_with);
    if (p->return_early)
        CORO_RETURN(&p->co);
    p->after_leave++;
    CORO_CLEANUP(&p->co);
    p->cleanups++;
    p->cleanup_saw = coro_error(&p->co);
    CORO_END(&p->co);
}

Test(coro, size, .description = "Q: how big is a struct coro?") {
#ifndef CORO_USE_LABELS
    cr_assert_leq(sizeof(struct coro), 16, "switch variant: at most 16 bytes, file pointer kept");
#else
    cr_assert_eq(sizeof(struct coro), 24, "labels variant: 24 bytes, the label address on top");
#endif
}

Test(coro, life_cycle, .description = "Q: which states does a coroutine pass through?") {
    struct probe p = {0};
    cr_assert(coro_is_created(&p.co), "zeroed memory is a fresh, created coroutine");
    cr_assert_eq(probe_step(&p), CORO_SUSPENDED, "the first step parks at the yield");
    cr_assert(coro_is_suspended(&p.co) && !coro_is_done(&p.co), "then it is suspended");
    cr_assert_str_eq(coro_state_name(coro_state(&p.co)), "suspended", "and says so by name");
    cr_assert_eq(probe_step(&p), CORO_DONE, "the second step runs to the end");
    cr_assert_eq(coro_state(&p.co), CORO_STATE_DONE, "then it is done");
    cr_assert(coro_is_done(&p.co) && !coro_is_cancelled(&p.co), "done, not cancelled");
    cr_assert_eq(coro_error(&p.co), 0, "and without error");
    cr_assert_eq(p.cleanups, 1, "the cleanup ran once");
    coro_init(&p.co);
    cr_assert(coro_is_created(&p.co) && coro_line(&p.co) == 0, "coro_init makes it new again");
}

Test(coro, resume_finished_is_harmless,
     .description = "Q: what does resuming a finished coroutine do?") {
    struct probe p = {0};
    while (probe_step(&p) == CORO_SUSPENDED) {
    }
    for (int i = 0; i < 3; i++)
        cr_assert_eq(probe_step(&p), CORO_DONE, "it returns CORO_DONE again");
    cr_assert(p.body_runs == 1 && p.cleanups == 1, "and runs neither its body nor its cleanup");
}

Test(coro, fail_runs_cleanup, .description = "Q: what happens when the body fails?") {
    struct probe p = {.fail_with = -EIO};
    probe_step(&p);
    cr_assert_eq(probe_step(&p), CORO_DONE, "CORO_FAIL finishes the coroutine");
    cr_assert_eq(p.after_leave, 0, "the rest of the body is skipped");
    cr_assert_eq(p.cleanups, 1, "the cleanup runs once");
    cr_assert_eq(p.cleanup_saw, -EIO, "and coro_error tells it why: -EIO");
    cr_assert_eq(coro_error(&p.co), -EIO, "the error stays readable: -EIO");
    cr_assert_eq(coro_state(&p.co), CORO_STATE_DONE, "a failure is done, not cancelled");
}

struct failer {
    struct coro co;
    int err;
};

static enum coro_status failer_step(struct failer *f) {
    CORO_BEGIN(&f->co);
    CORO_FAIL(&f->co, f->err);
    CORO_CLEANUP(&f->co);
    CORO_END(&f->co);
}

Test(coro, fail_needs_negative_errno,
     .description = "Q: what if CORO_FAIL is given a positive errno, 0, or a value out of range?") {
    const int bad[] = {EIO, 0, -100000};
    for (int i = 0; i < 3; i++) {
        struct failer f = {.err = bad[i]};
        cr_assert_eq(failer_step(&f), CORO_DONE, "it still fails");
        cr_assert_eq(coro_error(&f.co), -EINVAL,
                     "CORO_FAIL(%d) records -EINVAL: errors are negative errnos", bad[i]);
    }
}

Test(coro, return_early, .description = "Q: does CORO_RETURN still run the cleanup?") {
    struct probe p = {.return_early = true};
    probe_step(&p);
    cr_assert_eq(probe_step(&p), CORO_DONE, "CORO_RETURN finishes the coroutine");
    cr_assert_eq(p.after_leave, 0, "skipping the rest of the body");
    cr_assert_eq(p.cleanups, 1, "but the cleanup runs once");
    cr_assert_eq(coro_error(&p.co), 0, "returning is not an error");
}

Test(coro, cancel_suspended, .description = "Q: what does cancelling a parked coroutine do?") {
    struct probe p = {0};
    probe_step(&p);
    cr_assert_eq(coro_cancel(&p.co), 0, "the request is accepted");
    cr_assert(coro_is_suspended(&p.co) && coro_cancel_requested(&p.co),
              "it is only a request: the coroutine is still parked");
    cr_assert_eq(coro_cancel(&p.co), 0, "asking twice is harmless");
    cr_assert_eq(probe_step(&p), CORO_DONE, "the next resume finishes it");
    cr_assert_eq(p.after_yield, 0, "it left the body at the yield where it was parked");
    cr_assert_eq(p.cleanups, 1, "its cleanup ran exactly once");
    cr_assert_eq(p.cleanup_saw, -ECANCELED, "and saw -ECANCELED");
    cr_assert(coro_is_cancelled(&p.co) && coro_is_done(&p.co), "it is cancelled (and done)");
    cr_assert_eq(coro_error(&p.co), -ECANCELED, "with error -ECANCELED");
}

Test(coro, cancel_before_first_run,
     .description = "Q: what does cancelling a coroutine that never ran do?") {
    struct probe p = {0};
    cr_assert_eq(coro_cancel(&p.co), 0, "the request is accepted");
    cr_assert(coro_is_cancelled(&p.co), "it is cancelled on the spot: there is nothing to undo");
    cr_assert_eq(probe_step(&p), CORO_DONE, "a step finds it finished");
    cr_assert(p.body_runs == 0 && p.cleanups == 0, "neither body nor cleanup ever ran");
}

Test(coro, cancel_finished, .description = "Q: what does cancelling a finished coroutine do?") {
    struct probe done = {.fail_with = -EIO}, cancelled = {0};
    probe_step(&done);
    probe_step(&done);
    cr_assert_eq(coro_cancel(&done.co), -EALREADY, "too late: -EALREADY");
    cr_assert_eq(coro_state(&done.co), CORO_STATE_DONE, "it stays done");
    cr_assert_eq(coro_error(&done.co), -EIO, "its error is unchanged");
    coro_cancel(&cancelled.co);
    cr_assert_eq(coro_cancel(&cancelled.co), -EALREADY, "a cancelled one says -EALREADY too");
    cr_assert_eq(coro_cancel(NULL), -EINVAL, "a NULL coroutine is -EINVAL");
}

struct misuse {
    struct coro co;
    struct probe child;
    int ran_after, cleanups;
    enum coro_status inner;
};

static enum coro_status yield_in_cleanup_step(struct misuse *m) {
    CORO_BEGIN(&m->co);
    CORO_CLEANUP(&m->co);
    m->cleanups++;
    CORO_YIELD(&m->co);
    m->ran_after++;
    CORO_END(&m->co);
}

Test(coro, cleanup_cannot_suspend, .description = "Q: what if the cleanup tries to suspend?") {
    struct misuse m = {0};
    cr_assert_eq(yield_in_cleanup_step(&m), CORO_DONE, "the step ends there and then");
    cr_assert_eq(coro_error(&m.co), -EDEADLK, "with -EDEADLK: nothing would ever resume it");
    cr_assert_eq(m.ran_after, 0, "the rest of the cleanup does not run");
    cr_assert_eq(yield_in_cleanup_step(&m), CORO_DONE, "and it stays finished");
    cr_assert_eq(m.cleanups, 1, "the cleanup was entered once");
}

static enum coro_status await_in_cleanup_step(struct misuse *m) {
    CORO_BEGIN(&m->co);
    CORO_CLEANUP(&m->co);
    CORO_AWAIT(&m->co, &m->child.co, probe_step(&m->child));
    m->ran_after++;
    CORO_END(&m->co);
}

Test(coro, cleanup_cannot_await_a_suspending_child,
     .description = "Q: what if the cleanup awaits a child that suspends?") {
    struct misuse m = {0};
    cr_assert_eq(await_in_cleanup_step(&m), CORO_DONE, "the parent ends at once");
    cr_assert_eq(coro_error(&m.co), -EDEADLK, "with -EDEADLK");
    cr_assert(coro_is_cancelled(&m.child.co), "the child it could not wait for is cancelled");
    cr_assert_eq(m.child.cleanups, 1, "and its cleanup ran");
}

static enum coro_status await_self_step(struct misuse *m) {
    CORO_BEGIN(&m->co);
    CORO_AWAIT(&m->co, &m->co, await_self_step(m));
    m->ran_after++;
    CORO_CLEANUP(&m->co);
    m->cleanups++;
    CORO_END(&m->co);
}

static enum coro_status await_null_step(struct misuse *m) {
    CORO_BEGIN(&m->co);
    CORO_AWAIT(&m->co, NULL, probe_step(&m->child));
    m->ran_after++;
    CORO_CLEANUP(&m->co);
    m->cleanups++;
    CORO_END(&m->co);
}

Test(coro, await_misuse, .description = "Q: what if a coroutine awaits itself, or NULL?") {
    struct misuse self = {0}, none = {0};
    cr_assert_eq(await_self_step(&self), CORO_DONE, "awaiting itself fails at once");
    cr_assert_eq(coro_error(&self.co), -EINVAL, "with -EINVAL, instead of waiting forever");
    cr_assert(self.ran_after == 0 && self.cleanups == 1, "leaving through its cleanup");
    cr_assert_eq(await_null_step(&none), CORO_DONE, "awaiting NULL fails at once");
    cr_assert_eq(coro_error(&none.co), -EINVAL, "with -EINVAL");
    cr_assert_eq(none.child.body_runs, 0, "and steps nothing");
}

static enum coro_status reenter_step(struct misuse *m) {
    CORO_BEGIN(&m->co);
    m->inner = reenter_step(m); /* a bug: a coroutine stepping itself */
    m->ran_after++;
    CORO_CLEANUP(&m->co);
    CORO_END(&m->co);
}

Test(coro, reentry_is_refused, .description = "Q: what if a step is called while it runs?") {
    struct misuse m = {0};
    cr_assert_eq(reenter_step(&m), CORO_DONE, "the outer call finishes normally");
    cr_assert_eq(m.inner, CORO_SUSPENDED, "the inner call did nothing: 'not finished, later'");
    cr_assert_eq(m.ran_after, 1, "the body ran once");
}

struct waiter_frame {
    struct coro co;
    bool ready;
    int passed, checks, cleanups;
};

static bool waiter_check(struct waiter_frame *w) {
    w->checks++;
    return w->ready;
}

static enum coro_status wait_step(struct waiter_frame *w) {
    CORO_BEGIN(&w->co);
    CORO_WAIT_UNTIL(&w->co, waiter_check(w));
    w->passed++;
    CORO_CLEANUP(&w->co);
    w->cleanups++;
    CORO_END(&w->co);
}

Test(coro, wait_until, .description = "Q: when does CORO_WAIT_UNTIL suspend and re-check?") {
    struct waiter_frame now = {.ready = true};
    cr_assert_eq(wait_step(&now), CORO_DONE, "a condition that holds does not suspend");
    struct waiter_frame later = {0};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(wait_step(&later), CORO_SUSPENDED, "false: it stays parked");
    cr_assert_eq(later.checks, 3, "the condition was checked once per resume");
    later.ready = true;
    cr_assert_eq(wait_step(&later), CORO_DONE, "once it holds, the next resume goes on");
    cr_assert_eq(later.passed, 1, "past the wait exactly once");
    struct waiter_frame cancelled = {0};
    wait_step(&cancelled);
    coro_cancel(&cancelled.co);
    cr_assert_eq(wait_step(&cancelled), CORO_DONE, "a cancel ends the wait");
    cr_assert(cancelled.passed == 0 && cancelled.cleanups == 1, "through the cleanup");
    cr_assert_eq(cancelled.checks, 1, "without checking the condition again");
}

struct catcher {
    struct coro co;
    bool saw_cancel;
    int continued, cleanups;
};

static enum coro_status catcher_step(struct catcher *c) {
    CORO_BEGIN(&c->co);
    CORO_SUSPEND(&c->co);
    c->saw_cancel = coro_cancel_requested(&c->co);
    c->continued++;
    if (c->saw_cancel)
        CORO_LEAVE_CANCELLED(&c->co); /* what a task's await does when woken with -ECANCELED */
    CORO_CLEANUP(&c->co);
    c->cleanups++;
    CORO_END(&c->co);
}

Test(coro, layer_above_sees_cancel,
     .description = "Q: can a layer above deliver the cancel itself and leave as cancelled?") {
    struct catcher c = {0};
    catcher_step(&c);
    coro_cancel(&c.co);
    cr_assert_eq(catcher_step(&c), CORO_DONE, "it finishes");
    cr_assert(c.saw_cancel && c.continued == 1,
              "CORO_SUSPEND resumed the body, which saw coro_cancel_requested()");
    cr_assert_eq(c.cleanups, 1, "CORO_LEAVE_CANCELLED went through the cleanup");
    cr_assert(coro_is_cancelled(&c.co) && coro_error(&c.co) == -ECANCELED,
              "and it ended exactly as a cancel does: cancelled, -ECANCELED");
}

struct cleanup_fail {
    struct coro co;
    int after;
};

static enum coro_status cleanup_fail_step(struct cleanup_fail *f) {
    CORO_BEGIN(&f->co);
    CORO_FAIL(&f->co, -EIO);
    CORO_CLEANUP(&f->co);
    CORO_FAIL(&f->co, -EBADF);
    f->after++;
    CORO_END(&f->co);
}

Test(coro, fail_in_cleanup, .description = "Q: what if the cleanup itself fails?") {
    struct cleanup_fail f = {0};
    cr_assert_eq(cleanup_fail_step(&f), CORO_DONE, "it finishes");
    cr_assert_eq(coro_error(&f.co), -EBADF, "the cleanup's error replaces the body's: -EBADF");
    cr_assert_eq(f.after, 0, "and the cleanup stops there");
}

Test(coro, dump_states, .description = "Q: what does coro_dump print in each state?") {
    char buf[256];
    struct probe p = {0};
    FILE *out = fmemopen(buf, sizeof buf, "w");
    coro_dump(&p.co, out);
    fclose(out);
    cr_assert_str_eq(buf, "created, not started\n", "a new coroutine is 'created'");
    probe_step(&p);
    coro_cancel(&p.co);
    out = fmemopen(buf, sizeof buf, "w");
    coro_dump(&p.co, out);
    fclose(out);
    cr_assert(strstr(buf, "suspended at tests/coro_test.c:") == buf &&
                  strstr(buf, ", cancel requested\n") != NULL,
              "a parked one names file and line, and a pending cancel: %s", buf);
    probe_step(&p);
    out = fmemopen(buf, sizeof buf, "w");
    coro_dump(&p.co, out);
    coro_dump(NULL, out);
    fclose(out);
    cr_assert(strstr(buf, "cancelled in tests/coro_test.c, error -125") == buf,
              "a cancelled one says so, with its error: %s", buf);
    cr_assert(strstr(buf, "coro: NULL\n") != NULL, "a NULL coroutine is reported, not crashed on");
    coro_dump(&p.co, NULL); /* no stream: nothing to do, and no crash */
}

#ifdef CORO_USE_LABELS
struct switcher {
    struct coro co;
    int mode, after;
};

static enum coro_status switcher_step(struct switcher *s) {
    CORO_BEGIN(&s->co);
    switch (s->mode) {
    case 1:
        CORO_YIELD(&s->co); /* inside the user's switch: only the labels variant allows it */
        s->after = 1;
        break;
    default:
        s->after = 2;
        break;
    }
    CORO_CLEANUP(&s->co);
    CORO_END(&s->co);
}

Test(coro, labels_yield_inside_switch,
     .description = "Q: can a labels-variant coroutine yield inside its own switch?") {
    struct switcher s = {.mode = 1};
    cr_assert_eq(switcher_step(&s), CORO_SUSPENDED, "it parks inside case 1");
    s.mode = 2; /* would steer a re-run of the switch to default */
    cr_assert_eq(switcher_step(&s), CORO_DONE, "the resume jumps straight back into case 1");
    cr_assert_eq(s.after, 1, "and continues after the yield, not in default");
}
#endif
