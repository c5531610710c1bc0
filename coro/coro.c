/* coro.c — the parts of the coroutine module that are not on the resume path: cancellation
 * requests and the debugger's view (coro_dump and the state names). Lesson 06 introduces them;
 * the macros themselves are in coro.h. */
#include "coro/coro.h"

#include <string.h>

int coro_cancel(struct coro *co) {
    if (co == NULL)
        return -EINVAL;
    switch (coro_state(co)) {
    case CORO_STATE_DONE:
    case CORO_STATE_CANCELLED:
        return -EALREADY; /* too late: the result stands */
    case CORO_STATE_CREATED:
        /* It never ran: no body was entered, so there is no cleanup to run. */
        co->cancel_requested = 1;
        co->error = -ECANCELED;
        co->state = CORO_STATE_CANCELLED;
        return 0;
    default:
        /* Running, suspended or cleaning: only a request. The suspension it is parked at acts
         * on it when it is resumed (a cleanup cannot suspend, so there it changes nothing). */
        co->cancel_requested = 1;
        return 0;
    }
}

const char *coro_state_name(enum coro_state state) {
    switch (state) {
    case CORO_STATE_CREATED:
        return "created";
    case CORO_STATE_RUNNING:
        return "running";
    case CORO_STATE_SUSPENDED:
        return "suspended";
    case CORO_STATE_CLEANING:
        return "cleaning up";
    case CORO_STATE_DONE:
        return "done";
    case CORO_STATE_CANCELLED:
        return "cancelled";
    }
    return "corrupt";
}

const char *coro_status_name(enum coro_status status) {
    switch (status) {
    case CORO_SUSPENDED:
        return "CORO_SUSPENDED";
    case CORO_DONE:
        return "CORO_DONE";
    }
    return "corrupt";
}

void coro_dump(const struct coro *co, FILE *out) {
    if (out == NULL)
        return;
    if (co == NULL) {
        fputs("coro: NULL\n", out);
        fflush(out);
        return;
    }
    const char *file = co->file ? co->file : "?";
    switch (coro_state(co)) {
    case CORO_STATE_CREATED:
        fprintf(out, "created, not started");
        break;
    case CORO_STATE_SUSPENDED:
        fprintf(out, "suspended at %s:%d", file, (int)co->line);
        break;
    case CORO_STATE_RUNNING:
        if (co->line == 0)
            fprintf(out, "running in %s, first run", file);
        else
            fprintf(out, "running in %s, resumed after line %d", file, (int)co->line);
        break;
    default:
        fprintf(out, "%s in %s", coro_state_name(coro_state(co)), file);
        break;
    }
    if (co->error != 0)
        fprintf(out, ", error %d (%s)", (int)co->error, strerror(-co->error));
    if (co->cancel_requested && !coro_is_done(co))
        fprintf(out, ", cancel requested");
    fputc('\n', out);
    fflush(out);
}
