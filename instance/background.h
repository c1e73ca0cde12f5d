/* Background threads' frames to the master (BG1-BG3). Part of `_gaelic`:
 *
 *   background_started(id[, answer]) IPC_BACKGROUND_START: a background
 *                                   thread with log id `id` (top bit set)
 *                                   starts; the master opens its request
 *                                   log. Waits (GIL released) for
 *                                   IPC_BACKGROUND_STARTED and returns the
 *                                   thread's own CGI environ (a dict),
 *                                   appended to the list `answer` too, where
 *                                   it stays if an exception from outside
 *                                   lands as the call returns; False
 *                                   when the master refuses it (not a
 *                                   backend's instance, BG2: IPC_
 *                                   BACKGROUND_REFUSED); None in a
 *                                   process without a channel
 *   stop_started(id)                IPC_BACKGROUND_START of the internal
 *                                   /_ah/stop request (BK4) with log id
 *                                   `id` (top bit set): its request log
 *                                   opens; nothing to wait for
 *   background_ended(id, failed, cpu_ns)
 *                                   IPC_BACKGROUND_END: it ended (failed:
 *                                   it raised; cpu_ns: the CPU time it
 *                                   used), its request log is complete
 *   set_background_request_hook(f)  f(item) is called for each background
 *                                   request (IPC_REQUEST with
 *                                   IPC_FLAG_BACKGROUND, from
 *                                   system.StartBackgroundRequest) as the
 *                                   channel reader reads it, with the GIL;
 *                                   item is next_request's tuple. f must
 *                                   start a thread of its own that calls
 *                                   adopt_request and answers it with
 *                                   send_response: a worker may be the very
 *                                   request waiting for it to start.
 */
#ifndef GAELIC_BACKGROUND_H
#define GAELIC_BACKGROUND_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "request.h"

extern PyMethodDef background_methods[];

/* The channel reader's part: background request r arrived (ownership
 * passes here). It counts as running (request_queue.h) until its answer. */
void background_request_arrived(gaelic_request_t *r);

/* The channel reader's part of IPC_BACKGROUND_STARTED (laid out as an
 * IPC_REQUEST, ownership passes here): wakes the thread starting r->id.
 * An answer no thread waits for is dropped: the app wrote that start to
 * the channel itself. */
void background_start_answered(gaelic_request_t *r);
/* Its part of IPC_BACKGROUND_REFUSED: the thread starting id gets False.
 * One no thread waits for is dropped. */
void background_start_refused(uint32_t id);

#endif
