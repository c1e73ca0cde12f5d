#include "backends.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend_state.h"
#include "cgi_env.h"
#include "http.h"
#include "instance_stats.h"
#include "log.h"
#include "log_store.h"
#include "router.h"
#include "server.h"

#define BILLING_TAIL_MS (15 * 60 * 1000) /* BK10 */
#define BILLING_TICK_MS 1000

/* The start request of one instance (BK3). */
typedef struct {
    job_t job;
    backend_rt_t *b;
    int index;
    buf_t env;
    http_request_t req;
    route_t route;
    int has_route;
    char log_id[32];
    int64_t start_us;
} start_job_t;

typedef struct {
    uint64_t billed_ms;
    uint64_t tail_until_ms; /* billed while not running until then */
} billing_t;

struct backend_rt {
    backends_t *all;
    const backend_t *cfg;
    pool_t *pool;
    int stopped, deleted;
    int instances, public_, failfast; /* live values (configure) */
    start_job_t *starts;              /* [cfg->instances at most 200] */
    billing_t *bills;
    uint64_t started_ms; /* when it last entered START */
    char log_name[128];  /* "backend NAME", for the pool's log lines */
};

struct backends {
    server_t *srv;
    const backends_config_t *cfg;
    backend_rt_t *list;
    size_t n;
    backend_state_t *state;
    loop_timer_t billing_timer;
    uint64_t billed_at_ms;
    uint64_t request_seq;
};

/* Instance numbers a backend may use: configure may raise its instances
 * up to the tier's limit without a restart. */
static int capacity(const backend_rt_t *b)
{
    return backend_tier_max_instances(b->all->srv->tier);
}

/* ---------- start requests ---------- */

/* "N.backend.HOSTNAME:PORT": how clients address that instance (BK7). */
static void instance_host(const backend_rt_t *b, int index, char *out, size_t n)
{
    const server_t *srv = b->all->srv;
    snprintf(out, n, "%d.%s.%s:%d", index, b->cfg->name, srv->o.hostname, srv->listen_port);
}

static void start_job_done(job_t *job, const job_result_t *res);

static void start_job_reset(start_job_t *sj)
{
    if (sj->has_route) {
        route_free(&sj->route);
        sj->has_route = 0;
    }
    buf_reset(&sj->env);
}

static void log_start(start_job_t *sj, int status, const char *instance_id, int64_t mcycles)
{
    backend_rt_t *b = sj->b;
    server_t *srv = b->all->srv;
    log_info("%s instance %d: GET /_ah/start %d", b->log_name, sj->index, status);
    char host[512];
    instance_host(b, sj->index, host, sizeof host);
    log_request_t r = {
        .request_id = {sj->log_id, strlen(sj->log_id)},
        .version_id = {srv->version_id, strlen(srv->version_id)},
        .ip = {"0.1.0.3", 7},
        .method = {"GET", 3},
        .resource = {"/_ah/start", 10},
        .http_version = {"HTTP/1.1", 8},
        .host = {host, strlen(host)},
        .instance_id = {instance_id, instance_id ? strlen(instance_id) : 0},
        .start_us = sj->start_us,
        .end_us = log_store_now_us(),
        .status = status,
        .mcycles = mcycles,
    };
    log_store_request(srv->logs, &r);
}

/* BK3: 200-299 or 404 means started. */
static void finish_start(start_job_t *sj, int status, const char *instance_id, int64_t mcycles)
{
    log_start(sj, status, instance_id, mcycles);
    start_job_reset(sj);
    int ok = (status >= 200 && status <= 299) || status == 404;
    if (!ok)
        log_warn("%s instance %d: start request answered %d; the instance is stopped",
                 sj->b->log_name, sj->index, status);
    pool_start_result(sj->b->pool, sj->index, ok);
}

static void start_job_done(job_t *job, const job_result_t *res)
{
    start_job_t *sj = job->owner;
    int status = res->error_status;
    if (!status && !http_status_valid(res->status, res->status_len, &status))
        status = 500;
    if (res->error_status && res->error_reason)
        log_warn("%s instance %d: start request failed: %s", sj->b->log_name, sj->index,
                 res->error_reason);
    finish_start(sj, status, res->instance_id, mcycles_from_us(res->cpu_us, res->cpu_mhz));
}

/* The request an instance gets first: an empty GET /_ah/start from the
 * runtime, to the backend's start: script or else app.yaml's handlers. */
static void send_start(void *ctx, pool_t *pool, int index)
{
    backend_rt_t *b = ctx;
    (void)pool;
    if (index < 0 || index >= capacity(b))
        return;
    backends_t *all = b->all;
    server_t *srv = all->srv;
    start_job_t *sj = &b->starts[index];
    start_job_reset(sj);
    sj->b = b;
    sj->index = index;
    sj->start_us = log_store_now_us();
    /* The top bit keeps these ids apart from the connections' ones. */
    snprintf(sj->log_id, sizeof sj->log_id, "%016llx%08x", (unsigned long long)sj->start_us,
             (unsigned)((++all->request_seq & 0x7fffffffu) | 0x80000000u));
    char host[512], raw[800];
    instance_host(b, index, host, sizeof host);
    int n = snprintf(raw, sizeof raw,
                     "GET /_ah/start HTTP/1.1\r\nHost: %s\r\nUser-Agent: AppEngine-Google; "
                     "(+http://code.google.com/appengine)\r\n\r\n",
                     host);
    http_request_reset(&sj->req);
    size_t used;
    if (n <= 0 || (size_t)n >= sizeof raw ||
        http_request_feed(&sj->req, raw, (size_t)n, &used) != HTTP_DONE) {
        finish_start(sj, 500, NULL, 0);
        return;
    }
    const char *script = b->cfg->start;
    if (!script) {
        int m = router_match(srv->cfg, "/_ah/start", 10, &sj->route);
        if (m <= 0 || sj->route.handler->kind != HANDLER_SCRIPT) {
            if (m > 0)
                route_free(&sj->route);
            /* Nothing handles it: a 404, which counts as started. */
            finish_start(sj, 404, NULL, 0);
            return;
        }
        sj->has_route = 1;
        script = sj->route.target;
    }
    login_user_t admin = {.signed_in = 0};
    app_env_t app = {
        .app_id = srv->app_id,
        .version_id = srv->version_id,
        .default_hostname = srv->hostport,
        .listen_host = srv->listen_host,
        .listen_port = srv->listen_port,
        .vars = srv->cfg->env,
        .n_vars = srv->cfg->n_env,
        .user = &admin,
    };
    uint32_t n_env = 0;
    if (cgi_env_build(&sj->env, &n_env, &app, &sj->req, "0.1.0.3", 0, sj->log_id) < 0 ||
        ipc_put_bytes(&sj->env, "BACKEND_ID", 10) < 0 ||
        ipc_put_bytes(&sj->env, b->cfg->name, strlen(b->cfg->name)) < 0) {
        finish_start(sj, 500, NULL, 0);
        return;
    }
    memset(&sj->job, 0, sizeof sj->job);
    sj->job.done = start_job_done;
    sj->job.owner = sj;
    sj->job.log_id = sj->log_id;
    sj->job.script = script;
    sj->job.script_len = strlen(script);
    sj->job.env = &sj->env;
    sj->job.n_env = n_env + 1;
    sj->job.body = "";
    sj->job.body_len = 0;
    pool_submit_start(b->pool, index, &sj->job);
}

/* ---------- billing (BK10) ---------- */

/* Adds the time since the last call to each instance number's bill: while
 * it runs, and then until 15 minutes after its shutdown (resident) or its
 * last request (dynamic). */
static void bill(backends_t *all, uint64_t now)
{
    uint64_t since = all->billed_at_ms ? all->billed_at_ms : now;
    all->billed_at_ms = now;
    for (size_t i = 0; i < all->n; i++) {
        backend_rt_t *b = &all->list[i];
        for (int k = 0; k < capacity(b); k++) {
            billing_t *bl = &b->bills[k];
            uint64_t last_active;
            if (pool_instance_state(b->pool, k, &last_active))
                bl->tail_until_ms = (b->cfg->dynamic ? last_active : now) + BILLING_TAIL_MS;
            uint64_t end = now < bl->tail_until_ms ? now : bl->tail_until_ms;
            if (end > since)
                bl->billed_ms += end - since;
        }
    }
}

static void billing_tick(loop_t *loop, loop_timer_t *t)
{
    backends_t *all = (backends_t *)((char *)t - offsetof(backends_t, billing_timer));
    bill(all, loop->now_ms);
    loop_timer_start(loop, t, BILLING_TICK_MS);
}

/* ---------- lifecycle ---------- */

static void apply_live(backend_rt_t *b)
{
    pool_configure(b->pool, b->instances, b->failfast);
}

static int start_one(backends_t *all, backend_rt_t *b, const backend_t *cfg,
                     const pool_opts_t *base)
{
    server_t *srv = all->srv;
    b->all = all;
    b->cfg = cfg;
    backend_saved_t saved;
    backend_state_get(all->state, cfg->name, &saved);
    b->stopped = saved.stopped;
    b->deleted = saved.deleted;
    b->instances = saved.instances > 0 ? saved.instances : cfg->instances;
    b->public_ = saved.public_ >= 0 ? saved.public_ : cfg->public_;
    b->failfast = saved.failfast >= 0 ? saved.failfast : cfg->failfast;
    b->starts = calloc((size_t)capacity(b), sizeof *b->starts);
    b->bills = calloc((size_t)capacity(b), sizeof *b->bills);
    if (!b->starts || !b->bills)
        return -1;
    for (int k = 0; k < capacity(b); k++)
        http_request_init(&b->starts[k].req, &srv->limits);
    const backend_class_info_t *cls = backend_class_info(cfg->cls);
    snprintf(b->log_name, sizeof b->log_name, "backend %s", cfg->name);
    pool_opts_t po = *base;
    po.numbered = 1;
    po.resident = !cfg->dynamic;
    po.failfast = b->failfast;
    po.max_instances = b->instances;
    po.threads = srv->cfg->threadsafe ? cfg->max_concurrent_requests : 1;
    po.max_concurrent = b->instances * po.threads;
    po.memory_limit = (size_t)cls->memory_mb << 20;
    po.cpu_mhz = cls->cpu_mhz;
    /* The address-space limit is a backstop well above the class's memory
     * (Python reserves much more than it touches). */
    if (po.instance_memory < 2 * po.memory_limit)
        po.instance_memory = 2 * po.memory_limit;
    po.start_hook = send_start;
    po.hook_ctx = b;
    po.name = b->log_name;
    b->pool = pool_new(&srv->loop, &po);
    if (!b->pool)
        return -1;
    if (b->stopped || b->deleted)
        pool_set_stopped(b->pool, 1);
    if (pool_start(b->pool) < 0)
        return -1;
    b->started_ms = srv->loop.now_ms;
    log_info("backend %s: %s %s, %d instance%s, %s%s%s", cfg->name, cls->name,
             cfg->dynamic ? "dynamic" : "resident", b->instances, b->instances == 1 ? "" : "s",
             b->public_ ? "public" : "private", b->failfast ? ", failfast" : "",
             b->deleted   ? " (deleted)"
             : b->stopped ? " (stopped)"
                          : "");
    return 0;
}

backends_t *backends_start(server_t *srv, const backends_config_t *cfg, const pool_opts_t *base)
{
    backends_t *all = calloc(1, sizeof *all);
    if (!all)
        return NULL;
    all->srv = srv;
    all->cfg = cfg;
    char err[512];
    all->state = backend_state_open(srv->storage_dir, err, sizeof err);
    if (!all->state) {
        log_error("backends: %s", err);
        free(all);
        return NULL;
    }
    all->list = calloc(cfg->n_backends ? cfg->n_backends : 1, sizeof *all->list);
    if (!all->list) {
        backends_free(all);
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_backends; i++) {
        all->n = i + 1;
        if (start_one(all, &all->list[i], &cfg->backends[i], base) < 0) {
            log_error("backend %s: cannot start", cfg->backends[i].name);
            backends_free(all);
            return NULL;
        }
    }
    all->billing_timer.cb = billing_tick;
    loop_timer_start(&srv->loop, &all->billing_timer, BILLING_TICK_MS);
    return all;
}

backend_rt_t *backends_get(backends_t *all, const backend_t *cfg)
{
    for (size_t i = 0; all && i < all->n; i++)
        if (all->list[i].cfg == cfg)
            return all->list[i].deleted ? NULL : &all->list[i];
    return NULL;
}

pool_t *backend_pool(const backend_rt_t *b)
{
    return b->pool;
}

const char *backend_name(const backend_rt_t *b)
{
    return b->cfg->name;
}

int backend_is_public(const backend_rt_t *b)
{
    return b->public_;
}

int backend_instances(const backend_rt_t *b)
{
    return b->instances;
}

/* ---------- commands ---------- */

static void format_duration(uint64_t ms, char *out, size_t n)
{
    uint64_t s = ms / 1000;
    if (s >= 3600)
        snprintf(out, n, "%lluh%02llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s % 3600 / 60));
    else
        snprintf(out, n, "%llum%02llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
}

void backends_list(backends_t *all, buf_t *out)
{
    uint64_t now = all->srv->loop.now_ms;
    bill(all, now);
    buf_printf(out, "%-20s %-6s %-9s %-5s %-24s %-9s %12s %10s\n", "BACKEND", "CLASS", "INSTANCES",
               "STATE", "OPTIONS", "UPTIME", "INST-HOURS", "COST-USD");
    for (size_t i = 0; i < all->n; i++) {
        backend_rt_t *b = &all->list[i];
        if (b->deleted)
            continue;
        const backend_class_info_t *cls = backend_class_info(b->cfg->cls);
        char inst[32], opts[64], up[32];
        snprintf(inst, sizeof inst, "%d/%d", pool_running(b->pool), b->instances);
        snprintf(opts, sizeof opts, "%s%s%s", b->cfg->dynamic ? "dynamic" : "resident",
                 b->public_ ? ",public" : "", b->failfast ? ",failfast" : "");
        format_duration(b->stopped ? 0 : now - b->started_ms, up, sizeof up);
        uint64_t billed = 0;
        for (int k = 0; k < capacity(b); k++)
            billed += b->bills[k].billed_ms;
        double hours = (double)billed / 3600000.0;
        buf_printf(out, "%-20s %-6s %-9s %-5s %-24s %-9s %12.4f %10.4f\n", b->cfg->name, cls->name,
                   inst, b->stopped ? "STOP" : "START", opts, up, hours,
                   hours * cls->cents_per_hour / 100.0);
    }
}

static backend_rt_t *find(backends_t *all, const char *name, char *err, size_t errlen)
{
    for (size_t i = 0; i < all->n; i++)
        if (!strcmp(all->list[i].cfg->name, name) && !all->list[i].deleted)
            return &all->list[i];
    snprintf(err, errlen, "no backend named '%s' (see gaelic backends APPDIR list)", name);
    return NULL;
}

static int save(backends_t *all, backend_rt_t *b, char *err, size_t errlen)
{
    backend_saved_t v = {b->stopped, b->deleted, b->instances, b->public_, b->failfast};
    return backend_state_put(all->state, b->cfg->name, &v, err, errlen);
}

/* configure: only instances, public and failfast, from backends.yaml as it
 * is now, without restarting anything (BK6). */
static int configure(backends_t *all, backend_rt_t *b, buf_t *out, char *err, size_t errlen)
{
    server_t *srv = all->srv;
    backends_config_t *now;
    if (backends_config_load(srv->cfg->root, srv->tier, &now, err, errlen) < 0)
        return -1;
    const backend_t *nb = backends_config_find(now, b->cfg->name, strlen(b->cfg->name));
    if (!nb) {
        snprintf(err, errlen, "backends.yaml no longer lists backend '%s'", b->cfg->name);
        backends_config_free(now);
        return -1;
    }
    b->instances = nb->instances;
    b->public_ = nb->public_;
    b->failfast = nb->failfast;
    backends_config_free(now);
    apply_live(b);
    buf_printf(out, "backend %s: %d instances, %s%s\n", b->cfg->name, b->instances,
               b->public_ ? "public" : "private", b->failfast ? ", failfast" : "");
    return save(all, b, err, errlen);
}

int backends_command(void *ctx, int argc, char **argv, buf_t *out, char *err, size_t errlen)
{
    backends_t *all = ctx;
    if (argc < 2 || strcmp(argv[0], "backends") != 0) {
        snprintf(err, errlen, "unknown request");
        return -1;
    }
    const char *verb = argv[1];
    if (!strcmp(verb, "list")) {
        backends_list(all, out);
        return 0;
    }
    if (argc < 3) {
        snprintf(err, errlen, "%s needs a backend name", verb);
        return -1;
    }
    backend_rt_t *b = find(all, argv[2], err, errlen);
    if (!b)
        return -1;
    if (!strcmp(verb, "start")) {
        if (b->stopped) {
            b->stopped = 0;
            b->started_ms = all->srv->loop.now_ms;
            pool_set_stopped(b->pool, 0);
        }
        buf_printf(out, "backend %s: START\n", b->cfg->name);
        return save(all, b, err, errlen);
    }
    if (!strcmp(verb, "stop")) {
        if (!b->stopped) {
            b->stopped = 1;
            pool_set_stopped(b->pool, 1);
        }
        buf_printf(out, "backend %s: STOP\n", b->cfg->name);
        return save(all, b, err, errlen);
    }
    if (!strcmp(verb, "delete")) {
        b->deleted = 1;
        pool_set_stopped(b->pool, 1);
        buf_printf(out, "backend %s deleted; its requests go to the default version\n",
                   b->cfg->name);
        return save(all, b, err, errlen);
    }
    if (!strcmp(verb, "configure"))
        return configure(all, b, out, err, errlen);
    snprintf(err, errlen,
             "unknown command '%s' (list, start, stop, update, rollback, delete, "
             "configure)",
             verb);
    return -1;
}

/* ---------- housekeeping ---------- */

void backends_shutdown(backends_t *all)
{
    for (size_t i = 0; all && i < all->n; i++)
        pool_shutdown(all->list[i].pool);
}

int backends_busy(const backends_t *all)
{
    for (size_t i = 0; all && i < all->n; i++)
        if (pool_busy(all->list[i].pool))
            return 1;
    return 0;
}

void backends_flush(backends_t *all)
{
    for (size_t i = 0; all && i < all->n; i++)
        pool_flush(all->list[i].pool);
}

void backends_reap(backends_t *all)
{
    for (size_t i = 0; all && i < all->n; i++)
        pool_reap(all->list[i].pool);
}

void backends_free(backends_t *all)
{
    if (!all)
        return;
    loop_timer_stop(&all->srv->loop, &all->billing_timer);
    for (size_t i = 0; i < all->n; i++) {
        backend_rt_t *b = &all->list[i];
        if (b->pool)
            pool_free(b->pool);
        for (int k = 0; b->starts && k < capacity(b); k++) {
            start_job_reset(&b->starts[k]);
            buf_free(&b->starts[k].env);
            http_request_free(&b->starts[k].req);
        }
        free(b->starts);
        free(b->bills);
    }
    free(all->list);
    backend_state_close(all->state);
    free(all);
}
