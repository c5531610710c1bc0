/* trace.h — lesson 12's `--trace` scene: three clients, one of them silent, an idle timeout and
 * a graceful stop, printed as the canonical lines asyncio_twin.py prints for the same scene. */
#ifndef LOOPSCHOOL_LESSON12_TRACE_H
#define LOOPSCHOOL_LESSON12_TRACE_H

#include "loop/backend/backend.h"

/* Plays the scene on a loop of that backend; 0 if everything happened as printed, else 1. */
int trace_scene(const struct backend_ops *backend);

#endif
