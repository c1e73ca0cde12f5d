/* The instance sandbox's settings that the master and the instance binary
 * share: its mode (gaelic serve --sandbox, passed on to the zygote) and the
 * default memory limit. The sandbox itself: instance/sandbox.h. */
#ifndef GAELIC_SANDBOX_MODE_H
#define GAELIC_SANDBOX_MODE_H

typedef enum {
    SANDBOX_STRICT, /* every layer the kernel offers; seccomp required */
    SANDBOX_DEV,    /* every layer that can be applied; failures are warnings */
    SANDBOX_OFF,    /* nothing: apps run with the server's rights */
} sandbox_mode_t;

/* Default address-space limit of an instance. */
#define SANDBOX_DEFAULT_MEMORY (1ULL << 30)

/* "strict", "dev" or "off". Returns 0, or -1 for anything else. */
int sandbox_mode_parse(const char *s, sandbox_mode_t *mode);
const char *sandbox_mode_name(sandbox_mode_t mode);

/* Why --sandbox strict may not run apps with the kernel layers there are,
 * or NULL when it may: seccomp is required, and so is one of Landlock and
 * the instances' own read-only file tree, since without both nothing below
 * the Python layer keeps an app from writing or reading files (SB1, SB6).
 * The master checks at start (sandbox_startup.c), each instance again. */
const char *sandbox_strict_refusal(int seccomp, int landlock, int own_tree);

#endif
