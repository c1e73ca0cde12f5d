/* The friendly layer of the sandbox (SB1-SB6): a C audit hook that turns
 * what the kernel layers would refuse anyway into Python exceptions naming
 * the rule (PermissionError, or ImportError for imports). The rules are in
 * audit_rules.h. It is not the security boundary: seccomp, Landlock and the
 * read-only app mount are (sandbox.h). */
#ifndef GAELIC_AUDIT_HOOK_H
#define GAELIC_AUDIT_HOOK_H

/* Installs the hook, disarmed. Must run before Py_Initialize, so no Python
 * code runs without it and app code can never remove it. Returns 0 or -1. */
int audit_hook_install(void);

/* Arms the hook for the rest of the process's life. Called in an instance
 * once the runtime is loaded and the kernel layers are on, before any app
 * code runs: the runtime's own imports happen while it is disarmed.
 * read_paths (NULL-terminated, or NULL) are what Landlock lets the instance
 * read: opening or listing anything else by absolute path is refused with
 * SB1's message. NULL when Landlock is not on. Opening a hidden file of
 * the app (app_hidden.h) is refused with App Engine's PermissionError
 * (EACCES), saying why. */
void audit_hook_arm(const char *const *read_paths);

/* Once armed, C extension modules load from Debian's dist-packages only
 * when they belong to one of these top-level modules ("a,b,c": the
 * libraries app.yaml lists, resolved by the master; libraries.h), besides
 * the standard library's. Returns 0, or -1 out of memory. */
int audit_hook_allow_libraries(const char *modules);

#endif
