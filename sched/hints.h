/* hints.h — the library's only compiler hints, in one place (lessons 05, 04 and 15 use them).
 * Each changes how fast or how well-checked the code is, never what it does: with GCC or Clang
 * it is their builtin or attribute (not C11); with any other C11 compiler it is nothing. */
#ifndef LOOPSCHOOL_HINTS_H
#define LOOPSCHOOL_HINTS_H

#if defined(__GNUC__)
/* Asks the CPU to start loading the cache line at addr, and goes on: a hint, not a load. */
#define HINT_PREFETCH(addr) __builtin_prefetch(addr)
/* Keeps a rarely taken path in a function of its own, reached by a tail call, so that the
 * common path of a hot entry point (loop_call_soon) needs no stack frame. */
#define HINT_OUT_OF_LINE __attribute__((noinline))
/* Has the compiler check a printf-style call: argument `f` is the format, `a` the first value. */
#define HINT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define HINT_PREFETCH(addr) ((void)(addr))
#define HINT_OUT_OF_LINE
#define HINT_PRINTF(f, a)
#endif

#endif
