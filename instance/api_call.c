#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "api_call.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_service.h"
#include "channel_writer.h"
#include "deadline.h"
#include "gaelic_module.h"
#include "ipc.h"
#include "pb.h"
#include "request_queue.h"

#define DEFAULT_DEADLINE_S 60.0
#define MAX_DEADLINE_S 86400.0
/* A call id is the slot number + 1 in its low bits and a generation above,
 * so an id is never reused while its call is on the channel. */
#define SLOT_BITS 7

enum { S_FREE, S_SENT, S_DONE };
enum { KIND_OK = 0, KIND_APP_ERROR = 1, KIND_RPC_ERROR = 2 };

/* An answer decoded by the reader; data points into payload. */
typedef struct {
    uint8_t *payload;
    int kind;
    int32_t code;
    const uint8_t *data;
    size_t data_len;
    uint32_t cpu_us;
} answer_t;

typedef struct {
    int state;
    int abandoned; /* the caller gave up: drop the answer when it comes */
    uint32_t id;
    answer_t answer; /* S_DONE */
    pthread_cond_t done;
} slot_t;

/* A thread inside api_call, so that its request's deadline can end the
 * wait (api_call_interrupt). Lives on that thread's stack. */
typedef struct caller {
    struct caller *next;
    unsigned long thread_id;
    int slot; /* -1 until it has one */
    int interrupted;
} caller_t;

static slot_t slots[API_MAX_CALLS];
static caller_t *callers;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_freed;
static pthread_once_t conds_once = PTHREAD_ONCE_INIT;
static int cancelled;
static uint32_t generation;
static int cpu_mhz = 600;

void api_call_set_cpu_mhz(int mhz)
{
    if (mhz > 0)
        cpu_mhz = mhz;
}

/* Condition variables on the monotonic clock: deadlines must not move
 * with the wall clock. */
static void init_conds(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&slot_freed, &attr);
    for (int k = 0; k < API_MAX_CALLS; k++)
        pthread_cond_init(&slots[k].done, &attr);
    pthread_condattr_destroy(&attr);
}

/* ---------- answers (reader thread) ---------- */

/* The inner fields of ApplicationError / RpcError. */
static int decode_error(const uint8_t *p, size_t n, answer_t *a)
{
    pb_reader_t r;
    pb_field_t f;
    int rc, have_code = 0;
    a->data = (const uint8_t *)"";
    a->data_len = 0;
    pb_reader_init(&r, p, n);
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num == 1 && f.wire == PB_VARINT) {
            a->code = (int32_t)f.u64;
            have_code = 1;
        } else if (f.num == 2 && f.wire == PB_LEN) {
            a->data = f.data;
            a->data_len = f.len;
        }
    }
    return rc == 0 && have_code ? 0 : -1;
}

/* A remote_api Response: rpc_error wins over application_error, as in the
 * SDK; otherwise the response (absent: empty). */
static int decode_envelope(const uint8_t *p, size_t n, answer_t *a)
{
    pb_reader_t r;
    pb_field_t f, response = {0}, app = {0}, rpc = {0};
    int rc;
    pb_reader_init(&r, p, n);
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num >= 1 && f.num <= 5 && f.wire != PB_LEN)
            return -1;
        if (f.num == 1)
            response = f;
        else if (f.num == 3)
            app = f;
        else if (f.num == 5)
            rpc = f;
    }
    if (rc < 0)
        return -1;
    if (rpc.num) {
        a->kind = KIND_RPC_ERROR;
        return decode_error(rpc.data, rpc.len, a);
    }
    if (app.num) {
        a->kind = KIND_APP_ERROR;
        return decode_error(app.data, app.len, a);
    }
    a->kind = KIND_OK;
    a->code = 0;
    a->data = response.num ? response.data : (const uint8_t *)"";
    a->data_len = response.num ? response.len : 0;
    return 0;
}

int api_call_deliver(uint32_t id, uint8_t *payload, size_t len, const char **why)
{
    answer_t a = {.payload = payload};
    ipc_reader_t r;
    const char *env;
    uint32_t env_len;
    ipc_reader_init(&r, payload, len);
    if (ipc_get_u32(&r, &a.cpu_us) < 0 || ipc_get_bytes(&r, &env, &env_len) < 0 || r.left != 0 ||
        decode_envelope((const uint8_t *)env, env_len, &a) < 0) {
        free(payload);
        *why = "malformed API result";
        return -1;
    }
    unsigned k = (id & ((1u << SLOT_BITS) - 1)) - 1;
    pthread_mutex_lock(&lock);
    slot_t *s = k < API_MAX_CALLS ? &slots[k] : NULL;
    if (!s || s->state != S_SENT || s->id != id) {
        pthread_mutex_unlock(&lock);
        free(payload);
        *why = "API result for a call that is not waiting";
        return -1;
    }
    if (s->abandoned) {
        s->state = S_FREE;
        pthread_cond_signal(&slot_freed);
        free(payload);
    } else {
        s->answer = a;
        s->state = S_DONE;
        pthread_cond_signal(&s->done);
    }
    pthread_mutex_unlock(&lock);
    return 0;
}

/* ---------- calls (app threads) ---------- */

static struct timespec deadline_after(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double whole = (double)(long)seconds;
    ts.tv_sec += (time_t)whole;
    ts.tv_nsec += (long)((seconds - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* With lock held: a free slot taken for a new call, or -1 with the RpcError
 * code that ends the call instead. */
static int take_slot(const struct timespec *deadline, int *code, const caller_t *me)
{
    for (;;) {
        if (cancelled) {
            *code = API_RPC_CANCELLED;
            return -1;
        }
        if (me->interrupted) {
            *code = API_RPC_DEADLINE_EXCEEDED;
            return -1;
        }
        for (int k = 0; k < API_MAX_CALLS; k++) {
            if (slots[k].state == S_FREE) {
                generation++;
                slots[k].id = generation << SLOT_BITS | (uint32_t)(k + 1);
                slots[k].state = S_SENT;
                slots[k].abandoned = 0;
                return k;
            }
        }
        if (pthread_cond_timedwait(&slot_freed, &lock, deadline) == ETIMEDOUT) {
            *code = API_RPC_DEADLINE_EXCEEDED;
            return -1;
        }
    }
}

/* The IPC_API_CALL frame: its head in b, the payload goes as the tail
 * (the remote_api Request's request field comes last). */
static int build_frame(buf_t *b, uint32_t id, uint32_t request, uint32_t deadline_ms,
                       const char *service, size_t service_len, const char *method,
                       size_t method_len, size_t payload_len, long *start)
{
    buf_t env = BUF_INIT;
    int rc = -1;
    if (pb_put_bytes(&env, 2, service, service_len) < 0 ||
        pb_put_bytes(&env, 3, method, method_len) < 0 || pb_put_tag(&env, 4, PB_LEN) < 0 ||
        pb_put_varint(&env, payload_len) < 0)
        goto out;
    *start = ipc_begin_frame(b, IPC_API_CALL, id);
    if (*start < 0 || ipc_put_u32(b, request) < 0 || ipc_put_u32(b, deadline_ms) < 0 ||
        ipc_put_u32(b, (uint32_t)(env.len + payload_len)) < 0 ||
        buf_append(b, buf_ptr(&env), env.len) < 0)
        goto out;
    rc = 0;
out:
    buf_free(&env);
    return rc;
}

static PyObject *result_tuple(const answer_t *a)
{
    if (a->kind == KIND_OK)
        return Py_BuildValue("(iiy#I)", a->kind, 0, (const char *)a->data, (Py_ssize_t)a->data_len,
                             a->cpu_us);
    PyObject *detail =
        PyUnicode_DecodeUTF8((const char *)a->data, (Py_ssize_t)a->data_len, "replace");
    if (!detail)
        return NULL;
    return Py_BuildValue("(iiNI)", a->kind, (int)a->code, detail, a->cpu_us);
}

static PyObject *rpc_failure(int code, const char *detail)
{
    answer_t a = {.kind = KIND_RPC_ERROR, .code = code, .data = (const uint8_t *)detail};
    a.data_len = strlen(detail);
    return result_tuple(&a);
}

static PyObject *api_call(PyObject *self, PyObject *args)
{
    (void)self;
    unsigned long request;
    const char *service, *method;
    Py_ssize_t service_len, method_len;
    Py_buffer payload;
    PyObject *deadline_obj;
    if (!PyArg_ParseTuple(args, "ks#s#y*O:api_call", &request, &service, &service_len, &method,
                          &method_len, &payload, &deadline_obj))
        return NULL;
    double deadline_s = DEFAULT_DEADLINE_S;
    if (deadline_obj != Py_None) {
        deadline_s = PyFloat_AsDouble(deadline_obj);
        if (deadline_s == -1.0 && PyErr_Occurred()) {
            PyBuffer_Release(&payload);
            return NULL;
        }
        if (deadline_s <= 0) {
            /* App Engine's RPC ignores a deadline that is not positive. */
            deadline_s = DEFAULT_DEADLINE_S;
        } else if (!(deadline_s <= MAX_DEADLINE_S)) { /* NaN too */
            PyBuffer_Release(&payload);
            /* PyErr_Format knows no %g: the bound goes in as an int. */
            return PyErr_Format(PyExc_ValueError, "deadline must be at most %d seconds, not %R",
                                (int)MAX_DEADLINE_S, deadline_obj);
        }
    }
    PyObject *result = NULL;
    if (request > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "request number out of range");
        goto out;
    }
    if ((size_t)payload.len > API_MAX_REQUEST_BYTES) {
        result = rpc_failure(API_RPC_REQUEST_TOO_LARGE, "");
        goto out;
    }
    if (!channel_writer_ready()) {
        result = rpc_failure(API_RPC_UNKNOWN, "this process has no channel to the master");
        goto out;
    }
    pthread_once(&conds_once, init_conds);
    struct timespec deadline = deadline_after(deadline_s);
    /* At least 1: 0 tells the master no deadline was given (its 60 s). */
    uint32_t deadline_ms = (uint32_t)(deadline_s * 1000.0 + 0.5);
    if (deadline_ms == 0)
        deadline_ms = 1;
    answer_t a = {0};
    int code = 0, k;

    /* The request's deadline has come and its exception waits for this
     * thread to run Python again: no new wait. */
    if (deadline_exception_pending()) {
        result = rpc_failure(API_RPC_DEADLINE_EXCEEDED, "");
        goto out;
    }
    caller_t me = {.thread_id = PyThread_get_thread_ident(), .slot = -1};
    pthread_mutex_lock(&lock);
    me.next = callers;
    callers = &me;
    pthread_mutex_unlock(&lock);

    PyThreadState *ts = PyEval_SaveThread();
    rq_block_begin();
    pthread_mutex_lock(&lock);
    k = take_slot(&deadline, &code, &me);
    uint32_t id = k >= 0 ? slots[k].id : 0;
    me.slot = k;
    pthread_mutex_unlock(&lock);
    if (k >= 0) {
        buf_t b = BUF_INIT;
        long start;
        if (build_frame(&b, id, (uint32_t)request, deadline_ms, service, (size_t)service_len,
                        method, (size_t)method_len, (size_t)payload.len, &start) < 0 ||
            channel_send_frame(&b, start, payload.buf, (size_t)payload.len, NULL) < 0) {
            /* Nothing was sent: the slot is free again. */
            pthread_mutex_lock(&lock);
            slots[k].state = S_FREE;
            pthread_cond_signal(&slot_freed);
            pthread_mutex_unlock(&lock);
            code = API_RPC_REQUEST_TOO_LARGE;
            k = -1;
        }
        buf_free(&b);
    }
    if (k >= 0) {
        slot_t *s = &slots[k];
        pthread_mutex_lock(&lock);
        while (s->state == S_SENT && !cancelled && !me.interrupted)
            if (pthread_cond_timedwait(&s->done, &lock, &deadline) == ETIMEDOUT)
                break;
        if (s->state == S_DONE) {
            a = s->answer;
            s->state = S_FREE;
            pthread_cond_signal(&slot_freed);
        } else {
            s->abandoned = 1;
            code = cancelled ? API_RPC_CANCELLED : API_RPC_DEADLINE_EXCEEDED;
        }
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    for (caller_t **p = &callers; *p; p = &(*p)->next) {
        if (*p == &me) {
            *p = me.next;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    rq_block_end();
    PyEval_RestoreThread(ts);

    if (a.payload) {
        result = result_tuple(&a);
        free(a.payload);
    } else {
        result = rpc_failure(code, "");
    }
out:
    PyBuffer_Release(&payload);
    return result;
}

void api_call_interrupt(unsigned long thread_id)
{
    pthread_once(&conds_once, init_conds);
    pthread_mutex_lock(&lock);
    for (caller_t *c = callers; c; c = c->next) {
        if (c->thread_id != thread_id)
            continue;
        c->interrupted = 1;
        if (c->slot >= 0)
            pthread_cond_signal(&slots[c->slot].done);
        else
            pthread_cond_broadcast(&slot_freed);
    }
    pthread_mutex_unlock(&lock);
}

static PyObject *api_cancel_all(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    pthread_once(&conds_once, init_conds);
    PyThreadState *ts = PyEval_SaveThread();
    pthread_mutex_lock(&lock);
    cancelled = 1;
    pthread_cond_broadcast(&slot_freed);
    for (int k = 0; k < API_MAX_CALLS; k++)
        pthread_cond_broadcast(&slots[k].done);
    pthread_mutex_unlock(&lock);
    PyEval_RestoreThread(ts);
    Py_RETURN_NONE;
}

static PyObject *cpu_hook; /* set_api_cpu_hook's callable, or NULL */

static PyObject *set_api_cpu_hook(PyObject *self, PyObject *arg)
{
    (void)self;
    return gaelic_set_hook(&cpu_hook, arg, "set_api_cpu_hook");
}

void api_call_charge(uint32_t request, uint32_t cpu_us)
{
    PyGILState_STATE g = PyGILState_Ensure();
    if (cpu_hook) {
        PyObject *r =
            PyObject_CallFunction(cpu_hook, "kk", (unsigned long)request, (unsigned long)cpu_us);
        if (!r)
            PyErr_Print();
        Py_XDECREF(r);
    }
    PyGILState_Release(g);
}

static PyMethodDef methods[] = {
    {"set_api_cpu_hook", set_api_cpu_hook, METH_O,
     "set_api_cpu_hook(f): f(request, cpu_us) for each IPC_API_CPU frame."},
    {"api_call", api_call, METH_VARARGS,
     "api_call(request, service, method, payload, deadline) -> (kind, code, data, cpu_us)"},
    {"api_cancel_all", api_cancel_all, METH_NOARGS,
     "Cancel every waiting and later API call of this instance."},
    {NULL, NULL, 0, NULL},
};

int api_call_module_init(PyObject *module)
{
    if (PyModule_AddFunctions(module, methods) < 0 ||
        PyModule_AddIntConstant(module, "cpu_mhz", cpu_mhz) < 0 ||
        PyModule_AddIntConstant(module, "API_MAX_CALLS", API_MAX_CALLS) < 0)
        return -1;
    return 0;
}
