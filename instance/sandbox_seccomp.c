#include "sandbox_seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/fsverity.h>
#include <linux/futex.h>
#include <linux/nsfs.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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
    /* its pid is in memory, out of a filter's reach: it says which pids
     * exist on the host, with their capabilities; the runtime drops its
     * own before the filter, and nothing an instance runs reads them */
    "capget",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "memfd_create",
    "memfd_secret",
    /* A pipe buffer filled by these holds a reference to the page it was
     * given, not a copy: a byte of a huge page of the instance's (vmsplice,
     * then munmap) or of a 2 MiB folio of the page cache (splice, or
     * sendfile into a pipe, from any file it may read) keeps the whole
     * page, which no address-space limit counts and no reclaim frees
     * while the pipe is open. 160 one-byte vmsplices held 320 MiB, 78
     * splices pinned 155 MiB of a file of /usr; 1024 descriptors hold
     * 8176 such buffers, gigabytes. tee only adds references to pages a
     * pipe holds. Nothing an instance runs uses them (the stdlib's
     * sendfile is for sockets and writable files, which it has not). */
    "splice",
    "vmsplice",
    "tee",
    "sendfile",
    /* READ_IMPLIES_EXEC would make every readable mapping executable;
     * nothing an instance runs calls it, not even to query */
    "personality",
    /* x86's local descriptor table: nothing an instance runs has one, and
     * its kernel code had a privilege escalation (CVE-2015-3290) and a
     * use-after-free (CVE-2017-17053); other architectures lack it */
    "modify_ldt",
    /* System V IPC and POSIX message queues: objects shared with the whole
     * host (no IPC namespace of our own) that outlive the instance, whose
     * shared memory no address-space limit counts, and which reach the
     * objects of every other process of our uid */
    "shmget",
    "shmat",
    "shmctl",
    "shmdt",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "ipc",
    "mq_open",
    "mq_unlink",
    "mq_timedsend",
    "mq_timedreceive",
    "mq_notify",
    "mq_getsetattr",
    /* Kernel AIO: each context's events count against fs.aio-max-nr, one
     * quota for the whole host (65536 by default), which one io_setup
     * could hold while the instance lives, failing every other process's
     * (System V IPC's case again); nothing an instance runs uses it */
    "io_setup",
    "io_destroy",
    "io_submit",
    "io_cancel",
    "io_getevents",
    "io_pgetevents",
    /* Watches name the files created in folders Landlock keeps us from
     * listing (the storage path, /tmp, home folders) */
    "inotify_init",
    "inotify_init1",
    "inotify_add_watch",
    "fanotify_init",
    "fanotify_mark",
    /* Each file an epoll instance watches counts against one quota for
     * every process of the uid (fs.epoll.max_user_watches, what 4% of low
     * memory holds): 1024 descriptors make up to 262,144 watches an
     * instance (240,000 in 1.5 s here, from Python), so that
     * a few instances on a small host (some twenty on a 24 GiB one) would
     * leave the server, whose loop is epoll, and every other process of
     * its user unable to watch anything. Nothing an instance runs needs
     * it (no sockets); selectors falls back to poll (sandbox.py) */
    "epoll_create",
    "epoll_create1",
    /* Rulesets are kernel memory no address-space limit counts: a rule for
     * each file the instance can open, in each of up to 1024 rulesets
     * (70,000 rules took 4.4 MB in half a second; /usr's files in 1000
     * rulesets, gigabytes). Our own was applied before this filter. */
    "landlock_create_ruleset",
    "landlock_add_rule",
    "landlock_restrict_self",
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
    /* The master's stdout and stderr, inherited open: Landlock checks
     * truncation at open only, and one fallocate would fill the disk */
    "ftruncate",
    "fallocate",
    /* file metadata, which Landlock does not cover */
    "chmod",
    "fchmod",
    "fchmodat",
    /* fchmodat2: below, by number where libseccomp does not know it */
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
    /* Its Q_SYNC needs no privilege and, quotas on or off, is a syncfs of
     * the descriptor's file system (below) */
    "quotactl_fd",
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
    /* The app's file system is read-only, so these have nothing of its to
     * write back: a loop of them only keeps the host's disks busy */
    "sync",
    "syncfs",
    /* The page cache is the host's: which pages of a shared file (Python's
     * own, a library) are cached tells what other processes of the host
     * run and when, a side channel; nothing an instance runs asks it
     * (cachestat, the newer way to ask, is below) */
    "mincore",
    /* The free blocks and inodes of any file system the host has mounted,
     * named by its device number, whether or not the instance's tree
     * holds it: which ones exist (what a stat of their folders cannot
     * tell in the tree), and how much the host's other processes keep in
     * its /dev/shm or /run as they work. glibc no longer offers it. */
    "ustat",
};

/* The newest call these lists were checked against (Linux 6.18's newest,
 * file_setattr): every call numbered after it fails (last_filter). */
#define LAST_REVIEWED_NR 469

/* Calls newer than the libseccomp we build with (Debian 12's 2.5.4 knows
 * none of them, the 2024 update of it some), refused by number when it
 * does not know the name: file metadata (Landlock does not cover it; the
 * read-only file tree refuses it only where the system lets us build
 * one; fchmodat2 is chmod's newer door), the mount API and the page
 * cache's state (cachestat). Since
 * Linux 5.1 a new call has one number on x86-64 and arm64 alike. */
static const struct {
    const char *name;
    int nr;
} newer_denied[] = {
#if defined(__x86_64__) || defined(__aarch64__)
    {"cachestat", 451}, /* mincore's question for a file descriptor */
    {"fchmodat2", 452},
    {"setxattrat", 463},
    {"removexattrat", 466},
    {"open_tree_attr", 467},
    {"file_setattr", 469},
#endif
    {NULL, 0},
};

/* Socket I/O, allowed on the channel only. */
static const char *const channel_only[] = {
    "sendmsg",  "recvmsg",    "sendmmsg",   "recvmmsg",    "sendto",      "recvfrom",
    "shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername",
};

/* A call and which of its arguments a rule looks at. */
typedef struct {
    const char *name;
    unsigned arg;
} call_arg_t;

/* The channel's calls that take flags (arg): out-of-band data is refused
 * (below). */
static const call_arg_t channel_flags[] = {
    {"sendto", 3},  {"recvfrom", 3}, {"sendmsg", 2},
    {"recvmsg", 2}, {"sendmmsg", 3}, {"recvmmsg", 3},
};

/* Linux 6.5's, newer than Debian 12's headers (asm-generic numbers, which
 * x86-64 and arm64 use). */
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* ext4's own spellings (its header is the kernel's, not installed). */
#define EXT4_IOC_SETVERSION _IOW('f', 4, long)
#define EXT4_IOC_MIGRATE _IO('f', 9)

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67 /* Linux 6.4 */
#endif
#ifndef PR_FUTEX_HASH
#define PR_FUTEX_HASH 78 /* Linux 6.16 */
#endif

/* Signals, allowed to our own process only (argument 0 is the pid). */
static const char *const self_only[] = {"kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"};

/* Calls that name a process (in arg), allowed on the caller only (0).
 * The kernel lets a process renice, pin to CPUs, starve (SCHED_IDLE, the idle I/O
 * class) or read the robust futex list or the limits of any process of
 * its uid that has no more capabilities than it: other apps' instances,
 * and the master and zygote of a server that does not run as root. The
 * getters answer for any process of the host, whatever its uid: which
 * pids exist, with their session, process group, priority, CPUs and
 * scheduling, what the hidden /proc keeps from the app.
 * libseccomp takes one comparison per argument, so the caller's own pid
 * is refused too (glibc's getrlimit, getpgrp and get_nprocs pass 0; the
 * Python layer, sandbox.py, passes 0 for it). */
static const call_arg_t own_process_only[] = {
    {"sched_setscheduler", 0},
    {"sched_setparam", 0},
    {"sched_setattr", 0},
    {"sched_setaffinity", 0},
    {"migrate_pages", 0},
    {"move_pages", 0},
    {"get_robust_list", 0},
    {"prlimit64", 0},
    {"setpriority", 1},
    {"ioprio_set", 1},
    {"getpriority", 1},
    {"ioprio_get", 1},
    {"sched_getscheduler", 0},
    {"sched_getparam", 0},
    {"sched_getattr", 0},
    {"sched_rr_get_interval", 0},
    {"getpgid", 0},
    {"getsid", 0},
    /* setpgid looks its pid up across the host before any permission
     * check: EINVAL for a thread that is not its process's first, ESRCH
     * for a free id, so it told which thread ids exist */
    {"setpgid", 0},
};

/* The kernel's first real-time signal (glibc's SIGRTMIN is two above: it
 * keeps 32 and 33 for itself). A signal number is an int, and any 64-bit
 * value at or above this one is refused, so high bits only widen the rule. */
#define KERNEL_SIGRTMIN 32

/* The futex commands of priority-inheritance futexes. */
static const uint32_t futex_pi_ops[] = {FUTEX_LOCK_PI,        FUTEX_UNLOCK_PI,
                                        FUTEX_TRYLOCK_PI,     FUTEX_WAIT_REQUEUE_PI,
                                        FUTEX_CMP_REQUEUE_PI, FUTEX_LOCK_PI2};
/* An op without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME, in 32 bits. */
#define FUTEX_OP_CMD_MASK (0xffffffffu & ~(uint32_t)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))

/* sched_getaffinity likewise, but with ENOSYS, as from a kernel without
 * it: glibc's pthread_getattr_np reads the calling thread's CPU affinity
 * by its thread id, which no rule can tell from another process's pid,
 * and takes ENOSYS for "no affinity to report". EPERM failed it, and
 * with it the sanitizers and every runtime that finds a thread's stack
 * so. Python's os.sched_getaffinity(0) and glibc's CPU count pass 0. */
#define AFFINITY_ELSEWHERE ENOSYS

/* The priority calls, allowed with "which" (argument 0) naming one
 * process only (PRIO_PROCESS, IOPRIO_WHO_PROCESS), not a process group or
 * a user's every process. */
static const struct {
    int nr;
    uint32_t which_process;
} priority_calls[] = {
    {SCMP_SYS(setpriority), 0},
    {SCMP_SYS(getpriority), 0},
    {SCMP_SYS(ioprio_set), 1},
    {SCMP_SYS(ioprio_get), 1},
};

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

/* Makes each call fail with err when its argument calls[i].arg compares
 * as op says with a (and b, for SCMP_CMP_MASKED_EQ's value). */
static int deny_when(scmp_filter_ctx ctx, const call_arg_t *calls, size_t n, int err,
                     enum scmp_compare op, uint64_t a, uint64_t b)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int nr = seccomp_syscall_resolve_name(calls[i].name);
        if (nr != __NR_SCMP_ERROR)
            rc =
                seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nr, 1, SCMP_CMP(calls[i].arg, op, a, b));
    }
    return rc;
}

static int add_rules(scmp_filter_ctx ctx, int chan_fd, uint32_t self_pid)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof denied / sizeof *denied; i++) {
        int nr = seccomp_syscall_resolve_name(denied[i]);
        if (nr != __NR_SCMP_ERROR)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    }
    for (size_t i = 0; rc == 0 && newer_denied[i].name; i++) {
        int nr = seccomp_syscall_resolve_name(newer_denied[i].name);
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
                              nr == __NR_SCMP_ERROR ? newer_denied[i].nr : nr, 0);
    }
    for (size_t i = 0; rc == 0 && i < sizeof channel_only / sizeof *channel_only; i++) {
        int nr = seccomp_syscall_resolve_name(channel_only[i]);
        if (nr != __NR_SCMP_ERROR)
            rc = deny_unless_arg(ctx, nr, 0, (uint32_t)chan_fd);
    }
    /* MSG_OOB on a Unix socket (Linux 5.15+) is code nothing of ours
     * uses, and it had a use-after-free reached this way from another
     * sandbox (CVE-2025-38236): the kernel's attack surface, not the
     * channel's. SIOCATMARK is among the socket ioctls refused below. */
    if (rc == 0)
        rc = deny_when(ctx, channel_flags, sizeof channel_flags / sizeof *channel_flags, EPERM,
                       SCMP_CMP_MASKED_EQ, MSG_OOB, MSG_OOB);
    /* Priority-inheritance futexes name their owner by thread id, looked
     * up across the host: FUTEX_LOCK_PI on a word holding a pid says
     * ESRCH or EPERM, whether that pid exists. Their kernel code is also
     * where towelroot's privilege escalation was (CVE-2014-3153), and
     * nothing an instance runs uses them (CPython's locks, glibc's
     * default mutexes and condition variables do not). The command is
     * the op's low bits without the private and realtime-clock flags,
     * as the kernel reads it (an int: the upper half is not looked at). */
    for (size_t i = 0; rc == 0 && i < sizeof futex_pi_ops / sizeof *futex_pi_ops; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(futex), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, FUTEX_OP_CMD_MASK, futex_pi_ops[i]));
    /* The channel's other end is the master: SO_PEERPIDFD would hand the
     * instance a pidfd of it, and SO_PASSPIDFD one with each message read
     * with recvmsg (SCM_PIDFD), where pidfd_open is refused. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(getsockopt), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, SO_PEERPIDFD));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setsockopt), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, SO_PASSPIDFD));
    /* One 64-bit comparison per call, so that the pid is a single constant
     * in the program (see adopt). Unlike the channel's,
     * high bits here can only make a signal fail, never widen the rule. */
    for (size_t i = 0; rc == 0 && i < sizeof self_only / sizeof *self_only; i++) {
        int nr = seccomp_syscall_resolve_name(self_only[i]);
        if (nr != __NR_SCMP_ERROR)
            rc =
                seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1, SCMP_A0(SCMP_CMP_NE, self_pid));
    }
    if (rc == 0)
        rc = deny_when(ctx, own_process_only, sizeof own_process_only / sizeof *own_process_only,
                       EPERM, SCMP_CMP_NE, 0, 0);
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(AFFINITY_ELSEWHERE), SCMP_SYS(sched_getaffinity),
                              1, SCMP_A0(SCMP_CMP_NE, 0));
    for (size_t i = 0; rc == 0 && i < sizeof priority_calls / sizeof *priority_calls; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), priority_calls[i].nr, 1,
                              SCMP_A0(SCMP_CMP_NE, priority_calls[i].which_process));
    /* A file's owner is whom SIGIO, or any signal F_SETSIG picks, goes to
     * when the file is ready, checked against the uid of whoever set it
     * (the kernel's sigio_perm) and not by the rules above: on kernels
     * before Landlock's signal scope (6.12) an instance could SIGKILL the
     * master. Our own process only; F_SETOWN_EX and the socket ioctls
     * (FIOSETOWN, SIOCSPGRP: refused with every socket ioctl, below)
     * pass the owner in memory, out of a filter's reach. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fcntl), 2,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, F_SETOWN),
                              SCMP_A2(SCMP_CMP_NE, self_pid));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fcntl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, F_SETOWN_EX));
    /* A lease makes any process that opens the file for writing wait for
     * us, up to the host's lease-break-time (45 s): a developer saving the
     * app's files, or, with a server run as root, whatever writes to a
     * file of /usr. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fcntl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, F_SETLEASE));
    /* Each record lock on a range of its own is a kernel structure (192
     * bytes here) that no limit of the instance counts, held while the
     * file stays open: read locks on every other byte of 1000 open files,
     * through fcntl.lockf alone, came to a million (192 MB) in seconds,
     * and more with each request. An instance writes no file, so its
     * locks never kept anyone from a change it made; other processes'
     * locks still show (F_GETLK). Each request succeeds, as if taken. */
    static const unsigned LOCK_CMDS[] = {F_SETLK, F_SETLKW, F_OFD_SETLK, F_OFD_SETLKW};
    for (size_t i = 0; rc == 0 && i < sizeof LOCK_CMDS / sizeof *LOCK_CMDS; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), SCMP_SYS(fcntl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, LOCK_CMDS[i]));
    /* flock's whole-file locks, the same way: one an instance held on a
     * file of the app or of /usr (fcntl.flock, no ctypes; a read-only
     * descriptor takes LOCK_EX) kept every other process that locks that
     * file waiting for as long as the instance lived, other apps'
     * instances and the host's own programs alike, and told them apart
     * (LOCK_NB): a channel between apps. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), SCMP_SYS(flock), 0);
    /* Threads only: a clone without CLONE_THREAD is a new process. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
    /* ... sharing the process's descriptors and file-system context, as
     * pthread_create's do: RLIMIT_NOFILE bounds each descriptor table, so
     * a thread with a table of its own (no CLONE_FILES) opened another
     * 1024, and the thread cap's 500 threads half a million, pipes with
     * their buffers among them, a quarter of the host's fs.file-max. */
    static const uint64_t SHARED_BY_THREADS[] = {CLONE_FILES, CLONE_FS};
    for (size_t i = 0; rc == 0 && i < sizeof SHARED_BY_THREADS / sizeof *SHARED_BY_THREADS; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, SHARED_BY_THREADS[i], 0));
    /* clone3 passes its flags in memory, out of a filter's reach: ENOSYS
     * makes glibc fall back to clone, which the rules above check. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    /* Reading our own limits is fine; setting them is not. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(prlimit64), 1,
                              SCMP_A2(SCMP_CMP_NE, 0));
    /* A negative clock id without the per-thread bit names a process's
     * CPU clock by pid (~pid << 3, or a clock device's descriptor), and
     * the kernel lets any process read any other's, to the nanosecond, or
     * time it: which processes the host runs and when they work, what a
     * /proc of its own hides. Our own threads' clocks (the runtime's CPU
     * accounting, time.pthread_getcpuclockid) carry the bit, and our
     * process's is CLOCK_PROCESS_CPUTIME_ID; the pid-0 spelling of it
     * (glibc's clock_getcpuclockid(0)) goes too. One comparison: these
     * calls are frequent (every request reads its thread's CPU clock). */
    static const char *const CLOCK_CALLS[] = {"clock_gettime", "clock_getres", "clock_nanosleep"};
    for (size_t i = 0; rc == 0 && i < sizeof CLOCK_CALLS / sizeof *CLOCK_CALLS; i++) {
        int nr = seccomp_syscall_resolve_name(CLOCK_CALLS[i]);
        if (nr != __NR_SCMP_ERROR)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
                                  SCMP_A0(SCMP_CMP_MASKED_EQ, 0x80000004u, 0x80000000u));
    }
    /* Each real-time signal pending, and each POSIX timer (its signal is
     * allocated with it), counts against RLIMIT_SIGPENDING's quota, which
     * the kernel keeps for the uid and checks against the limit of the
     * process queueing: the 1024 an instance held (pthread_kill at
     * itself, the signal blocked: no audit event) left every other
     * instance of the uid, other apps' too, unable to queue one or to
     * create a timer. Ordinary signals are left: the kernel keeps one of
     * each pending, whatever the quota. EAGAIN, as with the quota taken;
     * nothing an instance runs queues real-time signals or creates POSIX
     * timers (glibc's own, SIGCANCEL and SIGSETXID, are for thread
     * cancellation and set*id calls, neither of which an instance uses). */
    static const call_arg_t SIGNAL_ARG[] = {
        {"kill", 1}, {"tgkill", 2}, {"rt_sigqueueinfo", 1}, {"rt_tgsigqueueinfo", 2}};
    if (rc == 0)
        rc = deny_when(ctx, SIGNAL_ARG, sizeof SIGNAL_ARG / sizeof *SIGNAL_ARG, EAGAIN, SCMP_CMP_GE,
                       KERNEL_SIGRTMIN, 0);
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAGAIN), SCMP_SYS(timer_create), 0);
    /* A file's signal (F_SETSIG) is queued at its owner, this instance,
     * each time the file is ready: a real-time one would count too. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fcntl), 2,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, F_SETSIG),
                              SCMP_A2(SCMP_CMP_GE, KERNEL_SIGRTMIN));
    /* A notification pipe (pipe2's O_NOTIFICATION_PIPE, which is O_EXCL)
     * is a watch queue: code nothing in an instance uses (key watches,
     * its only source, need keyctl), whose filter had an out-of-bounds
     * write to root (CVE-2022-0995), reached through the os module. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(pipe2), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, O_EXCL, O_EXCL));
    /* MAP_HUGETLB takes its pages from the host's huge page pool
     * (vm.nr_hugepages), one for the whole machine, reserved for whatever
     * the host runs that needs it (databases, VMs): an instance could
     * empty it, within its address-space limit, through the mmap module
     * alone. Shared memory and memfd, the pool's other doors, are refused
     * above; transparent huge pages are another matter and stay. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mmap), 1,
                              SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_HUGETLB, MAP_HUGETLB));
    /* KSM merges pages of the same content across every process of the
     * host that offered its memory: where the host runs ksmd (hosts of
     * virtual machines do), how long a write to a merged page takes tells
     * whether another process holds that content, and the page is then
     * shared with it. EINVAL, as on a kernel without KSM. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(madvise), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, MADV_MERGEABLE));
    /* The page cache's state, mincore's question again (refused above,
     * with cachestat): a read with RWF_NOWAIT fails with EAGAIN where the
     * page is not cached, and throwing a file's pages out (fadvise's
     * DONTNEED; MADV_PAGEOUT, for files the instance's uid owns, all of
     * /usr for a root server) is the other half of a flush and reload
     * attack on what the host's other processes read, through the os and
     * mmap modules alone, and slows them. A file system without nowait
     * reads says EOPNOTSUPP; DONTNEED is advice, and taking none is
     * allowed (success); MADV_PAGEOUT is EINVAL, as before Linux 5.4. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EOPNOTSUPP), SCMP_SYS(preadv2), 1,
                              SCMP_A5(SCMP_CMP_MASKED_EQ, RWF_NOWAIT, RWF_NOWAIT));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), SCMP_SYS(fadvise64), 1,
                              SCMP_A3(SCMP_CMP_MASKED_EQ, 0xffffffffu, POSIX_FADV_DONTNEED));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(madvise), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, MADV_PAGEOUT));
    /* Direct I/O reads go to the disk each time, past the page cache:
     * an instance re-reading a file of /usr with O_DIRECT kept the host's
     * disk busy at 550 MB/s for as long as it liked, where buffered reads
     * are served from memory after the first. Nothing an instance runs
     * asks for it (it writes nothing, and SQLite does not). EINVAL, as on
     * a file system without direct I/O; openat2 passes its flags in
     * memory, out of a filter's reach: ENOSYS, as before Linux 5.6 (glibc
     * and CPython do not call it). */
    static const call_arg_t OPEN_FLAGS[] = {{"open", 1}, {"openat", 2}};
    if (rc == 0)
        rc = deny_when(ctx, OPEN_FLAGS, sizeof OPEN_FLAGS / sizeof *OPEN_FLAGS, EINVAL,
                       SCMP_CMP_MASKED_EQ, O_DIRECT, O_DIRECT);
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(fcntl), 2,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, F_SETFL),
                              SCMP_A2(SCMP_CMP_MASKED_EQ, O_DIRECT, O_DIRECT));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
    /* fsync and fdatasync flush the disk's write cache on ext4 and most
     * other file systems even for a file opened read-only, with nothing
     * to write: a loop of them keeps the host's disks busy, as sync's
     * would. An instance can have written nothing (no file is writable,
     * there is no memfd), so there is never anything for them to do:
     * they succeed at once (errno 0 is success), as on a clean file. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), SCMP_SYS(fsync), 0);
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), SCMP_SYS(fdatasync), 0);
    static const struct {
        unsigned option;
        int err;
    } REFUSED_PRCTLS[] = {
        /* Core scheduling: a cookie given to another process of our uid,
         * or to our process group (the zygote's and every sibling
         * instance's), keeps it off the SMT siblings of every other task. */
        {PR_SCHED_CORE, EPERM},
        /* No filters stacked on ours (last_filter refuses seccomp). */
        {PR_SET_SECCOMP, EPERM},
        /* KSM, as madvise's above: EINVAL, as without KSM. */
        {PR_SET_MEMORY_MERGE, EINVAL},
        /* A private futex hash (Linux 6.16) of as many slots as the caller
         * asks, kvmalloc's bound aside: kernel memory no address-space
         * limit counts (4M slots took 270 MB). EINVAL, as on an older
         * kernel: the default hash, sized by the kernel, stays. */
        {PR_FUTEX_HASH, EINVAL},
        /* Yama's tracer for us (Debian's kernels have Yama): it looks its
         * pid up across the host first, EINVAL for none, so it tells which
         * thread ids exist, as the own-process rules above keep from
         * telling. Nothing an instance runs is traced. */
        {PR_SET_PTRACER, EPERM},
    };
    for (size_t i = 0; rc == 0 && i < sizeof REFUSED_PRCTLS / sizeof *REFUSED_PRCTLS; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(REFUSED_PRCTLS[i].err), SCMP_SYS(prctl), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, REFUSED_PRCTLS[i].option));
    /* An instance dies with its zygote (PR_SET_PDEATHSIG, set again once
     * sandboxed: a user namespace clears it). An app that cleared it, and
     * kept the channel's reader from seeing the master go (ctypes reaches
     * any memory of the process), outlived a server that was killed. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(prctl), 2,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, PR_SET_PDEATHSIG),
                              SCMP_A1(SCMP_CMP_NE, SIGKILL));
    /* Typing into the terminal the server may have been started from,
     * file flags and attributes (metadata, as chmod is; an inode's
     * generation, verity, an encryption policy and ext4's block map are
     * changed through a descriptor opened read-only, on any file the
     * uid owns, which Landlock does not see: only the read-only file
     * tree refused them, and only where the system lets us build one),
     * and fscrypt keys:
     * one added outlives the instance in the file system's keyring, on
     * the uid's key quota (add_key's case), and removing the uid's own
     * (whose identifier is in the policy of any file it encrypts, the
     * app's too) locks again what it had unlocked. */
    static const unsigned long REFUSED_IOCTLS[] = {
        TIOCSTI,
        TIOCLINUX,
        FS_IOC_SETFLAGS,
        FS_IOC_FSSETXATTR,
        FS_IOC_SETVERSION,
        EXT4_IOC_SETVERSION,
        EXT4_IOC_MIGRATE,
        FS_IOC_ENABLE_VERITY,
        FS_IOC_SET_ENCRYPTION_POLICY,
        FS_IOC_ADD_ENCRYPTION_KEY,
        FS_IOC_REMOVE_ENCRYPTION_KEY,
        FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS,
    };
    for (size_t i = 0; rc == 0 && i < sizeof REFUSED_IOCTLS / sizeof *REFUSED_IOCTLS; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, REFUSED_IOCTLS[i]));
    /* The socket ioctls (0x89xx) and the wireless ones (0x8Bxx) work on any
     * socket, the channel too: they list the host's network interfaces,
     * their addresses and hardware addresses. Setting a file's owner
     * (FIOSETOWN, SIOCSPGRP, above) is among them. */
    static const uint32_t REFUSED_IOCTL_RANGES[] = {0x8900, 0x8b00};
    for (size_t i = 0; rc == 0 && i < sizeof REFUSED_IOCTL_RANGES / sizeof *REFUSED_IOCTL_RANGES;
         i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffff00u, REFUSED_IOCTL_RANGES[i]));
    /* The namespace ioctls (type 0xB7, with any direction and size) on a
     * descriptor of /proc/self/ns: NS_GET_TGID_FROM_PIDNS and its kin look
     * any thread id up in the host's pid namespace, with no permission
     * check, and so say which pids exist (ESRCH) and which process a
     * thread belongs to, what the hidden /proc keeps from the app. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00u, NSIO << 8));
    return rc;
}

/* The filter for chan_fd and self_pid, not loaded yet. NULL with errno. */
static scmp_filter_ctx build(int chan_fd, uint32_t self_pid)
{
    /* Other ABIs' system calls (i386's int 0x80; x32's, numbered from
     * 0x40000000, which libseccomp sends to the same action) would bypass
     * every rule written for this one: they fail with ENOSYS, as on a
     * kernel without them, so the app gets an error and not SIGSYS. */
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        errno = ENOMEM;
        return NULL;
    }
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS));
    if (rc == 0)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc == 0)
        rc = add_rules(ctx, chan_fd, self_pid);
    if (rc < 0) {
        seccomp_release(ctx);
        errno = -rc;
        return NULL;
    }
    return ctx;
}

/* Loads prog for every thread (no_new_privs is set). 0, or -1 and errno. */
static int load_filter(const struct sock_fprog *prog)
{
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, prog);
    if (rc != 0) {
        if (rc > 0)
            errno = EAGAIN; /* a thread that could not sync */
        return -1;
    }
    return 0;
}

/* The last filter loaded. Calls numbered after LAST_REVIEWED_NR fail with
 * ENOSYS, as on a kernel without them (libc then falls back to the older
 * call): the lists above deny, so each call a newer kernel adds would
 * otherwise pass unexamined. libseccomp cannot say "every number above",
 * hence a filter of its own, stacked on the first: the kernel runs both,
 * and an error beats allow. Another architecture's numbers are the first
 * filter's to refuse.
 *
 * And no filter after it: each one an instance stacked (seven of 4096
 * instructions a thread) was kernel memory no address-space limit counts,
 * JIT-compiled against net.core.bpf_jit_limit, one quota for every
 * unprivileged process of the host. The first filter cannot refuse
 * seccomp, or this one could not load; it refuses prctl's way. */
#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

static int last_filter(void)
{
    struct sock_filter code[] = {
#ifdef NATIVE_AUDIT_ARCH
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
#endif
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
#ifdef NATIVE_AUDIT_ARCH /* LAST_REVIEWED_NR numbers x86-64's and arm64's calls */
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, LAST_REVIEWED_NR, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
#endif
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof *code, .filter = code};
    return load_filter(&prog);
}

int sandbox_seccomp(int chan_fd, pid_t self_pid)
{
    scmp_filter_ctx ctx = build(chan_fd, (uint32_t)self_pid);
    if (!ctx)
        return -1;
    int rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return last_filter();
}

struct seccomp_prog {
    int chan_fd;
    size_t len;               /* instructions */
    struct sock_filter *code; /* with PID_STANDIN where the pid goes */
    size_t n_pid;
    size_t *pid_at; /* indices of the instructions that hold the pid */
};

/* A stand-in pid, above any real one (pid_max is at most 2^22), and no
 * other value the rules compare with. */
#define PID_STANDIN 0x5a5a0001u

struct sock_filter *sandbox_seccomp_bpf(int chan_fd, size_t *len)
{
    scmp_filter_ctx ctx = build(chan_fd, PID_STANDIN);
    if (!ctx)
        return NULL;
    /* libseccomp writes the program to a file. */
    struct sock_filter *code = NULL;
    int fd = (int)syscall(SYS_memfd_create, "gaelic-seccomp", MFD_CLOEXEC);
    int rc = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    off_t size = rc < 0 ? -1 : lseek(fd, 0, SEEK_END);
    if (size > 0 && size % sizeof *code == 0 && (code = malloc((size_t)size)) &&
        pread(fd, code, (size_t)size, 0) == size) {
        *len = (size_t)size / sizeof *code;
    } else {
        free(code);
        code = NULL;
        errno = rc < 0 ? -rc : EIO;
    }
    if (fd >= 0)
        close(fd);
    return code;
}

/* Takes code (malloc'd) over. The rules compare the pid only for equality
 * (SCMP_CMP_NE: a jump on equal to a constant), so that is the only shape
 * the stand-in may have; anything else holding it is refused. */
static seccomp_prog_t *adopt(int chan_fd, struct sock_filter *code, size_t len)
{
    seccomp_prog_t *p = calloc(1, sizeof *p);
    if (!p) {
        free(code);
        return NULL;
    }
    p->code = code;
    p->len = len;
    if (!(p->pid_at = calloc(len, sizeof(size_t))))
        goto fail;
    for (size_t i = 0; i < len; i++) {
        const struct sock_filter *x = &code[i];
        if (x->k != PID_STANDIN)
            continue;
        if (BPF_CLASS(x->code) != BPF_JMP || BPF_OP(x->code) != BPF_JEQ ||
            BPF_SRC(x->code) != BPF_K)
            goto refuse;
        p->pid_at[p->n_pid++] = i;
    }
    if (p->n_pid == 0 || len > USHRT_MAX)
        goto refuse;
    p->chan_fd = chan_fd;
    return p;
refuse:
    errno = EPROTO;
fail:
    sandbox_seccomp_free(p);
    return NULL;
}

seccomp_prog_t *sandbox_seccomp_from_code(int chan_fd, const struct sock_filter *code, size_t len)
{
    struct sock_filter *copy = len ? malloc(len * sizeof *copy) : NULL;
    if (copy)
        memcpy(copy, code, len * sizeof *copy);
    else
        errno = len ? ENOMEM : EPROTO;
    return copy ? adopt(chan_fd, copy, len) : NULL;
}

int sandbox_seccomp_load(const seccomp_prog_t *p, pid_t self_pid)
{
    struct sock_filter *code = malloc(p->len * sizeof *code);
    if (!code)
        return -1;
    memcpy(code, p->code, p->len * sizeof *code);
    for (size_t i = 0; i < p->n_pid; i++)
        code[p->pid_at[i]].k = (uint32_t)self_pid;
    struct sock_fprog prog = {.len = (unsigned short)p->len, .filter = code};
    /* What seccomp_load does with our attributes: no_new_privs, then the
     * filter for every thread. */
    int rc = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? load_filter(&prog) : -1;
    int err = errno;
    free(code);
    if (rc < 0) {
        errno = err;
        return -1;
    }
    return last_filter();
}

int sandbox_seccomp_chan_fd(const seccomp_prog_t *p)
{
    return p->chan_fd;
}

void sandbox_seccomp_free(seccomp_prog_t *p)
{
    if (!p)
        return;
    free(p->code);
    free(p->pid_at);
    free(p);
}
