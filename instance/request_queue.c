#include "request_queue.h"

#include <pthread.h>
#include <stddef.h>

#include "channel_reader.h"

/* One mutex guards the queue, the read role and the counters; nobody holds
 * it across a read or a Python call, so it is only ever held briefly. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t worker_wake = PTHREAD_COND_INITIALIZER; /* idle workers */
static pthread_cond_t reader_wake = PTHREAD_COND_INITIALIZER; /* the reader thread */
static pthread_cond_t drained = PTHREAD_COND_INITIALIZER;     /* the main thread */
static gaelic_request_t *head, *tail;
static unsigned long running;
static int idle_workers; /* workers inside rq_pop_wait */
static int role_held;
static int channel_open; /* a spare instance has no channel yet */
static int shutting_down;

static int is_drained(void)
{
    return shutting_down && !head && running == 0;
}

static void push_locked(gaelic_request_t *r)
{
    r->next = NULL;
    if (tail)
        tail->next = r;
    else
        head = r;
    tail = r;
}

static gaelic_request_t *pop_locked(void)
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

/* Called with the lock held when the role is given back: someone must
 * take it, an idle worker if there is one, else the reader thread. */
static void pass_role_locked(void)
{
    role_held = 0;
    if (idle_workers > 0)
        pthread_cond_signal(&worker_wake);
    else
        pthread_cond_signal(&reader_wake);
}

void rq_push(gaelic_request_t *r)
{
    pthread_mutex_lock(&lock);
    push_locked(r);
    pthread_cond_signal(&worker_wake);
    pthread_mutex_unlock(&lock);
}

gaelic_request_t *rq_pop_wait(void)
{
    gaelic_request_t *r = NULL;
    pthread_mutex_lock(&lock);
    idle_workers++;
    for (;;) {
        if ((r = pop_locked()) || shutting_down)
            break;
        if (role_held || !channel_open) {
            pthread_cond_wait(&worker_wake, &lock);
            continue;
        }
        /* Read the channel ourselves: no hand-off to another thread. */
        role_held = 1;
        idle_workers--;
        pthread_mutex_unlock(&lock);
        gaelic_request_t *mine = channel_read();
        pthread_mutex_lock(&lock);
        pass_role_locked();
        idle_workers++;
        if (mine) {
            running++;
            r = mine;
            break;
        }
    }
    idle_workers--;
    if (idle_workers == 0 && !role_held)
        pthread_cond_signal(&reader_wake);
    if (!r && is_drained())
        pthread_cond_broadcast(&drained);
    pthread_mutex_unlock(&lock);
    return r;
}

gaelic_request_t *rq_try_pop(void)
{
    pthread_mutex_lock(&lock);
    gaelic_request_t *r = pop_locked();
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

void rq_hold(void)
{
    pthread_mutex_lock(&lock);
    running++;
    pthread_mutex_unlock(&lock);
}

void rq_channel_opened(void)
{
    pthread_mutex_lock(&lock);
    channel_open = 1;
    pthread_cond_broadcast(&worker_wake);
    pthread_mutex_unlock(&lock);
}

void rq_reader_take_role(void)
{
    pthread_mutex_lock(&lock);
    while (role_held || idle_workers > 0 || !channel_open)
        pthread_cond_wait(&reader_wake, &lock);
    role_held = 1;
    pthread_mutex_unlock(&lock);
}

void rq_reader_release_role(void)
{
    pthread_mutex_lock(&lock);
    pass_role_locked();
    pthread_mutex_unlock(&lock);
}

void rq_begin_shutdown(void)
{
    pthread_mutex_lock(&lock);
    shutting_down = 1;
    pthread_cond_broadcast(&worker_wake);
    pthread_cond_broadcast(&drained); /* rq_wait_shutdown waits there too */
    pthread_mutex_unlock(&lock);
}

int rq_shutting_down(void)
{
    pthread_mutex_lock(&lock);
    int s = shutting_down;
    pthread_mutex_unlock(&lock);
    return s;
}

void rq_wait_shutdown(void)
{
    pthread_mutex_lock(&lock);
    while (!shutting_down)
        pthread_cond_wait(&drained, &lock);
    pthread_mutex_unlock(&lock);
}

void rq_wait_drained(void)
{
    pthread_mutex_lock(&lock);
    while (!is_drained())
        pthread_cond_wait(&drained, &lock);
    pthread_mutex_unlock(&lock);
}
