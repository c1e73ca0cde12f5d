/* Requests the server itself sends to an instance: to a backend's, GET
 * /_ah/start when it starts (BK3) and GET /_ah/background for
 * system.StartBackgroundRequest (background_request.h); to the default
 * version's, GET /_ah/warmup (warmup.h). Like App Engine's they come from
 * 0.1.0.3 with App Engine's user agent and have request logs of their
 * own; a backend's run without a deadline. */
#ifndef GAELIC_INTERNAL_REQUEST_H
#define GAELIC_INTERNAL_REQUEST_H

#include <stdint.h>

#include "cgi_env.h"
#include "http.h"
#include "pool.h"
#include "router.h"

struct server;

typedef struct {
    job_t job; /* must stay first: the pool's callbacks get &job */
    const struct server *srv;
    const char *resource; /* "/_ah/start"; a static string */
    http_request_t req;
    buf_t env;
    char host[512]; /* "N.backend.HOSTNAME:PORT", or DEFAULT_VERSION_HOSTNAME */
    char log_id[32];
    char version_id[VERSION_ID_SIZE]; /* CURRENT_VERSION_ID: the backend's, or the default */
    int64_t start_us;
    int log_flushed; /* its log row is written, unfinished (logservice flush) */
    /* Its handler, as its request log names it (route_url_map_entry);
     * NULL: none (a background thread's, or nothing took it). The caller
     * sets it after internal_req_build, with the job's script. */
    const char *url_map_entry;
} internal_req_t;

void internal_req_init(internal_req_t *r, const struct server *srv);
void internal_req_free(internal_req_t *r);

/* Prepares a GET of resource for instance `index` of backend `backend`
 * (a new log id, its environ with BACKEND_ID and version_id as
 * CURRENT_VERSION_ID, the deployment of the backend the instance runs,
 * and extra_name=extra_value unless extra_name is NULL), and sets the
 * job's environ, body, log id and flush callback (owner: r), and no
 * deadline. backend and version_id NULL: for the default version (index
 * unused, no BACKEND_ID, the caller sets the deadline). The caller sets
 * done, script and url_map_entry. 0, or -1 when memory runs out. */
int internal_req_build(internal_req_t *r, const char *backend, const char *version_id, int index,
                       const char *resource, const char *extra_name, const char *extra_value);
/* As internal_req_build without an extra variable, for a request whose log
 * row already has its id: log_id (a background thread's, background_log.h). */
int internal_req_build_logged(internal_req_t *r, const char *backend, const char *version_id,
                              int index, const char *resource, const char *log_id);

/* app.yaml's script handler for the request's resource (after
 * internal_req_build): 1 with it in route (route_free it), 0 when none
 * matches or the one that does is static (nothing for an instance to run:
 * a 404), -1 when memory runs out. */
int internal_req_route(const internal_req_t *r, route_t *route);

/* Its request log row: final, or unfinished (status 0, end_us 0). */
void internal_req_log(internal_req_t *r, int status, const char *instance_id, int64_t mcycles,
                      int64_t end_us);

/* The status a job result stands for: the instance's, or the pool's
 * error status; 500 for an invalid status line. */
int internal_req_status(const job_result_t *res);

#endif
