/* The kernel layers (instance/sandbox_seccomp.c, sandbox_landlock.c), each
 * applied in a forked child that reports its checks back through a pipe:
 * what they refuse fails with the right errno, what an instance needs
 * still works. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/fsverity.h>
#include <linux/futex.h>
#include <linux/landlock.h>
#include <linux/nsfs.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox_landlock.h"
#include "sandbox_seccomp.h"
#include "seccomp_prebuilt.h"
#include "unit_child.h"

static void *thread_main(void *arg)
{
    return arg;
}

/* A thread's own attributes (its stack, its CPU affinity). */
static void *thread_attr(void *rc)
{
    pthread_attr_t attr;
    *(int *)rc = pthread_getattr_np(pthread_self(), &attr);
    if (*(int *)rc == 0)
        pthread_attr_destroy(&attr);
    return NULL;
}

static int fails_with(long rc, int err)
{
    return rc == -1 && errno == err;
}

/* arg: NULL to build and load the filter here (sandbox_seccomp), or a
 * filter the parent compiled (as the zygote does) to load with our pid. */
static void seccomp_child(void *arg)
{
    const seccomp_prog_t *prog = arg;
    /* file_getattr (Linux 6.17), the newest call a filter lets through */
    int kernel_has_468 = !fails_with(syscall(468, AT_FDCWD, "/", NULL, 0, 0), ENOSYS);
    int chan[2], other[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, chan) < 0 ||
        socketpair(AF_UNIX, SOCK_SEQPACKET, 0, other) < 0) {
        CHECK(!"socketpair");
        return;
    }
    if (prog) {
        int fd = sandbox_seccomp_chan_fd(prog);
        if (chan[0] != fd) {
            CHECK(dup2(chan[0], fd) == fd && close(chan[0]) == 0);
            chan[0] = fd;
        }
        CHECK(sandbox_seccomp_load(prog, getpid()) == 0);
    } else {
        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
        CHECK(sandbox_seccomp(chan[0], getpid()) == 0);
    }

    /* the channel works, any other socket does not */
    CHECK(send(chan[0], "x", 1, 0) == 1);
    char c;
    CHECK(recv(chan[1], &c, 1, MSG_DONTWAIT) == -1); /* chan[1] is not the channel */
    CHECK(errno == EPERM);
    CHECK(fails_with(send(other[0], "x", 1, 0), EPERM));
    /* the kernel reads the fd as a 32-bit int: high bits neither open the
     * filter for another descriptor nor close it for the channel */
    long high = 1L << 32;
    CHECK(fails_with(syscall(SYS_sendto, high | other[0], "x", 1, 0, NULL, 0), EPERM));
    CHECK(syscall(SYS_sendto, high | chan[0], "x", 1, 0, NULL, 0) == 1);
    /* nor a pidfd of the channel's other end (Linux 6.5: SO_PEERPIDFD, and
     * SO_PASSPIDFD's SCM_PIDFD; older kernels say ENOPROTOOPT) */
    int pidfd = -1, on = 1;
    socklen_t len = sizeof pidfd;
    CHECK(fails_with(getsockopt(chan[0], SOL_SOCKET, 77 /* SO_PEERPIDFD */, &pidfd, &len), EPERM));
    CHECK(
        fails_with(setsockopt(chan[0], SOL_SOCKET, 76 /* SO_PASSPIDFD */, &on, sizeof on), EPERM));
    len = sizeof on;
    CHECK(getsockopt(chan[0], SOL_SOCKET, SO_TYPE, &on, &len) == 0 && on == SOCK_SEQPACKET);
    /* nor out-of-band data, even on the channel */
    CHECK(fails_with(send(chan[0], "x", 1, MSG_OOB), EPERM));
    CHECK(fails_with(recv(chan[0], &c, 1, MSG_OOB | MSG_DONTWAIT), EPERM));
    struct iovec iov = {.iov_base = &c, .iov_len = 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    CHECK(fails_with(sendmsg(chan[0], &mh, MSG_OOB), EPERM));
    CHECK(fails_with(recvmsg(chan[0], &mh, MSG_OOB | MSG_DONTWAIT), EPERM));
    CHECK(fails_with(socket(AF_INET, SOCK_STREAM, 0), EPERM));
    CHECK(fails_with(socket(AF_INET, SOCK_DGRAM, 0), EPERM));
    CHECK(fails_with(socket(AF_UNIX, SOCK_STREAM, 0), EPERM));
    int sv[2];
    CHECK(fails_with(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), EPERM));

    /* threads yes, processes no */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0 && pthread_join(t, NULL) == 0);
    CHECK(fails_with(fork(), EPERM));
    CHECK(fails_with(syscall(SYS_clone3, NULL, 0), ENOSYS));
    /* a thread with a descriptor table (or a file-system context) of its
     * own: its table is one more RLIMIT_NOFILE's worth. Without
     * CLONE_SIGHAND the kernel itself says EINVAL, past the filter, so
     * no thread starts whatever the filter does. */
    CHECK(fails_with(syscall(SYS_clone, CLONE_THREAD | CLONE_FS, 0, 0, 0, 0), EPERM));
    CHECK(fails_with(syscall(SYS_clone, CLONE_THREAD | CLONE_FILES, 0, 0, 0, 0), EPERM));
    CHECK(
        fails_with(syscall(SYS_clone, CLONE_THREAD | CLONE_FILES | CLONE_FS, 0, 0, 0, 0), EINVAL));
    char *const argv[] = {"true", NULL};
    CHECK(fails_with(execv("/bin/true", argv), EPERM));

    /* signals: to ourselves only */
    CHECK(kill(getpid(), 0) == 0);
    CHECK(fails_with(kill(getppid(), 0), EPERM));
    CHECK(fails_with(kill(0, 0), EPERM));
    CHECK(fails_with(kill(-1, 0), EPERM));
    /* ordinary signals to ourselves, but no real-time one, queued or not
     * (each pending one counts against the uid's quota), and no POSIX
     * timer (each holds one): EAGAIN, as with the quota taken */
    sigset_t rt;
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN);
    sigaddset(&rt, SIGUSR1);
    CHECK(pthread_sigmask(SIG_BLOCK, &rt, NULL) == 0);
    CHECK(kill(getpid(), SIGUSR1) == 0);
    CHECK(fails_with(kill(getpid(), SIGRTMIN), EAGAIN));
    CHECK(fails_with(kill(getpid(), SIGRTMAX), EAGAIN));
    CHECK(fails_with(syscall(SYS_kill, getpid(), 32), EAGAIN));
    CHECK(pthread_kill(pthread_self(), SIGRTMIN) == EAGAIN);
    CHECK(fails_with(sigqueue(getpid(), SIGRTMIN, (union sigval){0}), EAGAIN));
    siginfo_t queued = {.si_code = SI_QUEUE};
    CHECK(
        fails_with(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGRTMIN, &queued), EAGAIN));
    CHECK(sigtimedwait(&rt, NULL, &(struct timespec){0}) == SIGUSR1);
    CHECK(pthread_sigmask(SIG_UNBLOCK, &rt, NULL) == 0);
    timer_t own_timer;
    CHECK(fails_with(timer_create(CLOCK_MONOTONIC, NULL, &own_timer), EAGAIN));
    /* nor through a file's owner (SIGIO, or F_SETSIG's signal) */
    CHECK(fcntl(chan[1], F_SETOWN, getpid()) == 0);
    CHECK(fails_with(fcntl(chan[1], F_SETOWN, getppid()), EPERM));
    CHECK(fails_with(fcntl(chan[1], F_SETOWN, -getpgrp()), EPERM));
    struct f_owner_ex owner = {F_OWNER_PID, getpid()};
    CHECK(fails_with(fcntl(chan[1], F_SETOWN_EX, &owner), EPERM));
    CHECK(fcntl(chan[1], F_SETSIG, SIGIO) == 0);
    CHECK(fails_with(fcntl(chan[1], F_SETSIG, SIGRTMIN), EPERM));
    CHECK(fails_with(fcntl(chan[1], F_SETSIG, 32), EPERM));
    int self = getpid();
    CHECK(fails_with(ioctl(chan[0], FIOSETOWN, &self), EPERM));
    CHECK(fails_with(ioctl(chan[0], SIOCSPGRP, &self), EPERM));
    /* nor hold a lease, which makes another process that opens the file
     * for writing wait (up to lease-break-time) */
    CHECK(fails_with(fcntl(chan[1], F_SETLEASE, F_RDLCK), EPERM));
    /* record locks succeed without reaching the kernel, which kept each
     * one as memory no limit counts: /proc/self/fdinfo lists none */
    int locked = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    struct flock lock = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 1};
    CHECK(fcntl(locked, F_SETLK, &lock) == 0);
    CHECK(fcntl(locked, F_SETLKW, &lock) == 0);
    CHECK(fcntl(locked, F_OFD_SETLK, &lock) == 0);
    CHECK(fcntl(locked, F_OFD_SETLKW, &lock) == 0);
    char info[64], text[512] = {0};
    snprintf(info, sizeof info, "/proc/self/fdinfo/%d", locked);
    int info_fd = open(info, O_RDONLY | O_CLOEXEC);
    CHECK(info_fd >= 0 && read(info_fd, text, sizeof text - 1) > 0);
    CHECK(strstr(text, "pos:") && !strstr(text, "lock:"));
    if (info_fd >= 0)
        close(info_fd);
    if (locked >= 0)
        close(locked);
    /* nor ask a namespace which pids of the host exist */
    int ns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    CHECK(ns >= 0);
    CHECK(fails_with(ioctl(ns, NS_GET_USERNS), EPERM));
    CHECK(fails_with(ioctl(ns, _IOR(NSIO, 0x9, int) /* NS_GET_TGID_IN_PIDNS */, getppid()), EPERM));
    if (ns >= 0)
        close(ns);
    /* nor the host's network interfaces, addresses and hardware addresses
     * (the socket ioctls work on any socket, the channel too), nor its
     * wireless ones */
    char names[256];
    struct ifconf ifc = {.ifc_len = sizeof names, .ifc_buf = names};
    CHECK(fails_with(ioctl(chan[0], SIOCGIFCONF, &ifc), EPERM));
    struct ifreq ifr = {.ifr_name = "lo"};
    CHECK(fails_with(ioctl(chan[0], SIOCGIFHWADDR, &ifr), EPERM));
    CHECK(fails_with(ioctl(chan[0], 0x8B01 /* SIOCGIWNAME */, &ifr), EPERM));

    /* pipes, but no notification pipe (O_NOTIFICATION_PIPE is O_EXCL) */
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0 && close(p[0]) == 0 && close(p[1]) == 0);
    CHECK(fails_with(pipe2(p, O_EXCL), EPERM));
    /* CPU clocks: our own threads' and process's (CLOCK_PROCESS_CPUTIME_ID),
     * no process's by pid (MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)) */
    struct timespec ts;
    clockid_t own;
    CHECK(pthread_getcpuclockid(pthread_self(), &own) == 0 && clock_gettime(own, &ts) == 0);
    CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0);
    CHECK(clock_getcpuclockid(0, &own) == EPERM); /* our process's, spelt by pid */
    clockid_t other_cpu = (clockid_t)((~(unsigned)getppid() << 3) | 2);
    CHECK(fails_with(clock_gettime(other_cpu, &ts), EPERM));
    CHECK(fails_with(clock_getres(other_cpu, &ts), EPERM));
    /* priority, CPUs and scheduling: of ourselves (0) only */
    CHECK(setpriority(PRIO_PROCESS, 0, 1) == 0);
    CHECK(fails_with(setpriority(PRIO_PROCESS, (id_t)getppid(), 1), EPERM));
    CHECK(fails_with(setpriority(PRIO_PGRP, 0, 1), EPERM));
    CHECK(fails_with(setpriority(PRIO_USER, 0, 1), EPERM));
    cpu_set_t cpus;
    CHECK(sched_getaffinity(0, sizeof cpus, &cpus) == 0);
    CHECK(sched_setaffinity(0, sizeof cpus, &cpus) == 0);
    CHECK(fails_with(sched_setaffinity(getppid(), sizeof cpus, &cpus), EPERM));
    struct sched_param param = {0};
    CHECK(sched_setscheduler(0, SCHED_BATCH, &param) == 0);
    CHECK(fails_with(sched_setscheduler(getppid(), SCHED_IDLE, &param), EPERM));
    CHECK(fails_with(sched_setparam(getppid(), &param), EPERM));
    CHECK(fails_with(syscall(SYS_ioprio_set, 1, getppid(), 3 << 13), EPERM));
    CHECK(fails_with(syscall(SYS_ioprio_set, 3, 0, 3 << 13), EPERM));
    /* nor read another process's: any pid of the host answers, and so
     * tells that it exists (what the hidden /proc keeps from the app) */
    errno = 0;
    CHECK(getpriority(PRIO_PROCESS, 0) >= -20 && errno == 0);
    CHECK(fails_with(getpriority(PRIO_PROCESS, (id_t)getppid()), EPERM));
    CHECK(fails_with(getpriority(PRIO_USER, 0), EPERM));
    CHECK(fails_with(sched_getaffinity(getppid(), sizeof cpus, &cpus), ENOSYS));
    /* ENOSYS, not EPERM, for a thread id: pthread_getattr_np reads its
     * thread's affinity by it, and the sanitizers and other runtimes find
     * their threads' stacks with it */
    pthread_t attr_thread;
    int attr_rc = -1;
    CHECK(pthread_create(&attr_thread, NULL, thread_attr, &attr_rc) == 0 &&
          pthread_join(attr_thread, NULL) == 0);
    CHECK(attr_rc == 0);
    pthread_attr_t attr;
    CHECK(pthread_getattr_np(pthread_self(), &attr) == 0 && pthread_attr_destroy(&attr) == 0);
    CHECK(sched_getscheduler(0) >= 0);
    CHECK(fails_with(sched_getscheduler(getppid()), EPERM));
    CHECK(sched_getparam(0, &param) == 0);
    CHECK(fails_with(sched_getparam(getppid(), &param), EPERM));
    CHECK(sched_rr_get_interval(0, &ts) == 0);
    CHECK(fails_with(sched_rr_get_interval(getppid(), &ts), EPERM));
    /* 0, not an error, where the group or session leader lives outside
     * our pid namespace (as in CI's container) */
    CHECK(getpgid(0) == getpgrp() && getsid(0) >= 0);
    CHECK(fails_with(getpgid(getppid()), EPERM));
    CHECK(fails_with(getsid(getppid()), EPERM));
    CHECK(fails_with(setpgid(getppid(), 0), EPERM));
    CHECK(syscall(SYS_ioprio_get, 1, 0) >= 0);
    CHECK(fails_with(syscall(SYS_ioprio_get, 1, getppid()), EPERM));
    CHECK(fails_with(syscall(SYS_ioprio_get, 3, 0), EPERM));
    struct {
        uint32_t version;
        int pid;
    } cap_header = {0x20080522, 0}; /* _LINUX_CAPABILITY_VERSION_3 */
    uint32_t cap_data[6];
    CHECK(fails_with(syscall(SYS_capget, &cap_header, cap_data), EPERM));
    /* futexes, but no priority-inheritance ones: their owner is a thread
     * id looked up across the host (ESRCH told that a pid is free) */
    uint32_t word = 0;
    CHECK(syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) == 0);
    CHECK(fails_with(syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0), EAGAIN));
    static const int pi_ops[] = {FUTEX_LOCK_PI,         FUTEX_UNLOCK_PI,      FUTEX_TRYLOCK_PI,
                                 FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI, FUTEX_LOCK_PI2};
    for (size_t i = 0; i < sizeof pi_ops / sizeof *pi_ops; i++) {
        word = 4194303; /* a free pid (above every pid_max but the largest): ESRCH before */
        CHECK(fails_with(syscall(SYS_futex, &word, pi_ops[i], 0, NULL, NULL, 0), EPERM));
        CHECK(fails_with(syscall(SYS_futex, &word,
                                 pi_ops[i] | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME, 0, NULL,
                                 NULL, 0),
                         EPERM));
    }
    /* core scheduling: a cookie given to another process, or to our
     * process group (an instance shares its zygote's), keeps it off the
     * SMT siblings of every other task */
    unsigned long cookie = 0;
    CHECK(fails_with(prctl(PR_SCHED_CORE, PR_SCHED_CORE_GET, getppid(), 0, &cookie), EPERM));
    CHECK(fails_with(prctl(PR_SCHED_CORE, PR_SCHED_CORE_CREATE, 0, 2, 0), EPERM));
    /* the signal that ends an instance with its zygote stays (the runtime
     * sets it again once sandboxed: a user namespace cleared it) */
    CHECK(fails_with(prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0), EPERM));
    CHECK(fails_with(prctl(PR_SET_PDEATHSIG, SIGCHLD, 0, 0, 0), EPERM));
    CHECK(prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0);
    /* Yama's tracer (EINVAL, without Yama, says nothing here): with Yama,
     * EINVAL for a free pid and success for a taken one */
    CHECK(fails_with(prctl(PR_SET_PTRACER, getppid(), 0, 0, 0), EPERM));
    CHECK(fails_with(prctl(PR_SET_PTRACER, 0x7ffffff0, 0, 0, 0), EPERM));

    CHECK(fails_with(syscall(SYS_memfd_create, "x", 0), EPERM));
    /* pages put in a pipe by reference, past every limit of ours */
    CHECK(fails_with(syscall(SYS_splice, 0, NULL, 1, NULL, 1, 0), EPERM));
    CHECK(fails_with(syscall(SYS_vmsplice, 1, NULL, 0, 0), EPERM));
    CHECK(fails_with(syscall(SYS_tee, 0, 1, 1, 0), EPERM));
    CHECK(fails_with(syscall(SYS_sendfile, 1, 0, NULL, 1), EPERM));
    CHECK(fails_with(syscall(SYS_unshare, 0), EPERM));
    CHECK(fails_with(chmod("/", 0755), EPERM));
    /* file metadata through calls newer than libseccomp's table (by
     * number: setxattrat, removexattrat, file_setattr) and ioctls */
#if defined(__x86_64__) || defined(__aarch64__)
    static const long newer_metadata_calls[] = {463, 466, 469};
    for (size_t i = 0; i < sizeof newer_metadata_calls / sizeof *newer_metadata_calls; i++)
        CHECK(fails_with(syscall(newer_metadata_calls[i], AT_FDCWD, "/", 0, NULL, 0), EPERM));
    /* Every call numbered after the newest reviewed (469, file_setattr)
     * fails with ENOSYS, as on a kernel without it; the reviewed ones
     * before it that are allowed still reach the kernel (file_getattr,
     * 468, says EINVAL to its empty arguments, not ENOSYS, on a kernel
     * that has it). Linux 6.18 has nothing above 469 yet, so 470's ENOSYS
     * would be the kernel's own today. */
    CHECK(fails_with(syscall(470, 0, 0, 0, 0, 0), ENOSYS));
    CHECK(fails_with(syscall(512, 0, 0, 0, 0, 0), ENOSYS));
    if (kernel_has_468)
        CHECK(!fails_with(syscall(468, AT_FDCWD, "/", NULL, 0, 0), ENOSYS));
#endif
    int flags = 0;
    CHECK(fails_with(ioctl(chan[0], FS_IOC_SETFLAGS, &flags), EPERM));
    struct fsxattr fsx = {0};
    CHECK(fails_with(ioctl(chan[0], FS_IOC_FSSETXATTR, &fsx), EPERM));
    /* metadata changed through a descriptor opened read-only, on a file
     * the uid owns (this program): its generation, verity, its encryption
     * policy, ext4's block map */
    int own_file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    long generation = 0, changed = 0;
    CHECK(own_file >= 0);
    int has_generation = ioctl(own_file, FS_IOC_GETVERSION, &generation) == 0;
    changed = generation + 1;
    CHECK(fails_with(ioctl(own_file, FS_IOC_SETVERSION, &changed), EPERM));
    CHECK(fails_with(ioctl(own_file, _IOW('f', 4, long), &changed), EPERM)); /* ext4's */
    CHECK(fails_with(ioctl(own_file, _IO('f', 9)), EPERM));                  /* ext4 migrate */
    if (has_generation)
        CHECK(ioctl(own_file, FS_IOC_GETVERSION, &changed) == 0 && changed == generation);
    struct fsverity_enable_arg verity = {.version = 1, .hash_algorithm = 1, .block_size = 4096};
    CHECK(fails_with(ioctl(own_file, FS_IOC_ENABLE_VERITY, &verity), EPERM));
    struct fscrypt_policy_v1 policy = {0};
    CHECK(fails_with(ioctl(own_file, FS_IOC_SET_ENCRYPTION_POLICY, &policy), EPERM));
    /* no direct I/O, which reads the disk each time, past the page cache */
    CHECK(fails_with(open("/proc/self/exe", O_RDONLY | O_DIRECT | O_CLOEXEC), EINVAL));
    CHECK(fails_with(syscall(SYS_open, "/proc/self/exe", O_RDONLY | O_DIRECT), EINVAL));
    CHECK(fails_with(fcntl(own_file, F_SETFL, O_DIRECT), EINVAL));
    CHECK(fcntl(own_file, F_SETFL, O_NONBLOCK) == 0);
    CHECK(fails_with(syscall(SYS_openat2, AT_FDCWD, "/proc/self/exe", NULL, 0), ENOSYS));
    close(own_file);
    struct fscrypt_add_key_arg add = {.key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER};
    struct fscrypt_remove_key_arg remove = {.key_spec.type = FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER};
    CHECK(fails_with(ioctl(chan[0], FS_IOC_ADD_ENCRYPTION_KEY, &add), EPERM));
    CHECK(fails_with(ioctl(chan[0], FS_IOC_REMOVE_ENCRYPTION_KEY, &remove), EPERM));
    CHECK(fails_with(ioctl(chan[0], FS_IOC_REMOVE_ENCRYPTION_KEY_ALL_USERS, &remove), EPERM));
    struct rlimit r;
    CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0);
    CHECK(fails_with(setrlimit(RLIMIT_NOFILE, &r), EPERM));
    /* limits: our own (0, as getrlimit passes) only, not another process's */
    CHECK(prlimit(0, RLIMIT_NOFILE, NULL, &r) == 0);
    CHECK(fails_with(prlimit(getppid(), RLIMIT_NOFILE, NULL, &r), EPERM));
    CHECK(fails_with(prlimit(1, RLIMIT_NOFILE, NULL, &r), EPERM));
    /* nothing to sync: only the host's disks would be kept busy */
    CHECK(fails_with(syscall(SYS_sync), EPERM));
    CHECK(fails_with(syncfs(chan[0]), EPERM));
    /* nor which pages of a file the host's page cache holds */
    long page_size = sysconf(_SC_PAGESIZE);
    void *mapped = mmap(NULL, (size_t)page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char in_core;
    CHECK(mapped != MAP_FAILED && fails_with(mincore(mapped, (size_t)page_size, &in_core), EPERM));
    /* ... nor a read that fails where it is not, nor a way to drop it */
    char byte;
    struct iovec one = {.iov_base = &byte, .iov_len = 1};
    CHECK(fails_with(preadv2(chan[0], &one, 1, 0, RWF_NOWAIT), EOPNOTSUPP));
    CHECK(fails_with(madvise(mapped, (size_t)page_size, MADV_PAGEOUT), EINVAL));
    CHECK(posix_fadvise(-1, 0, 0, POSIX_FADV_DONTNEED) == 0); /* EBADF, were it taken */
    munmap(mapped, (size_t)page_size);
    struct {
        uint64_t off, len;
    } range = {0, 0};
    uint64_t cache_stat[5];
    CHECK(fails_with(syscall(451 /* cachestat */, chan[0], &range, cache_stat, 0), EPERM));
#ifdef SYS_quotactl_fd
    /* QCMD(Q_SYNC, USRQUOTA): a syncfs that needs no privilege */
    CHECK(fails_with(syscall(SYS_quotactl_fd, chan[0], 0x80000100u, 0, NULL), EPERM));
#endif
    /* fsync and fdatasync succeed without reaching the kernel (which
     * flushed the disk's write cache even for a file opened read-only, and
     * says EINVAL for a socket) */
    CHECK(fsync(chan[0]) == 0);
    CHECK(fdatasync(chan[0]) == 0);
    /* nor pages of the host's huge page pool */
    CHECK(mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1,
               0) == MAP_FAILED &&
          errno == EPERM);
    /* nor epoll instances, whose watches count against a quota of the
     * uid's */
    CHECK(fails_with(syscall(SYS_epoll_create1, 0), EPERM));
    /* no kernel AIO: its events count against one quota for the host */
    unsigned long aio_ctx = 0;
    CHECK(fails_with(syscall(SYS_io_setup, 1, &aio_ctx), EPERM));
    CHECK(fails_with(syscall(SYS_io_submit, 0, 0, NULL), EPERM));
    /* no execution domain: READ_IMPLIES_EXEC makes readable mappings
     * executable */
    CHECK(fails_with(personality(READ_IMPLIES_EXEC), EPERM));
    CHECK(fails_with(personality(0xffffffff), EPERM));
    /* nor another filter stacked on ours, nor Landlock rulesets: kernel
     * memory no address-space limit counts, and for filters a host-wide
     * JIT quota */
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog fprog = {.len = 1, .filter = &allow};
    CHECK(fails_with(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog), EPERM));
    CHECK(fails_with(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog), EPERM));
    uint64_t handled = LANDLOCK_ACCESS_FS_READ_FILE;
    CHECK(fails_with(syscall(SYS_landlock_create_ruleset, &handled, sizeof handled, 0), EPERM));
    CHECK(fails_with(syscall(SYS_landlock_restrict_self, -1, 0), EPERM));
    /* nor its memory offered to KSM: EINVAL, as without KSM */
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED && fails_with(madvise(page, 4096, MADV_MERGEABLE), EINVAL));
    CHECK(page != MAP_FAILED && madvise(page, 4096, MADV_DONTNEED) == 0 && munmap(page, 4096) == 0);
    CHECK(fails_with(prctl(67 /* PR_SET_MEMORY_MERGE */, 1, 0, 0, 0), EINVAL));
    /* nor a private futex hash of any size it likes (PR_FUTEX_HASH,
     * PR_FUTEX_HASH_SET_SLOTS): EINVAL, as before Linux 6.16 */
    CHECK(fails_with(prctl(78, 1, 1 << 16, 0, 0), EINVAL));
#ifdef SYS_modify_ldt
    char ldt[16];
    CHECK(fails_with(syscall(SYS_modify_ldt, 0, ldt, sizeof ldt), EPERM));
#endif
}

#if defined(__x86_64__)
/* getpid through i386's entry point (int 0x80, call 20). */
static long i386_getpid(void)
{
    long rc;
    __asm__ volatile("int $0x80" : "=a"(rc) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
    return rc;
}

/* 1 if the kernel runs i386 calls (ia32_emulation may be off: int 0x80
 * then ends the process with SIGSEGV before any filter sees it). */
static int kernel_runs_i386(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(i386_getpid() == getpid() ? 0 : 1);
    int status;
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

/* Another ABI's calls (x32's numbers, i386's int 0x80) fail with ENOSYS,
 * an error the process can take, where SIGSYS ended it. */
static void other_abi_child(void *prog)
{
    int i386 = kernel_runs_i386();
    CHECK(sandbox_seccomp_load(prog, getpid()) == 0);
    CHECK(fails_with(syscall(0x40000000 | SYS_getpid), ENOSYS));
    CHECK(fails_with(syscall(0x40000000 | SYS_socket, AF_INET, SOCK_STREAM, 0), ENOSYS));
    if (i386)
        CHECK(i386_getpid() == -ENOSYS);
    else
        printf("no i386 calls on this kernel: int 0x80 not checked\n");
    CHECK(syscall(SYS_getpid) == getpid());
}
#endif

/* 1 if the filter built with gaelic is the one the rules give now. */
static int prebuilt_is_current(void)
{
    size_t len = 0;
    struct sock_filter *now = sandbox_seccomp_bpf(seccomp_prebuilt_chan_fd, &len);
    int same = now && len == seccomp_prebuilt_len &&
               memcmp(now, seccomp_prebuilt_code, len * sizeof *now) == 0;
    free(now);
    return same;
}

static void landlock_child(void *dir)
{
    const char *d = dir;
    char inside[256], outside[256];
    snprintf(inside, sizeof inside, "%s/in", d);
    snprintf(outside, sizeof outside, "%s-out", d);
    int fd = open(inside, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && write(fd, "hi", 2) == 2 && close(fd) == 0);
    fd = open(outside, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && close(fd) == 0);

    const char *reads[SANDBOX_READABLE_MAX];
    sandbox_readable_paths(d, d, NULL, reads);
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
    CHECK(sandbox_landlock(reads) == 0);

    char buf[4] = {0};
    fd = open(inside, O_RDONLY);
    CHECK(fd >= 0 && read(fd, buf, 2) == 2 && !strcmp(buf, "hi"));
    if (fd >= 0)
        close(fd);
    CHECK(fails_with(open(inside, O_WRONLY), EACCES));
    CHECK(fails_with(open(outside, O_RDONLY), EACCES));
    char created[300];
    snprintf(created, sizeof created, "%s/new", d);
    CHECK(fails_with(open(created, O_WRONLY | O_CREAT, 0644), EACCES));
    CHECK(fails_with(unlink(inside), EACCES));
    CHECK(fails_with(mkdir(created, 0755), EACCES));
    /* the library trees stay readable, nothing is executable */
    CHECK(access("/usr/lib", R_OK) == 0);
    char *const argv[] = {"true", NULL};
    CHECK(fails_with(execv("/bin/true", argv), EACCES));
    /* signals may not leave the domain (ABI 6 and later) */
    if (landlock_abi() >= 6)
        CHECK(fails_with(kill(getppid(), 0), EPERM));
}

int main(void)
{
    if (seccomp_available()) {
        in_child(seccomp_child, NULL);
        /* Compiled in one process, loaded in a child with the child's pid:
         * the same checks hold. */
        size_t len = 0;
        struct sock_filter *code = sandbox_seccomp_bpf(100, &len);
        seccomp_prog_t *prog = code ? sandbox_seccomp_from_code(100, code, len) : NULL;
        free(code);
        CHECK(prog != NULL);
        if (prog)
            in_child(seccomp_child, prog);
#if defined(__x86_64__)
        if (prog)
            in_child(other_abi_child, prog);
#endif
        sandbox_seccomp_free(prog);
        /* The build's copy is today's filter for the spare's channel, and
         * holds as well. */
        prog = seccomp_prebuilt();
        CHECK(prog != NULL);
        if (prog)
            in_child(seccomp_child, prog);
        sandbox_seccomp_free(prog);
        CHECK(prebuilt_is_current());
    } else
        printf("seccomp not available: its checks skipped\n");
    if (landlock_abi() > 0) {
        char dir[] = "/tmp/gaelic-landlock-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        in_child(landlock_child, dir);
        char path[64];
        snprintf(path, sizeof path, "%s/in", dir);
        unlink(path);
        snprintf(path, sizeof path, "%s-out", dir);
        unlink(path);
        rmdir(dir);
    } else {
        printf("Landlock not available: its checks skipped\n");
    }
    UNIT_DONE();
}
