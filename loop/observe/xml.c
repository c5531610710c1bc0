/* xml.c — escaping and the SVG frame for hand-written XML (lessons 09, 15 and 16 draw with it,
 * the tick viewer writes its page with it); see xml.h. */
#include "loop/observe/xml.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

void xml_escape(FILE *out, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&apos;", out);
            break;
        default:
            fputc(s[i], out);
        }
    }
}

void xml_text(FILE *out, const char *s) {
    xml_escape(out, s, strlen(s));
}

void xml_svg_begin(FILE *out, int width, int height) {
    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
            width, height, width, height, width, height);
}

int xml_svg_end(FILE *out) {
    fputs("</svg>\n", out);
    return fflush(out) == 0 && !ferror(out) ? 0 : -EIO;
}

void xml_px10(FILE *out, int64_t tenths) {
    fprintf(out, "%" PRId64 ".%" PRId64, tenths / 10, tenths % 10);
}
