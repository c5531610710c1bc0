/* viewer_page.h — the tick viewer's page (lessons 02, 04, 05, 08, 09, 10: `make view L=NN`): one
 * self-contained HTML file holding a recording (record.h), the sources its tasks resumed in, a
 * script that steps through it, and a plain-text timeline for a browser without scripts. */
#ifndef LOOPSCHOOL_VIEWER_PAGE_H
#define LOOPSCHOOL_VIEWER_PAGE_H

#include <stddef.h>
#include <stdio.h>

/* The page's fixed parts, one line per string, NULL-terminated (viewer_page_html.c). */
extern const char *const viewer_page_style[];
extern const char *const viewer_page_body[];
extern const char *const viewer_page_script[];

/* Writes the page. Source files named by the recording's tasks are read relative to the current
 * directory (a missing one is left out: the page then shows no lines for it). 0, -EINVAL, or
 * -EIO if writing failed. */
int viewer_page_write(FILE *out, const char *title, const char *recording, size_t len);

#endif
