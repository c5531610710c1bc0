/* clock.c — real and virtual time for the loop (lesson 05). The loop never reads the system
 * clock directly: a test swaps in virtual time and the same code runs an hour in a blink. */
#include "loop/clock.h"

#include <errno.h>
#include <time.h>

void loop_clock_init_real(struct loop_clock *c) {
    c->is_virtual = false;
    c->autojump = false;
    c->virtual_ns = 0;
}

void loop_clock_init_virtual(struct loop_clock *c, int64_t start_ns) {
    c->is_virtual = true;
    c->autojump = true;
    c->virtual_ns = start_ns;
}

int64_t loop_clock_now(const struct loop_clock *c) {
    if (c->is_virtual)
        return c->virtual_ns;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int loop_clock_advance(struct loop_clock *c, int64_t ns) {
    if (!c->is_virtual || ns < 0)
        return -EINVAL;
    c->virtual_ns += ns;
    return 0;
}
