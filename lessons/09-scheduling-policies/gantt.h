/* gantt.h — lesson 09's pictures: one run of the workload as an SVG Gantt chart, written by hand
 * (SVG is text: rectangles, lines and labels). One row per task, a coloured bar per run slice, a
 * grey line while it waited for the CPU, a red mark at each missed deadline, a time axis and a
 * legend. The output depends only on the run, so a chart can be compared byte for byte. */
#ifndef LOOPSCHOOL_LESSON09_GANTT_H
#define LOOPSCHOOL_LESSON09_GANTT_H

#include <stdio.h>

#include "lessons/09-scheduling-policies/workload.h"

/* Writes the chart as a standalone SVG document. 0, -EINVAL for a NULL argument or a result
 * that does not belong to spec, -EIO if writing failed. */
int gantt_write_svg(const struct workload_spec *spec, const struct workload_result *result,
                    FILE *out);

/* The same, into the file at path (replaced). 0 or a negative errno. */
int gantt_save_svg(const struct workload_spec *spec, const struct workload_result *result,
                   const char *path);

#endif
