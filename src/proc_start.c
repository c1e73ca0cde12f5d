#include "proc_start.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proc_file.h"

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
    char text[1024];
    if (proc_read(pid, "stat", text, sizeof text) < 0)
        return -1;
    if (proc_stat_start_time(text, start) < 0) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}
