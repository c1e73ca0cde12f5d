/* The seccomp filter (instance/sandbox_seccomp.c) built with a libseccomp
 * that knows no call newer than Linux 5.17 (set_mempolicy_home_node, 450),
 * as Debian 12's 2.5.4-1 before its 2024 update: each refused call that
 * it cannot name is refused by number all the same. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox_seccomp.h"
#include "unit_child.h"

/* The newest call upstream libseccomp 2.5.4 names. */
#define OLDEST_TABLE_END 450

/* Stands in for libseccomp's own (sandbox_seccomp.o's calls bind to this
 * definition): names of later calls are unknown, as they were to it. */
int seccomp_syscall_resolve_name(const char *name)
{
    int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_NATIVE, name);
    return nr > OLDEST_TABLE_END ? __NR_SCMP_ERROR : nr;
}

static int fails_with(long rc, int err)
{
    return rc == -1 && errno == err;
}

static void old_table_child(void *arg)
{
    const char *path = arg;
    int chan[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, chan) < 0) {
        CHECK(!"socketpair");
        return;
    }
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    CHECK(sandbox_seccomp(chan[0], getpid()) == 0);
#if defined(__x86_64__) || defined(__aarch64__)
    /* fchmodat2 (Linux 6.6), chmod's newer door, on a file we own */
    CHECK(fails_with(syscall(452, AT_FDCWD, path, 0777, 0), EPERM));
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    /* cachestat (Linux 6.5), already refused by number */
    CHECK(fails_with(syscall(451, 0, NULL, NULL, 0), EPERM));
#endif
    /* what the old table names is refused as before */
    CHECK(fails_with(chmod(path, 0777), EPERM));
}

int main(void)
{
    if (!seccomp_available()) {
        printf("seccomp not available: its checks skipped\n");
        UNIT_DONE();
    }
    char path[] = "/tmp/gaelic-old-libseccomp-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && fchmod(fd, 0600) == 0);
    in_child(old_table_child, path);
    close(fd);
    unlink(path);
    UNIT_DONE();
}
