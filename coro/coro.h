/* coro.h — stackless coroutines on Duff's device: a step function returns at each suspension and,
 * called again, jumps back to where it left off. Its state lives in a frame struct that embeds a
 * struct coro; its C locals do not survive a suspension. Lesson 06 introduces begin / yield /
 * cleanup / end and cancellation, lesson 07 await. Two resume mechanisms, one behaviour: portable
 * switch/case __LINE__ (resume_switch.h, the default) and GNU labels as values (resume_labels.h,
 * compile with -DCORO_USE_LABELS). */
#ifndef LOOPSCHOOL_CORO_H
#define LOOPSCHOOL_CORO_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* What a step returns: only a status. Results stay in the frame, errors in coro_error(). */
enum coro_status {
    CORO_SUSPENDED, /* parked: call the step again to resume it */
    CORO_DONE,      /* finished, whichever way: ended, returned, failed or cancelled */
};

enum coro_state {
    CORO_STATE_CREATED,   /* never stepped; zeroed memory is a fresh coroutine */
    CORO_STATE_RUNNING,   /* inside its step, running the body */
    CORO_STATE_SUSPENDED, /* parked at `line` */
    CORO_STATE_CLEANING,  /* inside its step, running the cleanup section */
    CORO_STATE_DONE,      /* finished: ended, returned or failed (see coro_error) */
    CORO_STATE_CANCELLED, /* finished with error -ECANCELED */
};

/* The resume mechanism: where a suspension saves its place, and how a call jumps back to it. */
#ifdef CORO_USE_LABELS
#include "coro/resume_labels.h"
#else
#include "coro/resume_switch.h"
#endif

/* 16 bytes in the switch variant; 24 with labels (the saved label address comes first). */
struct coro {
    CORO__RESUME_FIELD
    const char *file;         /* __FILE__ of the step function, for coro_dump */
    int32_t line;             /* __LINE__ of the suspension it resumes after; 0: not started */
    int16_t error;            /* 0, or the negative errno it failed with */
    uint8_t state;            /* an enum coro_state (gdb: `p (enum coro_state)f->co.state`) */
    uint8_t cancel_requested; /* set by coro_cancel, acted on where the coroutine is parked */
};

/* ---- queries and calls ----------------------------------------------------------------------- */
/* A zeroed struct coro is a fresh coroutine; coro_init resets one for reuse. */
static inline void coro_init(struct coro *co) {
    *co = (struct coro){0};
}
static inline enum coro_state coro_state(const struct coro *co) {
    return (enum coro_state)co->state;
}
static inline bool coro_is_created(const struct coro *co) {
    return co->state == CORO_STATE_CREATED;
}
static inline bool coro_is_suspended(const struct coro *co) {
    return co->state == CORO_STATE_SUSPENDED;
}
/* Finished whichever way, cancelled included, as asyncio's Task.done(): true exactly when the
 * step returns CORO_DONE. */
static inline bool coro_is_done(const struct coro *co) {
    return co->state >= CORO_STATE_DONE;
}
static inline bool coro_is_cancelled(const struct coro *co) {
    return co->state == CORO_STATE_CANCELLED;
}
static inline int coro_error(const struct coro *co) {
    return co->error;
}
/* The line it will resume after (0 before the first step): what gdb's `p f->co.line` shows. */
static inline int coro_line(const struct coro *co) {
    return co->line;
}
/* For the layer above: a task's await learns of a cancel here and leaves as CORO_YIELD would. */
static inline bool coro_cancel_requested(const struct coro *co) {
    return co->cancel_requested != 0;
}

/* Requests cancellation; it takes effect where the coroutine is parked, at its next resume: the
 * body is left for the cleanup section (a child it awaits is cancelled first, so cleanups run
 * innermost first) and it ends CANCELLED with error -ECANCELED. A coroutine that never ran is
 * cancelled on the spot: it has nothing to clean up. Returns 0 (also when asked twice: harmless),
 * -EALREADY if it has already finished (nothing changes), -EINVAL for NULL. */
int coro_cancel(struct coro *co);

/* Prints one line such as "suspended at lessons/06-coroutines/demo.c:42" and flushes: gdb can
 * `call coro_dump(&f->co, stdout)`. */
void coro_dump(const struct coro *co, FILE *out);
const char *coro_state_name(enum coro_state state);
const char *coro_status_name(enum coro_status status);

/* ---- writing a coroutine -----------------------------------------------------------------------
 *   enum coro_status counter_step(struct counter *f) {    // f: the frame, it owns f->co
 *       CORO_BEGIN(&f->co);
 *       for (f->i = 0; f->i < 3; f->i++)                  // f->i, never a local: see lesson 06
 *           CORO_YIELD(&f->co);
 *       CORO_CLEANUP(&f->co);                             // runs once, however the body ends
 *       CORO_END(&f->co);
 *   }
 * Rules. Every coroutine has BEGIN, CLEANUP and END, in that order (the cleanup may be empty).
 * Keep state in the frame: a local declared after CORO_BEGIN is not initialised when the step
 * resumes. One suspension per line (the line is its name). Leave with CORO_RETURN or CORO_FAIL,
 * never with C `return`. `co` is evaluated many times: pass a plain pointer such as &f->co.
 * Switch variant only: no suspension inside a `switch` of yours, whose `case` labels would
 * capture ours (the labels variant lifts this). */

/* Why each macro exists, in the order a student meets them:
 * CORO_BEGIN    enter: a finished coroutine returns CORO_DONE at once; else jump to the saved
 *               resume point (the start when new). */
#define CORO_BEGIN(co)                                                                             \
    if (!coro__enter((co), __FILE__))                                                              \
        return coro__status(co);                                                                   \
    CORO__DISPATCH(co)

/* CORO_SUSPEND  the bare suspension: save the line, return, resume right after it. It does not
 *               look at cancellation; it is for layers that deliver cancel themselves. */
#define CORO_SUSPEND(co)                                                                           \
    do {                                                                                           \
        if (coro__suspend_refused(co)) /* in the cleanup: ends at once with -EDEADLK */            \
            goto coro__end;                                                                        \
        CORO__SAVE_RESUME_POINT(co);                                                               \
        return CORO_SUSPENDED;                                                                     \
        CORO__RESUME_POINT                                                                         \
    } while (0)

/* CORO_YIELD    suspend; on resume, a pending cancel leaves the body for the cleanup. */
#define CORO_YIELD(co)                                                                             \
    do {                                                                                           \
        CORO_SUSPEND(co);                                                                          \
        if (coro__cancel_pending(co))                                                              \
            goto coro__cleanup;                                                                    \
    } while (0)

/* CORO_YIELD_VALUE  a generator hands a value out through a frame field (Python's `yield v`). */
#define CORO_YIELD_VALUE(co, slot, value)                                                          \
    do {                                                                                           \
        (slot) = (value);                                                                          \
        CORO_YIELD(co);                                                                            \
    } while (0)

/* CORO_RECEIVE  suspend until the caller sends a value, then copy it from the frame's inbox
 *               (Python's `x = yield`). CORO_SEND is the caller's half (Python's gen.send(v)). */
#define CORO_RECEIVE(co, dest, inbox)                                                              \
    do {                                                                                           \
        CORO_YIELD(co);                                                                            \
        (dest) = (inbox);                                                                          \
    } while (0)
#define CORO_SEND(inbox, value, step_call) ((inbox) = (value), (step_call))

/* CORO_WAIT_UNTIL  suspend until cond holds, re-checked on every resume (no suspension if it
 *               already holds). */
#define CORO_WAIT_UNTIL(co, cond)                                                                  \
    do {                                                                                           \
        while (!(cond))                                                                            \
            CORO_YIELD(co);                                                                        \
    } while (0)

/* CORO_AWAIT    run a child to its end (Python's `yield from` / `await`): step it now and on every
 *               resume of the parent, pass each suspension up, continue once it is done; then read
 *               its result and coro_error() from its frame. A cancelled parent cancels the child
 *               and steps it once more, so the child's cleanup runs before the parent's. */
#define CORO_AWAIT(co, child, step_call)                                                           \
    do {                                                                                           \
        if (coro__await_refused((co), (child))) /* NULL, or itself: -EINVAL */                     \
            CORO__LEAVE(co);                                                                       \
        while ((step_call) == CORO_SUSPENDED) {                                                    \
            if (coro__suspend_refused(co)) {                                                       \
                CORO__FINISH_CHILD(child, step_call);                                              \
                goto coro__end;                                                                    \
            }                                                                                      \
            CORO__SAVE_RESUME_POINT(co);                                                           \
            return CORO_SUSPENDED;                                                                 \
            CORO__RESUME_POINT                                                                     \
            if (coro__cancel_pending(co)) {                                                        \
                CORO__FINISH_CHILD(child, step_call);                                              \
                goto coro__cleanup;                                                                \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* CORO_RETURN   finish early; the cleanup still runs (inside the cleanup: stop it here). */
#define CORO_RETURN(co) CORO__LEAVE(co)
/* CORO_FAIL     record a negative errno and leave for the cleanup (a non-negative err is a bug
 *               and records -EINVAL). In the cleanup it replaces the error and ends, as an
 *               exception raised in a Python `finally` replaces the one in flight. The line of
 *               the failure is kept in `line` (it will never be resumed), for reports and gdb. */
#define CORO_FAIL(co, err)                                                                         \
    do {                                                                                           \
        coro__fail((co), (err), __LINE__);                                                         \
        CORO__LEAVE(co);                                                                           \
    } while (0)
/* CORO_LEAVE_CANCELLED  leave exactly as a cancel does (ends CANCELLED): for an await above this
 *               layer that was woken with -ECANCELED. */
#define CORO_LEAVE_CANCELLED(co) CORO_FAIL(co, -ECANCELED)

/* CORO_CLEANUP  start of the cleanup section: reached by falling off the body, by RETURN, FAIL
 *               or a cancel. It runs once and may not suspend (a suspension there ends the
 *               coroutine at once with -EDEADLK). coro_error() tells it why it runs. */
#define CORO_CLEANUP(co)                                                                           \
    goto coro__cleanup; /* falling off the body: also a way in */                                  \
    coro__cleanup:                                                                                 \
    coro__begin_cleanup(co)

/* CORO_END      close the body and finish: DONE, or CANCELLED when the error is -ECANCELED. */
#define CORO_END(co)                                                                               \
    goto coro__end; /* falling off the cleanup */                                                  \
    CORO__BODY_END                                                                                 \
    coro__end:                                                                                     \
    return coro__finish(co)

/* ---- the machinery behind the macros (names with a double underscore: do not use) --------------
 * Compiler traps met here, and why each fix:
 * - A label must be followed by a statement, and C11 forbids a declaration there, so every resume
 *   label ends in `;` (`case __LINE__:;`): the body may declare a variable right after a yield.
 * - -Wunused-label would fire inside our macros for coro__cleanup / coro__end in a coroutine
 *   that never leaves early. gcc reports it at the label's spelling in this header, which a
 *   _Pragma in the macro does not cover; so falling into each label is written as a `goto` to it,
 *   and every label has a user (the jump to the next statement costs nothing).
 * - -Wimplicit-fallthrough stays quiet: every resume label follows a `return`, so no `case` is
 *   reached by falling through.
 * How a suspension saves its place and a call jumps back to it is the resume mechanism, one small
 * header each: resume_switch.h (Duff's device, the default) and resume_labels.h (GNU labels as
 * values). Each defines CORO__RESUME_FIELD (what struct coro stores besides the line),
 * CORO__DISPATCH (jump to the saved place), CORO__SAVE_RESUME_POINT, CORO__RESUME_POINT and
 * CORO__BODY_END. */
/* Leave the body for the cleanup; from inside the cleanup, leave it for the end. */
#define CORO__LEAVE(co)                                                                            \
    do {                                                                                           \
        if ((co)->state == CORO_STATE_CLEANING)                                                    \
            goto coro__end;                                                                        \
        goto coro__cleanup;                                                                        \
    } while (0)
/* Cancel a child we are abandoning and step it once more, so its cleanup runs now. */
#define CORO__FINISH_CHILD(child, step_call)                                                       \
    do {                                                                                           \
        (void)coro_cancel(child);                                                                  \
        (void)(step_call);                                                                         \
    } while (0)

/* false: do not run the body (finished, or re-entered from inside its own step). The common
 * case, a suspended coroutine, is tested first: this is on every resume. */
static inline bool coro__enter(struct coro *co, const char *file) {
    if (co->state != CORO_STATE_SUSPENDED) {
        if (co->state != CORO_STATE_CREATED)
            return false;
        co->file = file;
    }
    co->state = CORO_STATE_RUNNING;
    return true;
}
static inline enum coro_status coro__status(const struct coro *co) {
    return coro_is_done(co) ? CORO_DONE : CORO_SUSPENDED;
}
static inline void coro__park(struct coro *co, int line) {
    co->line = line;
    co->state = CORO_STATE_SUSPENDED;
}
static inline bool coro__suspend_refused(struct coro *co) {
    if (co->state != CORO_STATE_CLEANING)
        return false;
    co->error = -EDEADLK;
    return true;
}
static inline bool coro__cancel_pending(struct coro *co) {
    if (!co->cancel_requested)
        return false;
    co->error = -ECANCELED;
    return true;
}
static inline void coro__fail(struct coro *co, int err, int line) {
    co->error = (int16_t)(err < 0 && err >= INT16_MIN ? err : -EINVAL);
    co->line = line;
}
static inline bool coro__await_refused(struct coro *co, const struct coro *child) {
    if (child != NULL && child != co)
        return false;
    co->error = -EINVAL;
    return true;
}
static inline void coro__begin_cleanup(struct coro *co) {
    co->state = CORO_STATE_CLEANING;
}
static inline enum coro_status coro__finish(struct coro *co) {
    co->state = co->error == -ECANCELED ? CORO_STATE_CANCELLED : CORO_STATE_DONE;
    return CORO_DONE;
}

#endif
