#include "zygote_bytecode.h"

#include <Python.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "python_init.h"
#include "sandbox_rlimits.h"

/* A root server writes the bytecode with the rights of the app folder's
 * owner: whoever owns the folder can swap one of its folders for a link
 * between the writer's check and its write, and as root the writer would
 * then put a root-owned file wherever that link leads. (The .pyc files
 * are then the owner's too, as if they had imported the app.) */
static int become_app_owner(const char *app_dir)
{
    struct stat st;
    if (geteuid() != 0)
        return 0;
    if (stat(app_dir, &st) < 0)
        return -1;
    if (st.st_uid == 0)
        return 0;
    if (setgroups(0, NULL) < 0 || setgid(st.st_gid) < 0 || setuid(st.st_uid) < 0)
        return -1;
    return 0;
}

static void __attribute__((noreturn))
writer_main(pid_t zygote, const char *app_dir, unsigned long long memory_bytes)
{
    PyOS_AfterFork_Child();
    /* Only stdio: no channel of the zygote's stays open through us. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != zygote || close_range(3, ~0u, 0) < 0)
        _exit(1);
    /* Background work: it runs only on CPU time nothing else wants, so
     * instances never wait for it, and a source that would compile for
     * minutes is given up (SIGXCPU) after BYTECODE_CPU_SECONDS, with no
     * core file. It compiles what the app brings outside the sandbox, in
     * the instances' address space: a 4 MB source may take the compiler
     * gigabytes, and one an instance could not compile either is left to
     * its import (py_compile turns the MemoryError into a failed file).
     * Each is best effort: without it the writer still works. */
    struct sched_param idle = {0};
    sched_setscheduler(0, SCHED_IDLE, &idle);
    struct rlimit no_core = {0, 0}, cpu = {BYTECODE_CPU_SECONDS, BYTECODE_CPU_SECONDS};
    setrlimit(RLIMIT_CORE, &no_core);
    setrlimit(RLIMIT_CPU, &cpu);
    struct rlimit as = {memory_bytes, memory_bytes};
    if (sandbox_limits_address_space())
        setrlimit(RLIMIT_AS, &as);
    /* Named once it runs as it will: whoever finds it by name (ps, the
     * tests) sees its scheduling and limits set, not a moment before. */
    prctl(PR_SET_NAME, "gaelic-bytecode");
    if (become_app_owner(app_dir) < 0) {
        perror("gaelic zygote: bytecode writer: cannot take the app folder's owner's ids");
        _exit(1);
    }
    int rc = python_app_bytecode_write(app_dir);
    fflush(stderr);
    _exit(rc == 0 ? 0 : 1);
}

pid_t bytecode_writer_start(const char *app_dir, unsigned long long memory_bytes)
{
    pid_t self = getpid();
    PyOS_BeforeFork();
    pid_t pid = fork();
    if (pid == 0)
        writer_main(self, app_dir, memory_bytes);
    PyOS_AfterFork_Parent();
    return pid;
}
