/* stride.h — the stride policy's knobs (lesson 09); the policy is sched/policy/stride.c. */
#ifndef LOOPSCHOOL_POLICY_STRIDE_H
#define LOOPSCHOOL_POLICY_STRIDE_H

#include <stdint.h>

#include "sched/policy/policy.h"

/* stride = constant / tickets, and a run of ran_ns adds stride * ran_ns / slice_ns to the pass
 * (rounded up), so one slice of CPU costs exactly one stride. A larger constant keeps big ticket
 * counts distinct. 0; -EINVAL when p is another policy or a value is out of range; -EBUSY while
 * anything is queued: passes earned on the old scale would not compare fairly with passes on
 * the new one. Nothing changes on an error. */
#define POLICY_STRIDE_DEFAULT_CONSTANT UINT64_C(1000000)
#define POLICY_STRIDE_MAX_CONSTANT     (UINT64_C(1) << 32)
#define POLICY_STRIDE_DEFAULT_SLICE_NS INT64_C(1000000) /* 1 ms */
#define POLICY_STRIDE_MAX_SLICE_NS     (INT64_C(1) << 32)
int policy_stride_configure(struct policy *p, uint64_t stride_constant, int64_t slice_ns);

#endif
