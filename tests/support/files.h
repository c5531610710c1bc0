/* files.h — a whole file as text, for the tests that compare a committed drawing with what the code
 * draws now (lessons 09, 15 and 16). Header only; names start with test_. */
#ifndef LOOPSCHOOL_TESTS_SUPPORT_FILES_H
#define LOOPSCHOOL_TESTS_SUPPORT_FILES_H

#include <stdio.h>

/* The bytes of `path`, NUL-terminated, owned by the caller (free it); their count in *len unless
 * len is NULL. NULL when the file cannot be opened. */
static inline char *test_read_file(const char *path, size_t *len) {
    FILE *in = fopen(path, "rb");
    if (!in)
        return NULL;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out) {
        fclose(in);
        return NULL;
    }
    int c;
    while ((c = getc(in)) != EOF)
        putc(c, out);
    fclose(in);
    fclose(out);
    if (len)
        *len = size;
    return text;
}

#endif
