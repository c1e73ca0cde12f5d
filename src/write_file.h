/* Writing a short text to a kernel interface file (/proc, /sys/fs/cgroup),
 * where one write(2) either takes the whole text or fails. */
#ifndef GAELIC_WRITE_FILE_H
#define GAELIC_WRITE_FILE_H

/* Writes text to the existing file at path. Returns 0, or -1 with errno
 * set (EIO for a short write). */
int write_file(const char *path, const char *text);

#endif
