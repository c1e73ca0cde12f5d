#include "cgroup_mover.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu_cap.h"
#include "thread_cap.h"
#include "thread_jobs.h"

typedef enum {
    JOB_PLACE,
    JOB_PLACE_ZYGOTE,
    JOB_RELEASE,
    JOB_RELEASE_ZYGOTE,
    JOB_RETRY_REMOVALS,
    JOB_KEEP_WARM
} job_kind_t;

/* Moving a process into a cgroup takes the kernel's cgroup_threadgroup_rwsem
 * for writing, and that waits for an RCU grace period (7-15 ms here)
 * unless another move ran within about one: the move of a new instance,
 * which its first request waits for (no app code runs before its caps),
 * paid it on about a third of cold starts here, as the zygote's own move
 * (at exec) had ended long before its first spare was forked. After a zygote's move,
 * while nothing else is queued, the mover moves the zygote again into the
 * cgroup it is in (a move that changes nothing) every KEEP_WARM_EVERY_MS,
 * for at most KEEP_WARM_FOR_MS: the first spare's move then takes about
 * 0.05 ms. */
#define KEEP_WARM_EVERY_MS 2
#define KEEP_WARM_FOR_MS 500

/* A cgroup whose processes the kernel still counts when it is released
 * (an instance killed along with its zygote is released before it has
 * exited, and an exit takes a moment to leave the cgroup) is retried
 * after these delays, doubling, until it goes: not only at the next
 * release, which may not come for hours. */
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 5000

typedef struct {
    thread_job_t tj; /* must stay first */
    cgroup_mover_t *m;
    job_kind_t kind;
    cgroup_placed_fn placed; /* NULL: nobody to tell (a removal, or forgotten) */
    /* A move whose process is gone, or is being killed, before it ran: its
     * pid may be reused by the time the thread gets to it. */
    int cancelled;
    cgroup_placement_t p;
    int mhz, max_tasks;
    int left; /* removals still to retry after a release or retry */
} job_t;

struct cgroup_mover {
    /* One thread: a removal must never run before the move it undoes. */
    thread_jobs_t *jobs;
    cpu_cap_t *cpu;
    thread_cap_t *threads;
    loop_t *loop;
    loop_timer_t retry_timer;
    uint64_t retry_ms; /* the next retry's delay */
    int retry_queued;  /* a JOB_RETRY_REMOVALS is queued or running */
};

static int submit(cgroup_mover_t *m, job_kind_t kind, void *owner, cgroup_placed_fn placed,
                  uint32_t tag, pid_t pid, int mhz, int max_tasks);

/* In the mover's thread, after a zygote's move (see KEEP_WARM_EVERY_MS).
 * Ends as soon as any job is queued: the zygote's release (the master
 * reaps it and queues that at once, so its pid is never moved once free)
 * or the move of its first spare. */
static void keep_warm(cgroup_mover_t *m, pid_t zygote)
{
    for (int waited = 0; waited < KEEP_WARM_FOR_MS; waited += KEEP_WARM_EVERY_MS)
        if (thread_jobs_wait_queued(m->jobs, KEEP_WARM_EVERY_MS) ||
            thread_cap_add_zygote(m->threads, zygote) < 0)
            return;
}

/* In the mover's thread: retries the removals the kernel refused. */
static int retry_removals(cgroup_mover_t *m)
{
    return (m->cpu ? cpu_cap_retry_removals(m->cpu) : 0) +
           (m->threads ? thread_cap_retry_removals(m->threads) : 0);
}

/* In the mover's thread: the cgroup work of one job. */
static void run(thread_job_t *tj)
{
    job_t *j = (job_t *)tj;
    cgroup_mover_t *m = j->m;
    if (j->cancelled) {
        j->p.cpu_err = j->p.thread_err = ESRCH;
        return;
    }
    switch (j->kind) {
    case JOB_PLACE:
        if (m->cpu && j->mhz > 0 && cpu_cap_add(m->cpu, j->p.pid, j->mhz) < 0)
            j->p.cpu_err = errno;
        if (m->threads && thread_cap_add(m->threads, j->p.pid, j->max_tasks) < 0)
            j->p.thread_err = errno;
        break;
    case JOB_PLACE_ZYGOTE:
        if (m->threads && thread_cap_add_zygote(m->threads, j->p.pid) < 0)
            j->p.thread_err = errno;
        break;
    case JOB_KEEP_WARM:
        keep_warm(m, j->p.pid);
        break;
    case JOB_RELEASE:
        if (m->cpu)
            cpu_cap_release(m->cpu, j->p.pid);
        if (m->threads)
            thread_cap_release(m->threads, j->p.pid, 0);
        j->left = retry_removals(m);
        break;
    case JOB_RELEASE_ZYGOTE:
        if (m->threads)
            thread_cap_release(m->threads, j->p.pid, 1);
        j->left = retry_removals(m);
        break;
    case JOB_RETRY_REMOVALS:
        j->left = retry_removals(m);
        break;
    }
}

static void retry_due(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    cgroup_mover_t *m = (cgroup_mover_t *)((char *)t - offsetof(cgroup_mover_t, retry_timer));
    /* Without memory, the next release retries them. */
    m->retry_queued = submit(m, JOB_RETRY_REMOVALS, NULL, NULL, 0, 0, 0, 0) == 0;
}

/* The loop: after a release or a retry, schedules the next retry while
 * removals are left. */
static void removed(thread_job_t *tj)
{
    job_t *j = (job_t *)tj;
    cgroup_mover_t *m = j->m;
    if (j->kind == JOB_RETRY_REMOVALS)
        m->retry_queued = 0;
    if (!j->left) {
        m->retry_ms = RETRY_FIRST_MS;
        loop_timer_stop(m->loop, &m->retry_timer);
        return;
    }
    if (m->retry_queued || loop_timer_armed(&m->retry_timer))
        return;
    loop_timer_start(m->loop, &m->retry_timer, m->retry_ms);
    if ((m->retry_ms *= 2) > RETRY_MAX_MS)
        m->retry_ms = RETRY_MAX_MS;
}

/* The loop: reports a placement. */
static void finish(thread_job_t *tj)
{
    job_t *j = (job_t *)tj;
    if (j->placed)
        j->placed(&j->p);
}

static void release(thread_job_t *tj)
{
    free(tj);
}

/* thread_jobs_visit: a queued move of pid (arg) is not to be done. */
static void cancel_move_of(thread_job_t *tj, void *arg)
{
    job_t *j = (job_t *)tj;
    if (tj->state == THREAD_JOB_QUEUED &&
        (j->kind == JOB_PLACE || j->kind == JOB_PLACE_ZYGOTE || j->kind == JOB_KEEP_WARM) &&
        (!arg || j->p.pid == *(const pid_t *)arg))
        j->cancelled = 1;
}

static int submit(cgroup_mover_t *m, job_kind_t kind, void *owner, cgroup_placed_fn placed,
                  uint32_t tag, pid_t pid, int mhz, int max_tasks)
{
    job_t *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->tj.run = run;
    if (kind == JOB_PLACE || kind == JOB_PLACE_ZYGOTE || kind == JOB_KEEP_WARM)
        j->tj.finish = placed ? finish : NULL;
    else
        j->tj.finish = removed;
    j->tj.release = release;
    j->m = m;
    j->kind = kind;
    j->placed = placed;
    j->p.owner = owner;
    j->p.tag = tag;
    j->p.pid = pid;
    j->mhz = mhz;
    j->max_tasks = max_tasks;
    if (kind == JOB_RELEASE || kind == JOB_RELEASE_ZYGOTE)
        thread_jobs_visit(m->jobs, cancel_move_of, &pid);
    /* A zygote's first: it forks its first spare about 15 ms after exec,
     * and that spare should be born under the server's task total. */
    thread_jobs_push(m->jobs, &j->tj, kind == JOB_PLACE_ZYGOTE);
    return 0;
}

int cgroup_mover_place(cgroup_mover_t *m, void *owner, cgroup_placed_fn placed, uint32_t tag,
                       pid_t pid, int mhz, int max_tasks)
{
    return submit(m, JOB_PLACE, owner, placed, tag, pid, mhz, max_tasks);
}

int cgroup_mover_place_zygote(cgroup_mover_t *m, void *owner, cgroup_placed_fn placed, pid_t pid)
{
    if (submit(m, JOB_PLACE_ZYGOTE, owner, placed, 0, pid, 0, 0) < 0)
        return -1;
    /* Queued last: it runs once the queue is idle. Without memory for it
     * a cold start only waits a little longer. */
    if (m->threads)
        submit(m, JOB_KEEP_WARM, NULL, NULL, 0, pid, 0, 0);
    return 0;
}

void cgroup_mover_release(cgroup_mover_t *m, pid_t pid, int zygote)
{
    /* Without memory the cgroup stays until the server's own goes
     * (cgroup_tree_close removes every child). */
    submit(m, zygote ? JOB_RELEASE_ZYGOTE : JOB_RELEASE, NULL, NULL, 0, pid, 0, 0);
}

/* thread_jobs_visit: owner's jobs report nothing. */
static void forget_owner(thread_job_t *tj, void *owner)
{
    job_t *j = (job_t *)tj;
    if (j->p.owner == owner)
        j->placed = NULL;
}

void cgroup_mover_forget(cgroup_mover_t *m, void *owner)
{
    thread_jobs_visit(m->jobs, forget_owner, owner);
}

cgroup_mover_t *cgroup_mover_start(loop_t *loop, cpu_cap_t *cpu, thread_cap_t *threads, char *why,
                                   size_t n)
{
    cgroup_mover_t *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(why, n, "out of memory");
        return NULL;
    }
    m->cpu = cpu;
    m->threads = threads;
    m->loop = loop;
    m->retry_timer.cb = retry_due;
    m->retry_ms = RETRY_FIRST_MS;
    if (!(m->jobs = thread_jobs_start(loop, 1, why, n))) {
        free(m);
        return NULL;
    }
    return m;
}

void cgroup_mover_stop(cgroup_mover_t *m)
{
    if (!m)
        return;
    /* Every process is gone by now: only the removals are left to do. */
    thread_jobs_visit(m->jobs, cancel_move_of, NULL);
    loop_timer_stop(m->loop, &m->retry_timer);
    thread_jobs_stop(m->jobs);
    free(m);
}
