/* Instances of one app version: spawning through the zygote, the request
 * queue, dispatch, automatic scaling, idle stop, crash handling and
 * shutdown. Everything here runs in the master's event loop. */
#ifndef GAELIC_POOL_H
#define GAELIC_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "ipc.h"
#include "log_store.h"
#include "loop.h"

typedef struct pool pool_t;
typedef struct instance instance_t;
typedef struct job job_t;

/* What the pool hands back for a job. For an app answer, status/headers/body
 * point into the instance's read buffer and are valid only during the
 * callback. For a failure
 * (the instance died, queue full, ...) error_status is set instead. */
typedef struct {
    int error_status; /* 0 for an app response, else 500/503 */
    const char *error_reason;
    const char *status;
    uint32_t status_len;
    uint32_t n_headers;
    ipc_reader_t headers; /* positioned at the first (name, value) pair */
    const char *body;
    uint32_t body_len;
    const char *instance_id;
    uint32_t cpu_us; /* CPU time the request's thread used in the instance */
} job_result_t;

typedef void (*job_done_t)(job_t *job, const job_result_t *res);

/* A request waiting for or running on an instance. Owned by its creator
 * (a connection), which must call pool_cancel before freeing it while it is
 * queued or running. The pool copies what it needs when it dispatches. */
struct job {
    job_done_t done;
    void *owner;
    const char *log_id; /* REQUEST_LOG_ID (NUL-terminated, owner's) */
    const char *script;
    size_t script_len;
    const buf_t *env; /* encoded (bytes key, bytes value) pairs, see ipc.h */
    uint32_t n_env;
    const char *body;
    size_t body_len;
    /* pool bookkeeping */
    uint64_t queued_ms;
    job_t *next, *prev;
    instance_t *inst;
    uint32_t id;
    int queued;
};

typedef struct {
    const char *app_root;
    const char *python_dir;
    const char *library_modules; /* "a,b,c" importable from dist-packages */
    const char *exe;             /* path of the gaelic binary, for the zygote */
    int max_instances;
    int threads;              /* concurrent requests per instance */
    int max_concurrent;       /* per app, across instances */
    int max_pending;          /* queued requests beyond that: 503 */
    uint64_t max_pending_ms;  /* time in the queue before 503 */
    uint64_t idle_timeout_ms; /* idle instances are stopped after this */
    size_t max_response_bytes;
    log_store_t *logs;     /* app log lines go here; may be NULL */
    int console_app_level; /* app lines at or above it are also printed */
    const char *sandbox;    /* zygote --sandbox: "strict", "dev" or "off"; NULL: strict */
    size_t instance_memory; /* zygote --memory; 0: SANDBOX_DEFAULT_MEMORY */
    int audit_hook;         /* 0: the zygote gets --audit-hook off (tests) */
} pool_opts_t;

pool_t *pool_new(loop_t *loop, const pool_opts_t *opts);
/* Starts the zygote. 0 or -1 (logged). */
int pool_start(pool_t *pool);

/* Queues or dispatches a job. When the queue is full the job completes at
 * once with 503 (its done callback runs before pool_submit returns). */
void pool_submit(pool_t *pool, job_t *job);
/* Forgets a job whose owner goes away; a running job's answer is dropped. */
void pool_cancel(pool_t *pool, job_t *job);

/* Graceful stop: every instance is asked to finish and exit; returns
 * immediately. pool_idle() tells when nothing runs any more. */
void pool_shutdown(pool_t *pool);
int pool_busy(const pool_t *pool);
/* Kills everything at once (end of the shutdown grace period). */
void pool_kill_all(pool_t *pool);
/* Writes the requests dispatched during the event batch. */
void pool_flush(pool_t *pool);
/* Frees what was closed during the last event batch. */
void pool_reap(pool_t *pool);
void pool_free(pool_t *pool);

#endif
