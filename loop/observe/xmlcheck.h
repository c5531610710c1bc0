/* xmlcheck.h — is this text well-formed XML? Lesson 09 asks it of every Gantt chart, lessons 15
 * and 16 of their charts, the tick viewer's test of its page (xml.h writes them all). A checker
 * of syntax, small enough to read in one sitting. */
#ifndef LOOPSCHOOL_OBSERVE_XMLCHECK_H
#define LOOPSCHOOL_OBSERVE_XMLCHECK_H

/* NULL if doc is well-formed (balanced, properly nested tags, one root element, every attribute
 * quoted and given once, '<' and '&' only where XML allows them), else what is wrong, in words.
 * A <!DOCTYPE ...> before the root and <![CDATA[ ... ]]> sections inside it are allowed, so an
 * HTML page written as XML (its scripts in CDATA) is checked too. */
const char *xmlcheck_problem(const char *doc);

#endif
