/* Capping the threads of each instance (SB4) with the kernel's cgroup pids
 * controller: an instance that starts threads without end would otherwise
 * use up the host's process ids, and nothing else on the machine could
 * fork. Each instance gets a cgroup ("pid-N") whose pids.max is its own
 * limit, and the server's cgroup caps all zygotes and instances together
 * at half of what the host allows, so even instances not yet moved into
 * their own cgroup (they are born in their zygote's, "zygote-N", which the
 * mover places before anything else) leave the host ids to spare.
 *
 * Needs write access to the cgroup tree (root, or a delegated subtree);
 * without it thread_cap_open says why. Opened and closed in the master's
 * event loop; in between, only the cgroup mover's thread (cgroup_mover.h)
 * adds and releases. */
#ifndef GAELIC_THREAD_CAP_H
#define GAELIC_THREAD_CAP_H

#include <stddef.h>
#include <sys/types.h>

typedef struct thread_cap thread_cap_t;

/* NULL when capping is not possible here, with the reason in why. */
thread_cap_t *thread_cap_open(char *why, size_t n);

/* "cgroup v1 pids at /sys/fs/cgroup/pids/gaelic-12-3456" */
const char *thread_cap_where(const thread_cap_t *t);
/* Threads (kernel tasks) all zygotes and instances may have together. */
long thread_cap_total(const thread_cap_t *t);

/* Moves a zygote into a cgroup of its own under the server's total, before
 * it forks any instance. 0, or -1 with errno set. */
int thread_cap_add_zygote(thread_cap_t *t, pid_t pid);
/* Moves an instance into a new cgroup of at most max_threads tasks.
 * 0, or -1 with errno set. */
int thread_cap_add(thread_cap_t *t, pid_t pid, int max_threads);
/* An instance (or, with zygote set, a zygote) has exited: its cgroup goes,
 * now or, if the kernel still counts it, at a later release, retry or close. */
void thread_cap_release(thread_cap_t *t, pid_t pid, int zygote);
/* Tries again to remove the cgroups the kernel still counted a process
 * in; how many are still left. */
int thread_cap_retry_removals(thread_cap_t *t);
/* Removes every cgroup made here. t may be NULL. */
void thread_cap_close(thread_cap_t *t);

#endif
