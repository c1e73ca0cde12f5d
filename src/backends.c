#include "backends.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend_billing.h"
#include "backend_state.h"
#include "background_request.h"
#include "http.h"
#include "instance_stats.h"
#include "internal_request.h"
#include "log.h"
#include "log_store.h"
#include "router.h"
#include "server.h"

#define BILLING_TICK_MS 1000

typedef struct generation generation_t;

/* The start request of one instance (BK3). */
typedef struct {
    internal_req_t ir; /* must stay first */
    generation_t *gen;
    int index;
    route_t route;
    int has_route;
} start_job_t;

/* One version of a backend's configuration and code with its pool of
 * instances. `update` starts a new generation beside the live one and
 * retires the old one only once the new one serves (BK6). */
struct generation {
    backend_rt_t *b;
    const backend_t *cfg;
    backends_config_t *owned; /* the config cfg points into, if not the server's */
    pool_t *pool;
    start_job_t *starts;              /* [capacity] */
    int instances, public_, failfast; /* the backend's values with it */
    int configured;                   /* and whether `configure` set them */
    char version_id[VERSION_ID_SIZE]; /* its instances' CURRENT_VERSION_ID */
    generation_t *next_retired;
};

typedef enum {
    UPDATE_NONE = 0,
    UPDATE_RUNNING,
    UPDATE_DONE,
    UPDATE_FAILED,
    UPDATE_ROLLED_BACK
} update_state_t;

struct backend_rt {
    backends_t *all;
    const backend_t *cfg; /* the live generation's */
    generation_t *live;
    generation_t *update; /* being started by `update`, or failed */
    update_state_t update_state;
    char update_error[256];
    int stopped, deleted;
    int instances, public_, failfast; /* live values (configure) */
    int configured;                   /* whether `configure` set them, else backends.yaml did */
    backend_billing_t billing;
    loop_timer_t update_check; /* an instance began its start request during an update */
    uint64_t started_ms;       /* when it last entered START */
    char log_name[128];        /* "backend NAME", for the pool's log lines */
    char log_host[400];        /* "NAME.HOSTNAME:PORT": its request logs' Host after "N." */
    long long minor;           /* its newest deployment's minor version number */
};

struct backends {
    server_t *srv;
    pool_opts_t base;
    backend_rt_t *list;
    size_t n;
    generation_t *retired; /* shutting down; freed once their instances are gone */
    backend_state_t *state;
    loop_timer_t billing_timer;
    uint64_t billed_at_ms;
};

/* Instance numbers a backend may use: configure may raise its instances
 * up to the tier's limit without a restart. */
static int capacity(const backend_rt_t *b)
{
    return backend_tier_max_instances(b->all->srv->tier);
}

/* ---------- start requests ---------- */

static void start_job_reset(start_job_t *sj)
{
    if (sj->has_route) {
        route_free(&sj->route);
        sj->has_route = 0;
    }
    buf_reset(&sj->ir.env);
}

static void log_start(start_job_t *sj, int status, const char *instance_id, int64_t mcycles)
{
    log_info("%s instance %d: GET /_ah/start %d", sj->gen->b->log_name, sj->index, status);
    sj->ir.log_flushed = 0;
    internal_req_log(&sj->ir, status, instance_id, mcycles, log_store_now_us());
}

static void update_progress(backend_rt_t *b, int start_ok, int index, int status);
static void update_check_soon(backend_rt_t *b);
static void update_check(loop_t *loop, loop_timer_t *t);

/* BK3: 200-299 or 404 means started. */
static void finish_start(start_job_t *sj, int status, const char *instance_id, int64_t mcycles)
{
    generation_t *g = sj->gen;
    log_start(sj, status, instance_id, mcycles);
    start_job_reset(sj);
    int ok = (status >= 200 && status <= 299) || status == 404;
    if (!ok)
        log_warn("%s instance %d: start request answered %d; the instance is stopped",
                 g->b->log_name, sj->index, status);
    pool_start_result(g->pool, sj->index, ok);
    if (g == g->b->update)
        update_progress(g->b, ok, sj->index, status);
}

static void start_job_done(job_t *job, const job_result_t *res)
{
    start_job_t *sj = (start_job_t *)job;
    if (res->error_status && res->error_reason)
        log_warn("%s instance %d: start request failed: %s", sj->gen->b->log_name, sj->index,
                 res->error_reason);
    finish_start(sj, internal_req_status(res), res->instance_id,
                 mcycles_from_us(res->cpu_us, res->cpu_mhz));
}

/* The request an instance gets first: an empty GET /_ah/start from the
 * runtime, to the backend's start: script or else app.yaml's handlers. */
static void send_start(void *ctx, pool_t *pool, int index)
{
    generation_t *g = ctx;
    backend_rt_t *b = g->b;
    (void)pool;
    if (index < 0 || index >= capacity(b))
        return;
    start_job_t *sj = &g->starts[index];
    start_job_reset(sj);
    sj->gen = g;
    sj->index = index;
    if (internal_req_build(&sj->ir, b->cfg->name, g->version_id, index, "/_ah/start", NULL, NULL) <
        0) {
        finish_start(sj, 500, NULL, 0);
        return;
    }
    const char *script = g->cfg->start;
    sj->ir.url_map_entry = script;
    if (!script) {
        if (internal_req_route(&sj->ir, &sj->route) <= 0) {
            /* Nothing handles it: a 404, which counts as started. */
            finish_start(sj, 404, NULL, 0);
            return;
        }
        sj->has_route = 1;
        script = sj->route.target;
        sj->ir.url_map_entry = route_url_map_entry(&sj->route);
    }
    sj->ir.job.done = start_job_done;
    sj->ir.job.script = script;
    sj->ir.job.script_len = strlen(script);
    pool_submit_start(g->pool, index, &sj->ir.job);
    update_check_soon(b);
}

/* system.StartBackgroundRequest on instance `index` (pool.h). */
static int send_background(void *ctx, pool_t *pool, int index, const char *id)
{
    generation_t *g = ctx;
    backend_rt_t *b = g->b;
    return background_request_send(b->all->srv, pool, b->cfg->name, g->version_id, b->log_name,
                                   index, id);
}

/* The environ of a background thread on instance `index` (pool.h). */
static int thread_env(void *ctx, int index, const char *log_id, buf_t *env, uint32_t *n_env)
{
    generation_t *g = ctx;
    backend_rt_t *b = g->b;
    return background_thread_env(b->all->srv, b->cfg->name, g->version_id, index, log_id, env,
                                 n_env);
}

/* ---------- generations ---------- */

static void generation_free(generation_t *g)
{
    if (!g)
        return;
    if (g->pool)
        pool_free(g->pool);
    for (int k = 0; g->starts && k < capacity(g->b); k++) {
        start_job_reset(&g->starts[k]);
        internal_req_free(&g->starts[k].ir);
    }
    free(g->starts);
    backends_config_free(g->owned);
    free(g);
}

/* A pool for cfg with the backend's live values; stopped if the backend
 * is. NULL when it cannot start (logged). */
static generation_t *generation_start(backend_rt_t *b, const backend_t *cfg,
                                      backends_config_t *owned)
{
    server_t *srv = b->all->srv;
    generation_t *g = calloc(1, sizeof *g);
    if (!g) {
        backends_config_free(owned);
        return NULL;
    }
    g->b = b;
    g->cfg = cfg;
    g->owned = owned;
    g->instances = b->instances;
    g->public_ = b->public_;
    g->failfast = b->failfast;
    g->configured = b->configured;
    /* A deployment of its own: the app's minor number for the first, a
     * newer one for each update's new code, as App Engine deployed them. */
    long long minor = b->minor;
    if (b->live) {
        minor = (long long)time(NULL);
        if (minor <= b->minor)
            minor = b->minor + 1;
    }
    snprintf(g->version_id, sizeof g->version_id, "%s.%lld", cfg->name, minor);
    g->starts = calloc((size_t)capacity(b), sizeof *g->starts);
    if (!g->starts) {
        generation_free(g);
        return NULL;
    }
    for (int k = 0; k < capacity(b); k++)
        internal_req_init(&g->starts[k].ir, srv);
    const backend_class_info_t *cls = backend_class_info(cfg->cls);
    pool_opts_t po = b->all->base;
    po.numbered = 1;
    po.resident = !cfg->dynamic;
    po.failfast = b->failfast;
    po.max_instances = b->instances;
    /* app.yaml's automatic_scaling is the default version's: a dynamic
     * backend starts instances for requests only, and lets them idle out. */
    po.min_instances = po.min_idle_instances = 0;
    po.max_idle_instances = -1;
    po.threads = server_threadsafe(srv, cfg->name) ? cfg->max_concurrent_requests : 1;
    po.max_concurrent = b->instances * po.threads;
    po.memory_limit = (size_t)cls->memory_mb << 20;
    po.cpu_mhz = cls->cpu_mhz;
    /* The address-space limit is a backstop well above the class's memory
     * (Python reserves much more than it touches). */
    if (po.instance_memory < 2 * po.memory_limit)
        po.instance_memory = 2 * po.memory_limit;
    po.start_hook = send_start;
    po.background_hook = send_background;
    po.background_env = thread_env;
    po.hook_ctx = g;
    po.name = b->log_name;
    po.log_host = b->log_host;
    po.version_id = g->version_id;
    g->pool = pool_new(&srv->loop, &po);
    if (!g->pool) {
        generation_free(g);
        return NULL;
    }
    b->minor = minor;
    if (b->stopped || b->deleted)
        pool_set_stopped(g->pool, 1);
    if (pool_start(g->pool) < 0) {
        generation_free(g);
        return NULL;
    }
    return g;
}

/* Its instances shut down (404 for new requests, the shutdown notice, the
 * grace period); freed by backends_reap once they are gone. */
static void generation_retire(backends_t *all, generation_t *g)
{
    if (!g)
        return;
    pool_set_stopped(g->pool, 1);
    g->next_retired = all->retired;
    all->retired = g;
}

/* ---------- billing (BK10) ---------- */

static void bill(backends_t *all, uint64_t now)
{
    uint64_t since = all->billed_at_ms ? all->billed_at_ms : now;
    all->billed_at_ms = now;
    for (size_t i = 0; i < all->n; i++) {
        backend_rt_t *b = &all->list[i];
        for (int k = 0; k < capacity(b); k++) {
            uint64_t last_active = 0, update_active = 0;
            int busy = 0, update_busy = 0;
            int running = pool_instance_state(b->live->pool, k, &last_active, &busy);
            if (b->update &&
                pool_instance_state(b->update->pool, k, &update_active, &update_busy)) {
                running = 1;
                busy |= update_busy;
                if (update_active > last_active)
                    last_active = update_active;
            }
            if (running)
                backend_billing_running(&b->billing, k, b->cfg->dynamic, busy, now, last_active);
        }
        backend_billing_add(&b->billing, since, now);
    }
}

static void billing_tick(loop_t *loop, loop_timer_t *t)
{
    backends_t *all = (backends_t *)((char *)t - offsetof(backends_t, billing_timer));
    bill(all, loop->now_ms);
    loop_timer_start(loop, t, BILLING_TICK_MS);
}

/* ---------- lifecycle ---------- */

static int start_one(backends_t *all, backend_rt_t *b, const backend_t *cfg)
{
    server_t *srv = all->srv;
    b->all = all;
    b->cfg = cfg;
    backend_saved_t saved;
    backend_state_get(all->state, cfg->name, &saved);
    b->stopped = saved.stopped;
    b->deleted = saved.deleted;
    b->instances = saved.instances > 0 ? saved.instances : cfg->instances;
    /* A count configured under a higher --tier: the instance numbers past
     * this tier's would run without start requests or billing. */
    if (b->instances > capacity(b)) {
        log_warn("backend %s: its configured %d instances are more than the %s tier allows "
                 "(%d); using backends.yaml's %d",
                 cfg->name, b->instances, srv->tier == TIER_PAID ? "paid" : "free", capacity(b),
                 cfg->instances);
        b->instances = cfg->instances;
    }
    b->public_ = saved.public_ >= 0 ? saved.public_ : cfg->public_;
    b->failfast = saved.failfast >= 0 ? saved.failfast : cfg->failfast;
    b->configured = saved.instances > 0 || saved.public_ >= 0 || saved.failfast >= 0;
    const backend_class_info_t *cls = backend_class_info(cfg->cls);
    if (backend_billing_init(&b->billing, capacity(b), cls->cents_per_hour) < 0)
        return -1;
    snprintf(b->log_name, sizeof b->log_name, "backend %s", cfg->name);
    snprintf(b->log_host, sizeof b->log_host, "%s.%s:%d", cfg->name, srv->o.hostname,
             srv->listen_port);
    b->update_check.cb = update_check;
    b->minor = strtoll(strrchr(srv->version_id, '.') + 1, NULL, 10);
    b->live = generation_start(b, cfg, NULL);
    if (!b->live)
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
    all->base = *base;
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
        if (start_one(all, &all->list[i], &cfg->backends[i]) < 0) {
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
        if (!strcmp(all->list[i].cfg->name, cfg->name))
            return all->list[i].deleted ? NULL : &all->list[i];
    return NULL;
}

pool_t *backend_pool(const backend_rt_t *b)
{
    return b->live->pool;
}

const char *backend_name(const backend_rt_t *b)
{
    return b->cfg->name;
}

const char *backend_version_id(const backend_rt_t *b)
{
    return b->live->version_id;
}

/* The live generation's: an update's values apply once it has taken over
 * (a failed one's never), as its code does. */
int backend_is_public(const backend_rt_t *b)
{
    return b->live->public_;
}

int backend_instances(const backend_rt_t *b)
{
    return b->live->instances;
}

/* What survives a restart: the state, and the values only if `configure`
 * set them (else backends.yaml's, as it is then, apply). */
static int save(backends_t *all, backend_rt_t *b, char *err, size_t errlen)
{
    backend_saved_t v = {b->stopped, b->deleted, -1, -1, -1};
    if (b->configured) {
        v.instances = b->instances;
        v.public_ = b->public_;
        v.failfast = b->failfast;
    }
    return backend_state_put(all->state, b->cfg->name, &v, err, errlen);
}

/* ---------- update and rollback (BK6) ---------- */

/* Whether an update may take over: once every new instance serves, or
 * once each is in its start request while every old instance still is in
 * its own. An instance in its start request serves nothing, so stopping
 * those old ones loses no traffic; and a start request may run for hours,
 * an instance's whole work (BK3), so waiting for the new ones' to end kept
 * the old code's running beside the new for good and never ended the
 * update. */
static int update_may_finish(const backend_rt_t *b)
{
    int all_serve = 1, all_in_start = 1, old_in_start = 0;
    for (int k = 0; k < b->instances; k++) {
        pool_instance_phase_t p = pool_instance_phase(b->update->pool, k);
        all_serve &= p == POOL_INSTANCE_SERVING;
        all_in_start &= p == POOL_INSTANCE_SERVING || p == POOL_INSTANCE_IN_START;
    }
    if (all_serve || !all_in_start)
        return all_serve;
    /* No old instance may serve, or be about to: one gone (a deleted
     * backend's, one lost and not started again yet) leaves nothing to
     * compare, and the update then waits as for any other. */
    for (int k = 0; k < capacity(b); k++) {
        pool_instance_phase_t p = pool_instance_phase(b->live->pool, k);
        if (p == POOL_INSTANCE_IN_START)
            old_in_start = 1;
        else if (p != POOL_INSTANCE_NONE)
            return 0;
    }
    return old_in_start;
}

/* The new generation takes over; the old one shuts down last. */
static void update_finish(backend_rt_t *b)
{
    generation_t *old = b->live, *g = b->update;
    server_t *srv = b->all->srv;
    if (g->cfg->cls != old->cfg->cls)
        backend_billing_class_change(&b->billing, backend_class_info(g->cfg->cls)->cents_per_hour,
                                     srv->loop.now_ms);
    b->live = g;
    b->cfg = g->cfg;
    b->update = NULL;
    b->update_state = UPDATE_DONE;
    /* Requests waiting for the old instances are the new ones' now: the
     * backend still serves (its retired pool would answer them 404). */
    pool_hand_over(old->pool, g->pool);
    generation_retire(b->all, old);
    log_info("%s: update done; the old instances are shutting down", b->log_name);
}

/* The live generation serves again unless the backend is stopped: an
 * update that re-created a deleted backend left it stopped, for its own
 * instances to serve instead. */
static void serve_live(backend_rt_t *b)
{
    if (!b->stopped && !b->deleted)
        pool_set_stopped(b->live->pool, 0);
}

static void update_fail(backend_rt_t *b, const char *why)
{
    snprintf(b->update_error, sizeof b->update_error, "%s", why);
    b->update_state = UPDATE_FAILED;
    /* Keep the failed generation until `rollback` (or the next update),
     * but stop its instances: the old ones serve. */
    pool_set_stopped(b->update->pool, 1);
    serve_live(b);
    log_warn("%s: update failed: %s; the old instances keep serving (rollback discards it)",
             b->log_name, why);
}

/* An instance of the new generation answered its start request. */
static void update_progress(backend_rt_t *b, int start_ok, int index, int status)
{
    if (b->update_state != UPDATE_RUNNING)
        return;
    if (!start_ok) {
        char why[128];
        snprintf(why, sizeof why, "instance %d's start request answered %d", index, status);
        update_fail(b, why);
        return;
    }
    if (update_may_finish(b))
        update_finish(b);
}

static void update_check(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    backend_rt_t *b = (backend_rt_t *)((char *)t - offsetof(backend_rt_t, update_check));
    if (b->update && b->update_state == UPDATE_RUNNING && update_may_finish(b))
        update_finish(b);
}

/* An instance, old or new, began its start request: update_may_finish may
 * hold now. Checked from the event loop, not inside the pool that calls
 * send_start, which update_finish would change under it. */
static void update_check_soon(backend_rt_t *b)
{
    if (b->update_state == UPDATE_RUNNING)
        loop_timer_start(&b->all->srv->loop, &b->update_check, 0);
}

static int update_one(backends_t *all, backend_rt_t *b, backends_config_t *now, buf_t *out,
                      char *err, size_t errlen)
{
    const backend_t *nb = backends_config_find(now, b->cfg->name, strlen(b->cfg->name));
    if (!nb) {
        snprintf(err, errlen, "backends.yaml no longer lists backend '%s'", b->cfg->name);
        backends_config_free(now);
        return -1;
    }
    /* Detached first: its instances' start requests, ended by stopping
     * them, are no verdict on any update. */
    generation_t *previous = b->update;
    b->update = NULL;
    generation_retire(all, previous);
    b->instances = nb->instances;
    b->public_ = nb->public_;
    b->failfast = nb->failfast;
    b->configured = 0;
    generation_t *g = generation_start(b, nb, now);
    if (!g) {
        snprintf(err, errlen, "cannot start new instances for backend '%s'", b->cfg->name);
        return -1;
    }
    b->update = g;
    b->update_state = UPDATE_RUNNING;
    b->update_error[0] = '\0';
    /* Nothing to wait for when no instance starts now. */
    if (b->stopped || nb->dynamic)
        update_finish(b);
    else
        log_info("%s: update: starting %d new instance%s", b->log_name, b->instances,
                 b->instances == 1 ? "" : "s");
    buf_printf(out, "backend %s: update %s\n", b->cfg->name,
               b->update_state == UPDATE_DONE ? "done" : "started");
    return save(all, b, err, errlen);
}

/* update [B]: backends.yaml and the code as they are now, for B or every
 * backend (BK6). Update creates the backends backends.yaml lists, so a
 * deleted one it still lists comes back, in START. */
static int update(backends_t *all, backend_rt_t *only, buf_t *out, char *err, size_t errlen)
{
    server_t *srv = all->srv;
    for (size_t i = 0; i < all->n; i++) {
        backend_rt_t *b = &all->list[i];
        if (only && b != only)
            continue;
        /* Each generation owns the config it came from. */
        backends_config_t *now;
        if (backends_config_load(srv->cfg->root, srv->tier, &now, err, errlen) < 0)
            return -1;
        int listed = backends_config_find(now, b->cfg->name, strlen(b->cfg->name)) != NULL;
        /* Every backend means each backends.yaml lists: one it no longer
         * lists keeps running as it is (delete removes it). */
        if (!listed && !only) {
            if (!b->deleted)
                buf_printf(out, "backend %s: not in backends.yaml; left as it is\n", b->cfg->name);
            backends_config_free(now);
            continue;
        }
        /* A deleted backend's old instances stay stopped: the update's
         * serve, and old ones started now would only run their start
         * request to be shut down at once. */
        if (b->deleted && listed) {
            b->deleted = 0;
            b->stopped = 0;
            b->started_ms = srv->loop.now_ms;
        }
        if (update_one(all, b, now, out, err, errlen) < 0) {
            serve_live(b);
            return -1;
        }
    }
    /* Backends new in backends.yaml: the server creates its backends
     * (and routes their host names) only when it starts. */
    backends_config_t *now;
    if (!only && backends_config_load(srv->cfg->root, srv->tier, &now, err, errlen) == 0) {
        for (size_t j = 0; j < now->n_backends; j++) {
            const char *name = now->backends[j].name;
            size_t i = 0;
            while (i < all->n && strcmp(all->list[i].cfg->name, name) != 0)
                i++;
            if (i == all->n)
                buf_printf(out,
                           "backend %s: new in backends.yaml; restart gaelic serve to create "
                           "it\n",
                           name);
        }
        backends_config_free(now);
    }
    return 0;
}

static int rollback(backends_t *all, backend_rt_t *b, buf_t *out, char *err, size_t errlen)
{
    if (!b->update) {
        snprintf(err, errlen, "backend '%s' has no unfinished update to roll back", b->cfg->name);
        return -1;
    }
    /* Detached first, as in update_one. */
    generation_t *g = b->update;
    b->update = NULL;
    b->update_state = UPDATE_ROLLED_BACK;
    generation_retire(all, g);
    /* The values from before the update again. */
    b->instances = b->live->instances;
    b->public_ = b->live->public_;
    b->failfast = b->live->failfast;
    b->configured = b->live->configured;
    pool_configure(b->live->pool, b->instances, b->failfast);
    serve_live(b);
    log_info("%s: update rolled back", b->log_name);
    buf_printf(out, "backend %s: update rolled back; the old instances keep serving\n",
               b->cfg->name);
    return save(all, b, err, errlen);
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

static const char *update_word(const backend_rt_t *b)
{
    switch (b->update_state) {
    case UPDATE_RUNNING:
        return "updating";
    case UPDATE_FAILED:
        return "failed";
    case UPDATE_DONE:
        return "done";
    case UPDATE_ROLLED_BACK:
        return "rolled-back";
    default:
        return "-";
    }
}

/* The backend not deleted whose name comes first after prev's (NULL: the
 * first of all), or NULL. Names are unique. */
static const backend_rt_t *next_by_name(const backends_t *all, const backend_rt_t *prev)
{
    const backend_rt_t *next = NULL;
    for (size_t i = 0; i < all->n; i++) {
        const backend_rt_t *b = &all->list[i];
        if (b->deleted || (prev && strcmp(b->cfg->name, prev->cfg->name) <= 0))
            continue;
        if (!next || strcmp(b->cfg->name, next->cfg->name) < 0)
            next = b;
    }
    return next;
}

/* In alphabetical order, as App Engine's console listed backends. */
void backends_list(backends_t *all, buf_t *out)
{
    uint64_t now = all->srv->loop.now_ms;
    bill(all, now);
    buf_printf(out, "%-20s %-6s %-9s %-5s %-24s %-9s %12s %10s %s\n", "BACKEND", "CLASS",
               "INSTANCES", "STATE", "OPTIONS", "UPTIME", "INST-HOURS", "COST-USD", "UPDATE");
    for (const backend_rt_t *b = next_by_name(all, NULL); b; b = next_by_name(all, b)) {
        const backend_class_info_t *cls = backend_class_info(b->cfg->cls);
        char inst[32], opts[64], up[32];
        /* What serves now: an unfinished update's values are not yet. */
        const generation_t *g = b->live;
        snprintf(inst, sizeof inst, "%d/%d", pool_running(g->pool), g->instances);
        snprintf(opts, sizeof opts, "%s%s%s", g->cfg->dynamic ? "dynamic" : "resident",
                 g->public_ ? ",public" : "", g->failfast ? ",failfast" : "");
        format_duration(b->stopped ? 0 : now - b->started_ms, up, sizeof up);
        buf_printf(out, "%-20s %-6s %-9s %-5s %-24s %-9s %12.4f %10.4f %s\n", b->cfg->name,
                   cls->name, inst, b->stopped ? "STOP" : "START", opts, up,
                   backend_billing_hours(&b->billing), b->billing.cents / 100.0, update_word(b));
    }
}

/* `status`: one line per backend, "NAME UPDATE [reason]", for the
 * command line tool waiting for an update to end. */
static void status(backends_t *all, buf_t *out)
{
    for (size_t i = 0; i < all->n; i++) {
        backend_rt_t *b = &all->list[i];
        if (b->deleted)
            continue;
        buf_printf(out, "%s\t%s\t%s\n", b->cfg->name, update_word(b),
                   b->update_state == UPDATE_FAILED ? b->update_error : "");
    }
}

/* deleted: whether a deleted backend counts (update re-creates one). */
static backend_rt_t *find(backends_t *all, const char *name, int deleted, char *err, size_t errlen)
{
    for (size_t i = 0; i < all->n; i++)
        if (!strcmp(all->list[i].cfg->name, name) && (deleted || !all->list[i].deleted))
            return &all->list[i];
    snprintf(err, errlen, "no backend named '%s' (see gaelic backends APPDIR list)", name);
    return NULL;
}

/* STOP (or deleted) and START for the instances, live and updating. */
static void stop_pools(backend_rt_t *b, int stopped)
{
    pool_set_stopped(b->live->pool, stopped);
    if (b->update && b->update_state == UPDATE_RUNNING)
        pool_set_stopped(b->update->pool, stopped);
}

/* b's configured values into generation g and its pool. */
static void configure_generation(generation_t *g, const backend_rt_t *b)
{
    g->instances = b->instances;
    g->public_ = b->public_;
    g->failfast = b->failfast;
    g->configured = b->configured;
    pool_configure(g->pool, b->instances, b->failfast);
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
    b->configured = 1;
    backends_config_free(now);
    configure_generation(b->live, b);
    /* An update under way gets them too: it ends once b->instances of its
     * instances run, which its pool must be able to reach. */
    if (b->update && b->update_state == UPDATE_RUNNING) {
        configure_generation(b->update, b);
        if (update_may_finish(b))
            update_finish(b);
    }
    buf_printf(out, "backend %s: %d instance%s, %s%s\n", b->cfg->name, b->instances,
               b->instances == 1 ? "" : "s", b->public_ ? "public" : "private",
               b->failfast ? ", failfast" : "");
    return save(all, b, err, errlen);
}

/* shutdown B N: one instance, by hand (BK4). */
static int shutdown_instance(backend_rt_t *b, const char *number, buf_t *out, char *err,
                             size_t errlen)
{
    char *end = NULL;
    long n = number ? strtol(number, &end, 10) : -1;
    if (!number || !*number || *end || n < 0 || n >= backend_instances(b)) {
        snprintf(err, errlen, "shutdown needs an instance number of backend '%s' (0 to %d)",
                 b->cfg->name, backend_instances(b) - 1);
        return -1;
    }
    if (pool_shutdown_instance(b->live->pool, (int)n) < 0) {
        snprintf(err, errlen, "instance %ld of backend '%s' is not running", n, b->cfg->name);
        return -1;
    }
    log_info("%s instance %ld: shut down by hand", b->log_name, n);
    buf_printf(out, "backend %s instance %ld: shutting down%s\n", b->cfg->name, n,
               b->cfg->dynamic ? "" : " (it starts again)");
    return 0;
}

int backends_command(void *ctx, int argc, char **argv, buf_t *out, char *err, size_t errlen)
{
    backends_t *all = ctx;
    if (argc < 2 || strcmp(argv[0], "backends") != 0) {
        snprintf(err, errlen, "unknown request");
        return -1;
    }
    const char *verb = argv[1];
    /* A word past those the verb takes is no part of the name it acts on:
     * "stop memdb<TAB>x" came as stop, memdb, x and stopped memdb. */
    int most = !strcmp(verb, "list") || !strcmp(verb, "status") ? 2
               : !strcmp(verb, "shutdown")                      ? 4
                                                                : 3;
    if (argc > most) {
        snprintf(err, errlen, "%s: '%s' is one word too many", verb, argv[most]);
        return -1;
    }
    if (!strcmp(verb, "list")) {
        backends_list(all, out);
        return 0;
    }
    if (!strcmp(verb, "status")) {
        status(all, out);
        return 0;
    }
    if (!strcmp(verb, "update") && argc == 2)
        return update(all, NULL, out, err, errlen);
    if (argc < 3) {
        snprintf(err, errlen, "%s needs a backend name", verb);
        return -1;
    }
    backend_rt_t *b = find(all, argv[2], !strcmp(verb, "update"), err, errlen);
    if (!b)
        return -1;
    if (!strcmp(verb, "start")) {
        if (b->stopped) {
            b->stopped = 0;
            b->started_ms = all->srv->loop.now_ms;
            stop_pools(b, 0);
        }
        buf_printf(out, "backend %s: START\n", b->cfg->name);
        return save(all, b, err, errlen);
    }
    if (!strcmp(verb, "stop")) {
        if (!b->stopped) {
            b->stopped = 1;
            /* An update still waiting for its new instances' start
             * requests is done, as one of a stopped backend is: stopping
             * them is not their start failing. */
            if (b->update && b->update_state == UPDATE_RUNNING)
                update_finish(b);
            stop_pools(b, 1);
        }
        buf_printf(out, "backend %s: STOP\n", b->cfg->name);
        return save(all, b, err, errlen);
    }
    if (!strcmp(verb, "delete")) {
        b->deleted = 1;
        /* What waits for it goes to the default version, as its later
         * requests do (conn.c); what runs has the stop's grace. */
        pool_divert_queued(b->live->pool);
        if (b->update && b->update_state == UPDATE_RUNNING)
            pool_divert_queued(b->update->pool);
        stop_pools(b, 1);
        buf_printf(out, "backend %s deleted; its requests go to the default version\n",
                   b->cfg->name);
        return save(all, b, err, errlen);
    }
    if (!strcmp(verb, "configure"))
        return configure(all, b, out, err, errlen);
    if (!strcmp(verb, "shutdown"))
        return shutdown_instance(b, argc > 3 ? argv[3] : NULL, out, err, errlen);
    if (!strcmp(verb, "update"))
        return update(all, b, out, err, errlen);
    if (!strcmp(verb, "rollback"))
        return rollback(all, b, out, err, errlen);
    snprintf(err, errlen,
             "unknown command '%s' (list, start, stop, update, rollback, delete, "
             "configure, shutdown)",
             verb);
    return -1;
}

/* ---------- housekeeping ---------- */

/* Every pool: live, being updated, retired. */
static void each_pool(const backends_t *all, void (*fn)(pool_t *pool, void *arg), void *arg)
{
    for (size_t i = 0; all && i < all->n; i++) {
        fn(all->list[i].live->pool, arg);
        if (all->list[i].update)
            fn(all->list[i].update->pool, arg);
    }
    for (generation_t *g = all ? all->retired : NULL; g; g = g->next_retired)
        fn(g->pool, arg);
}

static void shutdown_pool(pool_t *pool, void *arg)
{
    (void)arg;
    pool_shutdown(pool);
}

static void kill_pool(pool_t *pool, void *arg)
{
    (void)arg;
    pool_kill_all(pool);
}

static void busy_pool(pool_t *pool, void *arg)
{
    *(int *)arg |= pool_busy(pool);
}

static void flush_pool(pool_t *pool, void *arg)
{
    (void)arg;
    pool_flush(pool);
}

static void reap_pool(pool_t *pool, void *arg)
{
    (void)arg;
    pool_reap(pool);
}

void backends_shutdown(backends_t *all)
{
    each_pool(all, shutdown_pool, NULL);
}

void backends_kill_all(backends_t *all)
{
    each_pool(all, kill_pool, NULL);
}

int backends_busy(const backends_t *all)
{
    int busy = 0;
    each_pool(all, busy_pool, &busy);
    return busy;
}

int backends_restart_instances(backends_t *all)
{
    int n = 0;
    for (size_t i = 0; all && i < all->n; i++) {
        backend_rt_t *b = &all->list[i];
        if (b->live)
            n += pool_restart_instances(b->live->pool);
        if (b->update)
            n += pool_restart_instances(b->update->pool);
    }
    return n;
}

void backends_flush(backends_t *all)
{
    each_pool(all, flush_pool, NULL);
}

void backends_reap(backends_t *all)
{
    each_pool(all, reap_pool, NULL);
    /* Retired generations go once their last instance has, and then
     * their zygote: the event loop goes on while it exits. */
    for (generation_t **p = all ? &all->retired : NULL; p && *p;) {
        generation_t *g = *p;
        if (pool_busy(g->pool) || !pool_zygote_gone(g->pool)) {
            p = &g->next_retired;
            continue;
        }
        *p = g->next_retired;
        generation_free(g);
    }
}

void backends_free(backends_t *all)
{
    if (!all)
        return;
    loop_timer_stop(&all->srv->loop, &all->billing_timer);
    for (size_t i = 0; i < all->n; i++) {
        backend_rt_t *b = &all->list[i];
        loop_timer_stop(&all->srv->loop, &b->update_check);
        generation_free(b->live);
        generation_free(b->update);
        backend_billing_free(&b->billing);
    }
    while (all->retired) {
        generation_t *g = all->retired;
        all->retired = g->next_retired;
        generation_free(g);
    }
    free(all->list);
    backend_state_close(all->state);
    free(all);
}
