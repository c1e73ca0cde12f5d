/* gzip of big dynamic response bodies (RT6) away from the event loop.
 * Big static files are compressed on the same threads (static_gzip.h).
 *
 * deflate runs at 25-40 MB/s here, so a 10 MB body compressed in the loop
 * held every other client for 0.25-0.4 s (and a 32 MB one, the largest
 * --max_response_bytes allows, for over a second). Bodies of
 * GZIP_OFFLOAD_BYTES or more are compressed by threads of the master
 * instead (thread_jobs.h, one per CPU up to its maximum). Smaller ones stay
 * in the loop, where they cost less than the hand-over.
 *
 * Everything below is called from the loop thread. */
#ifndef GAELIC_GZIP_WORKER_H
#define GAELIC_GZIP_WORKER_H

#include <stddef.h>

#include "buf.h"
#include "loop.h"
#include "thread_jobs.h"

/* About 2 ms of deflate: below it the loop compresses a body itself. */
#define GZIP_OFFLOAD_BYTES (64u << 10)

typedef struct gzip_task gzip_task_t;

/* Runs in the loop when a task is done, unless it was cancelled first.
 * body/len: the task's copy of what it was given; gz: its gzip stream, or
 * empty when compression failed (out of memory). Both are freed when this
 * returns. */
typedef void (*gzip_done_fn)(void *owner, const char *body, size_t len, const buf_t *gz);

/* The gzip threads: a queue whose eventfd loop watches, or NULL with the
 * reason in why. thread_jobs_stop joins them (every task should be
 * cancelled by then). */
thread_jobs_t *gzip_worker_start(loop_t *loop, char *why, size_t n);

/* Compresses a copy of body[0..len). The task, or NULL when memory ran
 * out (nothing was done). */
gzip_task_t *gzip_worker_submit(thread_jobs_t *w, const char *body, size_t len, gzip_done_fn done,
                                void *owner);

/* Its owner goes away: done will not run, and the task's memory goes as
 * soon as no thread uses it (a running deflate stops within a megabyte). */
void gzip_worker_cancel(thread_jobs_t *w, gzip_task_t *t);

#endif
