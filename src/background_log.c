#include "background_log.h"

#include <string.h>

background_entry_t *background_log_find(background_log_t *bl, uint32_t id)
{
    for (int i = 0; id && i < IPC_BACKGROUND_MAX; i++)
        if (bl->e[i].id == id)
            return &bl->e[i];
    return NULL;
}

static void write_row(const background_entry_t *e, int status, int64_t end_us, int64_t mcycles,
                      const background_log_ctx_t *ctx)
{
    const char *resource = e->stop ? "/_ah/stop" : "/_ah/background";
    log_request_t r = {
        .request_id = {e->log_id, strlen(e->log_id)},
        .version_id = {ctx->version_id, ctx->version_id ? strlen(ctx->version_id) : 0},
        .ip = {"0.1.0.3", 7},
        .method = {"GET", 3},
        .resource = {resource, strlen(resource)},
        .http_version = {"HTTP/1.1", 8},
        .host = {ctx->host[0] ? ctx->host : NULL, strlen(ctx->host)},
        .instance_id = {ctx->instance_id, ctx->instance_id ? strlen(ctx->instance_id) : 0},
        .module_id = {ctx->module_id, ctx->module_id ? strlen(ctx->module_id) : 0},
        .start_us = e->start_us,
        .end_us = end_us,
        .status = status,
        .mcycles = mcycles,
        .replica_index = ctx->replica_index,
    };
    log_store_request(ctx->logs, &r);
}

int background_log_start(background_log_t *bl, uint32_t id, int stop,
                         const background_log_ctx_t *ctx)
{
    if (!(id & IPC_BACKGROUND_ID_BIT) || background_log_find(bl, id) || bl->n >= IPC_BACKGROUND_MAX)
        return -1;
    /* The hook runs once: a second /_ah/stop is an instance writing
     * request log rows at will, which on a frontend (no background
     * threads, BG2) would push other requests' logs out of the store. */
    if (stop && bl->stop_started)
        return -1;
    bl->stop_started |= stop;
    background_entry_t *e = bl->e;
    while (e->id) /* n < IPC_BACKGROUND_MAX: there is a free entry */
        e++;
    e->id = id;
    e->stop = stop;
    e->start_us = log_store_now_us();
    log_store_new_request_id(e->log_id, sizeof e->log_id, e->start_us);
    bl->n++;
    if (ctx->logs)
        write_row(e, 0, 0, 0, ctx); /* end 0: still running (log_store.h) */
    return 0;
}

static void end_entry(background_log_t *bl, background_entry_t *e, int status, int64_t mcycles,
                      const background_log_ctx_t *ctx)
{
    if (ctx->logs)
        write_row(e, status, log_store_now_us(), mcycles, ctx);
    e->id = 0;
    bl->n--;
}

int background_log_end(background_log_t *bl, uint32_t id, int failed, int64_t mcycles,
                       const background_log_ctx_t *ctx)
{
    background_entry_t *e = background_log_find(bl, id);
    if (!e)
        return -1;
    end_entry(bl, e, failed ? 500 : 200, mcycles, ctx);
    return 0;
}

void background_log_end_all(background_log_t *bl, const background_log_ctx_t *ctx)
{
    for (int i = 0; i < IPC_BACKGROUND_MAX; i++)
        if (bl->e[i].id)
            end_entry(bl, &bl->e[i], 500, 0, ctx); /* its CPU died with it */
}

const char *background_log_id(const background_log_t *bl, uint32_t id)
{
    const background_entry_t *e = background_log_find((background_log_t *)bl, id);
    return e ? e->log_id : NULL;
}
