/* demo.c — lesson 07: what happens to a coroutine while it awaits another one. A parent awaits
 * a child that suspends three times and returns a value; then a child that fails; then the
 * parent is cancelled mid-await. Every step prints where parent and child will resume.
 * `demo --trace` prints only the canonical event lines that asyncio_twin.py also prints. */
#include "coro/coro.h"

#include "loop/observe/narrate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The story, or with --trace the event lines only ("resume 2: child round 2"), narrate.h. */
static struct narrator narrator;
static int resume_no; /* the resume of the parent that is running, for the trace */

/* The errno names the trace uses; Python names the same cases by exception. */
static const char *error_name(int err) {
    return err == 0 ? "none" : err == -EIO ? "EIO" : err == -ECANCELED ? "ECANCELED" : "other";
}

struct child {
    struct coro co;
    int round;
    bool fail; /* end with -EIO instead of a result */
    int result;
};

/* Python: async def child(): for round in 1..3: await something(); return 42 */
static enum coro_status child_step(struct child *c) {
    CORO_BEGIN(&c->co);
    for (c->round = 1; c->round <= 3; c->round++) {
        narrate_story(&narrator, "      child: round %d, suspending\n", c->round);
        narrate_trace(&narrator, "resume %d: child round %d", resume_no, c->round);
        CORO_YIELD(&c->co);
    }
    if (c->fail)
        CORO_FAIL(&c->co, -EIO);
    c->result = 42;
    CORO_CLEANUP(&c->co);
    narrate_story(&narrator, "      child: cleanup (error %d)\n", coro_error(&c->co));
    narrate_trace(&narrator, "resume %d: child cleanup, error %s", resume_no,
                  error_name(coro_error(&c->co)));
    CORO_END(&c->co);
}

struct parent {
    struct coro co;
    struct child child; /* the awaited coroutine's frame lives inside the awaiting one's */
    int got;
};

/* Python: async def parent(): got = await child() */
static enum coro_status parent_step(struct parent *p) {
    CORO_BEGIN(&p->co);
    narrate_story(&narrator, "      parent: starts, awaits the child\n");
    narrate_trace(&narrator, "resume %d: parent awaits the child", resume_no);
    CORO_AWAIT(&p->co, &p->child.co, child_step(&p->child));
    if (coro_error(&p->child.co) != 0)
        CORO_FAIL(&p->co, coro_error(&p->child.co)); /* pass the error up, unchanged */
    p->got = p->child.result;
    narrate_story(&narrator, "      parent: the child returned %d\n", p->got);
    narrate_trace(&narrator, "resume %d: parent got %d", resume_no, p->got);
    CORO_CLEANUP(&p->co);
    narrate_story(&narrator, "      parent: cleanup (error %d)\n", coro_error(&p->co));
    narrate_trace(&narrator, "resume %d: parent cleanup, error %s", resume_no,
                  error_name(coro_error(&p->co)));
    CORO_END(&p->co);
}

static void show(int resume, const struct parent *p, enum coro_status s) {
    if (s == CORO_DONE)
        narrate_trace(&narrator, "resume %d: parent %s", resume_no,
                      coro_state(&p->co) == CORO_STATE_CANCELLED ? "cancelled"
                      : coro_error(&p->co) != 0                  ? "failed"
                                                                 : "done");
    if (narrator.trace)
        return;
    printf("   resume %d -> %s; parent %s", resume, coro_status_name(s),
           coro_state_name(coro_state(&p->co)));
    if (coro_is_suspended(&p->co))
        printf(" at line %d", coro_line(&p->co));
    printf(", child %s", coro_state_name(coro_state(&p->child.co)));
    if (coro_is_suspended(&p->child.co))
        printf(" at line %d", coro_line(&p->child.co));
    printf("\n");
}

/* Steps the parent, and only the parent, through resumes first..last or until it finishes. */
static void drive(struct parent *p, int first, int last) {
    for (int resume = first; resume <= last; resume++) {
        resume_no = resume;
        enum coro_status s = parent_step(p);
        show(resume, p, s);
        if (s == CORO_DONE)
            return;
    }
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line, also into a pipe or under gdb -batch */
    narrate_parse(&narrator, &argc, argv);
    narrate_story(
        &narrator,
        "Lesson 07: while a coroutine awaits, it is parked on its await line. Each resume of\n"
        "the parent re-enters the child; the parent moves on only when the child is "
        "done.\n\n");

    narrate_story(&narrator,
                  "1. A parent awaits a child that suspends three times, then returns 42.\n");
    narrate_trace(&narrator, "scene 1: the child returns 42");
    struct parent ok = {0};
    drive(&ok, 1, 10);
    narrate_story(&narrator, "   The parent read %d from the child's frame; error %d.\n\n", ok.got,
                  coro_error(&ok.co));

    narrate_story(&narrator,
                  "2. The same, but the child fails with -EIO after its three rounds.\n");
    narrate_trace(&narrator, "scene 2: the child fails with EIO");
    struct parent failing = {.child.fail = true};
    drive(&failing, 1, 10);
    narrate_story(&narrator,
                  "   The parent ended with error %d (%s):\n"
                  "   the child's error, passed up unchanged.\n\n",
                  coro_error(&failing.co), strerror(-coro_error(&failing.co)));

    narrate_story(&narrator, "3. The parent is cancelled while it awaits (after two resumes).\n");
    narrate_trace(&narrator, "scene 3: the parent is cancelled after two resumes");
    struct parent cancelled = {0};
    drive(&cancelled, 1, 2);
    int first_cancel = coro_cancel(&cancelled.co);
    narrate_story(&narrator, "   coro_cancel(parent) = %d: only a request, nothing runs yet\n",
                  first_cancel);
    narrate_trace(&narrator, "%s",
                  first_cancel == 0 ? "cancel: accepted, nothing runs yet" : "cancel: refused");
    drive(&cancelled, 3, 3);
    int second_cancel = coro_cancel(&cancelled.co);
    narrate_story(
        &narrator,
        "   The child was cancelled first, so its cleanup ran before the parent's.\n"
        "   coro_cancel(parent) again = %d (-EALREADY): a finished coroutine stays as it is.\n",
        second_cancel);
    narrate_trace(&narrator, "%s",
                  second_cancel == -EALREADY ? "cancel again: refused, it has finished"
                                             : "cancel again: accepted");

    bool shown = ok.got == 42 && coro_error(&ok.co) == 0 && coro_error(&failing.co) == -EIO &&
                 coro_state(&cancelled.co) == CORO_STATE_CANCELLED &&
                 coro_state(&cancelled.child.co) == CORO_STATE_CANCELLED && first_cancel == 0 &&
                 second_cancel == -EALREADY;
    if (!shown)
        fprintf(stderr, "demo: the awaits did not go as described\n");
    return shown ? 0 : 1;
}
