/* libFuzzer target: what sandboxed app code sends the master's API
 * services. The app chooses every byte of a call (MakeSyncCall with any
 * payload), and the master runs unsandboxed, so a decoding bug here is a
 * way out of the sandbox: every input must be answered or refused
 * cleanly, never crash or leak (run under ASan/UBSan).
 *
 * The first byte picks the path:
 * - even: the bytes after it are a remote_api Request envelope, dispatched
 *   to the system and logservice services (api_service.c, api_system.c,
 *   api_logservice.c, without a log store: a Read is parsed and refused);
 * - odd: they are a LogReadRequest, parsed (log_read.c) and, when valid,
 *   run (log_query.c) against a log database holding a few requests and
 *   app log lines, made once at start-up. */
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_logservice.h"
#include "api_service.h"
#include "api_system.h"
#include "log_read.h"
#include "log_store.h"
#include "server.h"

#define APP_ID "fuzzapp"

static api_registry_t *registry;
static server_t *srv;
static sqlite3 *db;
static char db_dir[] = "/tmp/gaelic-fuzz-api-XXXXXX";
static char db_path[sizeof db_dir + 16];

static void remove_log_db(void)
{
    sqlite3_close(db);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        char p[sizeof db_path + 8];
        snprintf(p, sizeof p, "%s%s", db_path, suffixes[i]);
        unlink(p);
    }
    rmdir(db_dir);
}

/* The answer is dropped at once: a Read's share of the log budget comes
 * back now (api_sent_t). */
static void finish(api_call_t *call, const char *envelope, size_t len, api_sent_t sent)
{
    (void)call;
    (void)envelope;
    (void)len;
    if (sent.fn)
        sent.fn(sent.arg);
}

static log_str_t S(const char *s)
{
    return (log_str_t){s, strlen(s)};
}

/* A log database with requests of two versions (one still running) and
 * app log lines of every level, as the Read queries expect to find. */
static int make_log_db(void)
{
    if (!mkdtemp(db_dir))
        return -1;
    snprintf(db_path, sizeof db_path, "%s/logs.db", db_dir);
    atexit(remove_log_db);
    char err[256];
    log_store_t *st = log_store_open(db_path, 1000, 0, err, sizeof err);
    if (!st) {
        fprintf(stderr, "fuzz_api: %s\n", err);
        return -1;
    }
    int64_t t0 = 1700000000000000;
    for (int i = 0; i < 12; i++) {
        char id[64];
        log_store_new_request_id(id, sizeof id, t0 + i * 1000);
        log_request_t r = {
            .request_id = S(id),
            .version_id = S(i % 3 ? "1.1" : "2.7"),
            .ip = S("127.0.0.1"),
            .method = S(i % 2 ? "POST" : "GET"),
            .resource = S("/p?q=\"x\""),
            .http_version = S("HTTP/1.1"),
            .user_agent = S("fuzz \xc3\xa9"),
            .host = S("localhost:8080"),
            .instance_id = S("inst"),
            .start_us = t0 + i * 1000,
            .end_us = i == 11 ? 0 : t0 + i * 1000 + 500,
            .status = i == 11 ? 0 : 200 + i,
            .response_size = i,
            .mcycles = i,
            .was_loading = i == 0,
            .pending_us = i * 100,
            .replica_index = i % 3 - 1,
        };
        log_store_request(st, &r);
        for (int level = 0; level <= 4; level++)
            log_store_app_line(st, S(id), t0 + i * 1000 + level, level, S("line \xe2\x82\xac"));
    }
    log_store_close(st);
    return 0;
}

static int setup(void)
{
    srv = calloc(1, sizeof *srv);
    registry = api_registry_new();
    if (!srv || !registry || api_system_register(registry) < 0 ||
        api_logservice_register(registry, srv) < 0)
        return -1;
    snprintf(srv->app_id, sizeof srv->app_id, "%s", APP_ID);
    if (make_log_db() < 0 || sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    return 0;
}

static void dispatch(const uint8_t *data, size_t size)
{
    /* No instance behind the call: GetSystemStats finds no process,
     * StartBackgroundRequest no backend, Flush no request to log to. */
    api_caller_t caller = {.instance_id = "inst", .log_id = ""};
    api_call_t call = {.caller = &caller, .deadline_ms = 5000, .finish = finish};
    (void)api_dispatch(registry, &call, data, size);
    const char *ticket;
    size_t ticket_len;
    (void)api_envelope_ticket(data, size, &ticket, &ticket_len);
}

static void read_logs(const uint8_t *data, size_t size)
{
    log_read_t req;
    char why[256];
    if (log_read_parse(&req, APP_ID, data, size, why, sizeof why) == 0) {
        buf_t out = BUF_INIT;
        (void)log_read_run(db, &req, &out, why, sizeof why);
        buf_free(&out);
    }
    log_read_free(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (setup() < 0) {
            fprintf(stderr, "fuzz_api: set-up failed\n");
            abort();
        }
        ready = 1;
    }
    if (size == 0)
        return 0;
    if (data[0] & 1)
        read_logs(data + 1, size - 1);
    else
        dispatch(data + 1, size - 1);
    return 0;
}
