#include "thread_control.h"

#include "api_call.h"
#include "deadline.h"
#include "request_queue.h"

/* The thread state of thread thread_id: the oldest with that id. A thread
 * that Thread.start() has created has its thread state at once, with the id
 * of the thread that started it until its own thread runs and sets its own;
 * the newest come first, so the first with the id may be that new thread's,
 * and what was meant for a handler that starts threads went to one of them
 * (CPython's PyThreadState_SetAsyncExc looks up that way). */
static PyThreadState *find_thread(unsigned long thread_id)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    PyThreadState *found = NULL;
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp); t; t = PyThreadState_Next(t))
        if (t->thread_id == thread_id)
            found = t;
    return found;
}

int thread_control_set_async_exc(unsigned long thread_id, PyObject *exc)
{
    PyThreadState *t = find_thread(thread_id);
    if (!t)
        return 0;
    /* Only PyThreadState_SetAsyncExc turns on the interpreter's signal that
     * an exception is pending, and it stays on until one lands. Given none,
     * it only clears the slot of the newest thread state with the id: done
     * first, so that it cannot clear t's. */
    PyThreadState_SetAsyncExc(thread_id, NULL);
    Py_XSETREF(t->async_exc, Py_NewRef(exc));
    return 1;
}

/* Runs in the target thread at its next trace event (a line, a call, a
 * return), with tracing already suspended by the interpreter. Returning -1
 * with the exception set raises it in the frame being traced. */
static int run_once(PyObject *func, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)frame;
    (void)what;
    (void)arg;
    Py_INCREF(func); /* clearing the trace drops the interpreter's reference */
    if (_PyEval_SetTrace(PyThreadState_Get(), NULL, NULL) < 0) {
        Py_DECREF(func);
        return -1;
    }
    PyObject *r = PyObject_CallNoArgs(func);
    Py_DECREF(func);
    if (!r)
        return -1;
    Py_DECREF(r);
    return 0;
}

int thread_control_run_pending(void)
{
    PyThreadState *t = PyThreadState_Get();
    if (t->c_tracefunc != run_once)
        return 0;
    return run_once(t->c_traceobj, NULL, PyTrace_LINE, NULL);
}

static PyObject *call_in_thread(PyObject *self, PyObject *args)
{
    (void)self;
    unsigned long thread_id;
    PyObject *func;
    if (!PyArg_ParseTuple(args, "kO:call_in_thread", &thread_id, &func))
        return NULL;
    if (!PyCallable_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "call_in_thread needs a callable");
        return NULL;
    }
    PyThreadState *t = find_thread(thread_id);
    if (!t)
        Py_RETURN_FALSE;
    /* A trace function the app set on that thread is replaced: requests
     * that are being shut down do not need their debugger any more. */
    if (_PyEval_SetTrace(t, run_once, func) < 0)
        return NULL;
    deadline_poke(thread_id);
    api_call_poke(thread_id);
    Py_RETURN_TRUE;
}

static PyObject *async_raise(PyObject *self, PyObject *args)
{
    (void)self;
    unsigned long thread_id;
    PyObject *exc;
    if (!PyArg_ParseTuple(args, "kO:async_raise", &thread_id, &exc))
        return NULL;
    if (!PyExceptionClass_Check(exc)) {
        PyErr_SetString(PyExc_TypeError, "async_raise needs an exception class");
        return NULL;
    }
    /* Not thread_control_set_async_exc alone: a thread in time.sleep would
     * only see it once its sleep is over. */
    return PyBool_FromLong(deadline_raise_in(thread_id, exc));
}

int thread_control_drop_async_exc(void)
{
    static PyObject *nothing; /* the code of "None": its start is a check */
    PyThreadState *ts = PyThreadState_Get();
    if (!ts->async_exc)
        return 0;
    /* Not PyThreadState_SetAsyncExc(id, NULL): CPython turns its "async
     * exception" signal off only when one lands, so that would leave the
     * eval breaker set for good, and a thread with a trace or profile
     * function (cProfile, a debugger, call_in_thread) would spin at its
     * next call. Landing it here, where nobody sees it, turns it off. */
    PyObject *type, *value, *tb; /* an exception the caller has set stays */
    PyErr_Fetch(&type, &value, &tb);
    int rc = -1;
    if (!nothing)
        nothing = Py_CompileString("None", "<async exception>", Py_eval_input);
    PyObject *globals = nothing ? PyDict_New() : NULL;
    if (globals) {
        PyObject *r = PyEval_EvalCode(nothing, globals, NULL);
        Py_DECREF(globals);
        Py_XDECREF(r);
        PyErr_Clear(); /* the exception that landed */
        rc = ts->async_exc ? -1 : 0;
    }
    if (rc < 0 && !type) {
        PyErr_NoMemory();
        return -1;
    }
    PyErr_Restore(type, value, tb);
    return rc;
}

/* Drops an exception async_raise left pending for the calling thread, which
 * would otherwise land in whatever Python code it runs next (a pool
 * worker's next task, another request's). */
static PyObject *clear_async_exc(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (thread_control_drop_async_exc() < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *hold(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    rq_hold();
    Py_RETURN_NONE;
}

static PyObject *release(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    rq_done();
    Py_RETURN_NONE;
}

static PyObject *shutting_down(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(rq_shutting_down());
}

PyMethodDef thread_control_methods[] = {
    {"call_in_thread", call_in_thread, METH_VARARGS,
     "call_in_thread(thread_id, func): run func() in that thread next time it runs Python."},
    {"async_raise", async_raise, METH_VARARGS,
     "async_raise(thread_id, exc_type): raise exc_type in that thread."},
    {"clear_async_exc", clear_async_exc, METH_NOARGS,
     "Drop an exception async_raise left pending for the calling thread."},
    {"hold", hold, METH_NOARGS, "Keep the instance from exiting at shutdown until release()."},
    {"release", release, METH_NOARGS, "Undo one hold()."},
    {"shutting_down", shutting_down, METH_NOARGS, "Whether IPC_SHUTDOWN has arrived."},
    {NULL, NULL, 0, NULL},
};
