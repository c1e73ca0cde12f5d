/* Reading the small text files /proc keeps for each process. */
#ifndef GAELIC_PROC_FILE_H
#define GAELIC_PROC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Reads /proc/PID/NAME (its first size - 1 bytes) into buf, NUL-ended.
 * Returns the length, or -1 with errno set (ENOENT: no such process, or one
 * /proc does not show, also when it ended after the open). */
ssize_t proc_read(pid_t pid, const char *name, char *buf, size_t size);

#endif
