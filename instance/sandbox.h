/* The instance sandbox (SPEC SB1-SB6), applied in each instance after the
 * runtime is loaded and before any app code runs, in this order:
 *   rlimits -> read-only noexec app mount -> no capabilities and
 *   no_new_privs -> Landlock -> seccomp -> the Python audit hook (armed).
 * The kernel layers are the boundary; the audit hook only makes the same
 * refusals friendly. The zygote itself stays unsandboxed: it must fork. */
#ifndef GAELIC_SANDBOX_H
#define GAELIC_SANDBOX_H

#include <sys/types.h>

typedef enum {
    SANDBOX_STRICT, /* every layer the kernel offers; seccomp required */
    SANDBOX_DEV,    /* every layer that can be applied; failures are warnings */
    SANDBOX_OFF,    /* nothing: apps run with the server's rights */
} sandbox_mode_t;

typedef struct {
    sandbox_mode_t mode;
    const char *app_dir;    /* absolute */
    const char *python_dir; /* absolute: gaelic's own Python package */
    unsigned long long memory_bytes;
    int audit_hook; /* 0: leave the Python layer disarmed (tests only) */
    /* Compiled in advance (sandbox_seccomp.h); NULL: compiled when applied. */
    const struct seccomp_prog *seccomp;
} sandbox_conf_t;

/* Default address-space limit of an instance. */
#define SANDBOX_DEFAULT_MEMORY (1ULL << 30)

/* "strict", "dev" or "off". Returns 0, or -1 for anything else. */
int sandbox_mode_parse(const char *s, sandbox_mode_t *mode);
const char *sandbox_mode_name(sandbox_mode_t mode);

/* Sandboxes the calling process, which must be single-threaded. chan_fd is
 * the only descriptor socket calls may use afterwards. Returns 0, or -1
 * after printing why when a layer that must be applied could not be (the
 * caller must then not run app code). */
int sandbox_apply(const sandbox_conf_t *c, int chan_fd);

#endif
