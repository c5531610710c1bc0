/* crowd.h — lesson 12's client: a separate process that opens thousands of connections to an
 * echo server, holds them, runs round trips on some or all of them and checks every byte that
 * comes back. It uses plain poll(), nothing of the loop it is measuring. */
#ifndef LOOPSCHOOL_LESSON12_CROWD_H
#define LOOPSCHOOL_LESSON12_CROWD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct crowd_config {
    uint16_t port;   /* the echo server on 127.0.0.1 */
    int connections; /* opened and held */
    int active;      /* how many of them run round trips (the first ones); <= connections */
    int rounds;      /* round trips per active connection */
    int stall_ms;    /* give up if nothing moves for this long; 0: 10000 */
};

/* What the crowd tells its parent, one report per step. */
enum crowd_step {
    CROWD_CONNECTED = 1, /* every connection open and answered once; now idle until told */
    CROWD_ECHOED,        /* the round trips are done; held again until told */
    CROWD_DONE,          /* closed everything; the process exits */
};

struct crowd_report {
    int step;             /* enum crowd_step */
    int error;            /* 0, or a negative errno: -ETIMEDOUT, -EPIPE (wrong bytes or closed) */
    int connected;        /* connections open and answered */
    int closed_by_server; /* connections the server closed (an idle timeout) */
    long round_trips;     /* completed and verified */
    long long bytes_verified; /* every one compared with what was sent */
    double seconds;           /* the step's duration */
};

/* A crowd in its own process. crowd_start forks it; it reports each step on *reports (a pipe
 * to read struct crowd_report from) and waits for crowd_go before the next step. */
struct crowd {
    pid_t pid;
    int reports;  /* read end */
    int commands; /* write end */
};

/* Forks the crowd. 0, or a negative errno (pipe, fork). */
int crowd_start(struct crowd *c, const struct crowd_config *config);
/* Lets it take its next step (round trips after CROWD_CONNECTED, closing after CROWD_ECHOED). */
int crowd_go(struct crowd *c);
/* Reads one report, waiting at most timeout_ms: 0, -ETIMEDOUT, or -EPIPE if the crowd died. */
int crowd_read(struct crowd *c, struct crowd_report *r, int timeout_ms);
/* Closes the command pipe (a crowd waiting for go then closes up and exits), waits for the
 * process to end and closes the report pipe. Its exit status, or -1. */
int crowd_finish(struct crowd *c);

/* The calling process's resident bytes (/proc/self/statm), or 0 where that cannot be read: what
 * the server's side measures while a crowd holds its connections (the demo and the test). */
long crowd_resident_bytes(void);

/* The client itself, in the calling process (crowd_start runs it in the child). */
int crowd_run(const struct crowd_config *config, int report_fd, int command_fd);

#endif
