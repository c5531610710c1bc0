/* mlfq.h — the multi-level feedback queue's knobs (lesson 09); the policy is
 * sched/policy/mlfq.c. */
#ifndef LOOPSCHOOL_POLICY_MLFQ_H
#define LOOPSCHOOL_POLICY_MLFQ_H

#include <stdint.h>

#include "sched/policy/policy.h"

/* How much CPU a runnable may use at each level before it moves down one (the bottom level's
 * allotment only bounds its counter), and how often everything is lifted back to the top. To
 * change one value: get the config, edit it, configure. Any time is fine. Each returns 0, or
 * -EINVAL when p is another policy or a value is out of range; nothing changes on an error. */
#define POLICY_MLFQ_LEVELS                   3
#define POLICY_MLFQ_DEFAULT_TOP_ALLOTMENT_NS INT64_C(10000000)  /* 10 ms; x2 per level down */
#define POLICY_MLFQ_DEFAULT_BOOST_PERIOD_NS  INT64_C(100000000) /* 100 ms */
struct policy_mlfq_config {
    int64_t allotment_ns[POLICY_MLFQ_LEVELS]; /* each > 0 */
    int64_t boost_period_ns;                  /* > 0 */
};
int policy_mlfq_get_config(const struct policy *p, struct policy_mlfq_config *out);
int policy_mlfq_configure(struct policy *p, const struct policy_mlfq_config *config);
/* Puts a runnable that is not queued at `level` (0 is the top): -EINVAL past the bottom level,
 * -EBUSY while queued. Refused here, when set: a push comes from a wake-up with nobody to
 * refuse to, so a level set by hand past the bottom is pushed at the bottom. */
int policy_mlfq_set_level(struct runnable *r, unsigned level);

#endif
