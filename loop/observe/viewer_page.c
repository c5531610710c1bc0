/* viewer_page.c — writes the tick viewer's page (lessons 02-10 `make view`): the recording in a
 * text/plain script block, byte for byte (record.c keeps markup out of it), each source file a
 * task resumed in, HTML-escaped, and a <noscript> timeline, one line per tick. */
#include "loop/observe/viewer_page.h"
#include "loop/observe/xml.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { PAGE_MAX_SOURCES = 16, PAGE_PATH_MAX = 256 };

static void lines(FILE *out, const char *const *text) {
    for (; *text; text++)
        fputs(*text, out);
}

/* The files named by "STATE FILE:LINE" in the K and A lines, each once. */
static size_t collect_sources(const char *rec, size_t len, char paths[][PAGE_PATH_MAX]) {
    size_t count = 0;
    for (const char *p = rec; p < rec + len && count < PAGE_MAX_SOURCES;) {
        const char *end = memchr(p, '\n', (size_t)(rec + len - p));
        if (!end)
            end = rec + len;
        const char *t = (*p == 'K' || *p == 'A') && end - p > 2 ? p + 1 : NULL;
        if (t) {
            const char *file = memchr(t + 1, ' ', (size_t)(end - t - 1));
            const char *colon = NULL;
            for (const char *c = end; file && c > file; c--)
                if (*c == ':') {
                    colon = c;
                    break;
                }
            size_t n = colon ? (size_t)(colon - file - 1) : 0;
            if (n > 0 && n < PAGE_PATH_MAX && !(n == 1 && file[1] == '?')) {
                bool seen = false;
                for (size_t i = 0; i < count && !seen; i++)
                    seen = strlen(paths[i]) == n && memcmp(paths[i], file + 1, n) == 0;
                if (!seen) {
                    memcpy(paths[count], file + 1, n);
                    paths[count++][n] = '\0';
                }
            }
        }
        p = end + 1;
    }
    return count;
}

static void embed_source(FILE *out, const char *path) {
    FILE *in = fopen(path, "r");
    if (!in)
        return;
    fputs("<pre class=\"source\" hidden=\"hidden\" data-file=\"", out);
    xml_text(out, path);
    fputs("\">", out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        xml_escape(out, buf, n);
    fclose(in);
    fputs("</pre>\n", out);
}

/* One line per tick for a reader without scripts: its time, the wait and why, what step 3 moved
 * and what step 4 ran. */
static void timeline(FILE *out, const char *rec, size_t len) {
    fputs("<noscript><h2>The ticks, as text</h2><pre id=\"timeline\">", out);
    bool open = false;
    long long first = 0; /* times are shown from the first tick: a real clock's zero is far */
    for (const char *p = rec; p < rec + len;) {
        const char *end = memchr(p, '\n', (size_t)(rec + len - p));
        if (!end)
            end = rec + len;
        size_t n = (size_t)(end - p);
        if (*p == 'T') {
            unsigned long long tick = 0;
            long long now = 0;
            sscanf(p, "T %llu %lld", &tick, &now);
            if (!open)
                first = now;
            fprintf(out, "%stick %llu at +%.3f ms:", open ? "\n" : "", tick,
                    (double)(now - first) / 1e6);
            open = true;
        } else if (*p == 'W') {
            long long timeout = 0;
            int at = 0;
            sscanf(p, "W %lld %n", &timeout, &at);
            fprintf(out, " wait %.3f ms (", (double)timeout / 1e6);
            xml_escape(out, p + at, at > 0 && (size_t)at < n ? n - (size_t)at : 0);
            fputs(")", out);
        } else if (*p == 'B') {
            int ready = 0;
            sscanf(p, "B %d", &ready);
            fprintf(out, "; the backend returned %d", ready);
        } else if (*p == 'M' || *p == 'P') {
            fputs(*p == 'M' ? "; moved" : "; ran", out);
            const char *sp = memchr(p + 2, ' ', n - 2);
            size_t name = *p == 'M' && sp ? (size_t)(end - sp) : n - 1;
            xml_escape(out, *p == 'M' && sp ? sp : p + 1, name);
        } else if (*p == 'E') {
            fputs("\n(the recording was truncated here)", out);
        }
        p = end + 1;
    }
    fputs("\n</pre></noscript>\n", out);
}

int viewer_page_write(FILE *out, const char *title, const char *recording, size_t len) {
    if (!out || !recording)
        return -EINVAL;
    if (!title)
        title = "the loop, tick by tick";
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\n<title>", out);
    xml_text(out, title);
    fputs("</title>\n", out);
    lines(out, viewer_page_style);
    fputs("</head><body>\n<h1>", out);
    xml_text(out, title);
    fputs("</h1>\n", out);
    timeline(out, recording, len);
    lines(out, viewer_page_body);
    fputs("<script type=\"text/plain\" id=\"recording\">", out);
    fwrite(recording, 1, len, out);
    fputs("</script>\n", out);
    char paths[PAGE_MAX_SOURCES][PAGE_PATH_MAX]; /* 4 KiB on the stack */
    size_t count = collect_sources(recording, len, paths);
    for (size_t i = 0; i < count; i++)
        embed_source(out, paths[i]);
    /* In CDATA, so the page is well-formed XML too (xmlcheck.h checks it): the script's '<' and
     * '&&' are not markup. The browser reads the two marker lines as comments. */
    fputs("<script>\n//<![CDATA[\n", out);
    lines(out, viewer_page_script);
    fputs("//]]>\n</script>\n</body></html>\n", out);
    return ferror(out) ? -EIO : 0;
}
