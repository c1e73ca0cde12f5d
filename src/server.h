/* The running server: options, the listening socket, connections, the
 * instance pool. One per `gaelic serve`. */
#ifndef GAELIC_SERVER_H
#define GAELIC_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "app_links.h"
#include "backends_config.h"
#include "cgi_env.h"
#include "config.h"
#include "error_pages.h"
#include "file_watch.h"
#include "http.h"
#include "log_read_budget.h"
#include "log_store.h"
#include "loop.h"
#include "pool.h"
#include "secure_redirect.h"

typedef struct {
    const char *app_dir;
    const char *host;
    int port;
    int api_port; /* the HTTP API server's; 0: a free port */
    /* dev_appserver's admin console's address: taken, said to be none. */
    const char *admin_host;
    int admin_port; /* -1: not given */
    const char *application;
    const char *storage_path;
    const char *logs_path;
    int logs_max_requests;
    size_t logs_max_bytes;
    int max_instances;
    const char *max_module_instances; /* SERVICE:N,...: resolved once app.yaml is read */
    const char *threadsafe_override;  /* BOOL or SERVICE:BOOL,... (server_threadsafe) */
    /* --env_var KEY=VALUE words, in command-line order (the last of a name
     * wins), added to app.yaml's env_variables once it is read */
    const char **env_vars;
    size_t n_env_vars;
    int threads;
    int max_concurrent;
    int max_pending;
    uint64_t max_pending_ms;
    uint64_t idle_timeout_ms;
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    uint64_t keepalive_timeout_ms;
    uint64_t shutdown_timeout_ms;
    uint64_t deadline_ms;       /* RT7: a dynamic request's deadline */
    uint64_t deadline_grace_ms; /* then this long before its instance is killed */
    size_t max_request_bytes;
    size_t max_held_request_bytes;  /* the bodies held at once, all connections */
    size_t max_held_response_bytes; /* the answers held at once, all connections */
    size_t max_response_bytes;
    size_t max_response_header_bytes; /* the app's status line and headers */
    size_t max_header_bytes;
    size_t max_url_bytes;
    int max_app_files; /* RT10's app file limits (config_check_files) */
    size_t max_app_file_bytes;
    size_t max_app_bytes;
    int max_connections;
    const char *trusted_proxy;     /* comma-separated addresses, or NULL */
    const char *sandbox;           /* "strict", "dev" or "off" */
    size_t instance_memory;        /* address-space limit of an instance */
    int instance_max_threads;      /* threads the app may start per instance */
    int test_disarm_audit;         /* --sandbox_test_disarm_audit (hidden) */
    int api_test_service;          /* --api_test_service (hidden): api_test.h */
    int follow_symlinks;           /* --follow_symlinks: app_links.h */
    int host_checking;             /* --enable_host_checking: host_addresses_server */
    int automatic_restart;         /* --automatic_restart: file_watch.h */
    const char *watcher_ignore_re; /* --watcher_ignore_re: file_watch.h */
    const char *cpu_cap;           /* "off", "auto" or "on" (cpu_cap.h) */
    const char *hostname;          /* backends are addressed as [i.]name.HOSTNAME */
    const char *tier;              /* "free" or "paid": BK9's limits */
} serve_opts_t;

typedef struct backends backends_t;
typedef struct api_registry api_registry_t;
typedef struct api_tickets api_tickets_t;
typedef struct control control_t;

typedef struct conn conn_t;
typedef struct thread_jobs thread_jobs_t;

typedef struct server {
    loop_t loop;
    serve_opts_t o;
    app_config_t *cfg;
    pool_t *pool;
    backends_config_t *backends_cfg; /* backends.yaml (none: empty) */
    backends_t *backends;
    file_watch_t *watch; /* --automatic_restart */
    backend_tier_t tier;
    control_t *control;
    /* The HTTP API server (/rpc_http, api_http.h): its connections are
     * conn.h's, accepted on api_listen_w. */
    const api_registry_t *api_registry;
    api_tickets_t *tickets; /* one per running request */
    io_watch_t api_listen_w;
    http_limits_t api_limits;
    char api_host[64];
    int api_port;
    char storage_dir[4096];
    log_store_t *logs;           /* request and app logs */
    io_watch_t logs_w;           /* its finished tasks (the Logs API's reads) */
    log_read_budget_t log_reads; /* the memory the Logs API's reads hold */
    http_limits_t limits;
    size_t requests_held;   /* request bytes the connections hold (limits.held) */
    size_t answers_held;    /* bytes the connections hold to write to their clients */
    int answers_held_noted; /* past max_held_response_bytes, and said so */
    io_watch_t listen_w;
    io_watch_t signal_w;
    char app_id[128];
    char version_id[VERSION_ID_SIZE]; /* CURRENT_VERSION_ID: major.minor */
    char hostport[300];               /* DEFAULT_VERSION_HOSTNAME */
    char listen_host[256];
    int listen_wildcard; /* listen_host is 0.0.0.0 or :: */
    int listen_port;
    conn_t *conns;        /* open connections */
    conn_t *closed_conns; /* freed after the event batch */
    int n_conns;          /* client connections, up to --max_connections */
    int n_api_conns;      /* the API port's, counted apart: clients at the limit
                           * must not lock instances out of their API calls */
    int accept_paused;    /* accept failed for want of fds or memory: warned once */
    int stopping;         /* 1: the grace period, 2: instances stop, 3: killed, answers go out */
    uint64_t stop_deadline_ms;
    loop_timer_t stop_timer;
    loop_timer_t accept_timer;
    loop_timer_t log_timer;
    error_pages_t error_pages;
    trusted_proxies_t trusted_proxies;
    app_links_t links;   /* the app's links outside its folder */
    thread_jobs_t *gzip; /* the gzip threads (gzip_worker.h, static_gzip.h) */
} server_t;

/* The app's part of every request's environ (cgi_env.h), for user. */
static inline app_env_t server_app_env(const server_t *srv, const login_user_t *user)
{
    app_env_t app = {
        .app_id = srv->app_id,
        .version_id = srv->version_id,
        .default_hostname = srv->hostport,
        .runtime = srv->cfg->runtime,
        .service = config_service(srv->cfg),
        .listen_host = srv->listen_host,
        .listen_port = srv->listen_port,
        .vars = srv->cfg->env,
        .n_vars = srv->cfg->n_env,
        .user = user,
    };
    return app;
}

/* Whether instances of service (app.yaml's own, or a backend's name) serve
 * requests concurrently: app.yaml's threadsafe, unless --threadsafe_override
 * gives the service (or every service) another value. */
int server_threadsafe(const server_t *srv, const char *service);

int serve_main(int argc, char **argv);

#endif
