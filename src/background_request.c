#include "background_request.h"

#include <stdio.h>
#include <stdlib.h>

#include "instance_stats.h"
#include "internal_request.h"
#include "log.h"
#include "log_store.h"

#define RESOURCE "/_ah/background"

typedef struct {
    internal_req_t ir; /* must stay first */
    char label[160];   /* "backend worker instance 0" */
} background_req_t;

static void done(job_t *job, const job_result_t *res)
{
    background_req_t *r = (background_req_t *)job;
    int status = internal_req_status(res);
    if (res->error_status && res->error_reason)
        log_warn("%s: background request failed: %s", r->label, res->error_reason);
    log_info("%s: GET " RESOURCE " %d", r->label, status);
    internal_req_log(&r->ir, status, res->instance_id, mcycles_from_us(res->cpu_us, res->cpu_mhz),
                     log_store_now_us());
    internal_req_free(&r->ir);
    free(r);
}

int background_request_send(const struct server *srv, pool_t *pool, const char *backend,
                            const char *version_id, const char *log_name, int index, const char *id)
{
    background_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    internal_req_init(&r->ir, srv);
    snprintf(r->label, sizeof r->label, "%s instance %d", log_name, index);
    if (internal_req_build(&r->ir, backend, version_id, index, RESOURCE,
                           "HTTP_X_APPENGINE_BACKGROUNDREQUEST", id) < 0) {
        internal_req_free(&r->ir);
        free(r);
        return -1;
    }
    /* The runtime, not an app handler, serves it (IPC_FLAG_BACKGROUND). */
    r->ir.job.done = done;
    r->ir.job.script = "";
    r->ir.job.script_len = 0;
    if (pool_submit_background(pool, index, &r->ir.job) < 0) {
        internal_req_free(&r->ir);
        free(r);
        return -1;
    }
    /* Visible at once, unfinished, like a background thread's. */
    r->ir.log_flushed = 1;
    internal_req_log(&r->ir, 0, NULL, 0, 0);
    return 0;
}

int background_thread_env(const struct server *srv, const char *backend, const char *version_id,
                          int index, const char *log_id, buf_t *env, uint32_t *n_env)
{
    internal_req_t r;
    internal_req_init(&r, srv);
    int rc = internal_req_build_logged(&r, backend, version_id, index, RESOURCE, log_id);
    if (rc == 0)
        rc = buf_append(env, buf_ptr(&r.env), r.env.len);
    if (rc == 0)
        *n_env = r.job.n_env;
    internal_req_free(&r);
    return rc < 0 ? -1 : 0;
}
