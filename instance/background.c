#include "background.h"

#include <pthread.h>

#include "channel_writer.h"
#include "gaelic_module.h"
#include "ipc.h"
#include "request_queue.h"

static int parse_id(PyObject *arg, uint32_t *id)
{
    unsigned long v = PyLong_AsUnsignedLong(arg);
    if (PyErr_Occurred())
        return -1;
    if (v > UINT32_MAX || !(v & IPC_BACKGROUND_ID_BIT)) {
        PyErr_SetString(PyExc_ValueError, "a background id is a u32 with the top bit set");
        return -1;
    }
    *id = (uint32_t)v;
    return 0;
}

/* Sends a frame whose payload is the n bytes at payload. */
static PyObject *send(uint16_t type, uint32_t id, const void *payload, size_t n)
{
    if (!channel_writer_ready())
        Py_RETURN_NONE; /* a spare instance runs no app code */
    buf_t b = BUF_INIT;
    long start = ipc_begin_frame(&b, type, id);
    if (start < 0) {
        buf_free(&b);
        return PyErr_NoMemory();
    }
    int rc = channel_send_frame(&b, start, payload, n, &gaelic_gil_hooks);
    buf_free(&b);
    if (rc < 0)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* A thread in background_started, waiting for the master's
 * IPC_BACKGROUND_STARTED or IPC_BACKGROUND_REFUSED. Lives on that
 * thread's stack. */
typedef struct waiter {
    struct waiter *next;
    uint32_t id;
    gaelic_request_t *answer;
    int refused;
} waiter_t;

static waiter_t *waiters;
static pthread_mutex_t waiters_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t answered = PTHREAD_COND_INITIALIZER;

/* With waiters_lock held. */
static waiter_t **find_waiter(uint32_t id)
{
    waiter_t **p = &waiters;
    while (*p && (*p)->id != id)
        p = &(*p)->next;
    return p;
}

void background_start_answered(gaelic_request_t *r)
{
    pthread_mutex_lock(&waiters_lock);
    /* w lives on its thread's stack: not to be touched once unlocked. */
    waiter_t *w = *find_waiter(r->id);
    int taken = w && !w->answer && !w->refused;
    if (taken) {
        w->answer = r;
        pthread_cond_broadcast(&answered);
    }
    pthread_mutex_unlock(&waiters_lock);
    if (!taken)
        request_free(r);
}

void background_start_refused(uint32_t id)
{
    pthread_mutex_lock(&waiters_lock);
    waiter_t *w = *find_waiter(id);
    if (w && !w->answer && !w->refused) {
        w->refused = 1;
        pthread_cond_broadcast(&answered);
    }
    pthread_mutex_unlock(&waiters_lock);
}

static void unlink_waiter(waiter_t *me)
{
    pthread_mutex_lock(&waiters_lock);
    *find_waiter(me->id) = me->next;
    pthread_mutex_unlock(&waiters_lock);
}

static PyObject *background_started(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *id_obj, *answer = NULL;
    uint32_t id;
    if (!PyArg_ParseTuple(args, "O|O!:background_started", &id_obj, &PyList_Type, &answer) ||
        parse_id(id_obj, &id) < 0)
        return NULL;
    if (!channel_writer_ready())
        Py_RETURN_NONE; /* a spare instance runs no app code */
    waiter_t me = {.id = id};
    pthread_mutex_lock(&waiters_lock);
    int taken = *find_waiter(id) != NULL;
    if (!taken) {
        me.next = waiters;
        waiters = &me;
    }
    pthread_mutex_unlock(&waiters_lock);
    if (taken) {
        PyErr_SetString(PyExc_ValueError, "that background thread is already starting");
        return NULL;
    }
    /* Registered first: the answer may come before this thread waits. */
    PyObject *sent = send(IPC_BACKGROUND_START, id, NULL, 0);
    if (!sent) {
        unlink_waiter(&me);
        return NULL;
    }
    Py_DECREF(sent);
    /* The master answers every well-formed start, and kills the instance
     * for one that breaks the protocol: no deadline. */
    PyThreadState *ts = PyEval_SaveThread();
    rq_block_begin();
    pthread_mutex_lock(&waiters_lock);
    while (!me.answer && !me.refused)
        pthread_cond_wait(&answered, &waiters_lock);
    *find_waiter(id) = me.next;
    pthread_mutex_unlock(&waiters_lock);
    rq_block_end();
    PyEval_RestoreThread(ts);
    if (me.refused)
        Py_RETURN_FALSE;
    PyObject *item = gaelic_request_item(me.answer);
    request_free(me.answer);
    if (!item)
        return NULL;
    PyObject *env = PyTuple_GET_ITEM(item, 3);
    if (env == Py_None) {
        Py_DECREF(item);
        return PyErr_NoMemory(); /* gaelic_request_item printed why */
    }
    /* In answer too, before the return: an exception raised in the caller
     * from outside (the shutdown hook's) lands as this call returns, and
     * drops the result, but the master has opened the thread's log. */
    if (answer && PyList_Append(answer, env) < 0) {
        Py_DECREF(item);
        return NULL;
    }
    Py_INCREF(env);
    Py_DECREF(item);
    return env;
}

static PyObject *stop_started(PyObject *self, PyObject *arg)
{
    (void)self;
    uint32_t id;
    if (parse_id(arg, &id) < 0)
        return NULL;
    buf_t kind = BUF_INIT;
    PyObject *sent = ipc_put_u32(&kind, IPC_BACKGROUND_STOP) < 0
                         ? PyErr_NoMemory()
                         : send(IPC_BACKGROUND_START, id, buf_ptr(&kind), kind.len);
    buf_free(&kind);
    return sent;
}

static PyObject *background_ended(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *id_obj;
    int failed;
    unsigned long long cpu_ns;
    uint32_t id;
    if (!PyArg_ParseTuple(args, "OpK:background_ended", &id_obj, &failed, &cpu_ns) ||
        parse_id(id_obj, &id) < 0)
        return NULL;
    /* Saturated, as IPC_RESPONSE's, where the master stops taking it. */
    uint64_t cpu_us = cpu_ns / 1000u;
    buf_t p = BUF_INIT;
    PyObject *sent;
    if (ipc_put_u32(&p, (uint32_t)failed) < 0 ||
        ipc_put_u64(&p, cpu_us > IPC_MAX_CPU_US ? IPC_MAX_CPU_US : cpu_us) < 0)
        sent = PyErr_NoMemory();
    else
        sent = send(IPC_BACKGROUND_END, id, buf_ptr(&p), p.len);
    buf_free(&p);
    return sent;
}

static PyObject *request_hook; /* set_background_request_hook's callable */

static PyObject *set_background_request_hook(PyObject *self, PyObject *arg)
{
    (void)self;
    return gaelic_set_hook(&request_hook, arg, "set_background_request_hook");
}

void background_request_arrived(gaelic_request_t *r)
{
    rq_hold(); /* until send_response answers it */
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *item = gaelic_request_item(r);
    request_free(r);
    PyObject *res = item && request_hook ? PyObject_CallOneArg(request_hook, item) : NULL;
    if (!res) {
        /* Only when memory runs out: the request stays unanswered. */
        if (PyErr_Occurred())
            PyErr_Print();
        fprintf(stderr, "gaelic: cannot start a background request\n");
        if (!item)
            rq_done();
    }
    Py_XDECREF(res);
    Py_XDECREF(item);
    PyGILState_Release(g);
}

PyMethodDef background_methods[] = {
    {"set_background_request_hook", set_background_request_hook, METH_O,
     "set_background_request_hook(f): f(item) starts each background request."},
    {"background_started", background_started, METH_VARARGS,
     "background_started(id[, answer]) -> environ: a background thread starts (its request log "
     "opens); the environ is appended to the list answer too."},
    {"stop_started", stop_started, METH_O,
     "stop_started(id): the internal /_ah/stop request starts (its request log opens, taking "
     "the lines logged under id; no answer comes)."},
    {"background_ended", background_ended, METH_VARARGS,
     "background_ended(id, failed, cpu_ns): it ended (its request log is complete)."},
    {NULL, NULL, 0, NULL},
};
