/* timeline.h — lesson 15's picture of a trace: an SVG timeline, written by hand. The time axis
 * runs left to right; the top row marks each tick (where its wait began, and the wait itself as
 * a grey bar), then one row per runnable name, a bar per run, red when the run took at least the
 * slow threshold. Only integers are printed, so the same trace gives the same bytes. */
#ifndef LOOPSCHOOL_LESSON15_TIMELINE_H
#define LOOPSCHOOL_LESSON15_TIMELINE_H

#include <stdint.h>
#include <stdio.h>

#include "loop/observe/trace.h"

/* 0, -EINVAL (NULL argument, empty trace), or -EIO if writing failed. */
int timeline_write_svg(const struct observe_trace *tr, int64_t slow_ns, const char *title,
                       FILE *out);
int timeline_save_svg(const struct observe_trace *tr, int64_t slow_ns, const char *title,
                      const char *path);

#endif
