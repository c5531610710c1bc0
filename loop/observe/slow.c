/* slow.c — the slow-callback report of lesson 15; see slow.h. It needs only after_run: the loop
 * already times a run for any observer that asks, so the check itself is one comparison. The
 * report is built after the run, when a task's resume point names the await it stopped at. */
#include "loop/observe/slow.h"

#include <errno.h>
#include <string.h>

#include "loop/observe/tasks.h"

static void check_run(void *ctx, struct loop *loop, const struct runnable *r, int64_t ran_ns) {
    struct observe_slow *s = ctx;
    if (ran_ns < s->threshold_ns)
        return;
    long long ms = (long long)(ran_ns / 1000000), limit = (long long)(s->threshold_ns / 1000000);
    struct task *t = observe_task_of(loop, r);
    if (t && t->co.line)
        snprintf(s->last, sizeof s->last, "task '%s' ran %lld ms at %s:%d (threshold %lld ms)",
                 r->name, ms, t->co.file ? t->co.file : "?", (int)t->co.line, limit);
    else if (r)
        snprintf(s->last, sizeof s->last, "%s '%s' ran %lld ms (threshold %lld ms)",
                 t ? "task" : "callback", r->name ? r->name : "?", ms, limit);
    else /* a task that ended during this run: its struct may be gone, not its name's string */
        snprintf(s->last, sizeof s->last, "task '%s' ran %lld ms and ended (threshold %lld ms)",
                 s->running_name ? s->running_name : "?", ms, limit);
    s->reported++;
    fprintf(s->out, "slow: %s\n", s->last);
    fflush(s->out);
}

/* Only for a task that ends in the run: after_run then gets NULL, so its name is kept here. */
static void note_name(void *ctx, struct loop *loop, const struct runnable *r) {
    (void)loop;
    ((struct observe_slow *)ctx)->running_name = r->name;
}

int observe_slow_start(struct observe_slow *s, struct loop *loop, int64_t threshold_ns, FILE *out) {
    if (!s || !loop)
        return -EINVAL;
    if (loop_observing(loop, &s->obs))
        return -EBUSY; /* running: resetting it would corrupt the loop's list */
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->out = out ? out : stderr;
    s->threshold_ns = threshold_ns > 0 ? threshold_ns : OBSERVE_SLOW_DEFAULT_NS;
    s->obs.hooks = (struct loop_hooks){.ctx = s, .before_run = note_name, .after_run = check_run};
    return loop_observe(loop, &s->obs);
}

int observe_slow_stop(struct observe_slow *s) {
    return s ? loop_unobserve(s->loop, &s->obs) : -EINVAL;
}

void observe_slow_dump(const struct observe_slow *s, FILE *out) {
    fprintf(out, "slow-callback check: threshold %lld ms, %u reported%s%s\n",
            (long long)(s->threshold_ns / 1000000), s->reported, s->reported ? ", last: " : "",
            s->reported ? s->last : "");
    fflush(out);
}
