/* list.h — the intrusive doubly linked list every loopschool queue is made of (lesson 02 first
 * uses it for fd watchers). "Intrusive": the node lives inside the caller's struct, so putting
 * something on a list never allocates, and LIST_ENTRY walks back from the node to its owner. */
#ifndef LOOPSCHOOL_LIST_H
#define LOOPSCHOOL_LIST_H

#include <stdbool.h>
#include <stddef.h>

/* A list head is a node too: an empty list is a head pointing at itself, so insertion and
 * removal never test for NULL. */
struct list_node {
    struct list_node *prev, *next;
};

/* From a node back to the struct that embeds it as `member`. */
#define LIST_ENTRY(node_ptr, type, member) ((type *)((char *)(node_ptr) - offsetof(type, member)))

/* Iterate; `it` may be removed inside the body because `next` is read before it runs. */
#define LIST_FOR_EACH_SAFE(it, next_it, head)                                                      \
    for ((it) = (head)->next, (next_it) = (it)->next; (it) != (head);                              \
         (it) = (next_it), (next_it) = (it)->next)

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
    for (const struct list_node *it = head->next; it != head; it = it->next)
        n++;
    return n;
}

#endif
