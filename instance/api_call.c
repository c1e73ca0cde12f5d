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
#include "thread_control.h"

#define DEFAULT_DEADLINE_S 60.0
#define MAX_DEADLINE_S 86400.0
/* A call id is the slot number + 1 in its low bits and a generation above,
 * so an id is never reused while its call is on the channel. */
#define SLOT_BITS 7

enum { S_FREE, S_SENT };
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

struct call;

/* A call on the channel: taken until its answer arrives, which goes
 * straight to its call, so that answers nobody has taken yet do not count
 * against API_MAX_CALLS. */
typedef struct {
    int state;
    uint32_t id;
    struct call *call; /* NULL: its caller gave up, the answer is dropped */
} slot_t;

/* A thread waiting for a slot or for answers, so that its request's
 * deadline can end the wait (api_call_interrupt). Lives on that thread's
 * stack. */
typedef struct caller {
    struct caller *next;
    unsigned long thread_id;
    int interrupted;
    int poked; /* thread_control has a call for it: it leaves the wait to run it */
} caller_t;

/* One call: sent by call_start, its answer taken by call_wait. */
typedef struct call {
    int k;      /* its slot while it waits for its answer; -1 once ended */
    int code;   /* the RpcError code that ended it without an answer */
    answer_t a; /* the answer, when a.payload */
    struct timespec deadline;
} call_t;

static slot_t slots[API_MAX_CALLS];
static caller_t *callers;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_freed;
/* Broadcast for every answer, cancel and interrupt: a thread may wait on
 * several calls at once (api_wait_any). */
static pthread_cond_t answered;
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
    pthread_cond_init(&answered, &attr);
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
    if (s->call) {
        s->call->a = a;
        s->call->k = -1;
        pthread_cond_broadcast(&answered);
    } else {
        free(payload);
    }
    s->state = S_FREE;
    s->call = NULL;
    pthread_cond_signal(&slot_freed);
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

/* With lock held: a free slot taken for a new call, -1 with the RpcError
 * code that ends the call instead, or -2 when the thread was poked while
 * it waited (it runs what it was poked for, then tries again). */
static int take_slot(call_t *c, int *code, const caller_t *me)
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
                slots[k].call = c;
                return k;
            }
        }
        if (me->poked)
            return -2;
        if (pthread_cond_timedwait(&slot_freed, &lock, &c->deadline) == ETIMEDOUT) {
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

/* With lock held. */
static void add_caller(caller_t *me)
{
    me->next = callers;
    callers = me;
}

static void remove_caller(caller_t *me)
{
    for (caller_t **p = &callers; *p; p = &(*p)->next) {
        if (*p == me) {
            *p = me->next;
            break;
        }
    }
}

/* With lock held: c, if its answer has not come, gives up waiting for it
 * and code ends it; its slot stays taken until the answer arrives. */
static void call_end(call_t *c, int code)
{
    if (c->k < 0)
        return;
    slots[c->k].call = NULL;
    c->k = -1;
    c->code = code;
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* 1 when c needs no more waiting (with lock held). */
static int call_ready(const call_t *c, const struct timespec *now)
{
    return c->k < 0 || cancelled || !ts_before(now, &c->deadline);
}

/* GIL held, before a wait: runs what thread_control has left for the
 * calling thread (the shutdown hook), then lists it as a waiter: what is
 * left for it later pokes its wait (api_call_poke), the GIL being held
 * from the check on. Returns 0 (listed), 1 when the request's deadline
 * has come and its exception waits for this thread to run Python again
 * (not listed: no new wait), or -1 with the exception the call raised. */
static int run_pending_and_list(caller_t *me)
{
    if (thread_control_run_pending() < 0)
        return -1;
    if (deadline_exception_pending())
        return 1;
    me->poked = 0;
    pthread_mutex_lock(&lock);
    add_caller(me);
    pthread_mutex_unlock(&lock);
    return 0;
}

/* Sends the call (GIL held on entry and exit; released while it waits for
 * a slot). Afterwards c->k >= 0: on the channel; else ended with c->code.
 * Returns 0, or -1 with an exception set: the shutdown hook ran while it
 * waited for a slot, and raised (the call was not made). */
static int call_start(call_t *c, uint32_t request, const char *service, size_t service_len,
                      const char *method, size_t method_len, const Py_buffer *payload,
                      double deadline_s)
{
    c->k = -1;
    c->a.payload = NULL;
    if ((size_t)payload->len > API_MAX_REQUEST_BYTES) {
        c->code = API_RPC_REQUEST_TOO_LARGE;
        return 0;
    }
    pthread_once(&conds_once, init_conds);
    c->deadline = deadline_after(deadline_s);
    /* At least 1: 0 tells the master no deadline was given (its 60 s). */
    uint32_t deadline_ms = (uint32_t)(deadline_s * 1000.0 + 0.5);
    if (deadline_ms == 0)
        deadline_ms = 1;
    caller_t me = {.thread_id = PyThread_get_thread_ident()};
    PyThreadState *ts;
    int k;
    for (;;) {
        int rc = run_pending_and_list(&me);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            c->code = API_RPC_DEADLINE_EXCEEDED;
            return 0;
        }
        ts = PyEval_SaveThread();
        rq_block_begin();
        pthread_mutex_lock(&lock);
        k = take_slot(c, &c->code, &me);
        remove_caller(&me);
        if (k != -2)
            break;
        pthread_mutex_unlock(&lock);
        rq_block_end();
        PyEval_RestoreThread(ts);
    }
    uint32_t id = k >= 0 ? slots[k].id : 0;
    /* Set now: the answer may come as soon as the frame is sent. */
    c->k = k;
    pthread_mutex_unlock(&lock);
    if (k >= 0) {
        buf_t b = BUF_INIT;
        long start;
        if (build_frame(&b, id, request, deadline_ms, service, service_len, method, method_len,
                        (size_t)payload->len, &start) < 0 ||
            channel_send_frame(&b, start, payload->buf, (size_t)payload->len, NULL) < 0) {
            /* Nothing was sent: the slot is free again. */
            pthread_mutex_lock(&lock);
            slots[k].state = S_FREE;
            slots[k].call = NULL;
            pthread_cond_signal(&slot_freed);
            c->k = -1;
            c->code = API_RPC_REQUEST_TOO_LARGE;
            pthread_mutex_unlock(&lock);
        }
        buf_free(&b);
    }
    rq_block_end();
    PyEval_RestoreThread(ts);
    return 0;
}

/* Waits (GIL released) until one of calls[0..n) needs no more waiting:
 * its answer came, its deadline passed, the calls were cancelled or the
 * thread's request deadline came. Returns its index, or -1 with an
 * exception set: the shutdown hook ran while it waited, and raised. */
static Py_ssize_t calls_wait_any(call_t *const *calls, Py_ssize_t n)
{
    pthread_once(&conds_once, init_conds);
    caller_t me = {.thread_id = PyThread_get_thread_ident()};
    Py_ssize_t found = -1;
    while (found < 0) {
        int rc = run_pending_and_list(&me);
        if (rc != 0)
            return rc > 0 ? 0 : -1; /* rc > 0: call_wait ends it with DEADLINE_EXCEEDED */
        PyThreadState *ts = PyEval_SaveThread();
        rq_block_begin();
        pthread_mutex_lock(&lock);
        while (found < 0 && !me.poked) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            const struct timespec *first = NULL;
            for (Py_ssize_t i = 0; i < n && found < 0; i++) {
                if (call_ready(calls[i], &now))
                    found = i;
                else if (!first || ts_before(&calls[i]->deadline, first))
                    first = &calls[i]->deadline;
            }
            if (found < 0 && me.interrupted)
                found = 0;
            if (found < 0 && !me.poked)
                pthread_cond_timedwait(&answered, &lock, first);
        }
        remove_caller(&me);
        pthread_mutex_unlock(&lock);
        rq_block_end();
        PyEval_RestoreThread(ts);
    }
    return found;
}

/* Takes c's answer, waiting (GIL released) until it comes, c's deadline
 * passes, the calls are cancelled or the request's deadline comes. Returns
 * 0, or -1 with an exception set: the shutdown hook ran while it waited,
 * and raised (c is still on the channel). */
static int call_wait(call_t *c)
{
    pthread_once(&conds_once, init_conds);
    caller_t me = {.thread_id = PyThread_get_thread_ident()};
    for (;;) {
        /* Under the lock: the reader thread writes the answer, then k,
         * holding only the lock, not the GIL. */
        pthread_mutex_lock(&lock);
        int ended = c->k < 0;
        pthread_mutex_unlock(&lock);
        if (ended)
            return 0;
        int rc = run_pending_and_list(&me);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            /* The request's deadline waits to be raised in this thread:
             * only an answer already there is taken. */
            pthread_mutex_lock(&lock);
            call_end(c, API_RPC_DEADLINE_EXCEEDED);
            pthread_mutex_unlock(&lock);
            return 0;
        }
        PyThreadState *ts = PyEval_SaveThread();
        rq_block_begin();
        pthread_mutex_lock(&lock);
        /* c->k < 0: another thread waiting on the same call took it. */
        int err = 0;
        while (c->k >= 0 && !cancelled && !me.interrupted && !me.poked && err != ETIMEDOUT)
            err = pthread_cond_timedwait(&answered, &lock, &c->deadline);
        /* Poked: it runs the shutdown hook, then waits on. */
        int again = me.poked && c->k >= 0 && !cancelled && !me.interrupted && err != ETIMEDOUT;
        if (!again)
            call_end(c, cancelled ? API_RPC_CANCELLED : API_RPC_DEADLINE_EXCEEDED);
        remove_caller(&me);
        pthread_mutex_unlock(&lock);
        rq_block_end();
        PyEval_RestoreThread(ts);
        if (!again)
            return 0;
    }
}

/* The call's result tuple; its answer is freed. */
static PyObject *call_result(call_t *c)
{
    PyObject *result;
    if (c->a.payload) {
        result = result_tuple(&c->a);
        free(c->a.payload);
        c->a.payload = NULL;
    } else {
        result = rpc_failure(c->code, "");
    }
    return result;
}

/* api_start's arguments; 0, or -1 with an exception set
 * (the payload released). */
static int parse_call(PyObject *args, unsigned long *request, const char **service,
                      Py_ssize_t *service_len, const char **method, Py_ssize_t *method_len,
                      Py_buffer *payload, double *deadline_s)
{
    PyObject *deadline_obj;
    if (!PyArg_ParseTuple(args, "ks#s#y*O:api_start", request, service, service_len, method,
                          method_len, payload, &deadline_obj))
        return -1;
    *deadline_s = DEFAULT_DEADLINE_S;
    if (deadline_obj != Py_None) {
        *deadline_s = PyFloat_AsDouble(deadline_obj);
        if (*deadline_s == -1.0 && PyErr_Occurred())
            goto fail;
        if (*deadline_s <= 0) {
            /* App Engine's RPC ignores a deadline that is not positive. */
            *deadline_s = DEFAULT_DEADLINE_S;
        } else if (!(*deadline_s <= MAX_DEADLINE_S)) { /* NaN too */
            /* PyErr_Format knows no %g: the bound goes in as an int. */
            PyErr_Format(PyExc_ValueError, "deadline must be at most %d seconds, not %R",
                         (int)MAX_DEADLINE_S, deadline_obj);
            goto fail;
        }
    }
    if (*request > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "request number out of range");
        goto fail;
    }
    return 0;
fail:
    PyBuffer_Release(payload);
    return -1;
}

/* ---------- _gaelic.ApiCall: a call sent, its answer still to take ---------- */

typedef struct {
    PyObject_HEAD call_t c;
    PyObject *result; /* once taken */
} api_call_object;

static void api_call_dealloc(PyObject *o)
{
    api_call_object *self = (api_call_object *)o;
    /* Never waited for: its slot frees when the answer comes. Looked at
     * under the lock, as the answer the reader thread may have left. */
    pthread_mutex_lock(&lock);
    call_end(&self->c, API_RPC_CANCELLED);
    pthread_mutex_unlock(&lock);
    free(self->c.a.payload);
    Py_XDECREF(self->result);
    Py_TYPE(o)->tp_free(o);
}

static PyObject *api_call_wait(PyObject *o, PyObject *unused)
{
    (void)unused;
    api_call_object *self = (api_call_object *)o;
    if (!self->result) {
        if (call_wait(&self->c) < 0)
            return NULL;
        /* Another thread may have taken it meanwhile (the GIL was free). */
        if (!self->result)
            self->result = call_result(&self->c);
    }
    return Py_XNewRef(self->result);
}

static PyMethodDef api_call_methods[] = {
    {"wait", api_call_wait, METH_NOARGS,
     "wait() -> (kind, code, data, cpu_us): the answer, waiting for it if need be."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject api_call_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_gaelic.ApiCall",
    .tp_basicsize = sizeof(api_call_object),
    .tp_dealloc = api_call_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An API call on the channel (api_start); wait() takes its answer.",
    .tp_methods = api_call_methods,
};

static PyObject *api_start(PyObject *self, PyObject *args)
{
    (void)self;
    unsigned long request;
    const char *service, *method;
    Py_ssize_t service_len, method_len;
    Py_buffer payload;
    double deadline_s;
    if (parse_call(args, &request, &service, &service_len, &method, &method_len, &payload,
                   &deadline_s) < 0)
        return NULL;
    api_call_object *obj = PyObject_New(api_call_object, &api_call_type);
    if (!obj) {
        PyBuffer_Release(&payload);
        return NULL;
    }
    obj->c.k = -1;
    obj->c.a.payload = NULL;
    obj->result = NULL;
    if (!channel_writer_ready())
        obj->result = rpc_failure(API_RPC_UNKNOWN, "this process has no channel to the master");
    else if (call_start(&obj->c, (uint32_t)request, service, (size_t)service_len, method,
                        (size_t)method_len, &payload, deadline_s) < 0)
        Py_CLEAR(obj);
    PyBuffer_Release(&payload);
    return (PyObject *)obj;
}

static PyObject *api_wait_any(PyObject *self, PyObject *arg)
{
    (void)self;
    PyObject *seq = PySequence_Fast(arg, "api_wait_any takes a sequence of ApiCall");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    call_t **calls = n > 0 ? PyMem_New(call_t *, (size_t)n) : NULL;
    if (n > 0 && !calls) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    Py_ssize_t found = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyObject_TypeCheck(items[i], &api_call_type)) {
            PyErr_SetString(PyExc_TypeError, "api_wait_any takes a sequence of ApiCall");
            goto out;
        }
        api_call_object *c = (api_call_object *)items[i];
        if (c->result && found < 0)
            found = i; /* already taken: nothing to wait for */
        calls[i] = &c->c;
    }
    /* The sequence holds the calls: none is freed while this waits. */
    if (found < 0 && n > 0)
        found = calls_wait_any(calls, n); /* -1: with the exception returned below */
out:
    PyMem_Free(calls);
    Py_DECREF(seq);
    if (PyErr_Occurred())
        return NULL;
    return found < 0 ? Py_NewRef(Py_None) : PyLong_FromSsize_t(found);
}

/* Marks every wait of thread_id poked (or else interrupted), and wakes
 * them to look. */
static void flag_callers(unsigned long thread_id, int poke)
{
    pthread_once(&conds_once, init_conds);
    pthread_mutex_lock(&lock);
    for (caller_t *c = callers; c; c = c->next) {
        if (c->thread_id != thread_id)
            continue;
        if (poke)
            c->poked = 1;
        else
            c->interrupted = 1;
        pthread_cond_broadcast(&answered);
        pthread_cond_broadcast(&slot_freed);
    }
    pthread_mutex_unlock(&lock);
}

void api_call_poke(unsigned long thread_id)
{
    flag_callers(thread_id, 1);
}

void api_call_interrupt(unsigned long thread_id)
{
    flag_callers(thread_id, 0);
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
    pthread_cond_broadcast(&answered);
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
    {"api_start", api_start, METH_VARARGS,
     "api_start(request, service, method, payload, deadline) -> ApiCall, sent at once"},
    {"api_wait_any", api_wait_any, METH_O,
     "api_wait_any(calls) -> the index of the first ApiCall that needs no more waiting"},
    {"api_cancel_all", api_cancel_all, METH_NOARGS,
     "Cancel every waiting and later API call of this instance."},
    {NULL, NULL, 0, NULL},
};

int api_call_module_init(PyObject *module)
{
    if (PyType_Ready(&api_call_type) < 0 ||
        PyModule_AddObjectRef(module, "ApiCall", (PyObject *)&api_call_type) < 0 ||
        PyModule_AddFunctions(module, methods) < 0 ||
        PyModule_AddIntConstant(module, "cpu_mhz", cpu_mhz) < 0 ||
        PyModule_AddIntConstant(module, "API_MAX_CALLS", API_MAX_CALLS) < 0)
        return -1;
    return 0;
}
