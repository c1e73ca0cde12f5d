/* The instance's end of the API channel (API4, BK11; frames in ipc.h):
 * app threads make calls, the channel reader delivers the answers.
 *
 * Functions added to `_gaelic`:
 *   api_start(request, service, method, payload, deadline) -> ApiCall
 *       request: the number of the request the call is made for (0: none);
 *       service, method: str; payload: the serialized inner request
 *       (bytes-like); deadline: seconds from now, None or not positive for
 *       60, more than 86400 a ValueError. Sends one IPC_API_CALL frame at
 *       once (waiting, within the deadline, only for a free slot: at most
 *       API_MAX_CALLS calls are on the channel). ApiCall.wait() waits, with
 *       the GIL released, for the answer and returns (kind, code, data,
 *       cpu_us) (again on later calls): kind 0: data is the serialized
 *       inner response; kind 1: an ApplicationError, code and detail (str)
 *       in code/data; kind 2: an RpcError (api_service.h's codes),
 *       likewise; cpu_us: the master's CPU time for the call. A call past
 *       its deadline ends with DEADLINE_EXCEEDED, one after api_cancel_all
 *       with CANCELLED. An ApiCall freed unwaited gives up its answer. A
 *       slot frees when the answer arrives, whether or not it was taken.
 *       A call thread_control left for the waiting thread (the shutdown
 *       hook) runs inside any of these waits, which then go on; what it
 *       raises is raised from api_start (no call made), wait() or
 *       api_wait_any (the call stays on the channel).
 *   api_wait_any(calls) -> index or None
 *       Waits (GIL released) until one of the ApiCalls needs no more
 *       waiting: answered, past its deadline, cancelled, or the thread's
 *       request deadline came; None for no calls.
 *   api_cancel_all()    CancelApiCalls (API4): every waiting and later call
 *                       of this instance ends with CANCELLED.
 *   set_api_cpu_hook(f) f(request, cpu_us) is called (from the channel
 *                       reader, with the GIL) for each IPC_API_CPU: the
 *                       master's CPU time for a call made with the
 *                       request's API ticket through the HTTP API server.
 *   cpu_mhz             the instance's clock for megacycles (RT12). */
#ifndef GAELIC_API_CALL_H
#define GAELIC_API_CALL_H

#include <stddef.h>
#include <stdint.h>

#define API_MAX_CALLS 100
/* Largest inner request an app may send. */
#define API_MAX_REQUEST_BYTES (32u << 20)

/* In the zygote, before the module is created: the instance class's clock. */
void api_call_set_cpu_mhz(int mhz);

/* Adds the functions and constants above to the module (a PyObject *;
 * this header stays free of Python.h for the channel reader). 0 or -1. */
struct _object;
int api_call_module_init(struct _object *module);

/* The channel reader's part: an IPC_API_RESULT frame with this id and
 * payload (malloc'd; ownership passes here). Returns 0, or -1 with a static
 * reason when the frame breaks the protocol. Never touches Python. */
int api_call_deliver(uint32_t id, uint8_t *payload, size_t len, const char **why);

/* The channel reader's part of IPC_API_CPU: takes the GIL and calls the
 * hook; an exception it raises is printed and dropped. */
void api_call_charge(uint32_t request, uint32_t cpu_us);

/* thread_control's part (call_in_thread, GIL held): thread_id, if it
 * waits for a slot or an answer, runs the call left for it
 * (thread_control_run_pending) and then waits on; its exception ends the
 * wait. Waits that begin later run it first. */
void api_call_poke(unsigned long thread_id);

/* The request deadline's part (deadline.c, GIL held): the API call that
 * thread is making, or waiting to make, ends with DEADLINE_EXCEEDED. */
void api_call_interrupt(unsigned long thread_id);

#endif
