/* 07_await_test.c — lesson 07's question, answered by observation: while a coroutine awaits,
 * it stays parked on its await line and every resume of it re-enters the child; results and
 * errors come back through the child's frame; a cancel travels down the chain and the cleanups
 * run innermost first, each exactly once. */
#include "coro/coro.h"
#include "tests/support/twin.h"

#include <criterion/criterion.h>

TestSuite(await, .description = "What happens to a coroutine while it awaits another one?");

/* A chain link: a leaf suspends three times then returns 7 (or fails); any other link awaits
 * its child and returns the child's result + 1, or passes the child's error up. */
struct link {
    struct coro co;
    struct link *child;
    int id, round, fail_with, result;
    int entries;    /* times its step was called while unfinished */
    int await_line; /* the line of its CORO_AWAIT, noted just before it */
    int cleanups;
    int *cleanup_log, *cleanup_count; /* shared by the chain: who cleaned up, in order */
};

static enum coro_status link_step(struct link *l) {
    if (!coro_is_done(&l->co))
        l->entries++;
    CORO_BEGIN(&l->co);
    if (l->child == NULL) {
        for (l->round = 0; l->round < 3; l->round++)
            CORO_YIELD(&l->co);
        if (l->fail_with != 0)
            CORO_FAIL(&l->co, l->fail_with);
        l->result = 7;
    } else {
        l->await_line = __LINE__ + 1; /* the line of the await below */
        CORO_AWAIT(&l->co, &l->child->co, link_step(l->child));
        if (coro_error(&l->child->co) != 0)
            CORO_FAIL(&l->co, coro_error(&l->child->co));
        l->result = l->child->result + 1;
    }
    CORO_CLEANUP(&l->co);
    l->cleanups++;
    if (l->cleanup_log != NULL)
        l->cleanup_log[(*l->cleanup_count)++] = l->id;
    CORO_END(&l->co);
}

/* links[0] awaits links[1], which awaits links[2], the leaf. */
struct chain {
    struct link links[3];
    int log[8], count;
};

static void chain_init(struct chain *c, int leaf_fails_with) {
    *c = (struct chain){0};
    for (int i = 0; i < 3; i++) {
        c->links[i].id = i;
        c->links[i].child = i < 2 ? &c->links[i + 1] : NULL;
        c->links[i].cleanup_log = c->log;
        c->links[i].cleanup_count = &c->count;
    }
    c->links[2].fail_with = leaf_fails_with;
}

Test(await, parent_reenters_child,
     .description = "Q: what does each resume of an awaiting parent do, and where is it parked?") {
    struct link child = {.id = 1}, parent = {.id = 0, .child = &child};
    for (int resume = 1; resume <= 3; resume++) {
        cr_assert_eq(link_step(&parent), CORO_SUSPENDED, "the child's suspension is passed up");
        cr_assert_eq(child.entries, resume, "resume %d of the parent entered the child again",
                     resume);
        cr_assert_eq(coro_line(&parent.co), parent.await_line,
                     "the parent stays parked on its await line (%d)", parent.await_line);
        cr_assert(coro_is_suspended(&child.co), "while the child is suspended too");
    }
    cr_assert_eq(link_step(&parent), CORO_DONE, "the fourth resume lets the child finish");
    cr_assert_eq(child.entries, 4, "the child was entered once per resume of the parent");
    cr_assert_eq(parent.entries, 4, "and the parent was resumed four times, no more");
}

Test(await, parent_reads_result, .description = "Q: how does the parent get the child's result?") {
    struct link child = {.id = 1}, parent = {.id = 0, .child = &child};
    while (link_step(&parent) == CORO_SUSPENDED) {
    }
    cr_assert_eq(child.result, 7, "the child left 7 in its frame");
    cr_assert_eq(parent.result, 8, "the parent read it from there and added 1: 8");
    cr_assert_eq(coro_error(&parent.co), 0, "no error anywhere");
}

Test(await, error_propagates_up_the_chain,
     .description = "Q: does a failure deep in a chain of awaits reach the top unchanged?") {
    struct chain c;
    chain_init(&c, -EPIPE);
    int resumes = 1;
    while (link_step(&c.links[0]) == CORO_SUSPENDED)
        resumes++;
    cr_assert_eq(resumes, 4, "three suspensions of the leaf, then the end");
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(coro_error(&c.links[i].co), -EPIPE, "link %d ends with -EPIPE, unchanged", i);
        cr_assert_eq(c.links[i].cleanups, 1, "link %d cleaned up once", i);
        cr_assert_eq(coro_state(&c.links[i].co), CORO_STATE_DONE, "link %d failed: done", i);
    }
    cr_assert_eq(c.links[0].result, 0, "the top never computed a result");
}

Test(await, cancel_chain_midway,
     .description = "Q: when a chain of awaits is cancelled, which cleanups run, in what order?") {
    struct chain c;
    chain_init(&c, 0);
    link_step(&c.links[0]);
    link_step(&c.links[0]);
    cr_assert_eq(coro_cancel(&c.links[0].co), 0, "the cancel request is accepted");
    cr_assert_eq(c.count, 0, "a request runs nothing by itself");
    cr_assert_eq(link_step(&c.links[0]), CORO_DONE, "the next resume ends the whole chain");
    cr_assert_eq(c.count, 3, "three cleanups ran");
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(c.log[i], 2 - i, "cleanup %d was link %d's: innermost first", i + 1, 2 - i);
        cr_assert(coro_is_cancelled(&c.links[i].co), "link %d ends cancelled", i);
        cr_assert_eq(coro_error(&c.links[i].co), -ECANCELED, "link %d: -ECANCELED", i);
    }
    cr_assert_eq(c.links[2].round, 1,
                 "the leaf was cancelled where it was parked: at its second yield");
    for (int i = 0; i < 3; i++)
        link_step(&c.links[0]);
    cr_assert_eq(c.count, 3, "resuming afterwards runs no cleanup again: each ran exactly once");
}

Test(await, cancel_child_alone,
     .description = "Q: what does the parent see if only its child is cancelled?") {
    struct link child = {.id = 1}, parent = {.id = 0, .child = &child};
    link_step(&parent);
    coro_cancel(&child.co);
    cr_assert_eq(link_step(&parent), CORO_DONE, "the re-entered child ends, so the await ends");
    cr_assert(coro_is_cancelled(&child.co) && child.cleanups == 1, "the child ran its cleanup");
    cr_assert_eq(coro_error(&parent.co), -ECANCELED,
                 "this parent passes the child's -ECANCELED up (its own choice, read from the "
                 "child's frame)");
    cr_assert(coro_is_cancelled(&parent.co), "and so it ends cancelled too");
}

Test(await, cancel_finished_changes_nothing,
     .description = "Q: what does cancelling a coroutine that already finished do?") {
    struct link child = {.id = 1}, parent = {.id = 0, .child = &child};
    while (link_step(&parent) == CORO_SUSPENDED) {
    }
    cr_assert_eq(coro_cancel(&parent.co), -EALREADY, "it answers -EALREADY: too late");
    cr_assert_eq(coro_cancel(&child.co), -EALREADY, "so does the finished child");
    cr_assert_eq(coro_state(&parent.co), CORO_STATE_DONE, "the parent is still done");
    cr_assert(parent.result == 8 && coro_error(&parent.co) == 0, "its result stands");
    cr_assert_eq(link_step(&parent), CORO_DONE, "and a later resume is harmless");
    cr_assert(parent.cleanups == 1 && child.cleanups == 1, "no cleanup ran twice");
}

Test(await, asyncio_twin_matches,
     .description = "Q: does asyncio, awaiting the same child, resume, fail, cancel and clean up "
                    "in exactly the order loopschool does?",
     .timeout = 30) {
    struct test_twin_output *c, *py;
    test_twin_pair("07-await", &c, &py);
    test_twin_assert_same(c, py); /* no difference on purpose: every line is the same */
    free(c);
    free(py);
}
