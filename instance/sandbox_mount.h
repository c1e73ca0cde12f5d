/* The app folder, read-only and without execute rights, in a private mount
 * namespace (SB1, SB5). noexec is what keeps an app's own shared objects
 * out of the process even when the Python layer is bypassed: the kernel
 * refuses to map them executable, so their constructors never run. */
#ifndef GAELIC_SANDBOX_MOUNT_H
#define GAELIC_SANDBOX_MOUNT_H

/* Moves the calling (single-threaded) process into a new mount namespace
 * whose app_dir is a read-only, noexec, nosuid, nodev bind mount of itself,
 * and changes into it (the old working directory is on the old mount). As
 * root a mount namespace is enough; otherwise a user namespace that maps
 * only our own ids provides the right to mount. Returns 0, or -1 with errno
 * set (EPERM where namespaces are not allowed). */
int sandbox_mount_app(const char *app_dir);

#endif
