/* container_of.h — from a member back to the struct that embeds it (lesson 02 first needs it,
 * for fd watchers on a list). Every intrusive structure in loopschool (lists, heaps, waiters,
 * tasks in your frames) is walked back to its owner with this one macro. */
#ifndef LOOPSCHOOL_CONTAINER_OF_H
#define LOOPSCHOOL_CONTAINER_OF_H

#include <stddef.h>

/* ptr points at the `member` field of some `type`: the address of that `type`. */
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
