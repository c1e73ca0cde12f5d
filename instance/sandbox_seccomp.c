#include "sandbox_seccomp.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Refused outright. Names this libseccomp or architecture does not know
 * are skipped. */
static const char *const denied[] = {
    /* sockets: TCP, UDP, MPTCP, Unix, netlink, raw alike */
    "socket",
    "socketpair",
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    /* processes */
    "execve",
    "execveat",
    "fork",
    "vfork",
    "tkill",
    "pidfd_open",
    "pidfd_send_signal",
    "pidfd_getfd",
    /* other processes and the kernel */
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "process_madvise",
    "kcmp",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "memfd_create",
    "memfd_secret",
    /* mounts and namespaces */
    "mount",
    "umount2",
    "unshare",
    "setns",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "open_by_handle_at",
    "name_to_handle_at",
    /* file metadata, which Landlock does not cover */
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "utime",
    "utimes",
    "utimensat",
    "futimesat",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    /* the machine */
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "add_key",
    "request_key",
    "keyctl",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "iopl",
    "ioperm",
    "setrlimit",
};

/* Socket I/O, allowed on the channel only. */
static const char *const channel_only[] = {
    "sendmsg",  "recvmsg",    "sendmmsg",   "recvmmsg",    "sendto",      "recvfrom",
    "shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername",
};

/* Signals, allowed to our own process only (argument 0 is the pid). */
static const char *const self_only[] = {"kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"};

int seccomp_available(void)
{
    uint32_t action = SECCOMP_RET_ERRNO;
    return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

/* Makes syscall nr fail unless the low 32 bits of argument arg equal value:
 * one rule per bit, each a masked comparison. The kernel reads an fd or pid
 * as a 32-bit int, so the upper half must not decide anything: a plain
 * 64-bit comparison would let 1 << 32 | other_fd through a "deny unless
 * equal" written the other way round. */
static int deny_unless_arg(scmp_filter_ctx ctx, int nr, unsigned arg, uint32_t value)
{
    for (int bit = 0; bit < 32; bit++) {
        uint64_t m = 1ULL << bit;
        int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
                                  SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, m, (value & m) ^ m));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int add_rules(scmp_filter_ctx ctx, int chan_fd, pid_t self_pid)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof denied / sizeof *denied; i++) {
        int nr = seccomp_syscall_resolve_name(denied[i]);
        if (nr != __NR_SCMP_ERROR)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    }
    for (size_t i = 0; rc == 0 && i < sizeof channel_only / sizeof *channel_only; i++) {
        int nr = seccomp_syscall_resolve_name(channel_only[i]);
        if (nr != __NR_SCMP_ERROR)
            rc = deny_unless_arg(ctx, nr, 0, (uint32_t)chan_fd);
    }
    for (size_t i = 0; rc == 0 && i < sizeof self_only / sizeof *self_only; i++) {
        int nr = seccomp_syscall_resolve_name(self_only[i]);
        if (nr != __NR_SCMP_ERROR)
            rc = deny_unless_arg(ctx, nr, 0, (uint32_t)self_pid);
    }
    /* Threads only: a clone without CLONE_THREAD is a new process. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    /* clone3 passes its flags in memory, out of a filter's reach: ENOSYS
     * makes glibc fall back to clone, which the rule above checks. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    /* Reading limits is fine; setting them is not. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(prlimit64), 1,
                              SCMP_A2(SCMP_CMP_NE, 0));
    /* Typing into the terminal the server may have been started from. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
    return rc;
}

int sandbox_seccomp(int chan_fd, pid_t self_pid)
{
    /* Other architectures' system call numbers (32-bit entry points) kill:
     * they would bypass every rule written for this one. */
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        errno = ENOMEM;
        return -1;
    }
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc == 0)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc == 0)
        rc = add_rules(ctx, chan_fd, self_pid);
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return 0;
}
