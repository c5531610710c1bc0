/* record_cli.c — `--record FILE` for every demo that shows ticks (the tick viewer): parsing,
 * attaching the recorder and writing the recording or the page, so no demo copies it. */
#include "loop/observe/record_cli.h"

#include <errno.h>
#include <string.h>

#include "loop/observe/viewer_page.h"

int record_cli_parse(struct record_cli *c, int *argc, char **argv, const char *title) {
    if (!c || !argc || !argv)
        return -EINVAL;
    *c = (struct record_cli){.title = title};
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--record") != 0)
            continue;
        if (i + 1 >= *argc)
            return -EINVAL;
        c->path = argv[i + 1];
        for (int j = i; j + 2 <= *argc; j++)
            argv[j] = argv[j + 2];
        *argc -= 2;
        break;
    }
    return 0;
}

int record_cli_attach(struct record_cli *c, struct loop *loop) {
    if (!c || !c->path || c->rec)
        return 0;
    int err = recorder_new(&c->rec, 0);
    if (err)
        return err;
    err = recorder_start(c->rec, loop);
    if (err) {
        recorder_free(c->rec);
        c->rec = NULL;
    }
    return err;
}

int record_cli_finish(struct record_cli *c) {
    if (!c || !c->path)
        return 0;
    if (!c->rec)
        return -ENOENT; /* --record given, but no loop was ever attached */
    recorder_stop(c->rec);
    FILE *out = fopen(c->path, "w");
    int err = out ? 0 : -errno;
    if (out) {
        size_t len;
        const char *text = recorder_text(c->rec, &len);
        size_t n = strlen(c->path);
        if (n > 5 && strcmp(c->path + n - 5, ".html") == 0)
            err = viewer_page_write(out, c->title, text, len);
        else if (fwrite(text, 1, len, out) != len)
            err = -EIO;
        if (fclose(out) != 0 && !err)
            err = -EIO;
    }
    recorder_free(c->rec);
    c->rec = NULL;
    return err;
}
