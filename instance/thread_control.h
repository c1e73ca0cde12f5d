/* What the runtime does to threads other than the calling one, and the
 * shutdown notice's hold on the instance (BK4, API3). Part of `_gaelic`:
 *
 *   call_in_thread(thread_id, func) -> bool
 *       Makes the thread run func() the next time it executes Python code
 *       (a one-shot trace function on that thread): an exception func
 *       raises propagates into whatever the thread was running, as with a
 *       signal handler in the main thread. A thread sleeping in time.sleep
 *       during a request (deadline.h) or waiting for an API call
 *       (api_call.h) is woken for it. False if no such thread.
 *   async_raise(thread_id, exc_type) -> bool
 *       Raises exc_type in that thread (thread_control_set_async_exc).
 *   clear_async_exc()
 *       Drops an exception async_raise left pending for the calling thread
 *       (thread_control_drop_async_exc).
 *   hold() / release()
 *       While held, the instance does not exit at shutdown (a shutdown hook
 *       still has to run), as if one more request were running.
 *   shutting_down() -> bool
 *       IPC_SHUTDOWN has arrived.
 */
#ifndef GAELIC_THREAD_CONTROL_H
#define GAELIC_THREAD_CONTROL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

extern PyMethodDef thread_control_methods[];

/* GIL held: runs the call call_in_thread left for the calling thread now,
 * if there is one. 0, or -1 with its exception set. */
int thread_control_run_pending(void);

/* GIL held: PyThreadState_SetAsyncExc, but for thread thread_id itself
 * even while a thread it has just started has not run yet (CPython gives
 * that one its starter's id, and would give it the exception). 1, or 0 if
 * there is no such thread. */
int thread_control_set_async_exc(unsigned long thread_id, PyObject *exc);

/* GIL held: drops an exception an async_raise left pending for
 * the calling thread, the way CPython consumes one (so that its signal is
 * off again). 0, or -1 with an exception set (out of memory). */
int thread_control_drop_async_exc(void);

#endif
