/* loop.h — how a test makes its loop (every lesson's tests from 02 on): on a virtual clock, which
 * jumps to the next deadline instead of sleeping so timing is asserted without waiting, or on the
 * real clock when real sockets are the point. Header only; names start with test_. */
#ifndef LOOPSCHOOL_TESTS_SUPPORT_LOOP_H
#define LOOPSCHOOL_TESTS_SUPPORT_LOOP_H

#include <criterion/criterion.h>
#include <stdint.h>

#include "loop/loop.h"

/* A loop on a virtual clock that reads start_ns. `config` (NULL: none) says the rest; its clock
 * is replaced by this one, and a NULL backend means the script backend, which watches any fd
 * number without a real one. */
static inline struct loop *test_virtual_loop_at(struct loop_clock *clock, int64_t start_ns,
                                                const struct loop_config *config) {
    struct loop_config c = config ? *config : (struct loop_config){0};
    c.clock = clock;
    if (!c.backend)
        c.backend = &backend_script;
    loop_clock_init_virtual(clock, start_ns);
    struct loop *loop = NULL;
    int rc = loop_new(&loop, &c);
    cr_assert_eq(rc, 0, "a loop on the virtual clock can be made (got %d)", rc);
    return loop;
}

/* The same, with the clock starting at 0: what almost every test wants. */
static inline struct loop *test_virtual_loop(struct loop_clock *clock,
                                             const struct loop_config *config) {
    return test_virtual_loop_at(clock, 0, config);
}

/* A loop on the real clock, for real sockets; a NULL backend means the loop's default (epoll on
 * Linux, else poll: backend_default). */
static inline struct loop *test_loop_new(const struct backend_ops *backend) {
    struct loop *loop = NULL;
    struct loop_config config = {.backend = backend};
    cr_assert_eq(loop_new(&loop, &config), 0, "a %s loop is created",
                 backend ? backend->name : "default");
    return loop;
}

#endif
