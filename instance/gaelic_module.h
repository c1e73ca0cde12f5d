/* `_gaelic`: the C module the Python runtime (python/google/appengine/
 * runtime) uses to take requests and send answers. Built into the binary and
 * registered with PyImport_AppendInittab before Py_Initialize.
 *
 *   next_request() -> (id, script, environ, cgi_env) or None
 *       Blocks (GIL released) for the next request; None once IPC_SHUTDOWN
 *       arrived and the queue is empty. environ is the WSGI environ;
 *       cgi_env holds only the request's variables (for os.environ). If the
 *       environ could not be built, both are None and the error has been
 *       printed: the caller must answer 500.
 *   send_response(id, status, headers, body[, deadline_exceeded])
 *       status str, headers list of (str, str), body bytes; all strings
 *       latin-1. deadline_exceeded true: DeadlineExceededError escaped the
 *       handler (IPC_FLAG_DEADLINE). The request's deadline is disarmed
 *       first. Sent as one IPC_RESPONSE frame with the GIL released. Raises
 *       ResponseTooLargeError (nothing sent) when the status line and
 *       headers or the body exceed their limit (set_response_limits), or
 *       the frame IPC_MAX_PAYLOAD; TypeError/ValueError for bad types; the caller
 *       then answers with something smaller. Exactly one successful call per
 *       request. The GIL is released only if the write has to wait.
 *   send_log(id, level, message)   an IPC_LOG frame (level 0..4, str).
 *   sleep(seconds)                 time.sleep that the deadline of the
 *                                  calling thread's request interrupts
 *                                  (deadline.h); the runtime installs it.
 *   deadline_disarm()              the thread's handler is done: a late
 *                                  deadline is ignored, a pending one dropped.
 *   set_deadline_error(cls)        the class deadlines raise.
 *   set_wsgi_defaults(dict)        the wsgi.* constants every environ gets.
 *   set_thread_name(str)           names the calling OS thread (ps, top).
 *   reason_phrase(code)            the HTTP reason phrase of a status code
 *                                  (src/http_reason.h), or "Unknown".
 *   request_cpu_ns()               CPU the calling worker spent on its request.
 *   adopt_request(id)              the calling thread runs background request
 *                                  id (background.h): its deadline and CPU
 *                                  count, as next_request does for a worker.
 *   api_call, api_cancel_all, cpu_mhz: the API channel (api_call.h).
 *   threads, instance_id, MAX_PAYLOAD, MAX_RESPONSE_BYTES, ResponseTooLargeError
 *   call_in_thread, async_raise, hold, release, shutting_down:
 *       see thread_control.h
 *   background_started, background_ended, set_background_request_hook:
 *       see background.h
 */
#ifndef GAELIC_GAELIC_MODULE_H
#define GAELIC_GAELIC_MODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "channel_writer.h"

/* Hooks for channel_writer that release and re-take the GIL. */
extern const channel_block_hooks_t gaelic_gil_hooks;

/* Registers the module; call before Py_Initialize. threads is the worker
 * count every instance of this zygote runs. Returns 0 or -1. */
int gaelic_module_register(int threads);

/* The (id, script, environ, cgi_env) tuple next_request hands out for r
 * (GIL held; r stays the caller's); NULL when memory runs out. */
struct gaelic_request;
PyObject *gaelic_request_item(struct gaelic_request *r);

/* set_*_hook(f) of the module: keeps a new reference to callable f in
 * *slot (GIL held). None, or NULL with TypeError for what is not callable. */
PyObject *gaelic_set_hook(PyObject **slot, PyObject *f, const char *what);

/* The response limits of RT10 (the master's --max_response_bytes and
 * --max_response_header_bytes): send_response refuses a response beyond
 * them, and _gaelic.MAX_RESPONSE_BYTES tells the runtime when to stop
 * collecting a body. Call before Py_Initialize. */
void gaelic_module_set_response_limits(unsigned long long body, unsigned long long head);

/* The worker thread count given to gaelic_module_register. */
int gaelic_module_threads(void);

/* In a fresh instance (GIL held): publishes _gaelic.instance_id. Returns 0,
 * or -1 with a Python exception set. */
int gaelic_module_set_instance_id(const char *instance_id);

#endif
