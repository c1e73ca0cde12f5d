/* The instance sandbox (SPEC SB1-SB6), applied in each instance after the
 * runtime is loaded and before any app code runs, in this order:
 *   rlimits -> own read-only file tree -> no capabilities and
 *   no_new_privs -> Landlock -> seccomp -> the Python audit hook (armed).
 * The kernel layers are the boundary; the audit hook only makes the same
 * refusals friendly. The zygote itself stays unsandboxed: it must fork. */
#ifndef GAELIC_SANDBOX_H
#define GAELIC_SANDBOX_H

#include <sys/types.h>

#include "sandbox_linked.h"
#include "sandbox_mode.h"

typedef struct {
    sandbox_mode_t mode;
    const char *app_dir;    /* absolute */
    const char *python_dir; /* absolute: gaelic's own Python package */
    /* What the app's links outside it lead to (--follow_symlinks): real
     * paths, NULL-terminated. */
    const char *linked[SANDBOX_LINKED_MAX + 1];
    unsigned long long memory_bytes;
    int audit_hook; /* 0: leave the Python layer disarmed (tests only) */
    /* Compiled in advance (sandbox_seccomp.h); NULL: compiled when applied. */
    const struct seccomp_prog *seccomp;
} sandbox_conf_t;

/* Sandboxes the calling process, which must be single-threaded. chan_fd is
 * the only descriptor socket calls may use afterwards. Returns 0, or -1
 * after printing why when a layer that must be applied could not be (the
 * caller must then not run app code). */
int sandbox_apply(const sandbox_conf_t *c, int chan_fd);

#endif
