#include "gzip_worker.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gzip.h"
#include "thread_jobs.h"

struct gzip_task {
    thread_job_t job; /* must stay first */
    gzip_done_fn done;
    void *owner;
    size_t len;
    buf_t gz;
    char body[]; /* the copy */
};

static void task_run(thread_job_t *j)
{
    gzip_task_t *t = (gzip_task_t *)j;
    /* A failure leaves gz empty: the body goes out as it is. */
    gzip_compress_cancellable(t->body, t->len, &t->gz, &j->dropped);
}

static void task_finish(thread_job_t *j)
{
    gzip_task_t *t = (gzip_task_t *)j;
    t->done(t->owner, t->body, t->len, &t->gz);
}

static void task_release(thread_job_t *j)
{
    gzip_task_t *t = (gzip_task_t *)j;
    buf_free(&t->gz);
    free(t);
}

gzip_task_t *gzip_worker_submit(thread_jobs_t *w, const char *body, size_t len, gzip_done_fn done,
                                void *owner)
{
    gzip_task_t *t = malloc(sizeof *t + len);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    t->job.run = task_run;
    t->job.finish = task_finish;
    t->job.release = task_release;
    t->done = done;
    t->owner = owner;
    t->len = len;
    memcpy(t->body, body, len);
    thread_jobs_push(w, &t->job, 0);
    return t;
}

void gzip_worker_cancel(thread_jobs_t *w, gzip_task_t *t)
{
    thread_jobs_drop(w, &t->job);
}

thread_jobs_t *gzip_worker_start(loop_t *loop, char *why, size_t n)
{
    /* One thread per CPU: more would only take CPU from the loop and the
     * instances. */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return thread_jobs_start(loop, cpus < 1 ? 1 : (int)cpus, why, n);
}
