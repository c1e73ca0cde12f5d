#include "gaelic_module.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/uio.h>
#include <time.h>

#include "api_call.h"
#include "background.h"
#include "channel_writer.h"
#include "deadline.h"
#include "http_reason.h"
#include "ipc.h"
#include "request.h"
#include "request_queue.h"
#include "skip_files.h"
#include "thread_control.h"
#include "wsgi_environ.h"

static int worker_threads = 1;
/* RT10, from the master (gaelic_module_set_response_limits). */
static unsigned long long max_response_body = IPC_DEFAULT_MAX_RESPONSE_BODY;
static unsigned long long max_response_head = IPC_DEFAULT_MAX_RESPONSE_HEAD;
static PyObject *wsgi_defaults;      /* dict or NULL */
static PyObject *response_too_large; /* exception type */

/* Each worker thread reuses one buffer for frame heads: no malloc per
 * response. Workers live as long as the process, so it is never freed. */
static __thread buf_t frame_head = BUF_INIT;

/* The request log's megacycles: the worker thread's CPU time between its
 * previous response and this one. Reading the thread CPU clock is a system
 * call (no vDSO), so it is read once per request, not at both ends; what
 * the thread burns while waiting for the next request (next to nothing: it
 * sleeps) goes to that request. */
static __thread uint32_t cpu_request_id;
static __thread uint64_t cpu_mark_ns; /* 0 until the thread's first request */

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *release_gil(void)
{
    return PyEval_SaveThread();
}
static void reacquire_gil(void *ts)
{
    PyEval_RestoreThread(ts);
}

const channel_block_hooks_t gaelic_gil_hooks = {release_gil, reacquire_gil};

/* The calling thread starts running request id: its deadline and its CPU
 * count (GIL held). */
static void begin_request(uint32_t id)
{
    deadline_arm(id);
    cpu_request_id = id;
    if (!cpu_mark_ns)
        cpu_mark_ns = thread_cpu_ns();
}

PyObject *gaelic_request_item(gaelic_request_t *r)
{
    PyObject *script = PyUnicode_DecodeUTF8(r->script, r->script_len, "surrogateescape");
    PyObject *environ = NULL, *cgi_env = NULL;
    if (!script || environ_build(r, wsgi_defaults, &environ, &cgi_env) < 0) {
        /* Still a request that must be answered: report, and hand out
         * Nones so the runtime answers 500. */
        PyErr_Print();
        if (!script)
            script = PyUnicode_FromStringAndSize(NULL, 0);
        environ = Py_NewRef(Py_None);
        cgi_env = Py_NewRef(Py_None);
    }
    PyObject *tuple = NULL;
    if (script)
        tuple = Py_BuildValue("(kNNN)", (unsigned long)r->id, script, environ, cgi_env);
    else {
        Py_DECREF(environ);
        Py_DECREF(cgi_env);
    }
    return tuple;
}

static PyObject *next_request(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    /* Under load the next request is already queued: take it without
     * giving up the GIL (see request_queue.h). */
    gaelic_request_t *r = rq_try_pop();
    if (!r) {
        PyThreadState *ts = PyEval_SaveThread();
        r = rq_pop_wait();
        PyEval_RestoreThread(ts);
    }
    if (!r)
        Py_RETURN_NONE;
    begin_request(r->id);
    PyObject *tuple = gaelic_request_item(r);
    if (!tuple) {
        /* Out of memory: the request is lost; keep shutdown's count right,
         * and its deadline off this thread. */
        deadline_disarm();
        rq_done();
    }
    request_free(r);
    return tuple;
}

/* A background request's own thread takes it over (background.h). */
static PyObject *adopt_request(PyObject *self, PyObject *arg)
{
    (void)self;
    unsigned long id = PyLong_AsUnsignedLong(arg);
    if (PyErr_Occurred())
        return NULL;
    if (id == 0 || id > UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "adopt_request: bad request id");
        return NULL;
    }
    begin_request((uint32_t)id);
    Py_RETURN_NONE;
}

/* Appends s as ipc "bytes" in latin-1. Strings whose characters all fit in
 * one byte are stored as latin-1 already, so this copies without encoding. */
static int put_latin1(buf_t *b, PyObject *s, const char *what)
{
    if (!PyUnicode_Check(s)) {
        PyErr_Format(PyExc_TypeError, "%s must be str, not %.100s", what, Py_TYPE(s)->tp_name);
        return -1;
    }
    if (PyUnicode_READY(s) < 0)
        return -1;
    if (PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND) {
        PyErr_Format(PyExc_ValueError, "%s is not latin-1: %R", what, s);
        return -1;
    }
    size_t n = (size_t)PyUnicode_GET_LENGTH(s);
    if (n > IPC_MAX_PAYLOAD) {
        PyErr_Format(response_too_large, "%s of %zu bytes exceeds the %u-byte frame limit", what, n,
                     IPC_MAX_PAYLOAD);
        return -1;
    }
    if (ipc_put_bytes(b, PyUnicode_1BYTE_DATA(s), n) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

/* The head as the master will count it (ipc.h), before anything is
 * copied: a head of many megabytes is refused without building its frame.
 * Types are checked later, by put_latin1. */
static int check_head_size(PyObject *status, PyObject *headers)
{
    if (!PyUnicode_Check(status) || !PyList_Check(headers))
        return 0;
    unsigned long long n = IPC_STATUS_LINE_EXTRA + (unsigned long long)PyUnicode_GET_LENGTH(status);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(headers); i++) {
        PyObject *h = PyList_GET_ITEM(headers, i);
        if (!PyTuple_Check(h) || PyTuple_GET_SIZE(h) != 2)
            return 0;
        for (int k = 0; k < 2; k++) {
            PyObject *s = PyTuple_GET_ITEM(h, k);
            if (PyUnicode_Check(s))
                n += (unsigned long long)PyUnicode_GET_LENGTH(s);
        }
        n += IPC_HEADER_LINE_EXTRA;
    }
    if (n <= max_response_head)
        return 0;
    PyErr_Format(response_too_large,
                 "response status line and headers of %llu bytes exceed the %llu-byte limit "
                 "(--max_response_header_bytes)",
                 n, max_response_head);
    return -1;
}

static int put_headers(buf_t *b, PyObject *headers)
{
    if (!PyList_Check(headers)) {
        PyErr_SetString(PyExc_TypeError, "headers must be a list");
        return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(headers);
    if (ipc_put_u32(b, (uint32_t)n) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *h = PyList_GET_ITEM(headers, i);
        if (!PyTuple_Check(h) || PyTuple_GET_SIZE(h) != 2) {
            PyErr_SetString(PyExc_TypeError, "each header must be a (name, value) tuple");
            return -1;
        }
        if (put_latin1(b, PyTuple_GET_ITEM(h, 0), "header name") < 0 ||
            put_latin1(b, PyTuple_GET_ITEM(h, 1), "header value") < 0)
            return -1;
    }
    return 0;
}

static PyObject *send_response(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs < 4 || nargs > 6) {
        PyErr_SetString(PyExc_TypeError,
                        "send_response(id, status, headers, body[, deadline_exceeded[, failed]])");
        return NULL;
    }
    /* Whatever the runtime did before, no deadline may land after this. */
    deadline_disarm();
    unsigned long id = PyLong_AsUnsignedLong(args[0]);
    if (PyErr_Occurred())
        return NULL;
    int timed_out = nargs >= 5 ? PyObject_IsTrue(args[4]) : 0;
    if (timed_out < 0)
        return NULL;
    int failed = nargs == 6 ? PyObject_IsTrue(args[5]) : 0;
    if (failed < 0)
        return NULL;
    if (id > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "request id out of range");
        return NULL;
    }
    PyObject *body = args[3];
    if (!PyBytes_Check(body)) {
        PyErr_Format(PyExc_TypeError, "body must be bytes, not %.100s", Py_TYPE(body)->tp_name);
        return NULL;
    }

    size_t body_len = (size_t)PyBytes_GET_SIZE(body);
    if (check_head_size(args[1], args[2]) < 0)
        return NULL;
    if (body_len > max_response_body)
        return PyErr_Format(response_too_large,
                            "response body of %zu bytes exceeds the %llu-byte limit "
                            "(--max_response_bytes)",
                            body_len, max_response_body);

    buf_t *b = &frame_head;
    buf_reset(b);
    uint64_t cpu_ns = 0;
    if (cpu_request_id == id && id) {
        uint64_t now = thread_cpu_ns();
        cpu_ns = now - cpu_mark_ns;
        cpu_mark_ns = now;
        cpu_request_id = 0;
    }
    uint64_t cpu_us = cpu_ns / 1000u;
    long start = ipc_begin_frame(b, IPC_RESPONSE, (uint32_t)id);
    if (start < 0 || ipc_put_u64(b, cpu_us > IPC_MAX_CPU_US ? IPC_MAX_CPU_US : cpu_us) < 0)
        return PyErr_NoMemory();
    if (timed_out || failed)
        ipc_set_flags(b, start,
                      (timed_out ? IPC_FLAG_DEADLINE : 0) | (failed ? IPC_FLAG_FAILED : 0));
    if (put_latin1(b, args[1], "status") < 0 || put_headers(b, args[2]) < 0)
        return NULL;
    if (body_len > UINT32_MAX || ipc_put_u32(b, (uint32_t)body_len) < 0)
        return PyErr_Format(response_too_large, "response body of %zu bytes", body_len);

    /* body stays alive (we hold the argument) and bytes never change, so
     * the GIL may be released while it is written. */
    if (channel_send_frame(b, start, PyBytes_AS_STRING(body), body_len, &gaelic_gil_hooks) < 0) {
        if (errno == EMSGSIZE)
            return PyErr_Format(response_too_large,
                                "response of %zu bytes exceeds the %u-byte frame limit",
                                b->len - (size_t)start - IPC_HDR_SIZE + body_len, IPC_MAX_PAYLOAD);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    rq_done();
    Py_RETURN_NONE;
}

static PyObject *send_log(PyObject *self, PyObject *args)
{
    (void)self;
    unsigned long id;
    unsigned int level;
    const char *msg;
    Py_ssize_t msg_len;
    if (!PyArg_ParseTuple(args, "kIs#:send_log", &id, &level, &msg, &msg_len))
        return NULL;
    if (id > UINT32_MAX || level > 4) {
        PyErr_SetString(PyExc_ValueError, "send_log: id or level out of range");
        return NULL;
    }
    if (!channel_writer_ready()) {
        /* A spare not yet given its channel: the console is all there is. */
        struct iovec iov[2] = {{(void *)msg, (size_t)msg_len}, {"\n", 1}};
        ssize_t w = writev(2, iov, 2);
        (void)w;
        Py_RETURN_NONE;
    }
    buf_t b = BUF_INIT;
    long start = ipc_begin_frame(&b, IPC_LOG, (uint32_t)id);
    if (start < 0 || ipc_put_u32(&b, level) < 0 || ipc_put_u32(&b, (uint32_t)msg_len) < 0) {
        buf_free(&b);
        return PyErr_NoMemory();
    }
    int rc = channel_send_frame(&b, start, msg, (size_t)msg_len, &gaelic_gil_hooks);
    buf_free(&b);
    if (rc < 0)
        return PyErr_Format(response_too_large, "log message of %zd bytes", msg_len);
    Py_RETURN_NONE;
}

/* retire(reason): this instance must take no more requests (ipc.h,
 * IPC_RETIRE); the reason is cut to what the master accepts. */
static PyObject *retire(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_ssize_t len;
    const char *why = PyUnicode_AsUTF8AndSize(arg, &len);
    if (!why)
        return NULL;
    if (!channel_writer_ready())
        Py_RETURN_NONE; /* a spare runs no app code */
    if ((size_t)len > IPC_RETIRE_REASON_MAX) {
        len = IPC_RETIRE_REASON_MAX;
        while (len > 0 && ((unsigned char)why[len] & 0xC0) == 0x80)
            len--; /* not inside a character */
    }
    buf_t b = BUF_INIT;
    long start = ipc_begin_frame(&b, IPC_RETIRE, 0);
    if (start < 0 || ipc_put_u32(&b, (uint32_t)len) < 0) {
        buf_free(&b);
        return PyErr_NoMemory();
    }
    int rc = channel_send_frame(&b, start, why, (size_t)len, &gaelic_gil_hooks);
    buf_free(&b);
    if (rc < 0)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* quota.get_request_cpu_usage (API5): the CPU time the calling worker
 * thread has spent on its request so far, as the request log counts it;
 * outside a request, the calling thread's own CPU time. */
static PyObject *request_cpu_ns(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    uint64_t now = thread_cpu_ns();
    return PyLong_FromUnsignedLongLong(cpu_request_id && cpu_mark_ns ? now - cpu_mark_ns : now);
}

/* (clock, mark) of the calling worker's request, for its other threads:
 * the CPU clock of the worker and where the request's count starts on it
 * (request_cpu_ns counts from there). */
static PyObject *request_cpu_origin(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    clockid_t clk;
    int err = pthread_getcpuclockid(pthread_self(), &clk);
    if (err) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return Py_BuildValue("(iK)", (int)clk, (unsigned long long)cpu_mark_ns);
}

/* Linux encodes a thread's CPU clock with this bit set (a process's has
 * it clear): only those of this process's own threads can be read. */
#define THREAD_CPU_CLOCK_BIT 4

/* The master's table, not the standard library's http.HTTPStatus: that
 * import (with enum) cost every cold start about 3 ms, and imported after
 * the app's it could be the app's own http package. */
static PyObject *reason_phrase(PyObject *self, PyObject *arg)
{
    (void)self;
    long code = PyLong_AsLong(arg);
    if (code == -1 && PyErr_Occurred())
        return NULL;
    return PyUnicode_FromString(code < 100 || code > 999 ? "Unknown" : http_reason((int)code));
}

/* CPU nanoseconds on a clock from request_cpu_origin. */
static PyObject *thread_clock_ns(PyObject *self, PyObject *arg)
{
    (void)self;
    long clk = PyLong_AsLong(arg);
    if (clk == -1 && PyErr_Occurred())
        return NULL;
    struct timespec ts;
    if (clk >= 0 || clk < INT_MIN || !(clk & THREAD_CPU_CLOCK_BIT)) {
        PyErr_SetString(PyExc_ValueError, "thread_clock_ns: not a thread's CPU clock");
        return NULL;
    }
    if (clock_gettime((clockid_t)clk, &ts) < 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromUnsignedLongLong((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

PyObject *gaelic_set_hook(PyObject **slot, PyObject *f, const char *what)
{
    if (!PyCallable_Check(f))
        return PyErr_Format(PyExc_TypeError, "%s expects a callable", what);
    Py_XSETREF(*slot, Py_NewRef(f));
    Py_RETURN_NONE;
}

static PyObject *set_wsgi_defaults(PyObject *self, PyObject *arg)
{
    (void)self;
    if (!PyDict_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "set_wsgi_defaults expects a dict");
        return NULL;
    }
    PyObject *copy = PyDict_Copy(arg);
    if (!copy)
        return NULL;
    Py_XSETREF(wsgi_defaults, copy);
    Py_RETURN_NONE;
}

static PyObject *why_hidden(PyObject *self, PyObject *arg)
{
    (void)self;
    /* bytes: file names are bytes, as the master matches them. */
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "why_hidden expects bytes");
        return NULL;
    }
    switch (app_file_kind(PyBytes_AS_STRING(arg), (size_t)PyBytes_GET_SIZE(arg))) {
    case APP_FILE_CODE:
        Py_RETURN_NONE;
    case APP_FILE_SKIPPED:
        return PyUnicode_FromString("skip_files");
    case APP_FILE_STATIC_ONLY:
        return PyUnicode_FromString("static");
    default:
        PyErr_SetString(PyExc_RuntimeError, "skip_files: matching failed");
        return NULL;
    }
}

/* time.sleep's checks, then a sleep the request's deadline can end. */
static PyObject *gaelic_sleep(PyObject *self, PyObject *arg)
{
    (void)self;
    double secs = PyFloat_AsDouble(arg);
    if (secs == -1.0 && PyErr_Occurred())
        return NULL;
    if (isnan(secs)) {
        PyErr_SetString(PyExc_ValueError, "Invalid value NaN (not a number)");
        return NULL;
    }
    if (secs < 0) {
        PyErr_SetString(PyExc_ValueError, "sleep length must be non-negative");
        return NULL;
    }
    if (secs > 9.2e9) { /* time.sleep's limit: nanoseconds in 64 bits */
        PyErr_SetString(PyExc_OverflowError, "sleep length is too large");
        return NULL;
    }
    if (deadline_sleep(secs) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *gaelic_deadline_disarm(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    deadline_disarm();
    Py_RETURN_NONE;
}

/* lock.acquire(True, timeout) (0: not blocking). Where it has to wait, the
 * instance's other requests run meanwhile (rq_block_begin): else a request
 * waiting for its thread or on a Condition would leave them to the reader
 * thread's stall tick. 1 taken, 0 not, -1 with an exception set. */
static int acquire_letting_others_run(PyObject *lock, double timeout)
{
    PyObject *got = PyObject_CallMethod(lock, "acquire", "i", 0);
    if (got && !PyObject_IsTrue(got) && timeout != 0) {
        Py_DECREF(got);
        rq_block_begin();
        got = PyObject_CallMethod(lock, "acquire", "id", 1, timeout);
        rq_block_end();
    }
    if (!got)
        return -1;
    int taken = PyObject_IsTrue(got);
    Py_DECREF(got);
    return taken;
}

/* wait_released(lock, timeout): whether lock could be taken within timeout
 * seconds; it is released again at once. One C call: an asynchronous
 * exception (a deadline) cannot land between the two and leave it held. */
static PyObject *wait_released(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *lock;
    double timeout;
    if (!PyArg_ParseTuple(args, "Od:wait_released", &lock, &timeout))
        return NULL;
    int taken = acquire_letting_others_run(lock, timeout);
    if (taken > 0) {
        PyObject *r = PyObject_CallMethod(lock, "release", NULL);
        if (!r)
            return NULL;
        Py_DECREF(r);
    }
    return taken < 0 ? NULL : PyBool_FromLong(taken);
}

/* acquire_waiting(lock, timeout): lock.acquire(True, timeout), the
 * instance's other requests running meanwhile. */
static PyObject *acquire_waiting(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *lock;
    double timeout;
    if (!PyArg_ParseTuple(args, "Od:acquire_waiting", &lock, &timeout))
        return NULL;
    int taken = acquire_letting_others_run(lock, timeout);
    return taken < 0 ? NULL : PyBool_FromLong(taken);
}

static PyObject *gaelic_deadline_passed(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(deadline_passed());
}

static PyObject *set_deadline_error(PyObject *self, PyObject *arg)
{
    (void)self;
    if (!PyExceptionClass_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "set_deadline_error expects an exception class");
        return NULL;
    }
    deadline_set_error(arg);
    Py_RETURN_NONE;
}

static PyObject *set_thread_name(PyObject *self, PyObject *arg)
{
    (void)self;
    const char *name = PyUnicode_AsUTF8(arg);
    if (!name)
        return NULL;
    char buf[16]; /* the kernel's limit, NUL included */
    snprintf(buf, sizeof buf, "%s", name);
    int err = pthread_setname_np(pthread_self(), buf);
    if (err != 0) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

/* For waits the runtime makes in Python (joining a request's threads):
 * other workers may run meanwhile (request_queue.h). */
static PyObject *block_begin(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    rq_block_begin();
    Py_RETURN_NONE;
}

static PyObject *block_end(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    rq_block_end();
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"next_request", next_request, METH_NOARGS,
     "Wait for the next request: (id, script, environ, cgi_env), or None at shutdown."},
    {"adopt_request", adopt_request, METH_O,
     "adopt_request(id): the calling thread runs background request id (deadline, CPU)."},
    {"send_response", (PyCFunction)(void (*)(void))send_response, METH_FASTCALL,
     "send_response(id, status, headers, body[, deadline_exceeded[, failed]]): answer a "
     "request."},
    {"sleep", gaelic_sleep, METH_O,
     "sleep(seconds): time.sleep, cut short by the request's deadline."},
    {"deadline_disarm", gaelic_deadline_disarm, METH_NOARGS,
     "The calling thread's request is done: its deadline can no longer land."},
    {"wait_released", wait_released, METH_VARARGS,
     "wait_released(lock, timeout): whether lock was free within timeout (left free)."},
    {"deadline_passed", gaelic_deadline_passed, METH_NOARGS,
     "Whether the calling worker's request deadline has come and its exception was raised."},
    {"set_deadline_error", set_deadline_error, METH_O,
     "Set the exception class a request's deadline raises."},
    {"send_log", send_log, METH_VARARGS, "send_log(id, level, message): an app log line."},
    {"retire", retire, METH_O,
     "retire(reason): the master shuts this instance down; it takes no more requests."},
    {"request_cpu_ns", request_cpu_ns, METH_NOARGS,
     "CPU nanoseconds the calling thread has spent on its request so far."},
    {"request_cpu_origin", request_cpu_origin, METH_NOARGS,
     "(clock, mark): the calling worker's CPU clock and its request's start on it."},
    {"thread_clock_ns", thread_clock_ns, METH_O,
     "thread_clock_ns(clock): CPU nanoseconds of a clock from request_cpu_origin."},
    {"reason_phrase", reason_phrase, METH_O,
     "reason_phrase(code): the HTTP reason phrase of a status code, or 'Unknown'."},
    {"set_thread_name", set_thread_name, METH_O,
     "Name the calling OS thread (ps, top, gdb), truncated to 15 bytes."},
    {"acquire_waiting", acquire_waiting, METH_VARARGS,
     "acquire_waiting(lock, timeout): lock.acquire(True, timeout), other requests running "
     "meanwhile."},
    {"block_begin", block_begin, METH_NOARGS,
     "The calling worker is about to wait: other workers may run its queue."},
    {"block_end", block_end, METH_NOARGS, "The calling worker is done waiting."},
    {"set_wsgi_defaults", set_wsgi_defaults, METH_O,
     "Set the wsgi.* entries every environ starts from."},
    {"why_hidden", why_hidden, METH_O,
     "Why a path (bytes, relative to the app folder) is not the app's code: 'skip_files', "
     "'static' (a static handler's file, not application_readable), or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "_gaelic",
    "gaelic instance runtime (C part)",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

/* _gaelic.MAX_RESPONSE_BYTES: what a body may grow to before the runtime
 * stops collecting it (wsgi.py, cgi.py). */
static int add_max_response(PyObject *m)
{
    PyObject *v = PyLong_FromUnsignedLongLong(
        max_response_body < IPC_MAX_PAYLOAD ? max_response_body : IPC_MAX_PAYLOAD);
    int rc = v ? PyModule_AddObjectRef(m, "MAX_RESPONSE_BYTES", v) : -1;
    Py_XDECREF(v);
    return rc;
}

/* Called by the import machinery through the inittab entry. */
static PyObject *PyInit__gaelic(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    if (environ_init() < 0 || PyModule_AddFunctions(m, thread_control_methods) < 0 ||
        PyModule_AddFunctions(m, background_methods) < 0)
        goto fail;
    response_too_large = PyErr_NewExceptionWithDoc(
        "_gaelic.ResponseTooLargeError", "The response is over a limit (RT10) or one IPC frame.",
        NULL, NULL);
    if (!response_too_large ||
        PyModule_AddObjectRef(m, "ResponseTooLargeError", response_too_large) < 0 ||
        PyModule_AddIntConstant(m, "threads", worker_threads) < 0 ||
        PyModule_AddIntConstant(m, "MAX_PAYLOAD", IPC_MAX_PAYLOAD) < 0 || add_max_response(m) < 0 ||
        PyModule_AddObjectRef(m, "instance_id", Py_None) < 0 || api_call_module_init(m) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}

void gaelic_module_set_response_limits(unsigned long long body, unsigned long long head)
{
    max_response_body = body;
    max_response_head = head;
}

int gaelic_module_threads(void)
{
    return worker_threads;
}

int gaelic_module_register(int threads)
{
    worker_threads = threads;
    return PyImport_AppendInittab("_gaelic", PyInit__gaelic);
}

int gaelic_module_set_instance_id(const char *instance_id)
{
    PyObject *m = PyImport_ImportModule("_gaelic");
    if (!m)
        return -1;
    PyObject *s = PyUnicode_DecodeUTF8(instance_id, (Py_ssize_t)strlen(instance_id), "replace");
    int rc = s ? PyObject_SetAttrString(m, "instance_id", s) : -1;
    Py_XDECREF(s);
    Py_DECREF(m);
    return rc;
}
