/* The server's own cgroup for one controller (cpu, pids):
 * "gaelic-PID-START-NS" (START: its start time, /proc/PID/stat's field
 * 22, so that a later process with the same pid is not taken for it; NS:
 * its pid namespace, in which alone PID means it) under
 * the cgroup the server runs in, in the cgroup v2 hierarchy when the
 * controller is available there, else in the v1 hierarchy that carries it.
 * Children of it hold the processes the server limits ("pid-N" for an
 * instance, "zygote-N" for a zygote).
 *
 * With cgroup v2, trees of several controllers are one directory: each tree
 * enables its own controller and writes its own files, and moving a
 * process into a child twice, or removing a child that another tree
 * already removed, is harmless.
 *
 * Needs write access to the cgroup tree (root, or a delegated subtree);
 * without it cgroup_tree_open says why. Everything here runs in the
 * master's event loop. */
#ifndef GAELIC_CGROUP_TREE_H
#define GAELIC_CGROUP_TREE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

typedef struct cgroup_tree cgroup_tree_t;

/* A child's name: "pid-12" (an instance), "zygote-9". */
#define CGROUP_CHILD_MAX 32
static inline void cgroup_child(char out[CGROUP_CHILD_MAX], const char *kind, pid_t pid)
{
    snprintf(out, CGROUP_CHILD_MAX, "%s-%d", kind, (int)pid);
}

/* NULL when this server cannot make a cgroup of its own with controller
 * enabled for its children, with the reason in why. */
cgroup_tree_t *cgroup_tree_open(const char *controller, char *why, size_t n);

/* 2 or 1: the cgroup version of the tree. */
int cgroup_tree_version(const cgroup_tree_t *t);
/* The server's cgroup folder, "/sys/fs/cgroup/cpu/gaelic-12-3456-4026531836". */
const char *cgroup_tree_dir(const cgroup_tree_t *t);

/* 1 when name is a server's cgroup ("gaelic-PID-START-NS" of a server in
 * this pid namespace, or "gaelic-PID-START" and "gaelic-PID" of older
 * servers) and that server is gone: no process has its pid, or the one
 * that has started at another time. At start a server removes such
 * cgroups, left by servers that were killed. */
int cgroup_server_gone(const char *name);

/* Writes value to file in the child cgroup (created if needed), or in the
 * server's own cgroup when child is NULL (at most 4 such files, values
 * under 32 bytes: kept, to be written again if that cgroup is made again).
 * 0, or -1 with errno set. */
int cgroup_tree_set(cgroup_tree_t *t, const char *child, const char *file, const char *value);
/* Moves process pid (all its threads) into the child cgroup, created if
 * needed. 0, or -1 with errno set (a child created here is removed). */
int cgroup_tree_move(cgroup_tree_t *t, const char *child, pid_t pid);
/* The child's processes have exited: its cgroup is removed, now or, if the
 * kernel still counts them, at a later cgroup_tree_remove,
 * cgroup_tree_retry_removals or close. */
void cgroup_tree_remove(cgroup_tree_t *t, const char *child);
/* Tries again to remove the children the kernel still counted processes
 * in; how many are still left. */
int cgroup_tree_retry_removals(cgroup_tree_t *t);
/* Removes every cgroup made here. t may be NULL. */
void cgroup_tree_close(cgroup_tree_t *t);

#endif
