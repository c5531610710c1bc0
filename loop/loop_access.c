/* loop_access.c — the loop's small accessors: what a demo, a test or a dump may read or set on
 * a loop from outside (lessons 02 to 09). Apart from loop.c so that the tick's file stays the
 * tick. */
#include "loop/loop_internal.h"

uint64_t loop_tick(const struct loop *loop) {
    return loop->sched.tick;
}
int64_t loop_last_timeout(const struct loop *loop) {
    return loop->last_timeout;
}
const char *loop_last_error(const struct loop *loop) {
    return loop->sched.error;
}
struct backend *loop_backend(struct loop *loop) {
    return loop->backend;
}
struct policy *loop_policy(struct loop *loop) {
    return loop->sched.ready.policy;
}

int loop_set_policy(struct loop *loop, const struct policy_ops *ops) {
    return readyq_set_policy(&loop->sched.ready, ops);
}

struct sched *loop_sched(struct loop *loop) {
    return &loop->sched;
}
struct loop_clock *loop_clock(struct loop *loop) {
    return loop->clock;
}
size_t loop_ready_count(const struct loop *loop) {
    return readyq_count(&loop->sched.ready);
}
size_t loop_timer_count(const struct loop *loop) {
    return timerq_count(&loop->sched.timers);
}
size_t loop_watch_count(const struct loop *loop) {
    return loop->watch_count;
}
