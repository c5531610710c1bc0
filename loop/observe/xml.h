/* xml.h — writing XML by hand, for the pictures and pages the loop's observers draw: lesson 09's
 * Gantt charts, lesson 15's timeline, lesson 16's scale chart and the tick viewer's page. Names
 * may hold anything, so text goes out escaped; every chart opens with the same SVG frame.
 * xmlcheck.h checks what these write. */
#ifndef LOOPSCHOOL_OBSERVE_XML_H
#define LOOPSCHOOL_OBSERVE_XML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes n bytes of s as text or an attribute value: the five characters XML reserves
 * (& < > " ') become entities, everything else goes out as it is. */
void xml_escape(FILE *out, const char *s, size_t n);
/* The same for a string: all of s, up to its NUL. */
void xml_text(FILE *out, const char *s);
/* The XML declaration, the <svg> element (width x height pixels, sans-serif 12) and a white
 * background. */
void xml_svg_begin(FILE *out, int width, int height);
/* Closes what xml_svg_begin opened and flushes: 0, or -EIO if anything could not be written. */
int xml_svg_end(FILE *out);
/* A length kept in whole tenths of a pixel (integer arithmetic: the same bytes from every
 * compiler), printed as pixels: 1234 -> "123.4". */
void xml_px10(FILE *out, int64_t tenths);

#endif
