/* xmlcheck.h — is this text well-formed XML? (lesson 09: every Gantt chart must be; the demo and
 * the tests both ask). A checker of syntax, small enough to read in one sitting. */
#ifndef LOOPSCHOOL_LESSON09_XMLCHECK_H
#define LOOPSCHOOL_LESSON09_XMLCHECK_H

/* NULL if doc is well-formed (balanced, properly nested tags, one root element, every attribute
 * quoted and given once, '<' and '&' only where XML allows them), else what is wrong, in words. */
const char *xmlcheck_problem(const char *doc);

#endif
