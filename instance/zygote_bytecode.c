#include "zygote_bytecode.h"

#include <Python.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "python_init.h"

static void __attribute__((noreturn)) writer_main(pid_t zygote, const char *app_dir)
{
    PyOS_AfterFork_Child();
    /* Only stdio: no channel of the zygote's stays open through us. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != zygote || close_range(3, ~0u, 0) < 0)
        _exit(1);
    prctl(PR_SET_NAME, "gaelic-bytecode");
    int rc = python_app_bytecode_write(app_dir);
    fflush(stderr);
    _exit(rc == 0 ? 0 : 1);
}

pid_t bytecode_writer_start(const char *app_dir)
{
    pid_t self = getpid();
    PyOS_BeforeFork();
    pid_t pid = fork();
    if (pid == 0)
        writer_main(self, app_dir);
    PyOS_AfterFork_Parent();
    return pid;
}
