/* The master's start-up check of the instance sandbox (instance/sandbox.h):
 * which layers this kernel and this user can have, logged once, and whether
 * the chosen --sandbox mode may start with them. */
#ifndef GAELIC_SANDBOX_STARTUP_H
#define GAELIC_SANDBOX_STARTUP_H

#include "sandbox_mode.h"

/* Probes the layers (the instances' own file tree, with what the app's
 * links lead to (linked, NULL-terminated, or NULL), in a short-lived child)
 * and logs them with the instances' address-space limit. Returns 0, or -1
 * after logging why when mode is strict and sandbox_strict_refusal says no. audit_hook
 * 0 (tests only) is logged as a warning. */
int sandbox_startup_check(sandbox_mode_t mode, const char *app_dir, const char *python_dir,
                          const char *const *linked, int audit_hook,
                          unsigned long long memory_bytes);

#endif
