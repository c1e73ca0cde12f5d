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
    int timed_out;    /* with error_status 500: the request ran past its deadline */
    const char *error_reason;
    const char *status;
    uint32_t status_len;
    uint32_t n_headers;
    ipc_reader_t headers; /* positioned at the first (name, value) pair */
    const char *body;
    uint32_t body_len;
    const char *instance_id;
    uint64_t cpu_us; /* CPU time the request's thread used in the instance */
    int cpu_mhz;     /* the instance's clock: megacycles = mcycles_from_us(cpu_us, cpu_mhz) */
} job_result_t;

typedef void (*job_done_t)(job_t *job, const job_result_t *res);

/* What the pool tells a job's request log (LG1), set when it leaves the
 * queue: how long it waited for an instance; whether it was the first
 * request its instance took (the one that imports the app: App Engine's
 * loading request); the number of that instance in a numbered pool (a
 * backend's), else -1. */
typedef struct {
    int64_t pending_us;
    int loading;
    int replica_index;
} job_log_t;

#define JOB_LOG_NONE ((job_log_t){.pending_us = 0, .loading = 0, .replica_index = -1})

/* A request waiting for or running on an instance. Owned by its creator
 * (a connection), which must call pool_cancel before freeing it while it is
 * queued or running. The pool copies what it needs when it dispatches. */
struct job {
    job_done_t done;
    void *owner;
    const char *log_id; /* REQUEST_LOG_ID (NUL-terminated, owner's) */
    int target;         /* numbered pools: 0 any instance, k+1 instance k */
    const char *script;
    size_t script_len;
    const buf_t *env; /* encoded (bytes key, bytes value) pairs, see ipc.h */
    uint32_t n_env;
    const char *body;
    size_t body_len;
    /* RT7: ms the request may run on its instance before DeadlineExceededError
     * (then deadline_grace_ms more before the instance is killed); 0: no
     * deadline (backends). */
    uint64_t deadline_ms;
    /* logservice Flush from the running request (LG1): its log row should
     * show it now, unfinished, on instance_id. NULL: nothing to do. */
    void (*flushed)(job_t *job, const char *instance_id);
    /* Its backend was deleted while it waited (pool_divert_queued): the
     * owner submits it again, to the default version (BK6). NULL: it
     * fails as the backend stops (404). */
    void (*diverted)(job_t *job);
    job_log_t log; /* reset by pool_submit* */
    /* pool bookkeeping */
    pool_t *pool;       /* submitted to, or handed over to (pool_hand_over) */
    uint64_t queued_us; /* loop_t.now_us */
    job_t *next, *prev;
    instance_t *inst;
    uint32_t id;
    int queued;
};

typedef struct {
    const char *app_root;
    const char *python_dir;
    const char *library_modules;   /* "a,b,c" importable from dist-packages */
    const char *skip_files;        /* app.yaml's combined skip_files regex, or NULL */
    const char *static_only_files; /* config.h's static_only_files, or NULL */
    const char *import_path;       /* config.h's import_path, or NULL */
    const char *const *linked;     /* --follow_symlinks targets (app_links.h), or NULL */
    const char *exe;               /* path of gaelic-instance, the zygote */
    const char *backends_env;      /* "GAELIC_BACKENDS=HOST:PORT name=N ...", or NULL */
    int max_instances;
    /* The default version's instances kept running from the start, idle or
     * not (app.yaml's automatic_scaling min_instances); at most
     * max_instances. Numbered pools: 0. */
    int min_instances;
    /* ... and as many with no request, beside those that have some
     * (min_idle_instances); within max_instances. Numbered pools: 0. */
    int min_idle_instances;
    /* At most this many without a request for a quarter of idle_timeout_ms
     * (max_idle_instances): those beyond stop then; -1: no bound
     * ("automatic"). At least min_idle_instances. Numbered pools: -1. */
    int max_idle_instances;
    int threads;             /* concurrent requests per instance */
    int max_concurrent;      /* per app, across instances */
    int max_pending;         /* queued requests beyond that: 503 */
    uint64_t max_pending_ms; /* time in the queue before 503 */
    /* How long a request waits for a free instance before another starts;
     * -1: automatic (at once while there are CPUs for them, see pool.c). */
    int min_pending_ms;
    /* ... and after which one starts regardless (max_pending_latency); -1:
     * automatic. At least min_pending_ms. */
    int max_pending_start_ms;
    uint64_t idle_timeout_ms;         /* idle instances are stopped after this */
    uint64_t stop_grace_ms;           /* a stopping instance is killed after this */
    size_t max_response_bytes;        /* body; the zygote gets it too */
    size_t max_response_header_bytes; /* status line + headers, as sent */
    uint64_t deadline_grace_ms;       /* a job past its deadline_ms: this long to stop */
    log_store_t *logs;                /* app log lines go here; may be NULL */
    const char *version_id;           /* for the request logs the pool writes itself */
    const char *module_id;            /* their service (app.yaml's) */
    /* A backend's "NAME.HOSTNAME:PORT": the Host of those rows (its
     * instance's number and a dot before it), as of its /_ah/start's;
     * NULL: none (the default version's have none) */
    const char *log_host;
    int console_app_level;  /* app lines at or above it are also printed */
    const char *sandbox;    /* zygote --sandbox: "strict", "dev" or "off"; NULL: strict */
    size_t instance_memory; /* zygote --memory; 0: SANDBOX_DEFAULT_MEMORY */
    int audit_hook;         /* 0: the zygote gets --audit-hook off (tests) */
    /* Backends (BK2-BK4): instances numbered 0..max_instances-1 that jobs
     * can target; resident ones all run from the start and are replaced
     * when lost; failfast answers 503 instead of queueing. */
    int numbered;
    int resident;
    int failfast;
    size_t memory_limit; /* RSS over this shuts an instance down; 0: none */
    /* API calls from instances (API4); NULL: every call is CALL_NOT_FOUND. */
    const struct api_registry *api;
    /* Every dispatched request gets a ticket here, sent as
     * X-AppEngine-Api-Ticket (api_ticket.h); NULL: no tickets. */
    struct api_tickets *tickets;
    /* The HTTP API server (api_http.h), for the instances' environment
     * (API_HOST, API_PORT); NULL: none. */
    const char *api_host;
    int api_port;
    /* Requests (and background threads) also get GAE_INSTANCE, the
     * instance's unique id, as App Engine's python3 runtimes set it. */
    int gae_instance;
    int cpu_mhz; /* the class's clock (RT12); 0: 600 (F1) */
    /* Caps each instance to cpu_mhz (cpu_cap.h); NULL: accounting only.
     * With a cap, megacycles count at the host's clock: what the instance
     * actually ran, at most cpu_mhz per second. */
    struct cpu_cap *cpu_cap;
    /* Threads an app may start in an instance: its pids cgroup allows
     * these plus the runtime's own (thread_cap.h). */
    int app_threads;
    /* Puts the zygote and instances under the cpu cap and the thread cap
     * (cgroup_mover.h); NULL: neither is on. */
    struct cgroup_mover *mover;
    /* The zygote and each instance get an output pipe of their own there
     * (child_output.h); NULL: they write to the server's own fds. */
    struct child_console *console;
    /* Called when a new instance is ready, before it takes requests: must
     * send its start request with pool_submit_start and report its end
     * with pool_start_result, naming the instance by key (a numbered
     * pool's instance number, else a number of its own). Numbered pools
     * call it for each instance (BK3's /_ah/start); the default version
     * only for an instance started while another served, if one still
     * does (the warmup request, see warms_up in pool.c). NULL: instances
     * take requests at once. */
    void (*start_hook)(void *ctx, pool_t *pool, int key);
    /* system.StartBackgroundRequest from numbered instance `index`, within
     * its background limit: must send the background request `id` with
     * pool_submit_background. 0, or -1 when it cannot. NULL: the pool's
     * instances answer BACKEND_REQUIRED. */
    int (*background_hook)(void *ctx, pool_t *pool, int index, const char *id);
    /* A background thread on numbered instance `index` starts (BG3): must
     * append to env the IPC (key, value) pairs of its own /_ah/background
     * request's environ, whose log id is log_id, and set *n_env. 0, or -1
     * when memory runs out. NULL: the thread gets only what the pool adds
     * (REQUEST_LOG_ID, INSTANCE_ID, its API ticket). */
    int (*background_env)(void *ctx, int index, const char *log_id, buf_t *env, uint32_t *n_env);
    void *hook_ctx;
    const char *name; /* for log lines: "backend memdb"; NULL: the default version */
} pool_opts_t;

pool_t *pool_new(loop_t *loop, const pool_opts_t *opts);
/* Starts the zygote. 0 or -1 (logged). */
int pool_start(pool_t *pool);
/* The request log, when it is opened after pool_start. */
void pool_set_logs(pool_t *pool, log_store_t *logs);

/* Queues or dispatches a job. When the queue is full the job completes at
 * once with 503 (its done callback runs before pool_submit returns). */
void pool_submit(pool_t *pool, job_t *job);
/* The start request of the instance start_hook named key: runs before
 * any other request. pool_start_result: ok makes the instance take
 * requests; otherwise it is killed (resident: started again, with
 * backoff). When the instance is gone the job fails at once. */
void pool_submit_start(pool_t *pool, int key, job_t *job);
void pool_start_result(pool_t *pool, int key, int ok);

/* A background request (background_request.h) for numbered instance
 * `index`: dispatched at once, beside its requests (it takes none of their
 * slots), flagged IPC_FLAG_BACKGROUND. 0, or -1 when the instance is gone
 * or memory runs out; then the job was not touched. */
int pool_submit_background(pool_t *pool, int index, job_t *job);

/* A stopped pool (a backend in state STOP) runs no instance and answers
 * 404; started again, resident instances start at once. */
void pool_set_stopped(pool_t *pool, int stopped);
int pool_is_stopped(const pool_t *pool);

/* Numbered pools: running instances (started and taking requests); whether instance `index` runs
 * (and when it last had a request, and whether it has work now: a request or a background
 * thread). */
int pool_running(const pool_t *pool);
int pool_instance_state(const pool_t *pool, int index, uint64_t *last_active_ms, int *busy);

/* Numbered pools: where instance `index` is in its life. */
typedef enum {
    POOL_INSTANCE_NONE,     /* no live instance has that number */
    POOL_INSTANCE_STARTING, /* not ready yet */
    POOL_INSTANCE_IN_START, /* running its start request, taking nothing else */
    POOL_INSTANCE_SERVING,
    POOL_INSTANCE_STOPPING,
} pool_instance_phase_t;
pool_instance_phase_t pool_instance_phase(const pool_t *pool, int index);

/* Numbered pools: shuts instance `index` down by hand (the shutdown
 * notice, then the grace period); a resident one starts again once it is
 * gone. 0, or -1 when no such instance runs. */
int pool_shutdown_instance(pool_t *pool, int index);

/* --automatic_restart: the instances that imported the app shut down
 * (their running requests finish; a default-version one in its warmup once
 * that ends), and the next start after failures need not wait (the
 * growing delays stay); new ones import the app's files as they are now.
 * Returns how many. */
int pool_restart_instances(pool_t *pool);

/* Live changes (backends' configure): how many instances, and failfast.
 * Instances numbered beyond the new count are shut down. */
void pool_configure(pool_t *pool, int instances, int failfast);

/* Forgets a job whose owner goes away, in whichever pool it is now; a
 * running job's answer is dropped. Returns the id of the instance still
 * running it (valid until the end of the event batch), or NULL when it was
 * only queued. */
const char *pool_cancel(job_t *job);

/* A backend's update (BK6): the jobs still waiting in `from`, whose
 * instances are about to shut down, wait in `to` instead, as if submitted
 * there (their wait so far counts). */
void pool_hand_over(pool_t *from, pool_t *to);

/* A backend's delete (BK6): the jobs waiting in pool that have a diverted
 * callback leave its queue and are given to it, in their order. */
void pool_divert_queued(pool_t *pool);

/* Graceful stop: every instance is asked to finish and exit; returns
 * immediately. pool_idle() tells when nothing runs any more. */
void pool_shutdown(pool_t *pool);
int pool_busy(const pool_t *pool);
/* For a pool that is no longer busy: lets its zygote go without waiting
 * for it (killed if it takes too long); 1 once it is gone and reaped. */
int pool_zygote_gone(pool_t *pool);
/* Kills everything at once (end of the shutdown grace period), waiting
 * for the zygote. */
void pool_kill_all(pool_t *pool);
/* Writes the requests dispatched during the event batch. */
void pool_flush(pool_t *pool);
/* Frees what was closed during the last event batch. */
void pool_reap(pool_t *pool);
void pool_free(pool_t *pool);

#endif
