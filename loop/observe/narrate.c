/* narrate.c — the demos' narration and `--trace` event lines (lesson 04 introduces them), so
 * no demo writes its own story() and trace() again. */
#include "loop/observe/narrate.h"

#include <string.h>

bool narrate_parse(struct narrator *n, int *argc, char **argv) {
    *n = (struct narrator){.out = stdout};
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--trace") != 0)
            continue;
        for (int j = i; j < *argc; j++) /* argv[argc] is NULL: it moves down too */
            argv[j] = argv[j + 1];
        (*argc)--;
        n->trace = true;
        break;
    }
    return n->trace;
}

void narrate_story(const struct narrator *n, const char *fmt, ...) {
    if (n->trace)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(n->out, fmt, ap);
    va_end(ap);
}

void narrate_vtrace(const struct narrator *n, const char *who, const char *fmt, va_list ap) {
    if (!n->trace)
        return;
    if (n->clock && n->stamp == NARRATE_TICK)
        fprintf(n->out, "tick %llu: ", (unsigned long long)loop_tick(n->clock));
    else if (n->clock && n->stamp == NARRATE_MS)
        fprintf(n->out, "%lld ms: ", (long long)(loop_now(n->clock) / 1000000));
    if (who)
        fprintf(n->out, "%s ", who);
    vfprintf(n->out, fmt, ap);
    fputc('\n', n->out);
}

void narrate_trace(const struct narrator *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    narrate_vtrace(n, NULL, fmt, ap);
    va_end(ap);
}
