/* An instance: the zygote's fork child that serves one app's requests on
 * its channel (ipc.h). */
#ifndef GAELIC_INSTANCE_H
#define GAELIC_INSTANCE_H

#include <sys/types.h>

typedef struct {
    int chan_fd;             /* the channel socket, from ZY_SPAWN */
    const char *app_dir;     /* absolute app root */
    const char *instance_id; /* INSTANCE_ID from ZY_SPAWN */
    pid_t zygote_pid;        /* our parent, to detect it died before prctl */
} instance_args_t;

/* Runs in the child right after fork() (the caller has already run
 * PyOS_AfterFork_Child, holds the GIL and has restored the signal mask).
 * Never returns: exits 0 after IPC_SHUTDOWN drained or when the master goes
 * away, non-zero if the instance cannot start. */
void instance_main(const instance_args_t *a) __attribute__((noreturn));

#endif
