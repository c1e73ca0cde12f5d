#include "gzip_worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gzip.h"

/* Threads: one per CPU, up to this many. More would only take CPU from
 * the loop and the instances. */
#define GZIP_THREADS_MAX 4

typedef enum { TASK_QUEUED, TASK_RUNNING, TASK_DONE } task_state_t;

struct gzip_task {
    gzip_task_t *next;
    task_state_t state; /* guarded by the worker's mu, as are the lists */
    atomic_int cancelled;
    gzip_done_fn done;
    void *owner;
    size_t len;
    buf_t gz;
    char body[]; /* the copy */
};

typedef struct {
    gzip_task_t *head, **tail;
} task_list_t;

struct gzip_worker {
    loop_t *loop;
    io_watch_t w; /* the eventfd */
    pthread_t threads[GZIP_THREADS_MAX];
    int n_threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* guarded by mu: */
    task_list_t todo, finished;
    int stop;
};

static void list_init(task_list_t *l)
{
    l->head = NULL;
    l->tail = &l->head;
}

static void list_push(task_list_t *l, gzip_task_t *t)
{
    t->next = NULL;
    *l->tail = t;
    l->tail = &t->next;
}

static gzip_task_t *list_pop(task_list_t *l)
{
    gzip_task_t *t = l->head;
    if (t && !(l->head = t->next))
        l->tail = &l->head;
    return t;
}

static void list_remove(task_list_t *l, gzip_task_t *t)
{
    gzip_task_t **pp = &l->head;
    while (*pp && *pp != t)
        pp = &(*pp)->next;
    if (!*pp)
        return;
    *pp = t->next;
    if (l->tail == &t->next)
        l->tail = pp;
}

static void task_free(gzip_task_t *t)
{
    buf_free(&t->gz);
    free(t);
}

static void *worker_main(void *arg)
{
    gzip_worker_t *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        gzip_task_t *t = list_pop(&w->todo);
        if (!t) {
            if (w->stop)
                break;
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        t->state = TASK_RUNNING;
        pthread_mutex_unlock(&w->mu);
        /* A failure leaves gz empty: the body goes out as it is. */
        gzip_compress_cancellable(t->body, t->len, &t->gz, &t->cancelled);
        pthread_mutex_lock(&w->mu);
        if (atomic_load(&t->cancelled)) {
            task_free(t);
            continue;
        }
        t->state = TASK_DONE;
        list_push(&w->finished, t);
        uint64_t one = 1;
        /* Fails only when the counter is full: the loop is woken anyway. */
        ssize_t woken = write(w->w.fd, &one, sizeof one);
        (void)woken;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* The loop: hands each finished task to its owner, one at a time (a
 * callback may cancel other tasks). */
static void worker_event(loop_t *loop, io_watch_t *iw, uint32_t events)
{
    (void)loop;
    (void)events;
    gzip_worker_t *w = (gzip_worker_t *)((char *)iw - offsetof(gzip_worker_t, w));
    uint64_t n;
    while (read(w->w.fd, &n, sizeof n) == (ssize_t)sizeof n)
        ;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        gzip_task_t *t = list_pop(&w->finished);
        pthread_mutex_unlock(&w->mu);
        if (!t)
            break;
        t->done(t->owner, t->body, t->len, &t->gz);
        task_free(t);
    }
}

gzip_task_t *gzip_worker_submit(gzip_worker_t *w, const char *body, size_t len, gzip_done_fn done,
                                void *owner)
{
    gzip_task_t *t = malloc(sizeof *t + len);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    atomic_init(&t->cancelled, 0);
    t->done = done;
    t->owner = owner;
    t->len = len;
    memcpy(t->body, body, len);
    pthread_mutex_lock(&w->mu);
    t->state = TASK_QUEUED;
    list_push(&w->todo, t);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return t;
}

void gzip_worker_cancel(gzip_worker_t *w, gzip_task_t *t)
{
    pthread_mutex_lock(&w->mu);
    atomic_store(&t->cancelled, 1);
    if (t->state == TASK_RUNNING) {
        t = NULL; /* its thread frees it */
    } else {
        list_remove(t->state == TASK_QUEUED ? &w->todo : &w->finished, t);
    }
    pthread_mutex_unlock(&w->mu);
    if (t)
        task_free(t);
}

static int thread_count(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : cpus > GZIP_THREADS_MAX ? GZIP_THREADS_MAX : (int)cpus;
}

gzip_worker_t *gzip_worker_start(loop_t *loop, char *why, size_t n)
{
    gzip_worker_t *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(why, n, "out of memory");
        return NULL;
    }
    w->loop = loop;
    list_init(&w->todo);
    list_init(&w->finished);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->w.cb = worker_event;
    if ((w->w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
        loop_add(loop, &w->w, EPOLLIN) < 0) {
        snprintf(why, n, "eventfd: %s", strerror(errno));
        if (w->w.fd >= 0)
            close(w->w.fd);
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    /* Signals stay with the loop's signalfd: the threads block them all. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int want = thread_count(), err = 0;
    while (w->n_threads < want &&
           !(err = pthread_create(&w->threads[w->n_threads], NULL, worker_main, w)))
        w->n_threads++;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (w->n_threads == 0) {
        snprintf(why, n, "cannot start a thread: %s", strerror(err));
        gzip_worker_stop(w);
        return NULL;
    }
    return w;
}

void gzip_worker_stop(gzip_worker_t *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->n_threads; i++)
        pthread_join(w->threads[i], NULL);
    for (gzip_task_t *t; (t = list_pop(&w->todo)) || (t = list_pop(&w->finished));)
        task_free(t);
    loop_del(w->loop, &w->w);
    close(w->w.fd);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
