#include "sandbox_landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Debian 12's kernel headers describe ABI 2; the later additions we use are
 * fixed by the kernel ABI, so they are spelled out here. */
#define FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define NET_BIND_TCP (1ULL << 0)  /* ABI 4 */
#define NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define SCOPE_SIGNAL (1ULL << 1)

/* struct landlock_ruleset_attr as of ABI 6; older kernels accept it as long
 * as the fields they do not know are zero. */
struct ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

/* Files and trees every instance reads besides the app and the Python
 * library: the dynamic loader's cache (lazy C extension imports) and
 * Debian's alternatives (libblas.so.3, which numpy loads, is a link
 * through them), time zones, MIME types, randomness, its own /proc
 * entries, and the CPU count (glibc's sysconf and malloc read these two
 * files; the rest of the folder tells the host's microcode and CPU
 * vulnerabilities). */
static const char *const system_paths[] = {
    "/usr",
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/mime.types",
    "/dev/null",
    "/dev/urandom",
    "/proc/self",
    "/sys/devices/system/cpu/online",
    "/sys/devices/system/cpu/possible",
    NULL,
};

void sandbox_readable_paths(const char *app_dir, const char *python_dir, const char *const *linked,
                            const char *out[SANDBOX_READABLE_MAX])
{
    size_t n = 0;
    out[n++] = app_dir;
    out[n++] = python_dir;
    for (size_t i = 0; linked && linked[i] && i < SANDBOX_LINKED_MAX; i++)
        out[n++] = linked[i];
    for (size_t i = 0; system_paths[i] && n + 1 < SANDBOX_READABLE_MAX; i++)
        out[n++] = system_paths[i];
    out[n] = NULL;
}

int landlock_abi(void)
{
    long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return v < 0 ? 0 : (int)v;
}

static uint64_t handled_fs(int abi)
{
    uint64_t fs = LANDLOCK_ACCESS_FS_REFER - 1; /* ABI 1: execute .. make_sym */
    if (abi >= 2)
        fs |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        fs |= FS_TRUNCATE;
    if (abi >= 5)
        fs |= FS_IOCTL_DEV;
    return fs;
}

/* Allows reading path (a file, or a whole tree). A missing path is fine. */
static int allow_read(int ruleset, const char *path)
{
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == EACCES ? 0 : -1;
    struct stat st;
    int rc = fstat(fd, &st);
    if (rc == 0) {
        struct landlock_path_beneath_attr rule = {
            .allowed_access = LANDLOCK_ACCESS_FS_READ_FILE,
            .parent_fd = fd,
        };
        if (S_ISDIR(st.st_mode))
            rule.allowed_access |= LANDLOCK_ACCESS_FS_READ_DIR;
        rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
    }
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}

int sandbox_landlock(const char *const *read_paths)
{
    int abi = landlock_abi();
    if (abi <= 0) {
        errno = EOPNOTSUPP;
        return -1;
    }
    struct ruleset_attr attr = {.handled_access_fs = handled_fs(abi)};
    if (abi >= 4)
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP; /* no rule: none */
    if (abi >= 6)
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL;
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (ruleset < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && read_paths[i]; i++)
        rc = allow_read(ruleset, read_paths[i]);
    if (rc == 0)
        rc = (int)syscall(SYS_landlock_restrict_self, ruleset, 0);
    int err = errno;
    close(ruleset);
    errno = err;
    return rc;
}
