#include "request_queue.h"

#include <pthread.h>
#include <stddef.h>

/* A plain FIFO under one mutex: at most a few dozen requests are ever in
 * flight per instance (max_concurrent_requests), so contention is low and a
 * lock-free queue would buy nothing. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t have_work = PTHREAD_COND_INITIALIZER; /* workers wait */
static pthread_cond_t drained = PTHREAD_COND_INITIALIZER;   /* main thread waits */
static gaelic_request_t *head, *tail;
static unsigned long running;
static int shutting_down;

static int is_drained(void)
{
    return shutting_down && !head && running == 0;
}

void rq_push(gaelic_request_t *r)
{
    r->next = NULL;
    pthread_mutex_lock(&lock);
    if (tail)
        tail->next = r;
    else
        head = r;
    tail = r;
    pthread_cond_signal(&have_work);
    pthread_mutex_unlock(&lock);
}

/* Called with lock held. */
static gaelic_request_t *take_head(void)
{
    gaelic_request_t *r = head;
    if (r) {
        head = r->next;
        if (!head)
            tail = NULL;
        r->next = NULL;
        running++;
    }
    return r;
}

gaelic_request_t *rq_pop_wait(void)
{
    pthread_mutex_lock(&lock);
    while (!head && !shutting_down)
        pthread_cond_wait(&have_work, &lock);
    gaelic_request_t *r = take_head();
    pthread_mutex_unlock(&lock);
    return r;
}

gaelic_request_t *rq_try_pop(void)
{
    pthread_mutex_lock(&lock);
    gaelic_request_t *r = take_head();
    pthread_mutex_unlock(&lock);
    return r;
}

void rq_done(void)
{
    pthread_mutex_lock(&lock);
    if (running > 0)
        running--;
    if (is_drained())
        pthread_cond_broadcast(&drained);
    pthread_mutex_unlock(&lock);
}

void rq_begin_shutdown(void)
{
    pthread_mutex_lock(&lock);
    shutting_down = 1;
    pthread_cond_broadcast(&have_work);
    if (is_drained())
        pthread_cond_broadcast(&drained);
    pthread_mutex_unlock(&lock);
}

int rq_shutting_down(void)
{
    pthread_mutex_lock(&lock);
    int s = shutting_down;
    pthread_mutex_unlock(&lock);
    return s;
}

void rq_wait_drained(void)
{
    pthread_mutex_lock(&lock);
    while (!is_drained())
        pthread_cond_wait(&drained, &lock);
    pthread_mutex_unlock(&lock);
}
