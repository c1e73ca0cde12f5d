/* The hand-off between the channel reader thread and the Python workers,
 * plus the bookkeeping that graceful shutdown needs (how many requests are
 * queued or running). One queue per instance process; all functions are
 * thread-safe and none touches Python, so callers release the GIL around the
 * blocking ones. */
#ifndef GAELIC_REQUEST_QUEUE_H
#define GAELIC_REQUEST_QUEUE_H

#include "request.h"

/* Takes ownership of r and wakes one worker. */
void rq_push(gaelic_request_t *r);

/* Blocks until a request is queued (returned, owned by the caller, and
 * counted as running until rq_done) or shutdown has begun and the queue is
 * empty (returns NULL: the worker should stop). */
gaelic_request_t *rq_pop_wait(void);

/* Like rq_pop_wait but never blocks: NULL when the queue is empty. Only
 * takes the queue mutex briefly, so callers may hold the GIL (the reader
 * never needs it): a busy worker then goes from one request to the next
 * without giving up the GIL. */
gaelic_request_t *rq_try_pop(void);

/* The response of one running request has been sent. */
void rq_done(void);

/* IPC_SHUTDOWN arrived: queued requests still run, then workers get NULL. */
void rq_begin_shutdown(void);

/* Returns 1 once shutdown has begun. */
int rq_shutting_down(void);

/* Blocks until shutdown has begun and no request is queued or running. */
void rq_wait_drained(void);

#endif
