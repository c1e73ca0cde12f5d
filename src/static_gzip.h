/* gzip-compressed bodies of static files (RT6), kept in a small cache.
 *
 * Static files are otherwise sent with sendfile, never read by the master.
 * A compressed one has to be read and deflated in memory. Deflate runs at
 * 25-40 MB/s here, so only small files (under GZIP_OFFLOAD_BYTES, about
 * 2 ms) are compressed on the event loop; bigger ones, up to 10 MB, by
 * the master's gzip threads
 * (gzip_worker.h), while their request waits and the loop serves others.
 * Each result is kept, keyed by the file's identity and change times, so a
 * file is compressed once per version, not once per request; the cache
 * holds at most STATIC_GZIP_CACHE_BYTES of compressed bodies (or the one
 * last made, if bigger) and forgets the least recently used first.
 *
 * Everything below is called from the loop thread. */
#ifndef GAELIC_STATIC_GZIP_H
#define GAELIC_STATIC_GZIP_H

#include <stddef.h>
#include <sys/stat.h>

#include "thread_jobs.h"

/* The most one app file may hold by default (--max_app_file_bytes): a
 * bigger static file goes out uncompressed. */
#define STATIC_GZIP_MAX_FILE (10u << 20)
#define STATIC_GZIP_CACHE_BYTES (16u << 20)

/* 1 when the file's size lets it be compressed here: static_gzip_body
 * is tried on it (it may still not shrink). Needs no reading. */
int static_gzip_fits(const struct stat *st);

/* The cached gzip body of the file st: 1 with *fd (a memfd holding it,
 * owned by the cache: valid until the next call here; dup it to send it)
 * and *len set, 0 when compressing it did not make it smaller, -1 when it
 * is not in the cache. */
int static_gzip_cached(const struct stat *st, int *fd, size_t *len);

/* Compresses the open file fd (st its fstat) now, in the calling thread,
 * and caches the result. Returns 1 with *gz_fd and *len set, as
 * static_gzip_cached sets them, 0 when compressing
 * does not make it smaller (remembered too), -1 when it could not be read
 * or compressed (the caller sends it as it is). */
int static_gzip_body(int fd, const struct stat *st, int *gz_fd, size_t *len);

typedef struct static_gzip_task static_gzip_task_t;

/* Compresses the open file fd (which the task now owns) in a thread of w
 * and caches the result; then ready(owner) runs in the loop, and
 * static_gzip_cached finds it unless it failed. While one version of a
 * file is being compressed, another request for it waits for that
 * compression (fd is closed) instead of starting one. NULL when memory ran
 * out or the file does not fit (fd is closed, nothing else was done). */
static_gzip_task_t *static_gzip_compress(thread_jobs_t *w, int fd, void (*ready)(void *owner),
                                         void *owner);

/* Its owner goes away: ready will not run; the compression is dropped
 * (nothing cached) unless other requests wait for it too. */
void static_gzip_cancel(thread_jobs_t *w, static_gzip_task_t *t);

/* Frees every cached body. */
void static_gzip_clear(void);

#endif
