/* Landlock (SB1, SB2, SB4): the filesystem becomes read-only and limited to
 * a few trees; nothing may be executed, written, created or removed. Where
 * the kernel's ABI allows, TCP bind/connect, abstract Unix sockets and
 * signals to processes outside the instance are refused too. */
#ifndef GAELIC_SANDBOX_LANDLOCK_H
#define GAELIC_SANDBOX_LANDLOCK_H

/* The kernel's Landlock ABI version, or 0 when Landlock is unavailable. */
int landlock_abi(void);

/* Restricts the calling thread (and the threads and processes it creates
 * later) to reading the given paths (NULL-terminated; missing ones are
 * skipped) plus the system files the runtime needs. no_new_privs must be
 * set. Returns 0, or -1 with errno set (EOPNOTSUPP: no Landlock). */
int sandbox_landlock(const char *const *read_paths);

/* Those system files and trees (NULL-terminated). */
const char *const *landlock_system_paths(void);

#endif
