#include "api_logservice.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_read.h"
#include "log_read_budget.h"
#include "log_store.h"
#include "pb.h"
#include "server.h"

/* FlushRequest, UserAppLogGroup, UserAppLogLine */
enum { FLUSH_LOGS = 1 };
enum { GROUP_LOG_LINE = 2 };
enum { LINE_TIMESTAMP = 1, LINE_LEVEL = 2, LINE_MESSAGE = 3 };

/* ---------- Read ---------- */

/* A Read waits for a share of the budget (log_read_budget.h), runs on the
 * log writer's thread, is answered on the loop, and gives its share back
 * once the answer has left the master (read_sent). */
typedef struct {
    log_task_t task; /* must stay first */
    log_read_waiter_t waiter;
    server_t *srv;
    api_call_t *call; /* loop thread only; NULL once cancelled */
    int cancelled;    /* the same, for the writer thread (atomic) */
    int running;      /* holds a share: queued to the log writer */
    log_read_t req;
    buf_t out;
    int failed;
    char why[256];
} read_job_t;

static void read_free(read_job_t *j)
{
    log_read_free(&j->req);
    buf_free(&j->out);
    free(j);
}

static void read_run(log_task_t *t, sqlite3 *db)
{
    read_job_t *j = (read_job_t *)t;
    if (__atomic_load_n(&j->cancelled, __ATOMIC_RELAXED))
        return;
    if (!db) { /* the writer could not open it again: the console says why */
        j->failed = 1;
        snprintf(j->why, sizeof j->why, "the request log database cannot be opened");
        return;
    }
    j->failed = log_read_run(db, &j->req, &j->out, j->why, sizeof j->why) < 0;
}

/* api_sent_t: the answer has left the master, and its share with it. */
static void read_sent(void *arg)
{
    server_t *srv = arg;
    log_read_budget_release(&srv->log_reads);
}

static void read_done(log_task_t *t)
{
    read_job_t *j = (read_job_t *)t;
    api_call_t *call = j->call;
    server_t *srv = j->srv;
    if (call) {
        call->cancel = NULL;
        if (j->failed) {
            api_reply_app_error(call, LOGSERVICE_STORAGE_ERROR, j->why);
            read_free(j);
            log_read_budget_release(&srv->log_reads);
            return;
        }
        /* The share stays held while the answer waits in its transport. */
        call->sent = (api_sent_t){read_sent, srv};
        api_reply(call, &j->out);
        read_free(j);
        return;
    }
    read_free(j);
    log_read_budget_release(&srv->log_reads);
}

/* The job holds a share: it goes to the log writer, or fails (the share
 * given back). */
static void read_start(read_job_t *j)
{
    server_t *srv = j->srv;
    j->running = 1;
    if (!srv->logs || log_store_task(srv->logs, &j->task) < 0) {
        api_call_t *call = j->call;
        call->cancel = NULL;
        api_reply_app_error(call, LOGSERVICE_STORAGE_ERROR, "the log store is closed");
        read_free(j);
        log_read_budget_release(&srv->log_reads);
    }
}

/* log_read_waiter_t: the job's turn has come. */
static void read_admit(log_read_waiter_t *w)
{
    read_start((read_job_t *)((char *)w - offsetof(read_job_t, waiter)));
}

/* The call is abandoned (deadline, instance gone): a waiting job leaves
 * the queue and is freed; a running one finishes on the writer thread and
 * is then only freed, its share given back. */
static void read_cancel(api_call_t *call)
{
    read_job_t *j = call->handler_data;
    if (!j->running) {
        log_read_budget_leave(&j->srv->log_reads, &j->waiter);
        read_free(j);
        return;
    }
    j->call = NULL;
    __atomic_store_n(&j->cancelled, 1, __ATOMIC_RELAXED);
}

static void read_logs(api_call_t *call)
{
    server_t *srv = call->service_ctx;
    read_job_t *j = calloc(1, sizeof *j);
    if (!j) {
        api_reply_app_error(call, LOGSERVICE_STORAGE_ERROR, "out of memory");
        return;
    }
    int rc = log_read_parse(&j->req, srv->app_id, call->request, call->request_len, j->why,
                            sizeof j->why);
    if (rc == -1)
        api_reply_rpc_error(call, API_RPC_PARSE_ERROR, "");
    else if (rc < 0)
        api_reply_app_error(call, rc == -2 ? LOGSERVICE_INVALID_REQUEST : LOGSERVICE_STORAGE_ERROR,
                            j->why);
    if (rc < 0) {
        read_free(j);
        return;
    }
    j->task.run = read_run;
    j->task.done = read_done;
    j->srv = srv;
    j->call = call;
    j->waiter.admit = read_admit;
    /* What it holds while it waits: itself and its copy of the request. */
    j->waiter.bytes = sizeof *j + log_read_held_bytes(&j->req);
    int turn = log_read_budget_enter(&srv->log_reads, &j->waiter);
    if (turn < 0) {
        /* App Engine's answer for a Logs API it cannot serve now. */
        api_reply_app_error(call, LOGSERVICE_STORAGE_ERROR,
                            "too many log reads are waiting; try again later");
        read_free(j);
        return;
    }
    call->handler_data = j;
    call->cancel = read_cancel;
    if (turn > 0)
        read_start(j);
}

/* ---------- Flush ---------- */

typedef struct {
    int64_t time_us;
    int level;
    const uint8_t *msg;
    size_t msg_len;
} user_line_t;

/* One UserAppLogLine: 0, -1 malformed, -2 invalid. */
static int parse_line(const uint8_t *p, size_t n, user_line_t *out)
{
    pb_reader_t r;
    pb_field_t f;
    int rc, have = 0;
    pb_reader_init(&r, p, n);
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num == LINE_TIMESTAMP || f.num == LINE_LEVEL) {
            if (f.wire != PB_VARINT)
                return -1;
            if (f.num == LINE_TIMESTAMP)
                out->time_us = (int64_t)f.u64;
            else if ((int64_t)f.u64 < 0 || f.u64 > 4)
                return -2;
            else
                out->level = (int)f.u64;
            have |= 1 << f.num;
        } else if (f.num == LINE_MESSAGE) {
            if (f.wire != PB_LEN)
                return -1;
            if (!pb_utf8_valid(f.data, f.len))
                return -2;
            out->msg = f.data;
            out->msg_len = f.len;
            have |= 1 << f.num;
        }
    }
    if (rc < 0)
        return -1;
    return have == (1 << LINE_TIMESTAMP | 1 << LINE_LEVEL | 1 << LINE_MESSAGE) ? 0 : -2;
}

/* Walks a UserAppLogGroup: checks every line (store NULL), or stores
 * them for request log_id until the store drops one (its writer is behind:
 * the rest would be dropped too, each at a cost to the event loop). The
 * number of lines walked, -1 malformed, -2 invalid. */
static long group_lines(const uint8_t *p, size_t n, log_store_t *store, const char *log_id)
{
    pb_reader_t r;
    pb_field_t f;
    int rc;
    long lines = 0;
    pb_reader_init(&r, p, n);
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num != GROUP_LOG_LINE)
            continue;
        if (f.wire != PB_LEN)
            return -1;
        user_line_t line = {0};
        int lrc = parse_line(f.data, f.len, &line);
        if (lrc < 0)
            return lrc;
        lines++;
        if (store &&
            log_store_app_line(store, (log_str_t){log_id, strlen(log_id)}, line.time_us, line.level,
                               (log_str_t){(const char *)line.msg, line.msg_len}) < 0)
            return lines;
    }
    return rc < 0 ? -1 : lines;
}

static void flush_logs(api_call_t *call)
{
    server_t *srv = call->service_ctx;
    const api_caller_t *c = call->caller;
    pb_reader_t r;
    pb_field_t f, logs = {0};
    int rc;
    pb_reader_init(&r, call->request, call->request_len);
    while ((rc = pb_next(&r, &f)) > 0)
        if (f.num == FLUSH_LOGS) {
            if (f.wire != PB_LEN) {
                rc = -1;
                break;
            }
            logs = f;
        }
    if (rc < 0) {
        api_reply_rpc_error(call, API_RPC_PARSE_ERROR, "");
        return;
    }
    /* Every line is checked before any is stored. */
    long lines = group_lines(logs.data, logs.len, NULL, NULL);
    if (lines < 0) {
        api_reply_app_error(call, LOGSERVICE_INVALID_REQUEST,
                            lines == -1 ? "logs is not a UserAppLogGroup"
                                        : "a log line needs a time, a level from 0 to 4 and a "
                                          "UTF-8 message");
        return;
    }
    /* Lines outside any request have no request log to go to. */
    if (c->log_id && c->log_id[0] && srv->logs) {
        long walked = group_lines(logs.data, logs.len, srv->logs, c->log_id);
        log_store_drop_app_lines(srv->logs, (uint64_t)(lines - walked));
    }
    if (c->flush)
        c->flush(c->owner, c->request);
    api_reply(call, NULL);
}

static void not_available(api_call_t *call)
{
    api_reply_rpc_error(call, API_RPC_CAPABILITY_DISABLED, "");
}

static const api_method_t METHODS[] = {
    {"Flush", flush_logs},    {"Read", read_logs}, {"SetStatus", not_available},
    {"Usage", not_available}, {NULL, NULL},
};

int api_logservice_register(api_registry_t *reg, struct server *srv)
{
    log_read_budget_init(&srv->log_reads, LOG_READ_SHARES, LOG_READ_MAX_WAITING_BYTES);
    api_service_t svc = {"logservice", METHODS, srv};
    return api_registry_add(reg, &svc);
}
