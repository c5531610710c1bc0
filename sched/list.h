/* list.h — the intrusive doubly linked list every loopschool queue is made of (lesson 02 first
 * uses it for fd watchers). "Intrusive": the node lives inside the caller's struct, so putting
 * something on a list never allocates, and container_of walks back from the node to its owner. */
#ifndef LOOPSCHOOL_LIST_H
#define LOOPSCHOOL_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "sched/container_of.h"

/* A list head is a node too: an empty list is a head pointing at itself, so insertion and
 * removal never test for NULL. */
struct list_node {
    struct list_node *prev, *next;
};

/* The one way to walk a list: declares `it` (a struct list_node *) and visits every node in
 * order. The body may remove `it` (even free its owner): the next node is read before the body
 * runs. Typical: list_for_each(n, &q) visit(container_of(n, struct runnable, node)); */
#define list_for_each(it, head)                                                                    \
    for (struct list_node *it = (head)->next, *it##_next = it->next; it != (head);                 \
         it = it##_next, it##_next = it->next)

static inline void list_init(struct list_node *head) {
    head->prev = head->next = head;
}

static inline bool list_empty(const struct list_node *head) {
    return head->next == head;
}

/* A node that is on no list points at itself (list_init), so "is it linked?" has an answer. */
static inline bool list_linked(const struct list_node *node) {
    return node->next != node;
}

static inline void list_insert_between(struct list_node *node, struct list_node *prev,
                                       struct list_node *next) {
    node->prev = prev;
    node->next = next;
    prev->next = node;
    next->prev = node;
}

static inline void list_push_back(struct list_node *head, struct list_node *node) {
    list_insert_between(node, head->prev, head);
}

static inline void list_push_front(struct list_node *head, struct list_node *node) {
    list_insert_between(node, head, head->next);
}

/* Unlinks a node and leaves it pointing at itself: removing it a second time is harmless. */
static inline void list_remove(struct list_node *node) {
    node->prev->next = node->next;
    node->next->prev = node->prev;
    list_init(node);
}

static inline struct list_node *list_first(const struct list_node *head) {
    return list_empty(head) ? NULL : head->next;
}

static inline struct list_node *list_last(const struct list_node *head) {
    return list_empty(head) ? NULL : head->prev;
}

static inline struct list_node *list_pop_front(struct list_node *head) {
    struct list_node *node = list_first(head);
    if (node)
        list_remove(node);
    return node;
}

static inline size_t list_length(const struct list_node *head) {
    size_t n = 0;
    list_for_each(it, head) n++;
    return n;
}

#endif
