/* loop_observe.c — attaching and detaching the loop's observers (lesson 15): an intrusive list
 * the tick walks at each step (LOOP_NOTIFY in loop.c). Apart from loop.c so that the tick's file
 * stays the tick. */
#include "loop/loop_internal.h"

#include <errno.h>

int loop_observe(struct loop *loop, struct loop_observer *obs) {
    if (!loop || !obs)
        return -EINVAL;
    if (obs->loop)
        return -EBUSY;
    obs->loop = loop;
    list_push_back(&loop->observers, &obs->node);
    loop->observers_timing += obs->hooks.after_run != NULL;
    if (obs->hooks.after_run)
        loop->time_runs = true; /* attached during a batch: its runs are timed from now on */
    return 0;
}

int loop_unobserve(struct loop *loop, struct loop_observer *obs) {
    if (!loop || !obs)
        return -EINVAL;
    if (obs->loop != loop)
        return -EALREADY;
    /* Unlinked by hand, keeping its own next pointer: a notification under way may be standing
     * on this node (a hook detached an observer that comes after its own), and must still find
     * the rest of the list from it. list_remove would point the node at itself: a walk that
     * reached it would never leave. */
    obs->node.prev->next = obs->node.next;
    obs->node.next->prev = obs->node.prev;
    obs->loop = NULL;
    loop->observers_timing -= obs->hooks.after_run != NULL;
    return 0;
}

bool loop_observing(const struct loop *loop, const struct loop_observer *obs) {
    if (!loop || !obs)
        return false;
    list_for_each(n, &loop->observers) {
        if (n == &obs->node)
            return true;
    }
    return false;
}
