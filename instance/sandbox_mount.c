#include "sandbox_mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "write_file.h"

#define MAX_BINDS 32

/* Where the new root is put together before it becomes "/": any existing
 * folder will do, as the sources are opened before the tmpfs covers it. */
static const char *const staging_dirs[] = {"/tmp", "/mnt", "/run", NULL};

/* Top-level links of a merged-/usr system (/lib -> usr/lib): the dynamic
 * loader's cache names libraries by those paths. */
static const char *const root_links[] = {"/bin",   "/sbin",   "/lib", "/lib32",
                                         "/lib64", "/libx32", NULL};

typedef struct {
    const char *path;
    int fd; /* O_PATH, opened before the staging tmpfs hides anything */
    struct stat st;
    int is_app;
} bind_t;

/* Without root, the right to mount comes from a user namespace of our own
 * in which we keep our uid and gid (and give up supplementary groups):
 * this maps them, once it is entered (as they were before). */
static int map_own_ids(uid_t uid, gid_t gid)
{
    char map[64];
    if (write_file("/proc/self/setgroups", "deny") < 0)
        return -1;
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
    if (write_file("/proc/self/uid_map", map) < 0)
        return -1;
    snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
    return write_file("/proc/self/gid_map", map);
}

/* A remount must repeat the flags a user namespace may not clear. */
static unsigned long kept_flags(const char *path)
{
    struct statvfs st;
    if (statvfs(path, &st) < 0)
        return 0;
    static const struct {
        unsigned long st, ms;
    } map[] = {
        {ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},           {ST_NOEXEC, MS_NOEXEC},
        {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
    };
    unsigned long f = 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (st.f_flag & map[i].st)
            f |= map[i].ms;
    return f;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const bind_t *)a)->path, ((const bind_t *)b)->path);
}

/* Opens what path names (following links: /proc/self is this process's
 * own folder). Returns 1 when added, 0 when it does not exist, -1. */
static int add_bind(bind_t *binds, size_t *n, const char *path, int is_app)
{
    if (*n == MAX_BINDS) {
        errno = E2BIG;
        return -1;
    }
    bind_t *b = &binds[*n];
    b->fd = open(path, O_PATH | O_CLOEXEC);
    if (b->fd < 0)
        return errno == ENOENT ? 0 : -1;
    if (fstat(b->fd, &b->st) < 0) {
        close(b->fd);
        return -1;
    }
    b->path = path;
    b->is_app = is_app;
    (*n)++;
    return 1;
}

/* Creates the folders of path below root, and path itself as a folder or an
 * empty file. What exists already (inside an earlier bind) is kept. */
static int make_mount_point(const char *root, const char *path, int is_dir)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s%s", root, path) >= (int)sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *slash = strchr(p + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        int rc = mkdir(p, 0755);
        *slash = '/';
        if (rc < 0 && errno != EEXIST)
            return -1;
    }
    if (is_dir)
        return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EEXIST || errno == EROFS ? 0 : -1;
    close(fd);
    return 0;
}

/* Makes the bind at dst read-only, nosuid, nodev (but for device nodes)
 * and, for the app, noexec: with mount_setattr every mount below it too (a
 * remount changes only the top one). Kernels before 5.12 lack it (and a
 * container's policy may refuse it): there the top one is remounted,
 * repeating the flags a user namespace may not clear. */
static int restrict_bind(const char *dst, const bind_t *b)
{
    int device = S_ISCHR(b->st.st_mode) || S_ISBLK(b->st.st_mode);
    struct mount_attr attr = {
        .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | (device ? 0 : MOUNT_ATTR_NODEV) |
                    (b->is_app ? MOUNT_ATTR_NOEXEC : 0),
    };
    if (mount_setattr(AT_FDCWD, dst, AT_RECURSIVE, &attr, sizeof attr) == 0)
        return 0;
    if (errno != ENOSYS && errno != EPERM)
        return -1;
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | kept_flags(dst);
    if (!device)
        flags |= MS_NODEV;
    if (b->is_app)
        flags |= MS_NOEXEC;
    return mount(NULL, dst, NULL, flags, NULL);
}

/* Binds b at its own path below root, with all that is mounted below it,
 * and restricts it. */
static int mount_bind(const char *root, const bind_t *b)
{
    char src[64], dst[PATH_MAX];
    snprintf(src, sizeof src, "/proc/self/fd/%d", b->fd);
    snprintf(dst, sizeof dst, "%s%s", root, b->path);
    if (make_mount_point(root, b->path, S_ISDIR(b->st.st_mode)) < 0 ||
        mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
        return -1;
    return restrict_bind(dst, b);
}

static int copy_root_links(const char *root)
{
    for (size_t i = 0; root_links[i]; i++) {
        char target[PATH_MAX], link[PATH_MAX];
        ssize_t len = readlink(root_links[i], target, sizeof target - 1);
        if (len < 0)
            continue; /* absent, or a real folder: not on Landlock's list */
        target[len] = '\0';
        snprintf(link, sizeof link, "%s%s", root, root_links[i]);
        if (symlink(target, link) < 0)
            return -1;
    }
    return 0;
}

static const char *staging_dir(void)
{
    struct stat st;
    for (size_t i = 0; staging_dirs[i]; i++)
        if (stat(staging_dirs[i], &st) == 0 && S_ISDIR(st.st_mode))
            return staging_dirs[i];
    errno = ENOENT;
    return NULL;
}

/* Makes root the process's "/" and lets go of the old tree. Stacking the
 * old root under the new one and detaching it needs no folder for it. */
static int enter_root(const char *root)
{
    if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
        chdir("/") < 0)
        return -1;
    return mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
}

/* What the instance's own /proc tells of the host, covered in its tree:
 * - /proc/self/net, and each thread's under /proc/self/task, list the
 *   sockets of the network namespace, the host's (the paths of Unix ones,
 *   TCP ports and peers): empty read-only tmpfs mounts cover both (nothing
 *   an instance runs needs its threads' folders). A network namespace of
 *   its own would do too, but creating one, and the kernel's work freeing
 *   it after the instance, cost more than the rest of the tree together
 *   (2 ms of launch to first 200 here).
 * - pagemap's "exclusively mapped" bit, the shared and private counts of
 *   smaps and smaps_rollup, numa_maps' mapmax: map a page of a file and
 *   they say whether anything else on the host maps it now (which programs
 *   and libraries run, and which of their code), mincore's question
 *   (refused) and more. /dev/null is bound over each: they read as empty.
 * One missing is skipped: /proc/self is not in the tree, or the kernel has
 * no such file (numa_maps without NUMA). */
static const struct {
    const char *path;
    int is_file; /* /dev/null over it; else an empty folder */
} hidden_proc[] = {
    {"/proc/self/net", 0},   {"/proc/self/task", 0},         {"/proc/self/pagemap", 1},
    {"/proc/self/smaps", 1}, {"/proc/self/smaps_rollup", 1}, {"/proc/self/numa_maps", 1},
};

static int hide_proc(const char *root)
{
    bind_t null = {.path = "/dev/null", .is_app = 0};
    if (stat(null.path, &null.st) < 0)
        return -1;
    for (size_t i = 0; i < sizeof hidden_proc / sizeof *hidden_proc; i++) {
        char dst[PATH_MAX];
        struct stat st;
        snprintf(dst, sizeof dst, "%s%s", root, hidden_proc[i].path);
        if (stat(dst, &st) < 0) {
            if (errno == ENOENT)
                continue;
            return -1;
        }
        if (hidden_proc[i].is_file) {
            if (mount(null.path, dst, NULL, MS_BIND, NULL) < 0 || restrict_bind(dst, &null) < 0)
                return -1;
        } else if (mount("gaelic-empty", dst, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                         "mode=0555,size=4k") < 0) {
            return -1;
        }
    }
    return 0;
}

static int build_root(bind_t *binds, size_t n)
{
    const char *root = staging_dir();
    if (!root ||
        mount("gaelic-root", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") < 0)
        return -1;
    qsort(binds, n, sizeof binds[0], by_path); /* a folder before what is inside it */
    for (size_t i = 0; i < n; i++)
        if (mount_bind(root, &binds[i]) < 0)
            return -1;
    if (hide_proc(root) < 0 || copy_root_links(root) < 0)
        return -1;
    return enter_root(root);
}

/* Whether a failed unshare says this system allows no such namespace (a
 * policy, or a limit reached). Nothing has changed yet when it does. */
static int namespaces_refused(void)
{
    return errno == EPERM || errno == ENOSPC;
}

static int is_listed(const char *const *list, const char *path)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(list[i], path) == 0)
            return 1;
    return 0;
}

int sandbox_mount_root(const char *app_dir, const char *const *linked,
                       const char *const *read_paths)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (uid != 0) {
        if (unshare(CLONE_NEWUSER) < 0)
            return namespaces_refused() ? SANDBOX_MOUNT_UNSUPPORTED : -1;
        if (map_own_ids(uid, gid) < 0)
            return -1;
    }
    if (unshare(CLONE_NEWNS) < 0)
        return namespaces_refused() ? SANDBOX_MOUNT_UNSUPPORTED : -1;
    /* Private first: our mounts must not propagate to the host's namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return -1;
    bind_t binds[MAX_BINDS];
    size_t n = 0;
    int added = add_bind(binds, &n, app_dir, 1);
    if (added == 0)
        errno = ENOENT;
    int rc = added > 0 ? 0 : -1;
    for (size_t i = 0; rc == 0 && read_paths[i]; i++)
        if (strcmp(read_paths[i], app_dir) != 0 &&
            add_bind(binds, &n, read_paths[i], is_listed(linked, read_paths[i])) < 0)
            rc = -1;
    if (rc == 0)
        rc = build_root(binds, n);
    int err = errno;
    for (size_t i = 0; i < n; i++)
        close(binds[i].fd);
    errno = err;
    return rc == 0 ? chdir(app_dir) : -1;
}
