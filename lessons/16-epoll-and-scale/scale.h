/* scale.h — lesson 16's experiment: K idle descriptors and one active one, watched by one loop,
 * on each backend. It counts what every tick hands the kernel (the backends' own counters), times
 * the tick, and draws the count as an SVG chart that depends only on the counts. */
#ifndef LOOPSCHOOL_LESSON16_SCALE_H
#define LOOPSCHOOL_LESSON16_SCALE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "loop/loop.h"

/* The K of the experiment, and how many a run may skip (select stops at FD_SETSIZE). */
enum { SCALE_SIZES = 4 };
extern const int scale_sizes[SCALE_SIZES]; /* 10, 100, 1000, 10000 */

/* One backend at one K. */
struct scale_point {
    const char *backend;
    int idle;            /* K */
    bool measured;       /* false: the backend refused (select past FD_SETSIZE) */
    double fds_per_tick; /* descriptors handed to / handed back by the kernel call, per tick */
    double ns_per_tick;  /* real time per tick: varies from run to run, never drawn */
};

/* Raises the soft open-file limit to at least need (up to the hard limit). 0, or -EMFILE if the
 * hard limit is lower: the caller scales down or says what to raise. */
int scale_allow_fds(int need);

/* Runs `ticks` ticks (at least 1) of a new loop on ops watching `idle` idle fds (copies of one
 * empty pipe's read end) and one active pipe whose byte is read and written back each tick.
 * 0 and *out filled; out->measured false if the backend refused an fd (select: -ERANGE);
 * or a negative errno (-EMFILE: not enough descriptors). */
int scale_measure(const struct backend_ops *ops, int idle, int ticks, struct scale_point *out);

/* The chart: descriptors per tick against K, one line per backend, both axes logarithmic.
 * points[0..n) in any order. 0, -EINVAL, or -EIO. */
int scale_write_svg(const struct scale_point *points, int n, FILE *out);

#endif
