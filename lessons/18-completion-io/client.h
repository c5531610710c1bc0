/* client.h — lesson 18's echo client in a forked process: N blocking connections, each round
 * sends a distinct message on every one, then reads every echo back and checks each byte. The
 * child's exit status is the verdict, so the server's own counters see none of its calls. */
#ifndef LESSON18_CLIENT_H
#define LESSON18_CLIENT_H

#include <stdint.h>
#include <sys/types.h>

/* Forks the client: 0 with *pid set, or a negative errno. */
int client_start(uint16_t port, int connections, int rounds, pid_t *pid);
/* Waits for it: 0 if every byte of every round came back right, 1 if not, or -ETIMEDOUT (it is
 * killed) after timeout_ms, while step() (may be NULL) keeps the server going. */
int client_finish(pid_t pid, int timeout_ms, void (*step)(void *ctx), void *ctx);

#endif
