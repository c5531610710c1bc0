/* resume_labels.h — how a coroutine resumes with GNU C's labels as values (lesson 06, compile with
 * -DCORO_USE_LABELS): each suspension is a label named after its line; its address is saved in
 * the coroutine and `goto *` jumps back to it. No switch is involved, so unlike resume_switch.h a
 * suspension may sit inside a switch of the user's. Only coro.h includes this file. */
#ifndef LOOPSCHOOL_CORO_RESUME_LABELS_H
#define LOOPSCHOOL_CORO_RESUME_LABELS_H

/* -Wpedantic rejects `&&label` and `goto *`, and gcc 12's -Wdangling-pointer mistakes a saved
 * label address for a pointer to a local: both are silenced around just those expressions,
 * never for the user's code. clang also insists that a function with `goto *` takes some label's
 * address, hence coro__start, where a new coroutine begins. */
/* clang-format off */
#if defined(__clang__)
#define CORO__GNU_ON                                                                               \
    _Pragma("clang diagnostic push") _Pragma("clang diagnostic ignored \"-Wgnu-label-as-value\"")
#define CORO__GNU_OFF _Pragma("clang diagnostic pop")
#else
#define CORO__GNU_ON                                                                               \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wpragmas\"")                 \
        _Pragma("GCC diagnostic ignored \"-Wpedantic\"")                                           \
            _Pragma("GCC diagnostic ignored \"-Wdangling-pointer\"")
#define CORO__GNU_OFF _Pragma("GCC diagnostic pop")
#endif

#define CORO__RESUME_FIELD void *resume; /* the label to jump to on resume; NULL: the start */
#define CORO__LABEL_CONCAT2(a, b) a##b
#define CORO__LABEL_CONCAT(a, b)  CORO__LABEL_CONCAT2(a, b)
#define CORO__LABEL CORO__LABEL_CONCAT(coro__resume_at_line_, __LINE__)
#define CORO__DISPATCH(co)                                                                         \
    CORO__GNU_ON goto *((co)->resume ? (co)->resume : &&coro__start);                              \
    CORO__GNU_OFF                                                                                  \
    coro__start: {
#define CORO__SAVE_RESUME_POINT(co)                                                                \
    do {                                                                                           \
        CORO__GNU_ON (co)->resume = &&CORO__LABEL;                                                 \
        CORO__GNU_OFF                                                                              \
        coro__park((co), __LINE__);                                                                \
    } while (0)
#define CORO__RESUME_POINT CORO__LABEL:;
#define CORO__BODY_END     }
/* clang-format on */

#endif
