/* random.h — the tests' one source of "random" numbers (used from lesson 02 on): splitmix64, the
 * same sequence on every run for a given seed, so a failure can be replayed; any seed works,
 * zero included. Header only; names start with test_. */
#ifndef LOOPSCHOOL_TESTS_SUPPORT_RANDOM_H
#define LOOPSCHOOL_TESTS_SUPPORT_RANDOM_H

#include <stdint.h>

/* The next number of the sequence whose state is *state (start it with any seed). */
static inline uint64_t test_random(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A number in [0, n), n > 0 (the modulo's bias is far below what a test could notice). */
static inline uint64_t test_random_below(uint64_t *state, uint64_t n) {
    return test_random(state) % n;
}

#endif
