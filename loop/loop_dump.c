/* loop_dump.c — everything the loop holds, printed for a human (lessons 02, 04, 05): from gdb,
 * `call loop_dump(loop, stdout)`. */
#include "loop/loop_internal.h"
#include "sched/task/task.h"

static void print_interest(unsigned interest, FILE *out) {
    fprintf(out, "%s%s", (interest & LOOP_READABLE) ? "r" : "-",
            (interest & LOOP_WRITABLE) ? "w" : "-");
}

void loop_dump(const struct loop *loop, FILE *out) {
    int64_t now = loop_now(loop);
    fprintf(out, "loop: tick %llu, %s clock at %.3f ms, backend %s, policy %s\n",
            (unsigned long long)loop->sched.tick, loop->clock->is_virtual ? "virtual" : "real",
            (double)now / 1e6, loop->backend->ops->name, loop->sched.ready.policy->ops->name);
    fprintf(out, "  watched fds: %zu\n", loop->watch_count);
    list_for_each(n, &loop->watchers) {
        const struct loop_watcher *w = container_of(n, const struct loop_watcher, node);
        fprintf(out, "    fd %-5d ", w->fd);
        print_interest(w->interest, out);
        fprintf(out, "  %s%s\n", w->run.name, w->run.queued ? "  (ready, queued)" : "");
    }
    readyq_dump(&loop->sched.ready, out);
    fprintf(out, "  live tasks: %zu\n", loop->sched.task_count);
    list_for_each(n, &loop->sched.tasks) {
        fprintf(out, "    ");
        task_dump(container_of(n, const struct task, live), out);
    }
    fprintf(out, "  ");
    timerq_dump(&loop->sched.timers, now, out);
    fflush(out);
}
