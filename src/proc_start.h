/* A process's start time, which with its pid names it for good: a pid is
 * reused once its process is gone, the pair never is (while the machine
 * runs). */
#ifndef GAELIC_PROC_START_H
#define GAELIC_PROC_START_H

#include <sys/types.h>

/* Field 22 (starttime, clock ticks after boot) of a /proc/PID/stat text.
 * 0, or -1 when the text is not one. The command name (field 2) may hold
 * spaces and parentheses: the fields are counted after its last ')'. */
int proc_stat_start_time(const char *stat, unsigned long long *start);

/* The start time of process pid from /proc/PID/stat. 0, or -1 with errno
 * set (ENOENT: no such process, or one /proc does not show). */
int proc_start_time(pid_t pid, unsigned long long *start);

#endif
