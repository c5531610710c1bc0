/* echo_internal.h — what the echo server's two files share (lesson 12): echo.c accepts and
 * serves, echo_stop.c shuts down, logs and dumps. Not for users: they go through echo.h. */
#ifndef LOOPSCHOOL_ECHO_INTERNAL_H
#define LOOPSCHOOL_ECHO_INTERNAL_H

#include "loop/net/echo.h"

/* Unlinks and frees a connection whose stream is closed; wakes the listener if descriptors had
 * run out, and finishes a shutdown once the last one is gone. */
void echo_conn_free(struct echo_server *s, struct echo_conn *c);
/* Watches the listener again: 0, or loop_watch_fd's error (kept in last_error). */
int echo_watch_listener(struct echo_server *s);
/* During a shutdown, once no connection is left: stop the deadline, queue on_drained. */
void echo_check_drained(struct echo_server *s);
/* drained_run's function: gives back the place echo_server_shutdown reserved, calls on_drained. */
void echo_deliver_drained(void *arg);
/* A log line on config.log, printf-style, through limit (see struct echo_log_limit). */
void echo_log(struct echo_server *s, struct echo_log_limit *limit, const char *fmt, ...);

#endif
