/* The job queue (src/thread_jobs.c): jobs run in order in the queue's
 * thread and come back to the loop; a job's run may wait for the queue to
 * have something else to do (thread_jobs_wait_queued), and that wait ends
 * when the loop queues a job, or the queue stops, or its time passes. */
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "thread_jobs.h"
#include "unit.h"
#include "unit_loop.h"

typedef struct {
    thread_job_t tj; /* must stay first */
    thread_jobs_t *q;
    int wait_ms;
    atomic_int waiting; /* the run is in its wait */
    int result;         /* what the wait returned */
    int finished;
    int order, *next_order;
} job_t;

static void run_waiting(thread_job_t *tj)
{
    job_t *j = (job_t *)tj;
    atomic_store(&j->waiting, 1);
    j->result = thread_jobs_wait_queued(j->q, j->wait_ms);
}

/* Busy until the test lets it go (not waiting on the queue). */
static atomic_int let_go;

static void run_held(thread_job_t *tj)
{
    job_t *j = (job_t *)tj;
    atomic_store(&j->waiting, 1);
    for (int i = 0; i < 10000 && !atomic_load(&let_go); i++)
        usleep(1000);
}

static void run_plain(thread_job_t *tj)
{
    job_t *j = (job_t *)tj;
    j->order = (*j->next_order)++; /* one queue thread: no race */
}

static void finish(thread_job_t *tj)
{
    ((job_t *)tj)->finished = 1;
}

static void release(thread_job_t *tj)
{
    (void)tj; /* on the test's stack */
}

static void init_job(job_t *j, thread_jobs_t *q, void (*run)(thread_job_t *), int *next_order)
{
    *j = (job_t){.q = q, .next_order = next_order};
    j->tj.run = run;
    j->tj.finish = finish;
    j->tj.release = release;
    atomic_init(&j->waiting, 0);
}

static void run_until(loop_t *loop, const int *flag)
{
    for (int i = 0; i < 1000 && !*flag; i++)
        unit_run_for(loop, 10);
}

/* Until j's run has begun (the queue's thread is in it). */
static void run_until_running(loop_t *loop, job_t *j)
{
    for (int i = 0; i < 1000 && !atomic_load(&j->waiting); i++)
        unit_run_for(loop, 1);
}

int main(void)
{
    loop_t loop;
    CHECK(loop_init(&loop) == 0);
    char why[256];
    thread_jobs_t *q = thread_jobs_start(&loop, 1, why, sizeof why);
    CHECK(q != NULL);
    if (!q)
        UNIT_DONE();
    int next_order = 0;

    /* Nothing queued: the wait lasts its time and says so. */
    job_t alone;
    init_job(&alone, q, run_waiting, &next_order);
    alone.wait_ms = 20;
    thread_jobs_push(q, &alone.tj, 0);
    run_until(&loop, &alone.finished);
    CHECK(alone.finished && alone.result == 0);

    /* A job queued while a run waits ends the wait, however long it was
     * to be; that job runs next. */
    job_t waiter, next;
    init_job(&waiter, q, run_waiting, &next_order);
    init_job(&next, q, run_plain, &next_order);
    waiter.wait_ms = 60 * 1000;
    thread_jobs_push(q, &waiter.tj, 0);
    run_until_running(&loop, &waiter);
    CHECK(atomic_load(&waiter.waiting));
    thread_jobs_push(q, &next.tj, 0);
    run_until(&loop, &next.finished);
    CHECK(waiter.finished && waiter.result == 1);
    CHECK(next.finished && next.order == 0);

    /* Jobs pushed first run ahead of those queued before them. */
    job_t blocker, later, sooner;
    init_job(&blocker, q, run_held, &next_order);
    init_job(&later, q, run_plain, &next_order);
    init_job(&sooner, q, run_plain, &next_order);
    atomic_init(&let_go, 0);
    thread_jobs_push(q, &blocker.tj, 0);
    run_until_running(&loop, &blocker);
    thread_jobs_push(q, &later.tj, 0);
    thread_jobs_push(q, &sooner.tj, 1);
    atomic_store(&let_go, 1);
    run_until(&loop, &later.finished);
    CHECK(sooner.order == 1 && later.order == 2);

    /* Stopping the queue ends a wait too: the stop does not wait it out. */
    job_t last;
    init_job(&last, q, run_waiting, &next_order);
    last.wait_ms = 60 * 1000;
    thread_jobs_push(q, &last.tj, 0);
    run_until_running(&loop, &last);
    CHECK(atomic_load(&last.waiting));
    thread_jobs_stop(q);
    CHECK(last.result == 1);

    loop_close(&loop);
    UNIT_DONE();
}
