/* script.c — a backend that waits for nothing: each wait returns the next answer a test
 * queued and records the timeout it was asked for. Introduced with lesson 02's tests; lessons 04
 * and 05 test the loop's batches and timeout arithmetic with it, without a socket in sight. */
#include "loop/backend/backend.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>

struct script_backend {
    struct backend base;           /* first, so a struct backend * converts to this and back */
    struct backend_ready *answers; /* every queued answer's ready fds, back to back */
    int event_count, event_capacity;
    int *answer_len; /* answer i is the next answer_len[i] of them */
    int answer_count, answer_capacity;
    int next_answer, next_event; /* the first answer (and event) not yet returned */
    int64_t *timeouts;           /* every wait's timeout, oldest first */
    int timeout_count, timeout_capacity;
    int *watched; /* the watched fds, unordered: tests watch a handful */
    int watched_count, watched_capacity;
};

static struct script_backend *script_of(struct backend *b) {
    return (struct script_backend *)b;
}

/* Makes room for `more` elements of `size` bytes in *array (holding *count, room for *cap),
 * through the backend's allocator. 0 or -ENOMEM; on failure the array is unchanged. */
static int script_reserve(struct script_backend *s, void **array, int count, int *cap, int more,
                          size_t size) {
    if (more > INT_MAX - count)
        return -ENOMEM;
    if (count + more <= *cap)
        return 0;
    int64_t want = *cap ? *cap : 8;
    while (want < count + more)
        want *= 2;
    if (want > INT_MAX)
        want = INT_MAX;
    if ((uint64_t)want > SIZE_MAX / size)
        return -ENOMEM;
    void *grown = sched_realloc(s->base.alloc, *array, (size_t)want * size);
    if (!grown)
        return -ENOMEM;
    *array = grown;
    *cap = (int)want;
    return 0;
}

static int script_new(struct backend **out, const struct sched_alloc *alloc) {
    if (!out)
        return -EINVAL;
    if (!alloc)
        alloc = sched_alloc_libc();
    struct script_backend *s = sched_alloc(alloc, sizeof *s);
    if (!s)
        return -ENOMEM;
    *s = (struct script_backend){.base = {.ops = &backend_script, .alloc = alloc}};
    *out = &s->base;
    return 0;
}

int backend_script_add(struct backend *b, const struct backend_ready *ready, int n) {
    if (!b || b->ops != &backend_script)
        return -EINVAL;
    struct script_backend *s = script_of(b);
    if (n < 0 || (n > 0 && !ready))
        return backend_refuse(b, -EINVAL, "script: an answer needs n >= 0 ready fds (got %d%s)", n,
                              n > 0 ? " and no array" : "");
    /* Room in both arrays first; if the second fails, the first has only grown, not changed. */
    void *ev = s->answers;
    if (script_reserve(s, &ev, s->event_count, &s->event_capacity, n, sizeof *s->answers))
        return backend_refuse(b, -ENOMEM, "script: no memory to queue an answer");
    s->answers = ev;
    void *len = s->answer_len;
    if (script_reserve(s, &len, s->answer_count, &s->answer_capacity, 1, sizeof *s->answer_len))
        return backend_refuse(b, -ENOMEM, "script: no memory to queue an answer");
    s->answer_len = len;
    for (int i = 0; i < n; i++)
        s->answers[s->event_count++] = ready[i];
    s->answer_len[s->answer_count++] = n;
    return 0;
}

int backend_script_timeouts(const struct backend *b, const int64_t **timeouts) {
    if (!b || b->ops != &backend_script || !timeouts)
        return -EINVAL;
    const struct script_backend *s = (const struct script_backend *)b;
    *timeouts = s->timeouts;
    return s->timeout_count;
}

static int script_find(const struct script_backend *s, int fd) {
    for (int i = 0; i < s->watched_count; i++)
        if (s->watched[i] == fd)
            return i;
    return -1;
}

static int script_watch(struct backend *b, int fd, unsigned interest) {
    struct script_backend *s = script_of(b);
    int err = backend_check_interest(b, fd, interest);
    if (err)
        return err;
    if (script_find(s, fd) >= 0)
        return backend_refuse(b, -EEXIST, "script: fd %d is watched already", fd);
    void *w = s->watched;
    if (script_reserve(s, &w, s->watched_count, &s->watched_capacity, 1, sizeof *s->watched))
        return backend_refuse(b, -ENOMEM, "script: no memory to watch fd %d", fd);
    s->watched = w;
    s->watched[s->watched_count++] = fd;
    return 0;
}

static int script_set_interest(struct backend *b, int fd, unsigned interest) {
    int err = backend_check_interest(b, fd, interest);
    if (err)
        return err;
    if (script_find(script_of(b), fd) < 0)
        return backend_refuse(b, -ENOENT,
                              "script: cannot set_interest on fd %d, it is not "
                              "watched",
                              fd);
    return 0; /* interest does not change what a script answers */
}

static int script_unwatch(struct backend *b, int fd) {
    struct script_backend *s = script_of(b);
    int i = script_find(s, fd);
    if (i < 0)
        return backend_refuse(b, -ENOENT, "script: cannot unwatch fd %d, it is not watched", fd);
    s->watched[i] = s->watched[--s->watched_count];
    return 0;
}

static int script_wait_once(struct backend *b, int64_t timeout_ns, struct backend_ready *out,
                            int max) {
    struct script_backend *s = script_of(b);
    void *t = s->timeouts;
    if (script_reserve(s, &t, s->timeout_count, &s->timeout_capacity, 1, sizeof *s->timeouts))
        return backend_refuse(b, -ENOMEM, "script: no memory to record a timeout");
    s->timeouts = t;
    s->timeouts[s->timeout_count++] = timeout_ns;
    if (s->next_answer == s->answer_count) {
        if (timeout_ns == -1)
            return backend_refuse(b, -EDEADLK,
                                  "script: asked to block forever with no answer "
                                  "left: nothing could ever wake it");
        return 0;
    }
    /* An answer longer than max is returned over several waits, like a real backend's. */
    int *left = &s->answer_len[s->next_answer];
    int n = *left < max ? *left : max;
    for (int i = 0; i < n; i++)
        out[i] = s->answers[s->next_event++];
    *left -= n;
    if (*left == 0)
        s->next_answer++;
    return n;
}

static int script_wait(struct backend *b, int64_t timeout_ns, struct backend_ready *out, int max) {
    /* The shared path checks the arguments; a script is never interrupted by a signal. */
    return backend_wait_retrying(b, timeout_ns, script_wait_once, out, max);
}

static void script_free(struct backend *b) {
    if (!b)
        return;
    struct script_backend *s = script_of(b);
    sched_dealloc(b->alloc, s->answers);
    sched_dealloc(b->alloc, s->answer_len);
    sched_dealloc(b->alloc, s->timeouts);
    sched_dealloc(b->alloc, s->watched);
    sched_dealloc(b->alloc, s);
}

static void script_dump(const struct backend *b, FILE *out) {
    const struct script_backend *s = (const struct script_backend *)b;
    fprintf(out, "script backend: %d answer%s left\n", s->answer_count - s->next_answer,
            s->answer_count - s->next_answer == 1 ? "" : "s");
    int e = s->next_event;
    for (int a = s->next_answer; a < s->answer_count; a++) {
        fprintf(out, "  answer %d:", a);
        if (s->answer_len[a] == 0)
            fputs(" nothing ready", out);
        for (int i = 0; i < s->answer_len[a]; i++, e++) {
            unsigned ev = s->answers[e].readiness;
            fprintf(out, " fd %d %s%s%s", s->answers[e].fd, ev & BACKEND_READABLE ? "r" : "",
                    ev & BACKEND_WRITABLE ? "w" : "", ev & BACKEND_INVALID ? "!" : "");
        }
        fputc('\n', out);
    }
    fprintf(out, "  %d wait%s so far, timeouts (ns):", s->timeout_count,
            s->timeout_count == 1 ? "" : "s");
    for (int i = 0; i < s->timeout_count; i++)
        fprintf(out, " %lld", (long long)s->timeouts[i]);
    fprintf(out, "\n  watching %d fd%s:", s->watched_count, s->watched_count == 1 ? "" : "s");
    for (int i = 0; i < s->watched_count; i++)
        fprintf(out, " %d", s->watched[i]);
    fputc('\n', out);
    fflush(out);
}

const struct backend_ops backend_script = {
    .name = "script",
    .resolution_ns = 1, /* records exactly what the loop asks for: no rounding of its own */
    .new = script_new,
    .watch = script_watch,
    .set_interest = script_set_interest,
    .unwatch = script_unwatch,
    .wait = script_wait,
    .free = script_free,
    .dump = script_dump,
};
