/* slow.c — the slow-callback report of lesson 15; see slow.h. The loop already times a run for
 * any observer that asks (after_run), so the check itself is one comparison. The report is built
 * after the run, when a task's resume point names the await it stopped at; before_run only notes
 * the name, for a runnable its owner lets go of during the run. */
#include "loop/observe/slow.h"

#include <errno.h>
#include <string.h>

#include "loop/observe/tasks.h"

/* Before the run, what the report will need: after it, r is NULL if its owner let go of it (a
 * task that ended; a timer or watcher, whose owner may free it in its callback). */
static void note_run(void *ctx, struct loop *loop, const struct runnable *r) {
    struct observe_slow *s = ctx;
    s->running_name = r->name ? r->name : "?";
    s->running_task = observe_is_task(loop, r);
}

static void check_run(void *ctx, struct loop *loop, const struct runnable *r, int64_t ran_ns) {
    struct observe_slow *s = ctx;
    if (ran_ns < s->threshold_ns)
        return;
    long long ms = (long long)(ran_ns / 1000000), limit = (long long)(s->threshold_ns / 1000000);
    /* A name's string outlives the struct that pointed to it: safe to print. No note at all
     * only if the check was attached during this very run. */
    const char *name = s->running_name ? s->running_name : "?";
    struct task *t = observe_task_of(loop, r);
    if (t && t->co.line)
        snprintf(s->last, sizeof s->last, "task '%s' ran %lld ms at %s:%d (threshold %lld ms)",
                 name, ms, t->co.file ? t->co.file : "?", (int)t->co.line, limit);
    else if (!r && s->running_task)
        snprintf(s->last, sizeof s->last, "task '%s' ran %lld ms and ended (threshold %lld ms)",
                 name, ms, limit);
    else
        snprintf(s->last, sizeof s->last, "%s '%s' ran %lld ms (threshold %lld ms)",
                 t || s->running_task ? "task" : "callback", name, ms, limit);
    s->reported++;
    fprintf(s->out, "slow: %s\n", s->last);
    fflush(s->out);
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
    s->obs.hooks = (struct loop_hooks){.ctx = s, .before_run = note_run, .after_run = check_run};
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
