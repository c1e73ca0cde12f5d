/* Giving up privileges (SB4). */
#ifndef GAELIC_SANDBOX_PRIVS_H
#define GAELIC_SANDBOX_PRIVS_H

/* Drops every capability (effective, permitted, inheritable, ambient and
 * the bounding set) and sets no_new_privs, so neither exec nor anything
 * else can regain them. A root instance stays uid 0 but can no longer
 * override file permissions, raise its limits, mount, trace or signal other
 * users' processes. Returns 0, or -1 with errno set. */
int sandbox_drop_privileges(void);

#endif
