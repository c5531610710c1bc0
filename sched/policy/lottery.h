/* lottery.h — the lottery policy's knob (lesson 09); the policy is sched/policy/lottery.c. */
#ifndef LOOPSCHOOL_POLICY_LOTTERY_H
#define LOOPSCHOOL_POLICY_LOTTERY_H

#include <stdint.h>

#include "sched/policy/policy.h"

/* The seed of its random draws. Same seed, same pushes, same pops: same order. 0, or -EINVAL
 * when p is another policy. */
#define POLICY_LOTTERY_DEFAULT_SEED UINT64_C(0x6c6f6f70) /* "loop" in ASCII */
int policy_lottery_seed(struct policy *p, uint64_t seed);

#endif
