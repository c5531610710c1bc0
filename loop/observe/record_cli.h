/* record_cli.h — the demos' `--record FILE` option (the tick viewer), in one place: take it out
 * of argv, record the demo's first loop, and at the end write FILE: the page if its name ends in
 * .html (viewer_page.h), the bare recording (record.h) otherwise. */
#ifndef LOOPSCHOOL_RECORD_CLI_H
#define LOOPSCHOOL_RECORD_CLI_H

#include "loop/observe/record.h"

struct record_cli {
    const char *path; /* NULL: no --record on the command line */
    const char *title;
    struct recorder *rec;
};

/* Removes "--record FILE" from argv (wherever it stands), so the demo parses the rest as
 * before. 0, or -EINVAL when FILE is missing. */
int record_cli_parse(struct record_cli *c, int *argc, char **argv, const char *title);
/* Records loop if --record was given and no loop is recorded yet: a demo with several loops
 * records the first. 0, or recorder_new's / loop_observe's error. */
int record_cli_attach(struct record_cli *c, struct loop *loop);
/* Stops recording, writes the file, frees. 0 (also without --record), or a negative errno. */
int record_cli_finish(struct record_cli *c);

#endif
