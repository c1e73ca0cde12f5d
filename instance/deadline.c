#include "deadline.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "api_call.h"
#include "request_queue.h"
#include "thread_control.h"

/* One per worker thread, created at its first request and kept for the
 * life of the process (workers live as long as it). */
typedef struct waiter {
    struct waiter *next;
    unsigned long thread_id;
    uint32_t request_id; /* 0: no request armed */
    int fired;           /* its deadline came (once per request) */
    int sleeping;        /* inside deadline_sleep */
    int woken;           /* fired while sleeping: the sleeper raises */
    int poked;           /* thread_control has a call for the sleeper */
    pthread_cond_t wake;
} waiter_t;

/* Guards the list and the sleepers' flags. The other fields only change
 * with the GIL held, which every reader of them holds too. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static waiter_t *waiters;
static __thread waiter_t *self;
static PyObject *deadline_error;

void deadline_set_error(PyObject *type)
{
    Py_XINCREF(type);
    Py_XSETREF(deadline_error, type);
}

static waiter_t *waiter_new(void)
{
    waiter_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        free(w);
        return NULL;
    }
    int err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (err == 0)
        err = pthread_cond_init(&w->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (err != 0) {
        free(w);
        return NULL;
    }
    w->thread_id = PyThread_get_thread_ident();
    pthread_mutex_lock(&lock);
    w->next = waiters;
    waiters = w;
    pthread_mutex_unlock(&lock);
    return w;
}

void deadline_arm(uint32_t id)
{
    /* Out of memory: this request gets no exception, only the master's
     * kill at the end of the grace. */
    if (!self && !(self = waiter_new()))
        return;
    self->request_id = id;
    self->fired = 0;
    self->woken = 0;
}

void deadline_disarm(void)
{
    waiter_t *w = self;
    if (!w || !w->request_id)
        return;
    int fired = w->fired;
    w->request_id = 0;
    w->fired = 0;
    /* A deadline that came just as the handler ended may still be pending:
     * it must not land in the runtime or in the thread's next request. */
    if (fired && PyThreadState_Get()->async_exc)
        PyThreadState_SetAsyncExc(w->thread_id, NULL);
}

void deadline_fire(uint32_t id)
{
    if (!id)
        return;
    PyGILState_STATE g = PyGILState_Ensure();
    waiter_t *w;
    pthread_mutex_lock(&lock);
    for (w = waiters; w && w->request_id != id; w = w->next)
        ;
    int raise = 0;
    if (w && !w->fired && deadline_error) {
        w->fired = 1;
        if (w->sleeping) {
            w->woken = 1;
            pthread_cond_signal(&w->wake);
        } else {
            raise = 1;
        }
    }
    pthread_mutex_unlock(&lock);
    /* Still under the GIL: the thread cannot disarm in between. A thread
     * waiting for an API answer stops waiting, so the exception lands. */
    if (raise) {
        PyThreadState_SetAsyncExc(w->thread_id, deadline_error);
        api_call_interrupt(w->thread_id);
    }
    PyGILState_Release(g);
}

int deadline_exception_pending(void)
{
    return self && self->request_id && self->fired && PyThreadState_Get()->async_exc;
}

void deadline_poke(unsigned long thread_id)
{
    pthread_mutex_lock(&lock);
    for (waiter_t *w = waiters; w; w = w->next) {
        if (w->thread_id == thread_id && w->sleeping) {
            w->poked = 1;
            pthread_cond_signal(&w->wake);
        }
    }
    pthread_mutex_unlock(&lock);
}

int deadline_sleep(double secs)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    double whole = floor(secs);
    end.tv_sec += (time_t)whole;
    end.tv_nsec += (long)((secs - whole) * 1e9);
    if (end.tv_nsec >= 1000000000L) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000L;
    }
    waiter_t *w = self && self->request_id ? self : NULL;
    if (w) {
        /* The deadline came while this thread was in C code: its exception
         * is pending and lands as soon as this call returns. */
        if (deadline_exception_pending())
            return 0;
        pthread_mutex_lock(&lock);
        w->sleeping = 1;
        pthread_mutex_unlock(&lock);
    }
    int woken = 0;
    if (!w) {
        /* Outside a request (a thread the app started): a plain sleep. */
        PyThreadState *ts = PyEval_SaveThread();
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &end, NULL) == EINTR)
            ;
        PyEval_RestoreThread(ts);
        return 0;
    }
    for (;;) {
        PyThreadState *ts = PyEval_SaveThread();
        rq_block_begin();
        pthread_mutex_lock(&lock);
        int rc = 0;
        while (!w->woken && !w->poked && rc == 0)
            rc = pthread_cond_timedwait(&w->wake, &lock, &end);
        int poked = w->poked && !w->woken;
        w->poked = 0;
        pthread_mutex_unlock(&lock);
        rq_block_end();
        PyEval_RestoreThread(ts);
        if (!poked)
            break;
        /* A call meant for this thread (the shutdown hook) runs inside the
         * sleep, as a signal handler would in the main thread: its
         * exception ends the sleep, else the sleep goes on. */
        if (thread_control_run_pending() < 0) {
            pthread_mutex_lock(&lock);
            w->sleeping = 0;
            pthread_mutex_unlock(&lock);
            return -1;
        }
        pthread_mutex_lock(&lock);
        w->sleeping = 1; /* a sleep inside the call has cleared it */
        pthread_mutex_unlock(&lock);
    }
    {
        pthread_mutex_lock(&lock);
        w->sleeping = 0;
        woken = w->woken;
        w->woken = 0;
        pthread_mutex_unlock(&lock);
    }
    if (woken) {
        PyErr_SetNone(deadline_error);
        return -1;
    }
    return 0;
}
