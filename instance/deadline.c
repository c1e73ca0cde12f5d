#include "deadline.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
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
    int woken;           /* an exception came while sleeping: the sleeper raises it */
    PyObject *wake_exc;  /* with woken: that exception's class (a reference) */
    int poked;           /* thread_control has a call for the sleeper */
    pthread_cond_t wake;
} waiter_t;

/* Guards the list and the sleepers' flags. The other fields only change
 * with the GIL held, which every reader of them holds too. Workers have an
 * entry for life; any other thread only while it sleeps (on its stack). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static waiter_t *waiters;
static __thread waiter_t *self;
static PyObject *deadline_error;

void deadline_set_error(PyObject *type)
{
    Py_XINCREF(type);
    Py_XSETREF(deadline_error, type);
}

/* Zeroes *w, sets it up for the calling thread and lists it. */
static int waiter_init(waiter_t *w)
{
    memset(w, 0, sizeof *w);
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    int err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (err == 0)
        err = pthread_cond_init(&w->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (err != 0)
        return -1;
    w->thread_id = PyThread_get_thread_ident();
    pthread_mutex_lock(&lock);
    w->next = waiters;
    waiters = w;
    pthread_mutex_unlock(&lock);
    return 0;
}

static void waiter_unlist(waiter_t *w)
{
    pthread_mutex_lock(&lock);
    for (waiter_t **p = &waiters; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    pthread_cond_destroy(&w->wake);
}

static waiter_t *waiter_new(void)
{
    waiter_t *w = malloc(sizeof *w);
    if (w && waiter_init(w) < 0) {
        free(w);
        return NULL;
    }
    return w;
}

/* Lock and GIL held: w sleeps; it wakes up and raises exc. */
static void wake_locked(waiter_t *w, PyObject *exc)
{
    if (w->woken)
        return; /* one exception at a time, as PyThreadState_SetAsyncExc */
    w->woken = 1;
    w->wake_exc = Py_NewRef(exc);
    pthread_cond_signal(&w->wake);
}

void deadline_arm(uint32_t id)
{
    /* Out of memory: this request gets no exception, only the master's
     * kill at the end of the grace. */
    if (!self && !(self = waiter_new()))
        return;
    self->request_id = id;
    self->fired = 0;
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
    if (fired && PyThreadState_Get()->async_exc && thread_control_drop_async_exc() < 0)
        PyErr_Clear(); /* out of memory: it lands later */
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
        if (w->sleeping)
            wake_locked(w, deadline_error);
        else
            raise = 1;
    }
    pthread_mutex_unlock(&lock);
    /* Still under the GIL: the thread cannot disarm in between. A thread
     * waiting for an API answer stops waiting, so the exception lands. */
    if (raise) {
        thread_control_set_async_exc(w->thread_id, deadline_error);
        api_call_interrupt(w->thread_id);
    }
    PyGILState_Release(g);
}

int deadline_raise_in(unsigned long thread_id, PyObject *exc)
{
    int woke = 0;
    pthread_mutex_lock(&lock);
    for (waiter_t *w = waiters; w && !woke; w = w->next) {
        if (w->thread_id == thread_id && w->sleeping) {
            wake_locked(w, exc);
            woke = 1;
        }
    }
    pthread_mutex_unlock(&lock);
    if (woke)
        return 1;
    int found = thread_control_set_async_exc(thread_id, exc);
    if (found)
        api_call_interrupt(thread_id);
    return found;
}

int deadline_exception_pending(void)
{
    return self && self->request_id && self->fired && PyThreadState_Get()->async_exc;
}

int deadline_passed(void)
{
    return self && self->request_id && self->fired && !PyThreadState_Get()->async_exc;
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

/* Lock held: the sleeper is done; *exc is what it is to raise, or NULL. */
static void stop_sleeping_locked(waiter_t *w, PyObject **exc)
{
    w->sleeping = 0;
    *exc = w->woken ? w->wake_exc : NULL;
    w->woken = 0;
    w->wake_exc = NULL;
}

int deadline_sleep(double secs)
{
    /* A call left for this thread while it ran C code (the shutdown hook)
     * runs first: its poke found no sleeper, and no line event may come
     * between that code and this sleep. From here to the wait the GIL is
     * held, so a later one finds the sleeper. */
    if (thread_control_run_pending() < 0)
        return -1;
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    double whole = floor(secs);
    end.tv_sec += (time_t)whole;
    end.tv_nsec += (long)((secs - whole) * 1e9);
    if (end.tv_nsec >= 1000000000L) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000L;
    }
    /* An exception meant for this thread (its request's deadline, most
     * often) came while it was in C code: it lands as soon as this call
     * returns. */
    if (PyThreadState_Get()->async_exc)
        return 0;
    /* A thread other than a worker (one a request started, say) is listed
     * for the length of this sleep, so that deadline_raise_in (the deadline
     * of its request, the shutdown notice) and deadline_poke reach it too. */
    waiter_t local, *w = self;
    if (!w) {
        if (waiter_init(&local) < 0) {
            /* Out of resources: a sleep only the master's kill can end. */
            PyThreadState *ts = PyEval_SaveThread();
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &end, NULL) == EINTR)
                ;
            PyEval_RestoreThread(ts);
            return 0;
        }
        w = &local;
    }
    pthread_mutex_lock(&lock);
    w->sleeping = 1;
    pthread_mutex_unlock(&lock);
    PyObject *exc = NULL;
    int failed = 0;
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
            failed = 1;
            break;
        }
        pthread_mutex_lock(&lock);
        w->sleeping = 1; /* a sleep inside the call has cleared it */
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    stop_sleeping_locked(w, &exc);
    pthread_mutex_unlock(&lock);
    if (w == &local)
        waiter_unlist(w);
    if (exc) {
        /* After a failed call its own exception stands: the sleep is over
         * either way. */
        if (!failed)
            PyErr_SetNone(exc);
        Py_DECREF(exc);
        return -1;
    }
    return failed ? -1 : 0;
}
