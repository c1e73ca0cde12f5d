/* The instance binary, build/gaelic-instance: the zygote, a pre-initialised
 * interpreter that forks instances on the master's request (zygote_proto.h).
 * The master runs it as `gaelic-instance --app DIR --python DIR --threads N
 * --fd FD ...` (zygote_args.h), never users. It stays single-threaded for its
 * whole life, so every fork() copies a consistent process. Each instance is
 * forked one step ahead, as a spare (zygote_spare.h). A binary of its own so
 * the master does not load libpython: that would cost every launch about a
 * millisecond before the zygote could even start. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_call.h"
#include "gaelic_module.h"
#include "python_init.h"
#include "seccomp_prebuilt.h"
#include "zygote_args.h"
#include "zygote_bytecode.h"
#include "zygote_children.h"
#include "zygote_msg.h"
#include "zygote_proto.h"
#include "zygote_spare.h"

typedef struct {
    const zygote_args_t *args;
    int sig_fd;          /* signalfd for SIGCHLD */
    sigset_t child_mask; /* the signal mask instances start with */
    spare_t spare;       /* the next instance, already forked */
    int spare_failed;    /* the last spare failed: fork again only for a ZY_SPAWN */
    int preloaded;       /* python_preload done */
    pid_t bytecode_pid;  /* the app's bytecode writer (zygote_bytecode.h), or 0 */
    int bytecode_wanted; /* write the app's bytecode (again) when idle and the writer is done */
} zygote_t;

/* How long the zygote waits, idle, before forking the next spare. */
#define SPARE_DELAY_MS 50
/* The modules most apps use are imported only once the zygote has been
 * idle this long (or before the next spare): the first instance, forked at
 * start, must not wait for them. */
#define PRELOAD_DELAY_MS 500

/* fork() copies only the calling thread: a thread started while loading
 * the runtime (by some imported module) would leave every instance with
 * locks held by a thread that does not exist. Refuse to run instead. */
static int check_single_threaded(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) {
        perror("gaelic zygote: /proc/self/task");
        return -1;
    }
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    if (n != 1) {
        fprintf(stderr,
                "gaelic zygote: %d threads after loading the runtime; the zygote must stay "
                "single-threaded to fork (does an imported module start a thread?)\n",
                n);
        return -1;
    }
    return 0;
}

/* SIGCHLD goes through a signalfd so reaping is just another poll event. */
static int setup_sigchld(zygote_t *z)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &chld, &z->child_mask) < 0) {
        perror("gaelic zygote: sigprocmask");
        return -1;
    }
    z->sig_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (z->sig_fd < 0) {
        perror("gaelic zygote: signalfd");
        return -1;
    }
    return 0;
}

static void __attribute__((noreturn)) master_gone(zygote_t *z, int status)
{
    if (z->spare.pid > 0)
        spare_discard(&z->spare);
    children_kill_all();
    exit(status);
}

static void send_or_die(zygote_t *z, const zy_msg_t *m, int fd)
{
    if (zy_send(z->args->sock, m, &fd, fd >= 0) < 0) {
        /* A closed channel is the master stopping (it failed to start, say),
         * which it has explained itself. */
        if (errno == EPIPE || errno == ECONNRESET)
            master_gone(z, 0);
        fprintf(stderr, "gaelic zygote: cannot send to the master: %s\n", strerror(errno));
        master_gone(z, 1);
    }
}

static int ensure_spare(zygote_t *z)
{
    if (z->spare.pid > 0)
        return 0;
    if (spare_fork(&z->spare, z->args, &z->child_mask) < 0) {
        fprintf(stderr, "gaelic zygote: cannot fork an instance: %s\n", strerror(errno));
        return -1;
    }
    zy_msg_t m = {.type = ZY_FORKED, .pid = z->spare.pid};
    send_or_die(z, &m, -1);
    return 0;
}

/* The spare will never be an instance: the master hears that it is gone
 * (it may have put it into cgroups). status: its wait status. */
static void spare_gone(zygote_t *z, pid_t pid, int status)
{
    zy_msg_t m = {.type = ZY_EXITED, .pid = pid, .status = status};
    send_or_die(z, &m, -1);
}

/* Kills and reaps the spare, and says so. */
static void drop_spare(zygote_t *z)
{
    pid_t pid = z->spare.pid;
    spare_discard(&z->spare);
    spare_gone(z, pid, SIGKILL);
}

/* Turns the spare into instance req->instance_no. Returns 0, or an errno
 * for ZY_SPAWNED. A spare that died unnoticed is replaced once. */
static int hand_off(zygote_t *z, const zy_msg_t *req, int chan_fd, int out_fd)
{
    for (int attempt = 0;; attempt++) {
        if (ensure_spare(z) < 0)
            return errno;
        if (spare_hand_off(&z->spare, req, chan_fd, out_fd) == 0)
            break;
        int err = errno;
        fprintf(stderr, "gaelic zygote: spare instance %d unusable: %s\n", (int)z->spare.pid,
                strerror(err));
        drop_spare(z);
        if (attempt == 1)
            return err;
    }
    if (children_add(z->spare.pid, req->instance_no) < 0) {
        drop_spare(z); /* it has the channel: it must not serve */
        return ENOMEM;
    }
    return 0;
}

/* fds: the channel and, when the master made one, the output pipe. Only
 * the instance keeps them: the pipe ends when it does. */
static void spawn(zygote_t *z, const zy_msg_t *req, const int fds[ZY_MAX_FDS])
{
    zy_msg_t rep = {.type = ZY_SPAWNED, .instance_no = req->instance_no};
    if (fds[0] < 0) {
        fprintf(stderr, "gaelic zygote: ZY_SPAWN for instance %u without a channel fd\n",
                req->instance_no);
        rep.status = EBADF;
    } else if (req->instance_no == 0) {
        /* 0 names a spare in ZY_EXITED: an instance 0 could not be told apart. */
        fprintf(stderr, "gaelic zygote: ZY_SPAWN for instance 0\n");
        rep.status = EINVAL;
    } else if (!memchr(req->instance_id, 0, sizeof req->instance_id)) {
        fprintf(stderr, "gaelic zygote: ZY_SPAWN instance_id not NUL-terminated\n");
        rep.status = EINVAL;
    } else {
        rep.status = hand_off(z, req, fds[0], fds[1]);
    }
    for (int i = 0; i < ZY_MAX_FDS; i++)
        if (fds[i] >= 0 && close(fds[i]) < 0)
            perror("gaelic zygote: close a ZY_SPAWN fd");
    if (rep.status != 0) {
        send_or_die(z, &rep, -1);
        return;
    }
    rep.pid = z->spare.pid;
    send_or_die(z, &rep, z->spare.pidfd);
    spare_forget(&z->spare);
    /* The next spare is forked once the zygote has been idle for a moment
     * (serve), not now: its fork and preparation would compete for CPU
     * with the instance that is about to send READY. */
}

static void reap(zygote_t *z)
{
    /* Drain the signalfd; waitpid below finds every exited child. */
    struct signalfd_siginfo si;
    ssize_t n;
    while ((n = read(z->sig_fd, &si, sizeof si)) > 0)
        ;
    if (n < 0 && errno != EAGAIN && errno != EINTR)
        perror("gaelic zygote: read signalfd");
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid == 0)
            return;
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            if (errno != ECHILD)
                perror("gaelic zygote: waitpid");
            return;
        }
        if (pid == z->bytecode_pid) {
            z->bytecode_pid = 0;
            if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)
                fprintf(stderr,
                        "gaelic zygote: the app's bytecode writer used its %d s of CPU time and "
                        "stopped; instances compile what has no bytecode\n",
                        BYTECODE_CPU_SECONDS);
            else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fprintf(stderr,
                        "gaelic zygote: the app's bytecode writer failed (wait status 0x%x); "
                        "instances compile what has no bytecode\n",
                        (unsigned)status);
            continue;
        }
        if (pid == z->spare.pid) {
            /* Replaced at the next ZY_SPAWN, not when idle: a spare that
             * cannot start would otherwise be forked again and again. */
            fprintf(stderr, "gaelic zygote: spare instance %d died (wait status 0x%x)\n", (int)pid,
                    (unsigned)status);
            spare_forget(&z->spare);
            spare_gone(z, pid, status);
            z->spare_failed = 1;
            continue;
        }
        uint32_t no;
        if (children_remove(pid, &no) < 0) {
            fprintf(stderr, "gaelic zygote: reaped unknown child %d\n", (int)pid);
            continue;
        }
        zy_msg_t m = {.type = ZY_EXITED, .instance_no = no, .pid = pid, .status = status};
        send_or_die(z, &m, -1);
    }
}

/* In a process of its own: one source can take minutes to compile, and
 * instances must still be forked. Without it, instances compile what has
 * no bytecode. */
static void write_bytecode(zygote_t *z)
{
    z->bytecode_wanted = 0;
    z->bytecode_pid =
        bytecode_writer_start(z->args->sandbox.app_dir, z->args->sandbox.memory_bytes);
    if (z->bytecode_pid < 0) {
        perror("gaelic zygote: fork the bytecode writer");
        z->bytecode_pid = 0;
    }
}

/* ZY_APP_CHANGED (zygote_proto.h). Before any later ZY_SPAWN: the master's
 * messages are read in order. */
static void app_changed(zygote_t *z, const zy_msg_t *req)
{
    zy_msg_t rep = {.type = ZY_APP_CHANGED, .instance_no = req->instance_no};
    if (z->preloaded) {
        /* What the preload did not see yet it sees when it runs. */
        rep.status = python_app_changed(z->args->sandbox.app_dir) == 1;
        if (rep.status && z->spare.pid > 0)
            drop_spare(z);
        z->bytecode_wanted = 1;
    }
    send_or_die(z, &rep, -1);
}

/* Returns only to exit: EOF from the master (0) or a broken socket. A
 * malformed message is logged and skipped: SOCK_SEQPACKET keeps message
 * boundaries, so the next one is still read correctly. */
static int serve(zygote_t *z)
{
    struct pollfd pfd[2] = {
        {.fd = z->args->sock, .events = POLLIN},
        {.fd = z->sig_fd, .events = POLLIN},
    };
    for (;;) {
        int timeout = -1;
        if (!z->spare_failed && z->spare.pid <= 0)
            timeout = SPARE_DELAY_MS;
        else if (!z->preloaded || z->bytecode_wanted)
            timeout = PRELOAD_DELAY_MS;
        int ready = poll(pfd, 2, timeout);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            perror("gaelic zygote: poll");
            return 1;
        }
        if (ready == 0) {
            /* Idle: load the common modules once, then prepare the next
             * instance. A spare failure is logged and retried at the next
             * ZY_SPAWN, not in a loop. */
            if (!z->preloaded) {
                if (python_preload(z->args->sandbox.app_dir) < 0 || check_single_threaded() < 0)
                    return 1;
                z->preloaded = 1;
                /* A spare still waiting from the cold start lacks what was
                 * just loaded: its instance would import those modules again
                 * and keep private copies. Fork one that shares them, unless
                 * the master is asking for an instance right now. */
                struct pollfd master = {.fd = z->args->sock, .events = POLLIN};
                if (z->spare.pid > 0 && poll(&master, 1, 0) == 0)
                    drop_spare(z);
                z->bytecode_wanted = 1;
            }
            if (z->bytecode_wanted && !z->bytecode_pid)
                write_bytecode(z);
            if (!z->spare_failed && z->spare.pid <= 0)
                z->spare_failed = ensure_spare(z) < 0;
            continue;
        }
        if (pfd[1].revents)
            reap(z);
        if (!pfd[0].revents)
            continue;
        zy_msg_t m;
        int fds[ZY_MAX_FDS];
        int n = zy_recv(z->args->sock, &m, fds);
        /* EOF, or ECONNRESET when the master closed its end with a message
         * of ours unread (its start failed, say): either way it is gone,
         * as send_or_die says, and has explained itself. */
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return 0;
        if (n < 0 && errno == EPROTO) {
            fprintf(stderr, "gaelic zygote: malformed message from the master ignored\n");
            continue;
        }
        if (n < 0) {
            perror("gaelic zygote: recvmsg");
            return 1;
        }
        if (m.type == ZY_APP_CHANGED) {
            for (int i = 0; i < ZY_MAX_FDS; i++)
                if (fds[i] >= 0)
                    close(fds[i]);
            app_changed(z, &m);
            continue;
        }
        if (m.type != ZY_SPAWN) {
            fprintf(stderr, "gaelic zygote: unexpected message type %u from the master ignored\n",
                    m.type);
            for (int i = 0; i < ZY_MAX_FDS; i++)
                if (fds[i] >= 0)
                    close(fds[i]);
            continue;
        }
        spawn(z, &m, fds);
        z->spare_failed = 0;
    }
}

int main(int argc, char **argv)
{
    /* Named for ps and top (instances rename themselves); dies with the
     * master, which owns every instance we fork. */
    if (prctl(PR_SET_NAME, "gaelic-zygote") < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
        perror("gaelic zygote: prctl");
        return 1;
    }
    static zygote_args_t args;
    int rc = zygote_parse_args(argc, argv, &args);
    if (rc != 0)
        return rc;

    zygote_t z = {.args = &args, .sig_fd = -1, .spare = {0, -1, -1}};
    if (setup_sigchld(&z) < 0)
        return 1;
    api_call_set_cpu_mhz(args.cpu_mhz);
    gaelic_module_set_response_limits(args.max_response, args.max_response_headers);
    if (args.sandbox.mode != SANDBOX_OFF && !(args.sandbox.seccomp = seccomp_prebuilt()))
        perror("gaelic zygote: the seccomp filter built with gaelic cannot be used, so each "
               "instance builds its own");
    if (python_init(args.python_dir, args.threads) < 0 ||
        python_libraries(args.library_modules) < 0 ||
        python_skip_files(args.skip_files, args.static_only_files, args.app_dir) < 0 ||
        python_warm() < 0)
        return 1;
    if (check_single_threaded() < 0)
        return 1;

    ensure_spare(&z);
    master_gone(&z, serve(&z));
}
