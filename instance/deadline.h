/* Request deadlines inside an instance (RT7).
 *
 * The master times every request. At its deadline it sends IPC_DEADLINE,
 * and the channel reader calls deadline_fire: with the GIL held, that raises
 * google.appengine.runtime.DeadlineExceededError in the worker thread running
 * the request (thread_control_set_async_exc), once per request.
 *
 * An asynchronous exception only lands when the thread runs bytecode, and
 * CPython retries an interrupted system call without looking at it (nor at
 * signals, outside the main thread), so no signal could cut a time.sleep
 * short. The runtime therefore replaces time.sleep with deadline_sleep
 * (_gaelic.sleep), a wait on a condition variable that deadline_fire wakes;
 * the sleeping thread then raises the error itself. The sandbox does not
 * matter here: a futex is all it takes. What stays blocked in C (a regex,
 * a C loop, another system call) is covered by the master, which kills the
 * instance when the grace runs out. Any other thread's deadline_sleep can be
 * woken the same way by deadline_raise_in: the runtime stops the threads a
 * request started with it when the request's deadline comes.
 *
 * Each worker thread has one entry, armed from taking a request
 * (deadline_arm) until its handler is done (deadline_disarm). A deadline for
 * a request that is no longer armed (it finished just before) is ignored,
 * and disarming drops an exception still pending, so nothing ever lands in
 * a later request of the same thread.
 *
 * Lock order: the GIL, then the entries' mutex; nobody waits for the GIL
 * while holding the mutex. */
#ifndef GAELIC_DEADLINE_H
#define GAELIC_DEADLINE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

/* The exception class to raise (GIL held); a new reference is kept. */
void deadline_set_error(PyObject *type);

/* GIL held: the calling thread starts running request id. */
void deadline_arm(uint32_t id);

/* GIL held: the calling thread's request is over as far as deadlines go. */
void deadline_disarm(void);

/* Without the GIL (the channel reader): request id is past its deadline. */
void deadline_fire(uint32_t id);

/* Wakes thread_id if it sleeps in deadline_sleep, to run the call
 * thread_control has for it (thread_control_run_pending); the sleep then
 * goes on. */
void deadline_poke(unsigned long thread_id);

/* GIL held: the calling thread's request deadline has come and its
 * DeadlineExceededError is still to be raised (so do not start waiting). */
int deadline_exception_pending(void);

/* GIL held: raises exc in thread_id, which may be any thread: at once if
 * it sleeps in deadline_sleep, else when it next runs Python code (an API
 * call it waits for ends). Returns 1 if the thread was found. */
int deadline_raise_in(unsigned long thread_id, PyObject *exc);

/* GIL held: the calling worker's request deadline has come and its
 * DeadlineExceededError has been raised (it is not pending any more). */
int deadline_passed(void);

/* GIL held: sleeps secs seconds (>= 0, checked by the caller) with the GIL
 * released. Returns 0, or -1 with an exception set when the request's
 * deadline (DeadlineExceededError) or deadline_raise_in cut the sleep
 * short. Any thread may call it. */
int deadline_sleep(double secs);

#endif
