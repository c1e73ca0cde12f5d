#include "warmup.h"

#include <stdlib.h>
#include <string.h>

#include "instance_stats.h"
#include "internal_request.h"
#include "log.h"
#include "log_store.h"
#include "router.h"
#include "server.h"

#define RESOURCE "/_ah/warmup"

typedef struct {
    internal_req_t ir; /* must stay first */
    pool_t *pool;
    int key; /* the instance, for pool_start_result */
    route_t route;
    int has_route;
} warmup_t;

/* Its log, then the instance serves whatever the answer was. */
static void finish(warmup_t *w, int status, const char *instance_id, int64_t mcycles)
{
    log_info("instance %.8s: GET " RESOURCE " %d", instance_id ? instance_id : "-", status);
    internal_req_log(&w->ir, status, instance_id, mcycles, log_store_now_us());
    pool_t *pool = w->pool;
    int key = w->key;
    if (w->has_route)
        route_free(&w->route);
    internal_req_free(&w->ir);
    free(w);
    pool_start_result(pool, key, 1);
}

static void done(job_t *job, const job_result_t *res)
{
    warmup_t *w = (warmup_t *)job;
    if (res->error_status && res->error_reason)
        log_warn("instance %.8s: warmup request failed: %s",
                 res->instance_id ? res->instance_id : "-", res->error_reason);
    finish(w, internal_req_status(res), res->instance_id,
           mcycles_from_us(res->cpu_us, res->cpu_mhz));
}

void warmup_send(void *ctx, pool_t *pool, int key)
{
    const server_t *srv = ctx;
    warmup_t *w = calloc(1, sizeof *w);
    if (!w) {
        log_error("out of memory for a warmup request: the instance serves without one");
        pool_start_result(pool, key, 1);
        return;
    }
    internal_req_init(&w->ir, srv);
    w->pool = pool;
    w->key = key;
    if (internal_req_build(&w->ir, NULL, NULL, 0, RESOURCE, NULL, NULL) < 0) {
        finish(w, 500, NULL, 0);
        return;
    }
    int m = internal_req_route(&w->ir, &w->route);
    if (m <= 0) {
        /* No script handles it (no handler, or a static one): nothing
         * for the instance to run, logged as 404 like a backend's
         * /_ah/start without a handler. */
        finish(w, m < 0 ? 500 : 404, NULL, 0);
        return;
    }
    w->has_route = 1;
    w->ir.job.done = done;
    w->ir.job.script = w->route.target;
    w->ir.job.script_len = strlen(w->route.target);
    w->ir.url_map_entry = route_url_map_entry(&w->route);
    w->ir.job.deadline_ms = srv->o.deadline_ms;
    pool_submit_start(pool, key, &w->ir.job);
}
