/* The zygote's spare instance: a child forked and prepared ahead of time
 * (instance_prepare: at-fork hooks, app root on sys.path, the sandbox,
 * worker threads; no app code), blocked on a private socket until the zygote hands it a
 * channel. A ZY_SPAWN then costs one message instead of a fork plus a few
 * hundred copy-on-write page faults; the zygote forks the next spare once
 * it has been idle for a moment, off the master's critical path.
 *
 * The hand-off message is the master's ZY_SPAWN itself, with the channel fd
 * (and the instance's output pipe) attached: a spare writes to the zygote's
 * stdout and stderr until then. A spare that loses its zygote exits
 * (PR_SET_PDEATHSIG, and EOF on the hand-off socket). */
#ifndef GAELIC_ZYGOTE_SPARE_H
#define GAELIC_ZYGOTE_SPARE_H

#include <signal.h>
#include <sys/types.h>

#include "zygote_args.h"
#include "zygote_proto.h"

/* A spare's hand-off socket, and then its channel, is always this
 * descriptor. */
#define SPARE_CHANNEL_FD 3

typedef struct {
    pid_t pid; /* 0: there is no spare */
    int pidfd; /* for ZY_SPAWNED */
    int sock;  /* the zygote's end of the hand-off socket */
} spare_t;

/* Forks and starts preparing a new spare. child_mask is the signal mask the
 * child starts with. Must be called with no spare (s->pid == 0). Returns 0,
 * or -1 with errno set and no child left behind. */
int spare_fork(spare_t *s, const zygote_args_t *args, const sigset_t *child_mask);

/* Gives the spare its ZY_SPAWN, channel fd and output fd (-1: it keeps the
 * zygote's stdout and stderr); the caller keeps and closes its own copies.
 * Returns 0, or -1 with errno set when the spare cannot take it (it died):
 * then call spare_discard. */
int spare_hand_off(spare_t *s, const zy_msg_t *spawn, int chan_fd, int out_fd);

/* Closes the zygote's ends of a spare that became an instance or that has
 * been reaped, leaving no spare. The pidfd is closed too: take it first if
 * it is still needed. */
void spare_forget(spare_t *s);

/* Kills and reaps an unusable spare, then forgets it. */
void spare_discard(spare_t *s);

#endif
