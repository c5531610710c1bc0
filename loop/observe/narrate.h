/* narrate.h — a demo's two voices in one place: the narration a person reads, and, with
 * `--trace`, only the canonical event lines its asyncio twin prints too. Lesson 04 introduces
 * it; every demo with a twin uses it. */
#ifndef LOOPSCHOOL_NARRATE_H
#define LOOPSCHOOL_NARRATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "loop/loop.h"
#include "sched/hints.h"

/* What starts each trace line, read from `clock` when the line is printed. */
enum narrate_stamp {
    NARRATE_PLAIN, /* nothing: the line is the whole event */
    NARRATE_TICK,  /* "tick 3: " — loop_tick(clock) */
    NARRATE_MS,    /* "20 ms: " — loop_now(clock) in whole milliseconds */
};

struct narrator {
    FILE *out;  /* where both voices go (stdout after narrate_parse) */
    bool trace; /* --trace was given: the event lines only, no narration */
    enum narrate_stamp stamp;
    const struct loop *clock; /* the loop whose clock stamps trace lines; set it when it exists */
};

/* Takes "--trace" out of argv wherever it stands (so the demo parses the rest as before) and
 * sets up n for stdout. Returns n->trace. */
bool narrate_parse(struct narrator *n, int *argc, char **argv);
/* Narration: printed as given (no newline added), except in --trace mode. */
void narrate_story(const struct narrator *n, const char *fmt, ...) HINT_PRINTF(2, 3);
/* One event line, in --trace mode only: the stamp, the text, a newline. */
void narrate_trace(const struct narrator *n, const char *fmt, ...) HINT_PRINTF(2, 3);
/* The same from a demo's own helper that names who acts ("20 ms: boss joins reader"): the
 * stamp, then `who` and a space unless it is NULL, then the text. */
void narrate_vtrace(const struct narrator *n, const char *who, const char *fmt, va_list ap);

#endif
