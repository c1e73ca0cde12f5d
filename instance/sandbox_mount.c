#include "sandbox_mount.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "write_file.h"

/* Without root, the right to mount comes from a user namespace of our own
 * in which we keep our uid and gid (and give up supplementary groups). */
static int enter_user_namespace(void)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    char map[64];
    if (unshare(CLONE_NEWUSER) < 0 || write_file("/proc/self/setgroups", "deny") < 0)
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
    unsigned long f = 0;
    if (st.f_flag & ST_NOATIME)
        f |= MS_NOATIME;
    if (st.f_flag & ST_NODIRATIME)
        f |= MS_NODIRATIME;
    if (st.f_flag & ST_RELATIME)
        f |= MS_RELATIME;
    return f;
}

int sandbox_mount_app(const char *app_dir)
{
    if (geteuid() != 0 && enter_user_namespace() < 0)
        return -1;
    if (unshare(CLONE_NEWNS) < 0)
        return -1;
    /* Private first: our mounts must not propagate to the host's namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount(app_dir, app_dir, NULL, MS_BIND | MS_REC, NULL) < 0 ||
        mount(NULL, app_dir, NULL,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOEXEC | MS_NOSUID | MS_NODEV |
                  kept_flags(app_dir),
              NULL) < 0)
        return -1;
    return chdir(app_dir);
}
