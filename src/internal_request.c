#include "internal_request.h"

#include <stdio.h>
#include <string.h>

#include "cgi_env.h"
#include "log_store.h"
#include "router.h"
#include "server.h"
#include "static.h"

void internal_req_init(internal_req_t *r, const server_t *srv)
{
    memset(r, 0, sizeof *r);
    r->srv = srv;
    http_request_init(&r->req, &srv->limits);
}

void internal_req_free(internal_req_t *r)
{
    buf_free(&r->env);
    http_request_free(&r->req);
}

void internal_req_log(internal_req_t *r, int status, const char *instance_id, int64_t mcycles,
                      int64_t end_us)
{
    const server_t *srv = r->srv;
    log_request_t row = {
        .request_id = {r->log_id, strlen(r->log_id)},
        .version_id = {r->version_id, strlen(r->version_id)},
        .ip = {"0.1.0.3", 7},
        .method = {"GET", 3},
        .resource = {r->resource, strlen(r->resource)},
        .http_version = {"HTTP/1.1", 8},
        .host = {r->host, strlen(r->host)},
        .instance_id = {instance_id, instance_id ? strlen(instance_id) : 0},
        .module_id = {config_service(srv->cfg), strlen(config_service(srv->cfg))},
        .url_map_entry = {r->url_map_entry, r->url_map_entry ? strlen(r->url_map_entry) : 0},
        .start_us = r->start_us,
        .end_us = end_us,
        .status = status,
        .mcycles = mcycles,
        .was_loading = r->job.log.loading,
        .pending_us = r->job.log.pending_us,
        .replica_index = r->job.log.replica_index,
    };
    log_store_request(srv->logs, &row);
}

/* job_t.flushed: a long request shows in the logs while it runs. */
static void flushed(job_t *job, const char *instance_id)
{
    internal_req_t *r = job->owner;
    if (!r->log_flushed) {
        r->log_flushed = 1;
        internal_req_log(r, 0, instance_id, 0, 0);
    }
}

/* log_id: the request's, or NULL for a new one. */
static int build(internal_req_t *r, const char *backend, const char *version_id, int index,
                 const char *resource, const char *extra_name, const char *extra_value,
                 const char *log_id)
{
    const server_t *srv = r->srv;
    r->resource = resource;
    r->start_us = log_store_now_us();
    r->log_flushed = 0;
    r->url_map_entry = NULL;
    memset(&r->job, 0, sizeof r->job);
    /* Until the pool takes it, if ever (it may fail first): not served. */
    r->job.log = JOB_LOG_NONE;
    if (log_id)
        snprintf(r->log_id, sizeof r->log_id, "%s", log_id);
    else
        log_store_new_request_id(r->log_id, sizeof r->log_id, r->start_us);
    if (version_id)
        snprintf(r->version_id, sizeof r->version_id, "%s", version_id);
    else
        memcpy(r->version_id, srv->version_id, sizeof r->version_id);
    if (backend)
        snprintf(r->host, sizeof r->host, "%d.%s.%s:%d", index, backend, srv->o.hostname,
                 srv->listen_port);
    else
        snprintf(r->host, sizeof r->host, "%s", srv->hostport);
    char raw[800];
    int n = snprintf(raw, sizeof raw,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: AppEngine-Google; "
                     "(+http://code.google.com/appengine)\r\n\r\n",
                     resource, r->host);
    http_request_reset(&r->req);
    buf_reset(&r->env);
    size_t used;
    if (n <= 0 || (size_t)n >= sizeof raw ||
        http_request_feed(&r->req, raw, (size_t)n, &used) != HTTP_DONE)
        return -1;
    login_user_t nobody = {.signed_in = 0};
    app_env_t app = server_app_env(srv, &nobody);
    app.version_id = r->version_id;
    uint32_t n_env = 0;
    /* resource is one of the runtime's own paths: nothing to decode. */
    if (cgi_env_build(&r->env, &n_env, &app, &r->req, resource, strlen(resource), "0.1.0.3", 0,
                      r->log_id) < 0)
        return -1;
    if (backend) {
        if (ipc_put_bytes(&r->env, "BACKEND_ID", 10) < 0 ||
            ipc_put_bytes(&r->env, backend, strlen(backend)) < 0)
            return -1;
        n_env++;
    }
    /* Added here: cgi_env drops X-AppEngine-* headers, which only the
     * server may set. */
    if (extra_name) {
        if (ipc_put_bytes(&r->env, extra_name, strlen(extra_name)) < 0 ||
            ipc_put_bytes(&r->env, extra_value, strlen(extra_value)) < 0)
            return -1;
        n_env++;
    }
    r->job.flushed = flushed;
    r->job.owner = r;
    r->job.log_id = r->log_id;
    r->job.env = &r->env;
    r->job.n_env = n_env;
    r->job.body = "";
    r->job.body_len = 0;
    r->job.deadline_ms = 0; /* RT7: backends have no deadline */
    return 0;
}

int internal_req_build(internal_req_t *r, const char *backend, const char *version_id, int index,
                       const char *resource, const char *extra_name, const char *extra_value)
{
    return build(r, backend, version_id, index, resource, extra_name, extra_value, NULL);
}

int internal_req_build_logged(internal_req_t *r, const char *backend, const char *version_id,
                              int index, const char *resource, const char *log_id)
{
    return build(r, backend, version_id, index, resource, NULL, NULL, log_id);
}

int internal_req_status(const job_result_t *res)
{
    int status = res->error_status;
    if (!status && !http_status_valid(res->status, res->status_len, &status))
        status = 500;
    return status;
}

int internal_req_route(const internal_req_t *r, route_t *route)
{
    int m = static_route(r->srv->cfg, r->resource, strlen(r->resource), route);
    if (m > 0 && route->handler->kind != HANDLER_SCRIPT) {
        route_free(route);
        return 0;
    }
    return m;
}
