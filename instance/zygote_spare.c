#include "zygote_spare.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "instance.h"
#include "zygote_msg.h"

static void __attribute__((noreturn)) child_fail(const char *what)
{
    fprintf(stderr, "gaelic instance %d: %s: %s\n", (int)getpid(), what, strerror(errno));
    _exit(4);
}

/* Closes every inherited descriptor but stdio and keep, which becomes
 * SPARE_CHANNEL_FD: the seccomp filter compiled in advance names it. */
static int close_fds_except(int keep)
{
    if (keep != SPARE_CHANNEL_FD) {
        if (dup3(keep, SPARE_CHANNEL_FD, O_CLOEXEC) < 0)
            child_fail("dup3");
        if (close(keep) < 0)
            child_fail("close");
    }
    if (close_range(SPARE_CHANNEL_FD + 1, ~0u, 0) < 0)
        child_fail("close_range");
    return SPARE_CHANNEL_FD;
}

/* The spare's whole life: prepare, wait for a channel, serve. */
static void __attribute__((noreturn))
spare_main(int sock, const zygote_args_t *args, const sigset_t *child_mask, pid_t zygote)
{
    PyOS_AfterFork_Child();
    if (sigprocmask(SIG_SETMASK, child_mask, NULL) < 0)
        child_fail("sigprocmask");
    sock = close_fds_except(sock);
    /* Visible in ps/top and /proc/PID/comm: not yet an instance. */
    if (prctl(PR_SET_NAME, "gaelic-spare") < 0)
        child_fail("prctl(PR_SET_NAME)");
    instance_prepare(&args->sandbox, args->import_path, sock, zygote);

    zy_msg_t m;
    int fds[ZY_MAX_FDS], n, err;
    PyThreadState *ts = PyEval_SaveThread(); /* the workers may run meanwhile */
    n = zy_recv(sock, &m, fds);
    err = errno;
    PyEval_RestoreThread(ts);
    if (n == 0)
        _exit(0); /* the zygote is gone or no longer needs us */
    errno = err;
    if (n < 0)
        child_fail("receiving the hand-off");
    if (m.type != ZY_SPAWN || fds[0] < 0 || !memchr(m.instance_id, 0, sizeof m.instance_id)) {
        fprintf(stderr, "gaelic instance %d: malformed hand-off from the zygote\n", (int)getpid());
        _exit(4);
    }
    /* The sandbox lets socket calls use only this descriptor number: the
     * channel takes the hand-off socket's place. */
    if (dup2(fds[0], sock) < 0 || close(fds[0]) < 0)
        child_fail("moving the channel into place");
    /* Its own output pipe from here on (stdin stays /dev/null). */
    if (fds[1] >= 0 && (dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0 || close(fds[1]) < 0))
        child_fail("moving the output pipe into place");
    instance_serve(sock, m.instance_id);
}

int spare_fork(spare_t *s, const zygote_args_t *args, const sigset_t *child_mask)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    pid_t self = getpid();
    PyOS_BeforeFork();
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        spare_main(sv[1], args, child_mask, self);
    }
    int err = errno;
    PyOS_AfterFork_Parent();
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        errno = err;
        return -1;
    }
    /* The child cannot be reaped before we wait for it, so its pid is ours
     * until then and pidfd_open cannot name another process. */
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        err = errno;
        s->pid = pid;
        s->pidfd = -1;
        s->sock = sv[0];
        spare_discard(s);
        errno = err;
        return -1;
    }
    s->pid = pid;
    s->pidfd = pidfd;
    s->sock = sv[0];
    return 0;
}

int spare_hand_off(spare_t *s, const zy_msg_t *spawn, int chan_fd, int out_fd)
{
    int fds[ZY_MAX_FDS] = {chan_fd, out_fd};
    return zy_send(s->sock, spawn, fds, out_fd >= 0 ? 2 : 1);
}

void spare_forget(spare_t *s)
{
    if (s->pidfd >= 0 && close(s->pidfd) < 0)
        perror("gaelic zygote: close spare pidfd");
    if (s->sock >= 0 && close(s->sock) < 0)
        perror("gaelic zygote: close spare socket");
    s->pid = 0;
    s->pidfd = s->sock = -1;
}

void spare_discard(spare_t *s)
{
    if (s->pid > 0) {
        if (kill(s->pid, SIGKILL) < 0)
            perror("gaelic zygote: kill spare");
        pid_t r;
        while ((r = waitpid(s->pid, NULL, 0)) < 0 && errno == EINTR)
            ;
        if (r < 0)
            perror("gaelic zygote: waitpid spare");
    }
    spare_forget(s);
}
