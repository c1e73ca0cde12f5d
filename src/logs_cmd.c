/* `gaelic logs APPDIR`: prints the stored request logs with their app log
 * lines, newest first, like `appcfg.py request_logs` did: Apache combined
 * format plus App Engine's extra fields, each app line below its request
 * as "\tLEVEL:SECONDS.MICROS message"; or one JSON object per request. */
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "app_identity.h"
#include "cli_args.h"
#include "config.h"
#include "log_store.h"
#include "logs_cmd.h"

#define EXIT_USAGE 2
#define EXIT_RUNTIME 1

static const char *const LEVELS[] = {"debug", "info", "warning", "error", "critical"};

typedef struct {
    const char *app_dir;
    const char *application;
    const char *storage_path;
    const char *logs_path;
    const char *since;
    int severity; /* -1: all requests and all their lines */
    long limit;   /* 0: no limit */
    int json;
} logs_opts_t;

static void logs_usage(FILE *f)
{
    fputs("usage: gaelic logs APPDIR [options]\n"
          "\n"
          "Prints the request logs of the app in APPDIR with their application log\n"
          "lines, newest first: Apache combined format followed by ms=, cpu_ms=,\n"
          "instance= and request_id=, and under each request its app lines as\n"
          "\"<TAB>LEVEL:SECONDS.MICROSECONDS message\" (levels 0 debug .. 4 critical;\n"
          "newlines in messages are written as \\n).\n"
          "\n"
          "options (--name VALUE or --name=VALUE):\n"
          "  --storage_path DIR     the storage folder given to gaelic serve\n"
          "  --logs_path FILE       the log database given to gaelic serve\n"
          "  --application ID       the app id given to gaelic serve\n"
          "  --since T              requests started at or after T: seconds since the\n"
          "                         epoch, YYYY-MM-DD[ HH:MM[:SS]] (local time), or an\n"
          "                         age such as 30s, 15m, 2h, 7d\n"
          "  --severity LEVEL       only requests with an app line at or above LEVEL\n"
          "                         (debug, info, warning, error, critical or 0-4), and\n"
          "                         only those lines\n"
          "  --limit N              at most N requests (default 100; 0: all)\n"
          "  --json                 one JSON object per line per request\n"
          "  -h, --help             show this help\n",
          f);
}

/* ---------- argument parsing ---------- */

static int parse_level(const char *s)
{
    if (s[0] >= '0' && s[0] <= '4' && s[1] == '\0')
        return s[0] - '0';
    for (int i = 0; i < 5; i++)
        if (strcasecmp(s, LEVELS[i]) == 0)
            return i;
    if (strcasecmp(s, "warn") == 0)
        return 2;
    return -1;
}

/* --since: microseconds since the epoch, or -1. */
static int64_t parse_since(const char *s, int64_t now_us)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s && !errno && v >= 0) {
        int64_t unit = 0;
        if (*end == '\0')
            return (int64_t)(v * 1e6);
        if (end[1] == '\0')
            unit = *end == 's'   ? 1
                   : *end == 'm' ? 60
                   : *end == 'h' ? 3600
                   : *end == 'd' ? 86400
                                 : 0;
        if (unit)
            return now_us - (int64_t)(v * (double)unit * 1e6);
    }
    static const char *const formats[] = {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                                          "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"};
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *rest = strptime(s, formats[i], &tm);
        if (rest && *rest == '\0') {
            tm.tm_isdst = -1;
            time_t t = mktime(&tm);
            if (t != (time_t)-1)
                return (int64_t)t * 1000000;
        }
    }
    return -1;
}

/* 0 ok, 1 help printed, -1 usage error (printed). */
static int parse_args(int argc, char **argv, logs_opts_t *o)
{
    static const char *const flags[] = {"json", NULL};
    cli_arg_t arg;
    cli_kind_t kind;
    for (int i = 1; (kind = cli_next(argc, argv, &i, "logs", flags, &arg)) != CLI_END;) {
        const char *v = arg.value;
        if (kind == CLI_ERROR)
            return -1;
        if (kind == CLI_HELP) {
            logs_usage(stdout);
            return 1;
        }
        if (kind == CLI_FLAG) {
            o->json = 1;
        } else if (kind == CLI_POSITIONAL) {
            if (o->app_dir) {
                fprintf(stderr, "gaelic logs: unexpected argument '%s'\n", v);
                return -1;
            }
            o->app_dir = v;
        } else if (cli_is(&arg, "storage_path")) {
            o->storage_path = v;
        } else if (cli_is(&arg, "logs_path")) {
            o->logs_path = v;
        } else if (cli_is(&arg, "application")) {
            o->application = v;
        } else if (cli_is(&arg, "since")) {
            o->since = v;
        } else if (cli_is(&arg, "severity")) {
            o->severity = parse_level(v);
            if (o->severity < 0) {
                fprintf(stderr, "gaelic logs: --severity: invalid level '%s'\n", v);
                return -1;
            }
        } else if (cli_is(&arg, "limit")) {
            char *end;
            errno = 0;
            o->limit = strtol(v, &end, 10);
            if (errno || *end || end == v || o->limit < 0) {
                fprintf(stderr, "gaelic logs: --limit: invalid value '%s'\n", v);
                return -1;
            }
        } else {
            fprintf(stderr, "gaelic logs: unknown option '--%.*s' (see gaelic logs --help)\n",
                    (int)arg.name_len, arg.name);
            return -1;
        }
    }
    if (!o->app_dir) {
        fprintf(stderr, "gaelic logs: missing APPDIR\n");
        logs_usage(stderr);
        return -1;
    }
    return 0;
}

/* ---------- output ---------- */

static const char *col_text(sqlite3_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(s, col);
}

static void json_string(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* Apache's quoted fields: quotes, backslashes and control bytes escaped. */
static void quoted(FILE *f, const char *s)
{
    if (!s || !*s) {
        fputs("\"-\"", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* Message text on one line: newlines become \n. */
static void one_line(FILE *f, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\r')
            fputs("\\r", f);
        else
            fputc(*p, f);
    }
}

enum {
    C_ID,
    C_VERSION,
    C_START,
    C_END,
    C_IP,
    C_NICK,
    C_METHOD,
    C_RESOURCE,
    C_HTTP,
    C_STATUS,
    C_SIZE,
    C_REFERRER,
    C_UA,
    C_HOST,
    C_MCYCLES,
    C_INSTANCE
};

static void print_combined(FILE *f, sqlite3_stmt *r)
{
    int64_t start = sqlite3_column_int64(r, C_START), end = sqlite3_column_int64(r, C_END);
    time_t t = (time_t)(start / 1000000);
    struct tm tm;
    localtime_r(&t, &tm);
    char when[64];
    strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", &tm);
    const char *nick = col_text(r, C_NICK);
    int64_t size = sqlite3_column_int64(r, C_SIZE);
    fprintf(f, "%s - %s [%s] \"%s ", col_text(r, C_IP) ? col_text(r, C_IP) : "-",
            nick && *nick ? nick : "-", when, col_text(r, C_METHOD) ? col_text(r, C_METHOD) : "-");
    one_line(f, col_text(r, C_RESOURCE));
    fprintf(f, " %s\" %d ", col_text(r, C_HTTP) ? col_text(r, C_HTTP) : "-",
            sqlite3_column_int(r, C_STATUS));
    if (size > 0)
        fprintf(f, "%lld ", (long long)size);
    else
        fputs("- ", f);
    quoted(f, col_text(r, C_REFERRER));
    fputc(' ', f);
    quoted(f, col_text(r, C_UA));
    fputc(' ', f);
    quoted(f, col_text(r, C_HOST));
    int64_t mcycles = sqlite3_column_int64(r, C_MCYCLES);
    fprintf(f, " ms=%lld cpu_ms=%lld instance=%s request_id=%s%s\n",
            (long long)(end ? (end - start) / 1000 : 0), (long long)(mcycles * 1000 / 1200),
            col_text(r, C_INSTANCE) ? col_text(r, C_INSTANCE) : "-", col_text(r, C_ID),
            end ? "" : " (running)");
}

static void print_json_head(FILE *f, sqlite3_stmt *r)
{
    int64_t start = sqlite3_column_int64(r, C_START), end = sqlite3_column_int64(r, C_END);
    fputs("{\"request_id\":", f);
    json_string(f, col_text(r, C_ID));
    fprintf(f, ",\"start_time\":%lld.%06lld", (long long)(start / 1000000),
            (long long)(start % 1000000));
    if (end)
        fprintf(f, ",\"end_time\":%lld.%06lld,\"latency_ms\":%.3f,\"finished\":true",
                (long long)(end / 1000000), (long long)(end % 1000000),
                (double)(end - start) / 1000.0);
    else
        fputs(",\"end_time\":null,\"latency_ms\":null,\"finished\":false", f);
    static const struct {
        const char *name;
        int col;
    } strs[] = {{"version_id", C_VERSION}, {"ip", C_IP},
                {"nickname", C_NICK},      {"method", C_METHOD},
                {"resource", C_RESOURCE},  {"http_version", C_HTTP},
                {"referrer", C_REFERRER},  {"user_agent", C_UA},
                {"host", C_HOST},          {"instance_id", C_INSTANCE}};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        fprintf(f, ",\"%s\":", strs[i].name);
        json_string(f, col_text(r, strs[i].col));
    }
    int64_t mcycles = sqlite3_column_int64(r, C_MCYCLES);
    fprintf(f, ",\"status\":%d,\"response_size\":%lld,\"mcycles\":%lld,\"cpu_ms\":%lld",
            sqlite3_column_int(r, C_STATUS), (long long)sqlite3_column_int64(r, C_SIZE),
            (long long)mcycles, (long long)(mcycles * 1000 / 1200));
}

static void print_line(FILE *f, sqlite3_stmt *l, int json, int first)
{
    int64_t t = sqlite3_column_int64(l, 0);
    int level = sqlite3_column_int(l, 1);
    const char *msg = col_text(l, 2);
    if (!json) {
        fprintf(f, "\t%d:%lld.%06lld ", level, (long long)(t / 1000000), (long long)(t % 1000000));
        one_line(f, msg);
        fputc('\n', f);
        return;
    }
    fprintf(f, "%s{\"time\":%lld.%06lld,\"level\":%d,\"level_name\":\"%s\",\"message\":",
            first ? "" : ",", (long long)(t / 1000000), (long long)(t % 1000000), level,
            level >= 0 && level <= 4 ? LEVELS[level] : "unknown");
    json_string(f, msg);
    fputc('}', f);
}

/* ---------- the command ---------- */

static int db_path(const logs_opts_t *o, char *out, size_t n)
{
    if (o->logs_path)
        return snprintf(out, n, "%s", o->logs_path) < (int)n ? 0 : -1;
    char err[1024];
    app_config_t *cfg;
    if (config_load(o->app_dir, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "gaelic: %s\n", err);
        return -2;
    }
    char app_id[128], storage[PATH_MAX];
    app_identity_id(cfg, o->application, app_id, sizeof app_id);
    config_free(cfg);
    if (app_identity_storage(app_id, o->storage_path, storage, sizeof storage) < 0)
        return -1;
    return snprintf(out, n, "%s/%s", storage, LOG_STORE_FILE) < (int)n ? 0 : -1;
}

static int print_logs(sqlite3 *db, const logs_opts_t *o, int64_t since_us)
{
    /* request_id starts with the start time as 16 hex digits, so a range
     * on it (the primary key) is a range of start times. */
    char since_id[32];
    snprintf(since_id, sizeof since_id, "%016llx", (unsigned long long)since_us);
    const char *req_sql =
        "SELECT request_id, version_id, start_us, end_us, ip, nickname, method, resource, "
        "http_version, status, response_size, referrer, user_agent, host, mcycles, instance_id "
        "FROM request_logs r WHERE request_id >= ?1 AND (?2 < 0 OR EXISTS (SELECT 1 FROM "
        "app_logs a WHERE a.request_id = r.request_id AND a.level >= ?2)) "
        "ORDER BY request_id DESC LIMIT ?3";
    const char *line_sql = "SELECT time_us, level, message FROM app_logs WHERE request_id = ?1 "
                           "AND level >= ?2 ORDER BY time_us, rowid";
    sqlite3_stmt *req = NULL, *line = NULL;
    if (sqlite3_prepare_v2(db, req_sql, -1, &req, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, line_sql, -1, &line, NULL) != SQLITE_OK) {
        fprintf(stderr, "gaelic logs: %s\n", sqlite3_errmsg(db));
        sqlite3_finalize(req);
        return EXIT_RUNTIME;
    }
    sqlite3_bind_text(req, 1, since_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(req, 2, o->severity);
    sqlite3_bind_int64(req, 3, o->limit > 0 ? o->limit : -1);
    sqlite3_bind_int(line, 2, o->severity < 0 ? 0 : o->severity);
    int rc;
    while ((rc = sqlite3_step(req)) == SQLITE_ROW) {
        if (o->json)
            print_json_head(stdout, req);
        else
            print_combined(stdout, req);
        if (o->json)
            fputs(",\"app_logs\":[", stdout);
        sqlite3_bind_text(line, 1, col_text(req, C_ID), -1, SQLITE_TRANSIENT);
        int first = 1;
        while (sqlite3_step(line) == SQLITE_ROW) {
            print_line(stdout, line, o->json, first);
            first = 0;
        }
        sqlite3_reset(line);
        if (o->json)
            fputs("]}\n", stdout);
    }
    int ret = 0;
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "gaelic logs: %s\n", sqlite3_errmsg(db));
        ret = EXIT_RUNTIME;
    }
    sqlite3_finalize(req);
    sqlite3_finalize(line);
    return ret;
}

int logs_main(int argc, char **argv)
{
    logs_opts_t o = {.severity = -1, .limit = 100};
    int pa = parse_args(argc, argv, &o);
    if (pa != 0)
        return pa > 0 ? 0 : EXIT_USAGE;
    int64_t since_us = 0;
    if (o.since && (since_us = parse_since(o.since, log_store_now_us())) < 0) {
        fprintf(stderr, "gaelic logs: --since: invalid time '%s'\n", o.since);
        return EXIT_USAGE;
    }
    char path[PATH_MAX + 32];
    int dp = db_path(&o, path, sizeof path);
    if (dp == -2)
        return EXIT_USAGE;
    if (dp < 0) {
        fprintf(stderr, "gaelic logs: the storage path is too long\n");
        return EXIT_USAGE;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr,
                "gaelic logs: no request logs at %s (%s); serve the app first, or give the "
                "--storage_path/--logs_path it was served with\n",
                path, strerror(errno));
        return EXIT_RUNTIME;
    }
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "gaelic logs: %s: %s\n", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return EXIT_RUNTIME;
    }
    sqlite3_busy_timeout(db, 5000);
    int rc = print_logs(db, &o, since_us);
    sqlite3_close(db);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "gaelic logs: writing the output: %s\n", strerror(errno));
        rc = EXIT_RUNTIME;
    }
    return rc;
}
