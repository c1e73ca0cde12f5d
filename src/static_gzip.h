/* gzip-compressed bodies of static files (RT6), kept in a small cache.
 *
 * Static files are otherwise sent with sendfile, never read by the master.
 * A compressed one has to be read and deflated in memory, on the event
 * loop, so only files up to STATIC_GZIP_MAX_FILE are compressed (deflate
 * ran at 34 MB/s on this project's 2-CPU test machine: about 30 ms for the
 * largest); bigger ones go out as they are, with sendfile. Each result is
 * kept, keyed by the file's identity and change times, so a file is
 * compressed once per version, not once per request; the cache holds at
 * most STATIC_GZIP_CACHE_BYTES of compressed bodies and forgets the least
 * recently used first. */
#ifndef GAELIC_STATIC_GZIP_H
#define GAELIC_STATIC_GZIP_H

#include <stddef.h>
#include <sys/stat.h>

#define STATIC_GZIP_MAX_FILE (1u << 20)
#define STATIC_GZIP_CACHE_BYTES (16u << 20)

/* 1 when the file's size lets it be compressed here: static_gzip_body
 * is tried on it (it may still not shrink). Needs no reading. */
int static_gzip_fits(const struct stat *st);

/* The gzip body of the open file fd (st its fstat). Returns 1 with *body
 * and *len set (owned by the cache: valid until the next call), 0 when
 * compressing does not make it smaller (remembered too), -1 when it could
 * not be read or compressed (the caller sends it as it is). */
int static_gzip_body(int fd, const struct stat *st, const char **body, size_t *len);

/* Frees every cached body. */
void static_gzip_clear(void);

#endif
