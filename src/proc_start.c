#include "proc_start.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int proc_stat_start_time(const char *stat, unsigned long long *start)
{
    const char *p = strrchr(stat, ')');
    if (!p)
        return -1;
    p++;
    /* After the name: field 3 (state) first, so starttime is the 20th. */
    for (int field = 3; field < 22; field++) {
        p += strspn(p, " ");
        p += strcspn(p, " ");
    }
    p += strspn(p, " ");
    if (*p < '0' || *p > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno || (*end != ' ' && *end != '\n' && *end != '\0'))
        return -1;
    *start = v;
    return 0;
}

int proc_start_time(pid_t pid, unsigned long long *start)
{
    char path[32], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    int err = errno;
    close(fd);
    if (n < 0) {
        errno = err == ESRCH ? ENOENT : err; /* it ended after the open */
        return -1;
    }
    text[n] = '\0';
    if (proc_stat_start_time(text, start) < 0) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}
