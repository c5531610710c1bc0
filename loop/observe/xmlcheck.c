/* xmlcheck.c — a small checker for well-formed XML (lesson 09, then every chart and page the
 * loop's observers draw): enough to say that a document is one a browser will parse. It walks
 * the text once with a stack of open elements: tags balanced and properly nested, one root,
 * attributes quoted and given once, and no bare '<' or '&' where XML forbids them. It checks the
 * syntax only, not what an SVG or a page means. */
#include "loop/observe/xmlcheck.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct xmlcheck {
    const char *p;
    char open[16][32]; /* the element names not yet closed */
    int depth;
    int roots;
};

static bool xmlcheck_name(struct xmlcheck *x, char *out, size_t cap) {
    size_t n = 0;
    if (!isalpha((unsigned char)*x->p) && *x->p != '_' && *x->p != ':')
        return false;
    while (*x->p && (isalnum((unsigned char)*x->p) || strchr("_:.-", *x->p))) {
        if (n + 1 >= cap)
            return false;
        out[n++] = *x->p++;
    }
    out[n] = '\0';
    return true;
}

/* At '&': one of the five named entities or a character reference, ending in ';'. */
static bool xmlcheck_entity(struct xmlcheck *x) {
    static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (int i = 0; i < 5; i++)
        if (strncmp(x->p, named[i], strlen(named[i])) == 0) {
            x->p += strlen(named[i]);
            return true;
        }
    if (x->p[1] != '#')
        return false;
    const char *q = x->p + 2;
    bool hex = *q == 'x';
    q += hex;
    const char *digits = q;
    while (hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q))
        q++;
    if (q == digits || *q != ';')
        return false;
    x->p = q + 1;
    return true;
}

static void xmlcheck_spaces(struct xmlcheck *x) {
    while (*x->p == ' ' || *x->p == '\n' || *x->p == '\t' || *x->p == '\r')
        x->p++;
}

/* After "<name": attributes, each name="value" (or 'value') once, then "/>" or ">". */
static const char *xmlcheck_start_tag(struct xmlcheck *x, const char *name) {
    char seen[32][32];
    int count = 0;
    for (;;) {
        const char *before = x->p;
        xmlcheck_spaces(x);
        if (strncmp(x->p, "/>", 2) == 0) {
            x->p += 2;
            return NULL;
        }
        if (*x->p == '>') {
            x->p++;
            if (x->depth == 16)
                return "elements nested too deep for this checker";
            snprintf(x->open[x->depth++], sizeof x->open[0], "%s", name);
            return NULL;
        }
        if (x->p == before)
            return "attributes must be separated by white space";
        if (count == 32 || !xmlcheck_name(x, seen[count], sizeof seen[0]))
            return "a bad attribute name";
        for (int i = 0; i < count; i++)
            if (strcmp(seen[i], seen[count]) == 0)
                return "an attribute given twice";
        count++;
        xmlcheck_spaces(x);
        if (*x->p++ != '=')
            return "an attribute without '='";
        xmlcheck_spaces(x);
        char quote = *x->p++;
        if (quote != '"' && quote != '\'')
            return "an attribute value without quotes";
        while (*x->p != quote) {
            if (*x->p == '\0' || *x->p == '<')
                return "an attribute value not closed, or holding '<'";
            if (*x->p != '&')
                x->p++;
            else if (!xmlcheck_entity(x))
                return "a bad entity in an attribute value";
        }
        x->p++;
    }
}

const char *xmlcheck_problem(const char *doc) {
    struct xmlcheck x = {.p = doc};
    char name[32];
    while (*x.p) {
        if (strncmp(x.p, "<?", 2) == 0) { /* the declaration, a processing instruction */
            const char *end = strstr(x.p, "?>");
            if (!end)
                return "'<?' not closed";
            x.p = end + 2;
        } else if (strncmp(x.p, "<!DOCTYPE", 9) == 0) {
            const char *end = strchr(x.p, '>');
            if (x.roots > 0 || !end)
                return "a DOCTYPE after the root element, or not closed";
            x.p = end + 1;
        } else if (strncmp(x.p, "<![CDATA[", 9) == 0) { /* text taken as it is: a script */
            const char *end = strstr(x.p + 9, "]]>");
            if (x.depth == 0 || !end)
                return "a CDATA section outside the root element, or not closed";
            x.p = end + 3;
        } else if (strncmp(x.p, "<!--", 4) == 0) {
            const char *end = strstr(x.p + 4, "--");
            if (!end || end[2] != '>')
                return "a comment not closed, or holding '--'";
            x.p = end + 3;
        } else if (strncmp(x.p, "</", 2) == 0) {
            x.p += 2;
            if (!xmlcheck_name(&x, name, sizeof name))
                return "a bad end tag";
            xmlcheck_spaces(&x);
            if (*x.p++ != '>')
                return "an end tag without '>'";
            if (x.depth == 0 || strcmp(x.open[x.depth - 1], name) != 0)
                return "an end tag that does not match the open element";
            x.depth--;
        } else if (*x.p == '<') {
            x.p++;
            if (!xmlcheck_name(&x, name, sizeof name))
                return "a bad element name";
            if (x.depth == 0 && x.roots++ > 0)
                return "more than one root element";
            const char *problem = xmlcheck_start_tag(&x, name);
            if (problem)
                return problem;
        } else if (*x.p == '&') {
            if (!xmlcheck_entity(&x))
                return "a bare '&' or an unknown entity in text";
        } else {
            if (x.depth == 0 && !isspace((unsigned char)*x.p))
                return "text outside the root element";
            x.p++;
        }
    }
    if (x.depth != 0)
        return "an element left open";
    return x.roots == 1 ? NULL : "no root element";
}
