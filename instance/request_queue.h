/* Who reads the channel, who runs the next request, and the queue of
 * requests read but not yet taken.
 *
 * Python runs one thread at a time (the GIL), so a second worker running
 * beside the first only adds hand-offs between threads, each a context
 * switch. A worker that runs a request therefore goes on to the next one
 * itself: it takes queued requests and, when the queue is empty, reads the
 * channel without blocking, all without giving up the GIL. Other workers
 * are woken only when that runner cannot go on:
 * - it waits at a point the runtime controls (time.sleep, an API call,
 *   joining the request's threads): rq_block_begin/rq_block_end;
 * - it runs out of work: it then blocks reading the channel itself;
 * - the reader thread sees no request start or end for a whole tick (a
 *   long computation, or a wait the runtime cannot see, like a lock): it
 *   takes the channel over and hands queued requests to idle workers.
 *
 * The read role is held by one thread at a time. It may be left vacant
 * only while some worker is running (it will read when it is done); when
 * none is, an idle worker holds it, else the reader thread, a plain
 * pthread that never needs the GIL, so control frames are always read.
 *
 * All functions are thread-safe and none touches Python: callers release
 * the GIL around the blocking ones. */
#ifndef GAELIC_REQUEST_QUEUE_H
#define GAELIC_REQUEST_QUEUE_H

#include "request.h"

/* Queues r, which the caller read holding the read role, and takes
 * ownership of it. From the reader thread it wakes an idle worker when no
 * worker runs (or the runner is stuck); a worker pushes quietly, since it
 * runs the queue itself next. */
void rq_push(gaelic_request_t *r, int from_reader);

/* The next request for a worker: from the queue, else by taking the read
 * role and reading the channel (blocking). Returns NULL once shutdown has
 * begun and nothing is left (the worker should stop). The request counts as
 * running until rq_done. */
gaelic_request_t *rq_pop_wait(void);

/* Like rq_pop_wait but never blocks: from the queue, else from what the
 * channel holds already. NULL when there is nothing. Called with the GIL
 * held: a busy worker goes from one request to the next without giving it
 * up, and without waking anyone. */
gaelic_request_t *rq_try_pop(void);

/* The response of one running request has been sent. */
void rq_done(void);

/* Whether a request is running or queued now. A hint, without the lock:
 * async-signal-safe, for a signal handler. */
int rq_busy_hint(void);

/* Counts as one more running request until rq_done: the instance does not
 * exit at shutdown meanwhile (a shutdown hook still to run, a request a
 * worker's read keeps for it while it handles the frames after it). */
void rq_hold(void);

/* The calling thread is about to wait (GIL released) / is done waiting.
 * For a worker running a request this lets another worker run queued
 * requests and read the channel meanwhile; for any other thread it does
 * nothing. Calls nest: each begin has its end, and the outermost end makes
 * the worker run again. */
void rq_block_begin(void);
void rq_block_end(void);

/* The channel exists (a spare instance's workers wait for it). */
void rq_channel_opened(void);

/* The reader thread's side: wait until the role is vacant and nobody else
 * can take it (no idle worker, or the runner is stuck), then hold it; give
 * it back after reading. */
void rq_reader_take_role(void);
void rq_reader_release_role(void);

/* IPC_SHUTDOWN arrived: queued requests still run, then workers get NULL. */
void rq_begin_shutdown(void);

/* Returns 1 once shutdown has begun. */
int rq_shutting_down(void);

/* Blocks until shutdown has begun. */
void rq_wait_shutdown(void);

/* Blocks until the workers after the first are needed: the first request
 * has ended, another is queued, the one running waits (rq_block_begin) or
 * stalls, or shutdown has begun. */
void rq_wait_workers_wanted(void);

/* Blocks until shutdown has begun and no request is queued or running. */
void rq_wait_drained(void);

#endif
