/* trace_json.c — writes lesson 15's trace as Chrome trace-event JSON (see trace.h). The format
 * is an object with a "traceEvents" array; "B" opens a slice and "E" closes it on the same row
 * (pid, tid), timestamps in microseconds; "M" events name the rows. Perfetto draws one track per
 * row, so the loop's waits and each task sit on their own line. */
#include "loop/observe/trace.h"

#include <errno.h>
#include <string.h>

enum { TRACE_ROWS = 32 }; /* distinct runnable names given their own row; the rest share one */

static void write_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* The row of a run: 1 + the index of its name among the names seen so far (0 is the loop). */
static int row_of(const char *name, const char *rows[], int *n_rows) {
    for (int i = 0; i < *n_rows; i++)
        if (strcmp(rows[i], name) == 0)
            return i + 1;
    if (*n_rows == TRACE_ROWS)
        return TRACE_ROWS; /* the last row takes every name beyond the table */
    rows[(*n_rows)++] = name;
    return *n_rows;
}

static void write_row_name(FILE *out, int tid, const char *name, bool *first) {
    fprintf(out,
            "%s\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"args\":{\"name\":",
            *first ? "" : ",", tid);
    write_string(out, name);
    fputs("}}", out);
    *first = false;
}

int observe_trace_write_json(const struct observe_trace *tr, FILE *out) {
    if (!tr || !out)
        return -EINVAL;
    const char *rows[TRACE_ROWS];
    int n_rows = 0;
    bool first = true;
    fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", out);
    write_row_name(out, 0, "loop (waits)", &first);
    size_t n = observe_trace_count(tr);
    int64_t origin = n ? observe_trace_at(tr, 0)->start : 0;
    for (size_t i = 0; i < n; i++) {
        const struct observe_trace_event *e = observe_trace_at(tr, i);
        int tid = 0;
        if (e->kind == OBSERVE_TRACE_RUN) {
            int before = n_rows;
            tid = row_of(e->name, rows, &n_rows);
            if (n_rows > before)
                write_row_name(out, tid, e->name, &first);
        }
        double begin_us = (double)(e->start - origin) / 1e3;
        double end_us = (double)(e->start + e->duration - origin) / 1e3;
        fputs(",\n{\"name\":", out);
        write_string(out, e->name);
        fprintf(out, ",\"cat\":\"%s\",\"ph\":\"B\",\"ts\":%.3f,\"pid\":1,\"tid\":%d,\"args\":{",
                e->kind == OBSERVE_TRACE_WAIT ? "wait"
                : e->task                     ? "task"
                                              : "callback",
                begin_us, tid);
        if (e->kind == OBSERVE_TRACE_WAIT)
            fprintf(out, "\"tick\":%llu,\"timeout_ms\":%.3f}}", (unsigned long long)e->tick,
                    e->timeout < 0 ? -1.0 : (double)e->timeout / 1e6);
        else
            fprintf(out, "\"tick\":%llu}}", (unsigned long long)e->tick);
        fprintf(out, ",\n{\"ph\":\"E\",\"ts\":%.3f,\"pid\":1,\"tid\":%d}", end_us, tid);
    }
    fputs("\n]}\n", out);
    return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}

int observe_trace_save_json(const struct observe_trace *tr, const char *path) {
    if (!tr || !path)
        return -EINVAL;
    FILE *out = fopen(path, "w");
    if (!out)
        return -errno;
    int rc = observe_trace_write_json(tr, out);
    if (fclose(out) != 0 && rc == 0)
        rc = -EIO;
    return rc;
}
