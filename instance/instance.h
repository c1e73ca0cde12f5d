/* An instance: a fork child of the zygote that serves one app's requests
 * on its channel (ipc.h). It starts in two phases so that the expensive part
 * of starting (fork, copy-on-write faults, Python's at-fork hooks, worker
 * threads) can run before the master asks for an instance: see
 * zygote_spare.h. */
#ifndef GAELIC_INSTANCE_H
#define GAELIC_INSTANCE_H

#include <sys/types.h>

#include "sandbox.h"

/* Phase 1, right after fork() (the caller has run PyOS_AfterFork_Child,
 * restored the signal mask, closed inherited descriptors and holds the
 * GIL): ties our life to the zygote, moves to the app root, puts it on
 * sys.path (after import_path's folders, one a line, or ""), applies the sandbox (sandbox.h;
 * chan_fd is the descriptor number the channel will have) and starts the worker threads, which wait
 * for requests. Runs no app code. Exits the process if any step fails. */
void instance_prepare(const sandbox_conf_t *sandbox, const char *import_path, int chan_fd,
                      pid_t zygote_pid);

/* Phase 2 (GIL held): serves on chan_fd. Starts the channel reader, sends
 * IPC_READY, and never returns: exits 0 once IPC_SHUTDOWN has drained or
 * when the master goes away, non-zero if the instance cannot start. */
void instance_serve(int chan_fd, const char *instance_id) __attribute__((noreturn));

#endif
