/* The instance's own file tree (instance/sandbox_mount.c), built in forked
 * children, as root and as an unprivileged user: only what it may read is
 * there, nothing is writable, no set-up descriptor stays open, the host's
 * sockets are not listed; and how sandbox_apply (instance/sandbox.c) takes
 * a set-up the kernel refuses at the start (no namespaces: run without the
 * tree) or half-way (a half-built tree: do not run). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "sandbox.h"
#include "sandbox_landlock.h"
#include "sandbox_mount.h"
#include "unit_child.h"

static char app_dir[] = "/tmp/gaelic-tree-XXXXXX";

static int fails_with(long rc, int err)
{
    return rc == -1 && errno == err;
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Lines of a /proc/self/net table after its header. */
/* Lines after the header of a /proc net table; -1 when it cannot be read. */
static int net_entries(const char *path)
{
    char line[512];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = -1;
    while (fgets(line, sizeof line, f))
        n++;
    fclose(f);
    return n;
}

/* Every mount point is "/" or one of read_paths or below one. */
static int mounts_only(const char *const *read_paths)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[4096];
    int ok = f != NULL;
    while (f && fgets(line, sizeof line, f)) {
        char point[PATH_MAX];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
            return 0;
        int known = !strcmp(point, "/");
        for (size_t i = 0; !known && read_paths[i]; i++) {
            size_t len = strlen(read_paths[i]);
            known = !strncmp(point, read_paths[i], len) && (!point[len] || point[len] == '/');
        }
        if (!known) {
            fprintf(stderr, "mounted outside what may be read: %s\n", point);
            ok = 0;
        }
    }
    if (f)
        fclose(f);
    return ok;
}

/* The user namespace path: a server started as nobody. */
static void become_nobody(void)
{
    /* dumpable again, as after an exec: /proc/self is ours */
    CHECK(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
          setresuid(65534, 65534, 65534) == 0 && prctl(PR_SET_DUMPABLE, 1) == 0);
}

/* arg: non-NULL to become nobody first. As root, a tmpfs is mounted in
 * the app folder first, as a host may have. */
static void tree_child(void *as_nobody)
{
    char sub[64];
    snprintf(sub, sizeof sub, "%s/sub", app_dir);
    if (as_nobody)
        become_nobody();
    else
        CHECK(unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
              mount("sub", sub, "tmpfs", 0, "size=16k") == 0);
    const char *reads[SANDBOX_READABLE_MAX];
    sandbox_readable_paths(app_dir, app_dir, NULL, reads);
    char outside[64];
    snprintf(outside, sizeof outside, "%s-out", app_dir);
    int fds = open_fds();
    int rc = sandbox_mount_root(app_dir, NULL, reads);
    if (rc != 0)
        fprintf(stderr, "sandbox_mount_root: %d: %s\n", rc, strerror(errno));
    CHECK(rc == 0);
    CHECK(open_fds() == fds); /* the set-up's own descriptors are closed */

    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) && !strcmp(cwd, app_dir));
    struct stat st;
    CHECK(stat("in", &st) == 0 && access("/usr/lib", R_OK) == 0 && stat("/dev/null", &st) == 0);
    /* the host's files do not exist here */
    CHECK(fails_with(stat(outside, &st), ENOENT));
    CHECK(fails_with(stat("/etc/passwd", &st), ENOENT));
    CHECK(fails_with(stat("/var", &st), ENOENT));
    CHECK(fails_with(stat("/proc/1", &st), ENOENT));
    CHECK(fails_with(stat("/sys/class", &st), ENOENT));
    /* nothing is writable, not even the root */
    struct statvfs vfs;
    CHECK(statvfs("/", &vfs) == 0 && (vfs.f_flag & ST_RDONLY));
    CHECK(fails_with(mkdir("/new", 0755), EROFS));
    CHECK(fails_with(open("new", O_WRONLY | O_CREAT, 0644), EROFS));
    CHECK(fails_with(open("in", O_WRONLY), EROFS));
    CHECK(fails_with(open("/usr/new", O_WRONLY | O_CREAT, 0644), EROFS));
    CHECK(fails_with(mkdir("/sys/devices/system/cpu/new", 0755), EROFS));
    CHECK(fails_with(open("/proc/self/comm", O_WRONLY), EROFS));
    /* what is mounted below a bind is read-only too */
    CHECK(fails_with(mkdir("sub/new", 0755), EROFS));
    CHECK(mounts_only(reads));
    /* the host's sockets are not listed: the net tables are hidden, the
     * process's and its threads' */
    char task_net[64];
    snprintf(task_net, sizeof task_net, "/proc/self/task/%d/net/unix", (int)gettid());
    CHECK(net_entries("/proc/self/net/unix") == -1 && errno == ENOENT);
    CHECK(net_entries("/proc/self/net/tcp") == -1 && errno == ENOENT);
    CHECK(net_entries(task_net) == -1 && errno == ENOENT);
}

/* Makes the calls the filter names fail with EPERM, as a kernel or a
 * container's policy may. */
static void refuse_with(int err, int nr, unsigned n_args, struct scmp_arg_cmp cmp)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    CHECK(ctx && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
          seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nr, n_args, cmp) == 0 &&
          seccomp_load(ctx) == 0);
    seccomp_release(ctx);
}

static void refuse(int nr, unsigned n_args, struct scmp_arg_cmp cmp)
{
    refuse_with(EPERM, nr, n_args, cmp);
}

static int apply_strict(void)
{
    sandbox_conf_t c = {.mode = SANDBOX_STRICT,
                        .app_dir = app_dir,
                        .python_dir = app_dir,
                        .memory_bytes = 1ULL << 30};
    return sandbox_apply(&c, -1);
}

/* No namespaces allowed: nothing is set up, and strict mode goes on with
 * the other layers. */
static void no_namespaces_child(void *arg)
{
    (void)arg;
    refuse(SCMP_SYS(unshare), 1, SCMP_A0(SCMP_CMP_NE, 0));
    const char *reads[SANDBOX_READABLE_MAX];
    sandbox_readable_paths(app_dir, app_dir, NULL, reads);
    CHECK(sandbox_mount_root(app_dir, NULL, reads) == SANDBOX_MOUNT_UNSUPPORTED && errno == EPERM);
    CHECK(apply_strict() == 0);
}

/* No namespaces and no Landlock either (a kernel without it): only the
 * Python layer would stand between the app and the files, and strict mode
 * must not run app code so; dev mode goes on. */
static void neither_tree_nor_landlock_child(void *arg)
{
    (void)arg;
    refuse(SCMP_SYS(unshare), 1, SCMP_A0(SCMP_CMP_NE, 0));
    refuse_with(EOPNOTSUPP, SCMP_SYS(landlock_create_ruleset), 0, SCMP_A0(SCMP_CMP_NE, 1));
    CHECK(apply_strict() == -1);
    sandbox_conf_t dev = {
        .mode = SANDBOX_DEV, .app_dir = app_dir, .python_dir = app_dir, .memory_bytes = 1ULL << 30};
    CHECK(sandbox_apply(&dev, -1) == 0);
}

static void test_strict_refusal(void)
{
    CHECK(sandbox_strict_refusal(1, 1, 1) == NULL);
    CHECK(sandbox_strict_refusal(1, 0, 1) == NULL); /* the tree refuses writes */
    CHECK(sandbox_strict_refusal(1, 1, 0) == NULL); /* Landlock does */
    CHECK(sandbox_strict_refusal(1, 0, 0) != NULL);
    CHECK(sandbox_strict_refusal(0, 1, 1) != NULL);
}

/* The read-only remounts refused: the tree is half built (writable), and
 * strict mode must not run app code in it, EPERM or not. */
static void remount_refused_child(void *as_nobody)
{
    if (as_nobody)
        become_nobody();
    refuse(SCMP_SYS(mount), 1, SCMP_A3(SCMP_CMP_MASKED_EQ, MS_REMOUNT, MS_REMOUNT));
    CHECK(apply_strict() == -1);
}

int main(void)
{
    char path[64];
    CHECK(mkdtemp(app_dir) != NULL && chmod(app_dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/in", app_dir);
    int fd = open(path, O_WRONLY | O_CREAT, 0666); /* refused by the mount, not its mode */
    CHECK(fd >= 0 && fchmod(fd, 0666) == 0 && close(fd) == 0);
    snprintf(path, sizeof path, "%s/sub", app_dir);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s-out", app_dir);
    fd = open(path, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && close(fd) == 0);

    in_child(tree_child, NULL);
    if (geteuid() == 0)
        in_child(tree_child, "nobody");
    in_child(no_namespaces_child, NULL);
    in_child(neither_tree_nor_landlock_child, NULL);
    test_strict_refusal();
    in_child(remount_refused_child, NULL);
    if (geteuid() == 0)
        in_child(remount_refused_child, "nobody");

    unlink(path);
    snprintf(path, sizeof path, "%s/in", app_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/sub", app_dir);
    rmdir(path);
    rmdir(app_dir);
    UNIT_DONE();
}
