/* The instance's own file tree, in a private mount namespace (SB1, SB5).
 *
 * The root is an empty read-only tmpfs holding only what the instance may
 * read: the app folder (read-only, noexec: the kernel refuses to map an
 * app's shared objects executable, so their constructors never run even
 * when the Python layer is bypassed), gaelic's Python package and the
 * system paths Landlock allows, each a read-only bind mount at its own
 * path. Landlock refuses reads elsewhere; without this tree the app could
 * still stat, readlink or see in mountinfo what exists outside it. */
#ifndef GAELIC_SANDBOX_MOUNT_H
#define GAELIC_SANDBOX_MOUNT_H

/* Moves the calling (single-threaded) process into a new mount namespace
 * whose root holds app_dir and the read_paths (NULL-terminated, absolute;
 * missing ones are left out; those also in linked, NULL or NULL-terminated,
 * are the app's as app_dir is: noexec) and nothing else (/proc/self's net tables
 * hidden), and changes into app_dir. As root that is enough; otherwise
 * a user namespace that maps only our own ids provides the right to mount.
 * Returns 0; SANDBOX_MOUNT_UNSUPPORTED, errno EPERM or ENOSPC, when this
 * system allows no namespaces (nothing changed: running without the tree
 * is safe); or -1 with errno set when a later step failed, which may leave
 * a half-built tree behind: app code must not run then. */
#define SANDBOX_MOUNT_UNSUPPORTED (-2)
int sandbox_mount_root(const char *app_dir, const char *const *linked,
                       const char *const *read_paths);

#endif
