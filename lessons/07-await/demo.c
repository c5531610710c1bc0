/* demo.c — lesson 07: what happens to a coroutine while it awaits another one. A parent awaits
 * a child that suspends three times and returns a value; then a child that fails; then the
 * parent is cancelled mid-await. Every step prints where parent and child will resume. */
#include "coro/coro.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
        printf("      child: round %d, suspending\n", c->round);
        CORO_YIELD(&c->co);
    }
    if (c->fail)
        CORO_FAIL(&c->co, -EIO);
    c->result = 42;
    CORO_CLEANUP(&c->co);
    printf("      child: cleanup (error %d)\n", coro_error(&c->co));
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
    printf("      parent: starts, awaits the child\n");
    CORO_AWAIT(&p->co, &p->child.co, child_step(&p->child));
    if (coro_error(&p->child.co) != 0)
        CORO_FAIL(&p->co, coro_error(&p->child.co)); /* pass the error up, unchanged */
    p->got = p->child.result;
    printf("      parent: the child returned %d\n", p->got);
    CORO_CLEANUP(&p->co);
    printf("      parent: cleanup (error %d)\n", coro_error(&p->co));
    CORO_END(&p->co);
}

static void show(int resume, const struct parent *p, enum coro_status s) {
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
        enum coro_status s = parent_step(p);
        show(resume, p, s);
        if (s == CORO_DONE)
            return;
    }
}

int main(void) {
    printf("Lesson 07: while a coroutine awaits, it is parked on its await line. Each resume of\n"
           "the parent re-enters the child; the parent moves on only when the child is done.\n\n");

    printf("1. A parent awaits a child that suspends three times, then returns 42.\n");
    struct parent ok = {0};
    drive(&ok, 1, 10);
    printf("   The parent read %d from the child's frame; error %d.\n\n", ok.got,
           coro_error(&ok.co));

    printf("2. The same, but the child fails with -EIO after its three rounds.\n");
    struct parent failing = {.child.fail = true};
    drive(&failing, 1, 10);
    printf("   The parent ended with error %d (%s): the child's error, passed up unchanged.\n\n",
           coro_error(&failing.co), strerror(-coro_error(&failing.co)));

    printf("3. The parent is cancelled while it awaits (after two resumes).\n");
    struct parent cancelled = {0};
    drive(&cancelled, 1, 2);
    printf("   coro_cancel(parent) = %d: only a request, nothing runs yet\n",
           coro_cancel(&cancelled.co));
    drive(&cancelled, 3, 3);
    printf("   The child was cancelled first, so its cleanup ran before the parent's.\n"
           "   coro_cancel(parent) again = %d (-EALREADY): a finished coroutine stays as it is.\n",
           coro_cancel(&cancelled.co));
    return 0;
}
