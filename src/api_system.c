#include "api_system.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ipc.h"
#include "pb.h"

/* GetSystemStatsResponse: cpu 1, memory 2, both SystemStat, whose fields
 * are not numbered in declaration order. */
enum { RESP_CPU = 1, RESP_MEMORY = 2 };
/* StartBackgroundRequestResponse */
enum { RESP_REQUEST_ID = 1 };
enum {
    STAT_CURRENT = 1,
    STAT_TOTAL = 2,
    STAT_AVERAGE1M = 3,
    STAT_AVERAGE10M = 4,
    STAT_RATE1M = 5,
    STAT_RATE10M = 6
};

/* 1 when the request is a well-formed message (GetSystemStatsRequest has
 * no fields; unknown ones are skipped, as protobuf does). */
static int well_formed(const api_call_t *call)
{
    pb_reader_t r;
    pb_field_t f;
    int rc;
    pb_reader_init(&r, call->request, call->request_len);
    while ((rc = pb_next(&r, &f)) > 0)
        ;
    return rc == 0;
}

static int put_stat(buf_t *b, uint32_t field, const uint32_t *nums, const double *vals)
{
    long mark = pb_begin_msg(b, field);
    if (mark < 0)
        return -1;
    for (int i = 0; i < 3; i++)
        if (pb_put_double(b, nums[i], vals[i]) < 0)
            return -1;
    return pb_end_msg(b, mark);
}

static void get_system_stats(api_call_t *call)
{
    const api_caller_t *c = call->caller;
    if (!well_formed(call)) {
        api_reply_rpc_error(call, API_RPC_PARSE_ERROR, "");
        return;
    }
    uint64_t cpu_ns, rss;
    if (!c->stats || c->pid <= 0 || inst_stats_read(c->pid, &cpu_ns, &rss) < 0) {
        char detail[96];
        snprintf(detail, sizeof detail, "cannot measure the instance: %s",
                 c->pid > 0 ? strerror(errno) : "no process");
        api_reply_app_error(call, SYSTEM_INTERNAL_ERROR, detail);
        return;
    }
    inst_figures_t fig;
    inst_stats_figures(c->stats, loop_clock_ms(), cpu_ns, rss, c->cpu_mhz, &fig);
    static const uint32_t cpu_nums[3] = {STAT_TOTAL, STAT_RATE1M, STAT_RATE10M};
    static const uint32_t mem_nums[3] = {STAT_CURRENT, STAT_AVERAGE1M, STAT_AVERAGE10M};
    const double cpu[3] = {fig.total, fig.rate1m, fig.rate10m};
    const double mem[3] = {fig.current, fig.average1m, fig.average10m};
    buf_t b = BUF_INIT;
    if (put_stat(&b, RESP_CPU, cpu_nums, cpu) < 0 || put_stat(&b, RESP_MEMORY, mem_nums, mem) < 0)
        api_reply_app_error(call, SYSTEM_INTERNAL_ERROR, "out of memory");
    else
        api_reply(call, &b);
    buf_free(&b);
}

/* BG1, BG2: a background request on the calling instance, whose id the
 * app then hands its callable to (google.appengine.runtime.background). */
static void start_background_request(api_call_t *call)
{
    const api_caller_t *c = call->caller;
    if (!well_formed(call)) {
        api_reply_rpc_error(call, API_RPC_PARSE_ERROR, "");
        return;
    }
    char id[128];
    int code = c->start_background ? c->start_background(c->owner, id, sizeof id)
                                   : SYSTEM_BACKEND_REQUIRED;
    if (code == SYSTEM_BACKEND_REQUIRED) {
        api_reply_app_error(call, code,
                            "background threads run only on backend instances (backends.yaml)");
    } else if (code == SYSTEM_LIMIT_REACHED) {
        char why[96];
        snprintf(why, sizeof why, "this instance already runs %d background threads",
                 IPC_BACKGROUND_MAX);
        api_reply_app_error(call, code, why);
    } else if (code != SYSTEM_OK) {
        api_reply_app_error(call, SYSTEM_INTERNAL_ERROR, id);
    } else {
        buf_t b = BUF_INIT;
        if (pb_put_str(&b, RESP_REQUEST_ID, id) < 0)
            api_reply_app_error(call, SYSTEM_INTERNAL_ERROR, "out of memory");
        else
            api_reply(call, &b);
        buf_free(&b);
    }
}

static const api_method_t METHODS[] = {
    {"GetSystemStats", get_system_stats},
    {"StartBackgroundRequest", start_background_request},
    {NULL, NULL},
};

int api_system_register(api_registry_t *reg)
{
    api_service_t svc = {"system", METHODS, NULL};
    return api_registry_add(reg, &svc);
}
