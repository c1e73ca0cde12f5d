/* Landlock (SB1, SB2, SB4): the filesystem becomes read-only and limited to
 * a few trees; nothing may be executed, written, created or removed. Where
 * the kernel's ABI allows, TCP bind/connect, abstract Unix sockets and
 * signals to processes outside the instance are refused too. */
#ifndef GAELIC_SANDBOX_LANDLOCK_H
#define GAELIC_SANDBOX_LANDLOCK_H

#include "sandbox_linked.h"

/* The kernel's Landlock ABI version, or 0 when Landlock is unavailable. */
int landlock_abi(void);

/* Restricts the calling thread (and the threads and processes it creates
 * later) to reading the given paths (NULL-terminated; missing ones are
 * skipped: sandbox_readable_paths). no_new_privs must be set. Returns 0,
 * or -1 with errno set (EOPNOTSUPP: no Landlock). */
int sandbox_landlock(const char *const *read_paths);

/* Everything an instance may read: app_dir, python_dir, what the app's
 * links lead to (linked, NULL-terminated, or NULL: --follow_symlinks) and
 * the system files and trees the runtime needs, into out (NULL-terminated).
 * Its own file tree holds these and nothing else, and the audit hook names
 * SB1 for the rest. */
#define SANDBOX_READABLE_MAX (16 + SANDBOX_LINKED_MAX)
void sandbox_readable_paths(const char *app_dir, const char *python_dir, const char *const *linked,
                            const char *out[SANDBOX_READABLE_MAX]);

#endif
