/* The seccomp layer (SB2, SB3, SB4): system calls an instance never needs
 * fail with EPERM, so even code that bypasses the Python layer gets a
 * catchable OSError rather than a dead process. */
#ifndef GAELIC_SANDBOX_SECCOMP_H
#define GAELIC_SANDBOX_SECCOMP_H

#include <stddef.h>
#include <sys/types.h>

struct sock_filter;

/* 1 if the kernel offers seccomp filters returning an errno, else 0. */
int seccomp_available(void);

/* Loads the filter into the calling process (all its threads). Refused:
 * creating, connecting or accepting sockets; socket I/O on any descriptor
 * but chan_fd; exec, fork and clone without CLONE_THREAD (clone3 fails with
 * ENOSYS so that glibc falls back to clone); signals to any process but
 * self_pid; changing file modes, owners, times and extended attributes
 * (Landlock does not cover them); tracing, other processes' memory,
 * io_uring, bpf, perf, userfaultfd, mounts and namespaces, memfd_create, kernel modules and
 * keyrings, raising limits or reading another process's, sync, personality,
 * and injecting terminal input; another ABI's calls (x32, i386) fail with
 * ENOSYS. Returns 0, or -1 with errno set. */
int sandbox_seccomp(int chan_fd, pid_t self_pid);

/* Building the filter takes some 3 ms of CPU (libseccomp merges some 400
 * rules): the build compiles it once for the spare's channel
 * (seccomp_prebuilt.h), and each instance only loads it with its own pid
 * filled in. */
typedef struct seccomp_prog seccomp_prog_t;

/* The filter for chan_fd as BPF instructions (malloc'd, *len of them),
 * with a stand-in where the pid goes. NULL with errno. */
struct sock_filter *sandbox_seccomp_bpf(int chan_fd, size_t *len);
/* That program (code is copied), made ready to load with any pid. NULL
 * with errno (EPROTO: the pid could not be placed). */
seccomp_prog_t *sandbox_seccomp_from_code(int chan_fd, const struct sock_filter *code, size_t len);
/* The same as sandbox_seccomp(chan_fd of p, self_pid). 0, or -1 and errno. */
int sandbox_seccomp_load(const seccomp_prog_t *p, pid_t self_pid);
int sandbox_seccomp_chan_fd(const seccomp_prog_t *p);
void sandbox_seccomp_free(seccomp_prog_t *p);

#endif
