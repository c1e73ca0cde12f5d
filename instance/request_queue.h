/* Who reads the channel, and the queue of requests read but not yet taken.
 *
 * Reading the channel is a role that one thread holds at a time. An idle
 * worker takes it itself, so with spare workers a request goes from the
 * socket to Python in one thread, with no hand-off between threads. Only
 * when every worker is busy does the reader thread take the role, so that
 * frames (control frames above all) are still read while Python runs; what
 * it reads waits here for the next free worker.
 *
 * All functions are thread-safe and none touches Python: callers release
 * the GIL around the blocking ones. */
#ifndef GAELIC_REQUEST_QUEUE_H
#define GAELIC_REQUEST_QUEUE_H

#include "request.h"

/* Takes ownership of r and wakes one idle worker. */
void rq_push(gaelic_request_t *r);

/* The next request for a worker: from the queue, else by taking the read
 * role and reading the channel. Returns NULL once shutdown has begun and
 * nothing is left (the worker should stop). The request counts as running
 * until rq_done. */
gaelic_request_t *rq_pop_wait(void);

/* Like rq_pop_wait but never blocks or reads: NULL when the queue is empty.
 * Only takes the queue mutex briefly, so callers may hold the GIL: a busy
 * worker then goes from one request to the next without giving it up. */
gaelic_request_t *rq_try_pop(void);

/* The response of one running request has been sent. */
void rq_done(void);

/* Counts as one more running request until rq_done: the instance does not
 * exit at shutdown meanwhile (a shutdown hook still to run). */
void rq_hold(void);

/* The channel exists (a spare instance's workers wait for it). */
void rq_channel_opened(void);

/* The reader thread's side: wait until the role is free and no worker is
 * idle, then hold it; give it back after reading. */
void rq_reader_take_role(void);
void rq_reader_release_role(void);

/* IPC_SHUTDOWN arrived: queued requests still run, then workers get NULL. */
void rq_begin_shutdown(void);

/* Returns 1 once shutdown has begun. */
int rq_shutting_down(void);

/* Blocks until shutdown has begun. */
void rq_wait_shutdown(void);

/* Blocks until shutdown has begun and no request is queued or running. */
void rq_wait_drained(void);

#endif
