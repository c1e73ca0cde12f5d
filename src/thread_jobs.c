#include "thread_jobs.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    thread_job_t *head, **tail;
} job_list_t;

struct thread_jobs {
    loop_t *loop;
    io_watch_t w; /* the eventfd */
    pthread_t threads[THREAD_JOBS_MAX_THREADS];
    int n_threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* guarded by mu, as are the jobs' state and next: */
    job_list_t queued, running, finished;
    int stop;
};

static void list_init(job_list_t *l)
{
    l->head = NULL;
    l->tail = &l->head;
}

static void list_push(job_list_t *l, thread_job_t *j)
{
    j->next = NULL;
    *l->tail = j;
    l->tail = &j->next;
}

static void list_push_first(job_list_t *l, thread_job_t *j)
{
    if (!(j->next = l->head))
        l->tail = &j->next;
    l->head = j;
}

static thread_job_t *list_pop(job_list_t *l)
{
    thread_job_t *j = l->head;
    if (j && !(l->head = j->next))
        l->tail = &l->head;
    return j;
}

static void list_remove(job_list_t *l, thread_job_t *j)
{
    thread_job_t **pp = &l->head;
    while (*pp && *pp != j)
        pp = &(*pp)->next;
    if (!*pp)
        return;
    if (!(*pp = j->next))
        l->tail = pp;
}

static void *queue_main(void *arg)
{
    thread_jobs_t *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        thread_job_t *j = list_pop(&q->queued);
        if (!j) {
            if (q->stop)
                break;
            pthread_cond_wait(&q->cv, &q->mu);
            continue;
        }
        j->state = THREAD_JOB_RUNNING;
        list_push(&q->running, j);
        pthread_mutex_unlock(&q->mu);
        j->run(j);
        pthread_mutex_lock(&q->mu);
        list_remove(&q->running, j);
        if (atomic_load(&j->dropped) || !j->finish) {
            j->release(j);
            continue;
        }
        j->state = THREAD_JOB_FINISHED;
        list_push(&q->finished, j);
        uint64_t one = 1;
        /* Fails only when the counter is full: the loop is woken anyway. */
        ssize_t woken = write(q->w.fd, &one, sizeof one);
        (void)woken;
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

/* The loop: hands finished jobs back one at a time (a finish may drop
 * other jobs). */
static void queue_event(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)loop;
    (void)events;
    thread_jobs_t *q = (thread_jobs_t *)((char *)w - offsetof(thread_jobs_t, w));
    uint64_t n;
    while (read(q->w.fd, &n, sizeof n) == (ssize_t)sizeof n)
        ;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        thread_job_t *j = list_pop(&q->finished);
        pthread_mutex_unlock(&q->mu);
        if (!j)
            break;
        j->finish(j);
        j->release(j);
    }
}

void thread_jobs_push(thread_jobs_t *q, thread_job_t *j, int first)
{
    atomic_init(&j->dropped, 0);
    pthread_mutex_lock(&q->mu);
    j->state = THREAD_JOB_QUEUED;
    if (first)
        list_push_first(&q->queued, j);
    else
        list_push(&q->queued, j);
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

int thread_jobs_wait_queued(thread_jobs_t *q, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->mu);
    int err = 0;
    while (!q->queued.head && !q->stop && err != ETIMEDOUT)
        err = pthread_cond_timedwait(&q->cv, &q->mu, &until);
    int ready = q->queued.head || q->stop;
    pthread_mutex_unlock(&q->mu);
    return ready;
}

void thread_jobs_drop(thread_jobs_t *q, thread_job_t *j)
{
    pthread_mutex_lock(&q->mu);
    atomic_store(&j->dropped, 1);
    if (j->state == THREAD_JOB_RUNNING)
        j = NULL; /* its thread releases it */
    else
        list_remove(j->state == THREAD_JOB_QUEUED ? &q->queued : &q->finished, j);
    pthread_mutex_unlock(&q->mu);
    if (j)
        j->release(j);
}

void thread_jobs_visit(thread_jobs_t *q, void (*fn)(thread_job_t *j, void *arg), void *arg)
{
    pthread_mutex_lock(&q->mu);
    job_list_t *lists[] = {&q->queued, &q->running, &q->finished};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        for (thread_job_t *j = lists[i]->head; j; j = j->next)
            fn(j, arg);
    pthread_mutex_unlock(&q->mu);
}

thread_jobs_t *thread_jobs_start(loop_t *loop, int n_threads, char *why, size_t n)
{
    thread_jobs_t *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(why, n, "out of memory");
        return NULL;
    }
    q->loop = loop;
    list_init(&q->queued);
    list_init(&q->running);
    list_init(&q->finished);
    pthread_mutex_init(&q->mu, NULL);
    /* Timed waits (thread_jobs_wait_queued) on the monotonic clock. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    q->w.cb = queue_event;
    if ((q->w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
        loop_add(loop, &q->w, EPOLLIN) < 0) {
        snprintf(why, n, "eventfd: %s", strerror(errno));
        if (q->w.fd >= 0)
            close(q->w.fd);
        pthread_cond_destroy(&q->cv);
        pthread_mutex_destroy(&q->mu);
        free(q);
        return NULL;
    }
    if (n_threads > THREAD_JOBS_MAX_THREADS)
        n_threads = THREAD_JOBS_MAX_THREADS;
    /* Signals stay with the loop's signalfd: the threads block them all. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = 0;
    while (q->n_threads < n_threads &&
           !(err = pthread_create(&q->threads[q->n_threads], NULL, queue_main, q)))
        q->n_threads++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (q->n_threads == 0) {
        snprintf(why, n, "cannot start a thread: %s", strerror(err));
        thread_jobs_stop(q);
        return NULL;
    }
    return q;
}

void thread_jobs_stop(thread_jobs_t *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; i < q->n_threads; i++)
        pthread_join(q->threads[i], NULL);
    for (thread_job_t *j; (j = list_pop(&q->queued)) || (j = list_pop(&q->finished));)
        j->release(j);
    loop_del(q->loop, &q->w);
    close(q->w.fd);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}
