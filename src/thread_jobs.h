/* Work the event loop hands to threads of the master because it would
 * stall the loop (a cgroup move waits for the kernel, deflate of a big
 * body takes its time), and hears back about: a FIFO of jobs, a few
 * threads that run them, and an eventfd through which the loop gets each
 * finished job back.
 *
 * Everything below is called from the loop thread; only a job's run
 * runs in a queue thread. */
#ifndef GAELIC_THREAD_JOBS_H
#define GAELIC_THREAD_JOBS_H

#include <stdatomic.h>
#include <stddef.h>

#include "loop.h"

#define THREAD_JOBS_MAX_THREADS 4

typedef struct thread_job thread_job_t;
typedef struct thread_jobs thread_jobs_t;

typedef enum { THREAD_JOB_QUEUED, THREAD_JOB_RUNNING, THREAD_JOB_FINISHED } thread_job_state_t;

struct thread_job {
    /* Set by the owner before thread_jobs_push. */
    void (*run)(thread_job_t *j);     /* in a queue thread, without the queue's lock */
    void (*finish)(thread_job_t *j);  /* in the loop after run; NULL: nobody to tell */
    void (*release)(thread_job_t *j); /* frees j: after finish, or once it is dropped */
    /* The queue's. */
    thread_job_t *next;
    thread_job_state_t state;
    atomic_int dropped; /* run may look at it to give up early */
};

/* A queue with n_threads threads (1 runs the jobs in order) whose eventfd
 * loop watches, or NULL with the reason in why. */
thread_jobs_t *thread_jobs_start(loop_t *loop, int n_threads, char *why, size_t n);

/* Queues j, at the end, or with first set ahead of every queued job. */
void thread_jobs_push(thread_jobs_t *q, thread_job_t *j, int first);

/* For a job's run, in a queue thread: waits up to ms for another job to be
 * queued (or the queue to stop), for a run that has something to do only
 * while the queue is idle. 1 when one is queued or the queue stops, 0 when
 * the time has passed. */
int thread_jobs_wait_queued(thread_jobs_t *q, int ms);

/* j's owner is gone: finish will not run, and release runs as soon as no
 * thread uses j (now, unless it is running). */
void thread_jobs_drop(thread_jobs_t *q, thread_job_t *j);

/* Calls fn(j, arg) with the queue locked for every job not yet handed
 * back to the loop: queued, running (fn must not touch what run uses) or
 * finished. fn must not call into q. */
void thread_jobs_visit(thread_jobs_t *q, void (*fn)(thread_job_t *j, void *arg), void *arg);

/* The threads run every job still queued and end; finished jobs not yet
 * handed back are released without finish. Frees q; q may be NULL. */
void thread_jobs_stop(thread_jobs_t *q);

#endif
