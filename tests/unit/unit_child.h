/* Running checks in a forked child (for what changes the process for good:
 * sandbox layers), which reports its CHECK counts back through a pipe. */
#ifndef GAELIC_UNIT_CHILD_H
#define GAELIC_UNIT_CHILD_H

#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

/* Runs fn in a child and adds the child's CHECK counts to ours. */
static void in_child(void (*fn)(void *), void *arg)
{
    int p[2];
    if (pipe(p) < 0) {
        CHECK(!"pipe");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        unit_passed = unit_failed = 0;
        fn(arg);
        int counts[2] = {unit_passed, unit_failed};
        _exit(write(p[1], counts, sizeof counts) == sizeof counts ? 0 : 1);
    }
    close(p[1]);
    int counts[2] = {0, 1};
    ssize_t n = read(p[0], counts, sizeof counts);
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(n == sizeof counts && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unit_passed += counts[0];
    unit_failed += counts[1];
}

#endif
