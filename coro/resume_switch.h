/* resume_switch.h — how a coroutine resumes, the portable way (lesson 06): Duff's device. The body
 * sits inside a switch on the saved line; a suspension saves __LINE__ and returns, and the next
 * call jumps straight to the `case __LINE__:` written just after that return. Only coro.h
 * includes this file; the default unless CORO_USE_LABELS is defined (see resume_labels.h). */
#ifndef LOOPSCHOOL_CORO_RESUME_SWITCH_H
#define LOOPSCHOOL_CORO_RESUME_SWITCH_H

#define CORO__RESUME_FIELD /* nothing to store: the line says it all */
#define CORO__DISPATCH(co)                                                                         \
    switch ((co)->line) {                                                                          \
    case 0:
#define CORO__SAVE_RESUME_POINT(co) coro__park((co), __LINE__)
#define CORO__RESUME_POINT          case __LINE__:; /* `;`: a declaration may follow a yield */
#define CORO__BODY_END              }

#endif
