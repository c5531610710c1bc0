/* clock.h — the loop's sense of time, in nanoseconds: the real monotonic clock, or a virtual
 * one that tests move by hand or let the loop jump forward (autojump). Lesson 05 shows both. */
#ifndef LOOPSCHOOL_CLOCK_H
#define LOOPSCHOOL_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct loop_clock {
    bool is_virtual;
    /* Virtual only: when the loop would sleep, it jumps virtual time to the next deadline
     * instead (so an hour of timers runs in a blink, and tests assert what it *would* wait). */
    bool autojump;
    int64_t virtual_ns;
};

/* CLOCK_MONOTONIC. */
void loop_clock_init_real(struct loop_clock *c);
/* Starts at start_ns, autojump on. */
void loop_clock_init_virtual(struct loop_clock *c, int64_t start_ns);
int64_t loop_clock_now(const struct loop_clock *c);
/* Virtual clocks only, forward only: 0, or -EINVAL (real clock, or a negative step). */
int loop_clock_advance(struct loop_clock *c, int64_t ns);

#endif
