#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit_hook.h"
#include "sandbox_landlock.h"
#include "sandbox_mount.h"
#include "sandbox_privs.h"
#include "sandbox_rlimits.h"
#include "sandbox_seccomp.h"
#include "sqlite_guard.h"

/* A layer failed. Without it when the kernel or the system simply lacks it
 * (the master has said so at start-up: strict mode needs only seccomp);
 * otherwise strict mode refuses to go on and dev mode warns. */
static int failed(const sandbox_conf_t *c, const char *layer, int unsupported)
{
    int err = errno;
    if (unsupported)
        return 0;
    fprintf(stderr, "gaelic instance %d: sandbox: %s: %s%s\n", (int)getpid(), layer, strerror(err),
            c->mode == SANDBOX_DEV ? " (dev mode: going on without it)" : "");
    return c->mode == SANDBOX_DEV ? 0 : -1;
}

int sandbox_apply(const sandbox_conf_t *c, int chan_fd)
{
    if (c->mode == SANDBOX_OFF)
        return 0;
    if (sandbox_rlimits(c->memory_bytes) < 0 && failed(c, "resource limits", 0) < 0)
        return -1;
    /* Namespaces may be disallowed: Landlock still refuses writes, and the
     * audit hook refuses app extensions. Any later step that fails is a
     * failure like any other layer's. */
    const char *readable[SANDBOX_READABLE_MAX];
    sandbox_readable_paths(c->app_dir, c->python_dir, c->linked, readable);
    int tree = sandbox_mount_root(c->app_dir, c->linked, readable);
    if (tree < 0 && failed(c, "own read-only file tree", tree == SANDBOX_MOUNT_UNSUPPORTED) < 0)
        return -1;
    if (sandbox_drop_privileges() < 0 && failed(c, "dropping privileges", 0) < 0)
        return -1;
    int landlock = sandbox_landlock(readable) == 0;
    if (!landlock && failed(c, "Landlock", errno == EOPNOTSUPP) < 0)
        return -1;
    const char *refusal = sandbox_strict_refusal(1, landlock, tree >= 0);
    if (refusal && c->mode == SANDBOX_STRICT) {
        fprintf(stderr, "gaelic instance %d: sandbox: %s\n", (int)getpid(), refusal);
        return -1;
    }
    int rc = c->seccomp && sandbox_seccomp_chan_fd(c->seccomp) == chan_fd
                 ? sandbox_seccomp_load(c->seccomp, getpid())
                 : sandbox_seccomp(chan_fd, getpid());
    if (rc < 0 && failed(c, "seccomp", 0) < 0)
        return -1;
    if (sqlite_guard_enable() < 0 && failed(c, "SQLite's guard", 0) < 0)
        return -1;
    if (c->audit_hook)
        audit_hook_arm(landlock ? readable : NULL); /* SB1 only where Landlock refuses */
    return 0;
}
