#include "sandbox_startup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "sandbox_landlock.h"
#include "sandbox_mount.h"
#include "sandbox_rlimits.h"
#include "sandbox_seccomp.h"

/* Tries the instances' own file tree set-up in a child, so the answer is
 * the one instances will get. Returns 0 or the child's errno. */
static int probe_mount(const char *app_dir, const char *python_dir, const char *const *linked)
{
    const char *readable[SANDBOX_READABLE_MAX];
    sandbox_readable_paths(app_dir, python_dir, linked, readable);
    pid_t pid = fork();
    if (pid < 0)
        return errno;
    if (pid == 0)
        _exit(sandbox_mount_root(app_dir, linked, readable) < 0
                  ? errno
                  : 0); /* errno values fit in 8 bits */
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return errno;
    return WIFEXITED(status) ? WEXITSTATUS(status) : ECHILD;
}

int sandbox_startup_check(sandbox_mode_t mode, const char *app_dir, const char *python_dir,
                          const char *const *linked, int audit_hook,
                          unsigned long long memory_bytes)
{
    if (mode == SANDBOX_OFF) {
        log_warn("**********************************************************************");
        log_warn("--sandbox off: app code runs with this server's full rights: it can");
        log_warn("write files, open sockets and start processes. Never use it for code");
        log_warn("you do not trust.");
        log_warn("**********************************************************************");
        return 0;
    }
    int seccomp = seccomp_available();
    int abi = landlock_abi();
    int mount_err = probe_mount(app_dir, python_dir, linked);
    char landlock[16], mount[96], memory[64];
    if (abi)
        snprintf(landlock, sizeof landlock, "ABI %d", abi);
    else
        snprintf(landlock, sizeof landlock, "NO");
    if (mount_err)
        snprintf(mount, sizeof mount, "NO (%s)", strerror(mount_err));
    else
        snprintf(mount, sizeof mount, "yes");
    if (sandbox_limits_address_space())
        snprintf(memory, sizeof memory, "%llu MiB", memory_bytes >> 20);
    else
        snprintf(memory, sizeof memory, "unlimited (sanitizer build)");
    log_info("sandbox %s: seccomp %s, Landlock %s, own read-only file tree %s, address space "
             "%s, capabilities dropped (instances keep uid %d)",
             sandbox_mode_name(mode), seccomp ? "yes" : "NO", landlock, mount, memory,
             (int)geteuid());
    if (!audit_hook)
        log_warn("sandbox: the Python audit hook is DISARMED (--sandbox_test_disarm_audit, for "
                 "tests): only the kernel layers stand; apps get raw OS errors");
    const char *refusal = sandbox_strict_refusal(seccomp, abi > 0, mount_err == 0);
    if (refusal && mode == SANDBOX_STRICT) {
        log_error("sandbox: %s; --sandbox strict refuses to run apps so (--sandbox dev runs with "
                  "what there is)",
                  refusal);
        return -1;
    }
    if (!seccomp || !abi || mount_err)
        log_warn("sandbox: some layers are missing on this system: apps are less contained");
    return 0;
}
