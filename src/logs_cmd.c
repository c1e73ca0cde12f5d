/* `gaelic logs APPDIR`: prints the stored request logs with their app log
 * lines, newest first, in the lines `appcfg.py request_logs` wrote: Apache
 * combined format plus App Engine's extra fields, each app line below its
 * request as "\tLEVEL:SECONDS.MICROS message"; or one JSON object per
 * request. `gaelic logs APPDIR OUTPUT_FILE` downloads them as appcfg.py
 * did: oldest first, its days, its fields, --append. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app_identity.h"
#include "cli_args.h"
#include "config.h"
#include "log.h"
#include "log_query.h"
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
    const char *end_date; /* --end_date YYYY-MM-DD */
    long num_days;        /* --num_days; -1: not given */
    const char *version;  /* NULL: every version's and backend's */
    int severity;         /* -1: all requests and all their lines (OUTPUT_FILE: none) */
    long limit;           /* 0: no limit; -1: not given */
    int json;
    /* appcfg.py request_logs' form: OUTPUT_FILE ("-": stdout), oldest
     * first; NULL: the listing on stdout, newest first. */
    const char *output;
    int append, include_vhost, include_all;
} logs_opts_t;

static void logs_usage(FILE *f)
{
    fputs("usage: gaelic logs APPDIR [options]\n"
          "       gaelic logs APPDIR OUTPUT_FILE [options]\n"
          "\n"
          "Prints the request logs of the app in APPDIR with their application log\n"
          "lines, newest first: Apache combined format followed by the quoted Host,\n"
          "ms=, cpu_ms=, instance= and request_id=, and under each request its app\n"
          "lines as \"<TAB>LEVEL:SECONDS.MICROSECONDS message\" (levels 0 debug ..\n"
          "4 critical; newlines in messages are written as \\n, carriage returns as\n"
          "\\r, other control characters but the tab and bytes that are not UTF-8\n"
          "as \\xNN).\n"
          "\n"
          "options (--name VALUE or --name=VALUE):\n"
          "  --storage_path DIR     the storage folder given to gaelic serve\n"
          "  --logs_path FILE       the log database given to gaelic serve\n"
          "  --application ID       the app id given to gaelic serve (also -A ID)\n"
          "  --since T              requests started at or after T: seconds since the\n"
          "                         epoch, YYYY-MM-DD[ HH:MM[:SS]] (local time), or an\n"
          "                         age such as 30s, 15m, 2h, 7d\n"
          "  --version V            only requests of version V (app.yaml's version:,\n"
          "                         or a backend's name; V.MINOR: one deployment of\n"
          "                         it) of app.yaml's service; default: every\n"
          "                         version's and backend's, of every service\n"
          "  --severity LEVEL       only requests with an app line at or above LEVEL\n"
          "                         (debug, info, warning, error, critical or 0-4), and\n"
          "                         only those lines\n"
          "  --num_days N           only requests started in the N days that end with\n"
          "                         --end_date, each from local midnight, as appcfg.py\n"
          "                         request_logs chose them (0: every day; 1 when only\n"
          "                         --end_date is given)\n"
          "  --end_date YYYY-MM-DD  the last of those days (default, and at the latest,\n"
          "                         today)\n"
          "  --limit N              at most N requests (default 100, or all with\n"
          "                         --num_days or --end_date; 0: all)\n"
          "  --json                 one JSON object per line per request\n"
          "  -h, --help             show this help\n"
          "\n"
          "With OUTPUT_FILE (- for stdout) it writes them as appcfg.py request_logs\n"
          "did: oldest first, one day's unless --num_days says otherwise, every\n"
          "finished request of them, the combined line alone, app lines only with\n"
          "--severity, and:\n"
          "  --include_vhost        the quoted Host after the combined line\n"
          "  --include_all          the Host and ms=, cpu_ms=, instance=, request_id=\n"
          "  --append               append the requests after the file's last one\n"
          "                         (every day's back to it unless --num_days)\n"
          "\n"
          "exit status: 0 done, 1 the log database cannot be read or OUTPUT_FILE\n"
          "written, 2 usage or app.yaml error.\n",
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

/* s, the whole string, as a local time in format: its time, with *tm as
 * mktime normalised it, or -1 when it is none, or names a day its month
 * lacks (strptime takes any day 1-31, and mktime would make 2026-02-30
 * March 2nd). */
static time_t local_time(const char *s, const char *format, struct tm *tm)
{
    memset(tm, 0, sizeof *tm);
    const char *rest = strptime(s, format, tm);
    if (!rest || *rest)
        return -1;
    struct tm asked = *tm;
    tm->tm_isdst = -1;
    time_t t = mktime(tm);
    if (t == (time_t)-1 || tm->tm_mday != asked.tm_mday || tm->tm_mon != asked.tm_mon ||
        tm->tm_year != asked.tm_year)
        return -1;
    return t;
}

/* --since: microseconds since the epoch, or -1. */
static int64_t parse_since(const char *s, int64_t now_us)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (cli_plain_number(s, (size_t)(end - s), 1) && !errno && v >= 0 && isfinite(v)) {
        int64_t unit = 0;
        /* Past int64 microseconds: after every request (casting such a
         * double would be undefined). */
        if (*end == '\0')
            return v * 1e6 < 9e18 ? (int64_t)(v * 1e6) : INT64_MAX;
        if (end[1] == '\0')
            unit = *end == 's'   ? 1
                   : *end == 'm' ? 60
                   : *end == 'h' ? 3600
                   : *end == 'd' ? 86400
                                 : 0;
        /* An age older than the epoch: every request. */
        double age = v * (double)unit * 1e6;
        if (unit)
            return age < (double)now_us ? now_us - (int64_t)age : 0;
    }
    static const char *const formats[] = {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                                          "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"};
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
        struct tm tm;
        time_t t = local_time(s, formats[i], &tm);
        if (t != (time_t)-1)
            return (int64_t)t * 1000000;
    }
    return -1;
}

/* The most days --num_days counts back; more is every day (and mktime
 * would go past the years it can give). */
#define MAX_NUM_DAYS 1000000L

/* --num_days and --end_date as appcfg.py request_logs took them: the
 * num_days days (0: every day) that end with end_date (NULL, or a day
 * after today: today), each from local midnight. Sets [*from_us, *to_us)
 * of start times (*from_us 0: from the first). -1 when end_date is not a
 * date YYYY-MM-DD. */
static int day_window(const char *end_date, long num_days, time_t now, int64_t *from_us,
                      int64_t *to_us)
{
    struct tm day;
    localtime_r(&now, &day);
    if (end_date) {
        struct tm check;
        if (local_time(end_date, "%Y-%m-%d", &check) == (time_t)-1)
            return -1;
        if (check.tm_year < day.tm_year ||
            (check.tm_year == day.tm_year && check.tm_yday < day.tm_yday))
            day = check;
    }
    day.tm_hour = day.tm_min = day.tm_sec = 0;
    day.tm_isdst = -1;
    struct tm next = day;
    next.tm_mday++;
    *to_us = (int64_t)mktime(&next) * 1000000;
    *from_us = 0;
    if (num_days > 0 && num_days <= MAX_NUM_DAYS) {
        struct tm first = day;
        first.tm_mday -= (int)(num_days - 1);
        time_t t = mktime(&first);
        *from_us = t > 0 ? (int64_t)t * 1000000 : 0;
    }
    return 0;
}

/* 0 ok, 1 help printed, -1 usage error (printed). */
static int parse_args(int argc, char **argv, logs_opts_t *o)
{
    static const char *const flags[] = {"json", "append", "include_vhost", "include_all", NULL};
    static const char *const options[] = {"storage_path", "logs_path", "application", "since",
                                          "version",      "severity",  "limit",       "num_days",
                                          "end_date",     NULL};
    cli_arg_t arg;
    cli_kind_t kind;
    for (int i = 1; (kind = cli_next(argc, argv, &i, "logs", flags, options, &arg)) != CLI_END;) {
        const char *v = arg.value;
        if (kind == CLI_ERROR)
            return -1;
        if (kind == CLI_HELP) {
            logs_usage(stdout);
            return 1;
        }
        if (kind == CLI_FLAG) {
            *(cli_is(&arg, "json")            ? &o->json
              : cli_is(&arg, "append")        ? &o->append
              : cli_is(&arg, "include_vhost") ? &o->include_vhost
                                              : &o->include_all) = arg.on;
        } else if (kind == CLI_POSITIONAL) {
            if (o->output) {
                fprintf(stderr, "gaelic logs: unexpected argument '%s'\n", v);
                return -1;
            }
            *(o->app_dir ? &o->output : &o->app_dir) = v;
        } else if (cli_is(&arg, "storage_path")) {
            o->storage_path = v;
        } else if (cli_is(&arg, "logs_path")) {
            o->logs_path = v;
        } else if (cli_is(&arg, "application")) {
            o->application = v;
        } else if (cli_is(&arg, "since")) {
            o->since = v;
        } else if (cli_is(&arg, "version")) {
            o->version = v;
        } else if (cli_is(&arg, "severity")) {
            o->severity = parse_level(v);
            if (o->severity < 0) {
                fprintf(stderr,
                        "gaelic logs: --severity: invalid level '%s' (debug, info, warning, "
                        "error, critical or 0-4)\n",
                        v);
                return -1;
            }
        } else if (cli_is(&arg, "end_date")) {
            o->end_date = v;
        } else if (cli_is(&arg, "num_days")) {
            char *end;
            errno = 0;
            o->num_days = strtol(v, &end, 10);
            if (errno || *end || !cli_plain_number(v, strlen(v), 0)) {
                fprintf(stderr,
                        "gaelic logs: --num_days: invalid value '%s' (a whole number of days; 0: "
                        "every day)\n",
                        v);
                return -1;
            }
        } else if (cli_is(&arg, "limit")) {
            char *end;
            errno = 0;
            o->limit = strtol(v, &end, 10);
            if (errno || *end || !cli_plain_number(v, strlen(v), 0)) {
                fprintf(stderr,
                        "gaelic logs: --limit: invalid value '%s' (a whole number; 0: all)\n", v);
                return -1;
            }
        }
    }
    /* As gaelic serve checks it: another id names no app it served. */
    if (o->application && !cli_application_ok("logs", o->application))
        return -1;
    if (!o->app_dir) {
        fprintf(stderr, "gaelic logs: missing APPDIR\n");
        logs_usage(stderr);
        return -1;
    }
    const char *file_only = o->append          ? "--append"
                            : o->include_vhost ? "--include_vhost"
                            : o->include_all   ? "--include_all"
                                               : NULL;
    if (!o->output && file_only) {
        fprintf(stderr, "gaelic logs: %s needs an OUTPUT_FILE (gaelic logs APPDIR OUTPUT_FILE)\n",
                file_only);
        return -1;
    }
    if (o->output && o->json) {
        fprintf(stderr, "gaelic logs: --json prints to stdout, without an OUTPUT_FILE\n");
        return -1;
    }
    if (o->append && !strcmp(o->output, "-")) {
        fprintf(stderr, "gaelic logs: --append needs an OUTPUT_FILE, not - (stdout)\n");
        return -1;
    }
    return 0;
}

/* ---------- output ---------- */

/* A JSON string of s, in UTF-8: a byte of invalid UTF-8 (what a client
 * sent is stored as it came) is the text \xNN; controls (C0, DEL, C1) are
 * \u escapes, so that the output is safe on a terminal too. */
static void json_string(FILE *f, log_str_t s)
{
    if (!s.p) {
        fputs("null", f);
        return;
    }
    const unsigned char *p = (const unsigned char *)s.p;
    fputc('"', f);
    for (size_t i = 0; i < s.n;) {
        size_t len = log_utf8_char_len(p + i, s.n - i);
        unsigned ch = len == 2 && p[i] == 0xc2 ? p[i + 1] : p[i]; /* C1: U+0080..U+009F */
        if (len == 0)
            fprintf(f, "\\\\x%02x", p[i]);
        else if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", f);
        else if (ch == '\r')
            fputs("\\r", f);
        else if (ch == '\t')
            fputs("\\t", f);
        else if (log_is_control(p + i, len))
            fprintf(f, "\\u%04x", ch);
        else
            fwrite(p + i, 1, len, f);
        i += len ? len : 1;
    }
    fputc('"', f);
}

/* Microseconds since the epoch as seconds with six decimals (a Flush may
 * carry times before the epoch). */
static void print_seconds(FILE *f, int64_t us)
{
    uint64_t a = us < 0 ? -(uint64_t)us : (uint64_t)us;
    fprintf(f, "%s%llu.%06llu", us < 0 ? "-" : "", (unsigned long long)(a / 1000000),
            (unsigned long long)(a % 1000000));
}

/* Text that apps and clients chose, as it may reach a terminal: on one
 * line (newlines as \n), and with no escape sequence that the terminal
 * would act on: controls (C0 but the tab, DEL, C1) and invalid UTF-8 are
 * written as \xNN, byte by byte. */
static void terminal_text(FILE *f, log_str_t s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    for (size_t i = 0; i < s.n;) {
        size_t len = log_utf8_char_len(p + i, s.n - i);
        int control = log_is_control(p + i, len) && !(len == 1 && p[i] == '\t');
        if (len == 1 && p[i] == '\n')
            fputs("\\n", f);
        else if (len == 1 && p[i] == '\r')
            fputs("\\r", f);
        else if (len == 0 || control)
            for (size_t k = 0; k < (len ? len : 1); k++)
                fprintf(f, "\\x%02x", p[i + k]);
        else
            fwrite(p + i, 1, len, f);
        i += len ? len : 1;
    }
}

/* appcfg.py request_logs' line: the combined line, then with vhost the
 * host and with extras App Engine's extra fields. */
static int print_combined(FILE *f, const log_request_t *r, int vhost, int extras)
{
    buf_t b = BUF_INIT;
    if (log_combined(&b, r) < 0 ||
        (vhost && (buf_append(&b, " ", 1) < 0 || log_quoted(&b, r->host) < 0))) {
        buf_free(&b);
        return -1;
    }
    terminal_text(f, (log_str_t){buf_ptr(&b), b.len});
    buf_free(&b);
    if (!extras) {
        fputc('\n', f);
        return 0;
    }
    fprintf(f, " ms=%lld cpu_ms=%lld instance=%.*s request_id=%.*s%s\n",
            (long long)(r->end_us ? (r->end_us - r->start_us) / 1000 : 0),
            (long long)(r->mcycles * 1000 / 1200), r->instance_id.p ? (int)r->instance_id.n : 1,
            r->instance_id.p ? r->instance_id.p : "-", (int)r->request_id.n, r->request_id.p,
            r->end_us ? "" : " (running)");
    return 0;
}

static void print_json_head(FILE *f, const log_request_t *r)
{
    int64_t start = r->start_us, end = r->end_us;
    fputs("{\"request_id\":", f);
    json_string(f, r->request_id);
    fputs(",\"start_time\":", f);
    print_seconds(f, start);
    if (end) {
        fputs(",\"end_time\":", f);
        print_seconds(f, end);
        fprintf(f, ",\"latency_ms\":%.3f,\"finished\":true", (double)(end - start) / 1000.0);
    } else
        fputs(",\"end_time\":null,\"latency_ms\":null,\"finished\":false", f);
    const struct {
        const char *name;
        log_str_t v;
    } strs[] = {{"version_id", r->version_id},
                {"ip", r->ip},
                {"nickname", r->nickname},
                {"method", r->method},
                {"resource", r->resource},
                {"http_version", r->http_version},
                {"referrer", r->referrer},
                {"user_agent", r->user_agent},
                {"host", r->host},
                {"instance_id", r->instance_id},
                {"module_id", r->module_id},
                {"url_map_entry", r->url_map_entry}};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        fprintf(f, ",\"%s\":", strs[i].name);
        json_string(f, strs[i].v);
    }
    fprintf(f, ",\"status\":%d,\"response_size\":%lld,\"mcycles\":%lld,\"cpu_ms\":%lld", r->status,
            (long long)r->response_size, (long long)r->mcycles,
            (long long)(r->mcycles * 1000 / 1200));
    fprintf(f, ",\"was_loading_request\":%s,\"pending_ms\":%.3f", r->was_loading ? "true" : "false",
            (double)r->pending_us / 1000.0);
    if (r->replica_index >= 0)
        fprintf(f, ",\"replica_index\":%d", r->replica_index);
    else
        fputs(",\"replica_index\":null", f);
}

static void print_line(FILE *f, const log_line_t *l, int json, int first)
{
    if (!json) {
        fprintf(f, "\t%d:", l->level);
        print_seconds(f, l->time_us);
        fputc(' ', f);
        terminal_text(f, l->message);
        fputc('\n', f);
        return;
    }
    fprintf(f, "%s{\"time\":", first ? "" : ",");
    print_seconds(f, l->time_us);
    fprintf(f, ",\"level\":%d,\"level_name\":\"%s\",\"message\":", l->level,
            l->level >= 0 && l->level <= 4 ? LEVELS[l->level] : "unknown");
    json_string(f, l->message);
    fputc('}', f);
}

/* ---------- the command ---------- */

/* The log database's path into out, and into service the service of
 * app.yaml's that --version names a version of (read only for it when
 * --logs_path gives the database). 0, -1 when the path is too long, -2
 * when app.yaml is refused (said on stderr). */
static int db_path(const logs_opts_t *o, char *out, size_t n, char *service, size_t service_n)
{
    snprintf(service, service_n, "default");
    if (o->logs_path && !o->version)
        return snprintf(out, n, "%s", o->logs_path) < (int)n ? 0 : -1;
    char err[1024];
    app_config_t *cfg;
    if (config_load(o->app_dir, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "gaelic: %s\n", err);
        return -2;
    }
    snprintf(service, service_n, "%s", config_service(cfg));
    char app_id[128], storage[PATH_MAX];
    app_identity_id(cfg, o->application, app_id, sizeof app_id);
    config_free(cfg);
    if (o->logs_path)
        return snprintf(out, n, "%s", o->logs_path) < (int)n ? 0 : -1;
    if (app_identity_storage(app_id, o->storage_path, storage, sizeof storage) < 0)
        return -1;
    return snprintf(out, n, "%s/%s", storage, LOG_STORE_FILE) < (int)n ? 0 : -1;
}

/* The output is gathered a page at a time, in one read transaction each,
 * and written once that has ended: a reader waiting on its output (`gaelic
 * logs | less`) must not hold a snapshot, with which the server cannot
 * checkpoint and its WAL file grows for as long as the reader waits. A
 * page ends after PAGE_REQUESTS requests or PAGE_BYTES of text, inside a
 * request's lines if need be. */
#define PAGE_REQUESTS 100
#define PAGE_BYTES (1 << 20)

/* Where the listing is, from one page to the next. */
typedef struct {
    int schema;          /* the database's user_version when older (log_query_schema) */
    const char *service; /* app.yaml's, whose --version is listed */
    char id[80];         /* the request being printed, or the last one; "" at first */
    int in_lines;        /* its head is printed, not all its lines */
    int any_line;        /* a line of it is printed (after is its place) */
    log_line_t after;    /* the last line printed (time and rowid only) */
    long printed;        /* requests printed whole */
    /* OUTPUT_FILE: where each request starts in what the pages wrote,
     * newest first (base: the size of the pages before this one); the
     * file's last request line (--append), where the walk ends. */
    long *starts;
    size_t n_starts;
    long base;
    const char *sentinel;
} walk_t;

/* The lines of w's request after those printed, into f until the page is
 * full: 1 then, 0 when they are all printed, -1 on an error. */
static int page_lines(log_cursor_t *c, const logs_opts_t *o, walk_t *w, FILE *f)
{
    log_cursor_lines(c, (log_str_t){w->id, strlen(w->id)}, o->severity < 0 ? 0 : o->severity,
                     w->any_line ? &w->after : NULL);
    log_line_t line;
    int rc = 0;
    /* appcfg.py wrote app lines only when --severity asked for them. */
    int lines = !o->output || o->severity >= 0;
    while (lines && (rc = log_cursor_next_line(c, &line)) > 0) {
        print_line(f, &line, o->json, !w->any_line);
        w->any_line = 1;
        w->after.time_us = line.time_us;
        w->after.rowid = line.rowid;
        if (ftell(f) >= PAGE_BYTES)
            return 1;
    }
    if (rc < 0)
        return -1;
    if (o->json)
        fputs("]}\n", f);
    w->in_lines = 0;
    w->printed++;
    return 0;
}

/* OUTPUT_FILE's line of r into f, where w records it starts: 1, or 0
 * when it is the file's last (--append), -1 when memory runs out. */
static int file_head(FILE *f, const logs_opts_t *o, walk_t *w, const log_request_t *r)
{
    char *head = NULL;
    size_t len = 0;
    FILE *h = open_memstream(&head, &len);
    if (!h)
        return -1;
    int rc = print_combined(h, r, o->include_vhost || o->include_all, o->include_all);
    fclose(h);
    long *more = rc < 0 ? NULL : realloc(w->starts, (w->n_starts + 1) * sizeof *more);
    if (!more) {
        free(head);
        return -1;
    }
    w->starts = more;
    if (w->sentinel && len > 0 && strlen(w->sentinel) == len - 1 &&
        !memcmp(head, w->sentinel, len - 1)) {
        free(head);
        return 0;
    }
    w->starts[w->n_starts++] = w->base + ftell(f);
    fwrite(head, 1, len, f);
    free(head);
    return 1;
}

/* One page into f, of the requests started in [since_us, until_us). 1
 * when more may follow, 0 at the end, -1 on an error (in err). */
static int page(sqlite3 *db, const logs_opts_t *o, int64_t since_us, int64_t until_us, walk_t *w,
                FILE *f, char *err, size_t errlen)
{
    /* The requests this page may start (the one whose lines go on is
     * before w->id, so not among them). */
    long left = (o->limit > 0 ? o->limit - w->printed : PAGE_REQUESTS) - w->in_lines;
    log_query_t q = LOG_QUERY_ALL;
    q.schema = w->schema;
    /* appcfg.py downloaded finished requests (a running one's line would
     * not match itself as --append's last line once it ends). */
    q.include_incomplete = !o->output;
    q.started_since_us = since_us;
    q.started_before_us = until_us;
    q.min_level = o->severity;
    log_module_version_t version = {{w->service, strlen(w->service)},
                                    {o->version, o->version ? strlen(o->version) : 0}};
    q.version_filter = o->version != NULL;
    q.versions = &version;
    q.n_versions = 1;
    q.before_id = w->id[0] ? (log_str_t){w->id, strlen(w->id)} : (log_str_t){NULL, 0};
    q.limit = left < PAGE_REQUESTS ? left : PAGE_REQUESTS;
    log_cursor_t *c = log_cursor_open(db, &q, err, errlen);
    if (!c)
        return -1;
    int rc = w->in_lines ? page_lines(c, o, w, f) : 0;
    long rows = 0;
    log_request_t r;
    while (rc == 0 && ftell(f) < PAGE_BYTES && (rc = log_cursor_next(c, &r)) > 0) {
        rows++;
        snprintf(w->id, sizeof w->id, "%.*s", (int)r.request_id.n, r.request_id.p);
        int head = 1;
        if (o->json) {
            print_json_head(f, &r);
            fputs(",\"app_logs\":[", f);
        } else if (o->output) {
            head = file_head(f, o, w, &r);
        } else {
            head = print_combined(f, &r, 1, 1) < 0 ? -1 : 1;
        }
        if (head < 0) {
            snprintf(err, errlen, "out of memory");
            log_cursor_close(c);
            return -1;
        }
        if (head == 0) { /* --append: the file has it and what is older */
            log_cursor_close(c);
            return 0;
        }
        w->in_lines = 1;
        w->any_line = 0;
        rc = page_lines(c, o, w, f);
    }
    if (rc < 0)
        snprintf(err, errlen, "%s", log_cursor_error(c));
    log_cursor_close(c);
    if (rc < 0)
        return -1;
    /* The page is full (in a request's lines, or after one), or the
     * cursor gave all its limit let it: more may follow. */
    return rc > 0 || ftell(f) >= PAGE_BYTES || rows == q.limit;
}

/* The pages into out. until_us: only requests started before it
 * (INT64_MAX: any). */
static int print_logs(sqlite3 *db, const logs_opts_t *o, int64_t since_us, int64_t until_us,
                      walk_t *wp, FILE *out)
{
    walk_t w = *wp;
    w.schema = log_query_schema(db);
    if (w.schema < 0) {
        fprintf(stderr, "gaelic logs: reading the schema: %s\n", sqlite3_errmsg(db));
        return EXIT_RUNTIME;
    }
    for (;;) {
        char *text = NULL, err[512] = "";
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f) {
            fprintf(stderr, "gaelic logs: %s\n", strerror(errno));
            return EXIT_RUNTIME;
        }
        int rc = page(db, o, since_us, until_us, &w, f, err, sizeof err);
        fclose(f);
        fwrite(text, 1, len, out);
        w.base += (long)len;
        free(text);
        *wp = w;
        if (rc < 0) {
            fprintf(stderr, "gaelic logs: %s\n", err);
            return EXIT_RUNTIME;
        }
        if (rc == 0 || (o->limit > 0 && w.printed >= o->limit) || ferror(out))
            return 0;
    }
}

/* --append: the last request line of the file (the last line not an app
 * line), or NULL (no file, or none in it). The file is read back from its
 * end a chunk at a time until that line starts: the last request's app
 * lines after it may take any room (a job's thousand lines at --severity),
 * and a line not found made every day's requests be appended again. */
static char *last_request_line(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char chunk[1 << 16];
    off_t pos = fseeko(f, 0, SEEK_END) == 0 ? ftello(f) : -1, found = -1;
    /* The first byte of the line at pos: '\n' (no line) at the end. */
    char next = '\n';
    while (pos > 0 && found < 0) {
        size_t n = pos < (off_t)sizeof chunk ? (size_t)pos : sizeof chunk;
        off_t from = pos - (off_t)n;
        if (fseeko(f, from, SEEK_SET) != 0 || fread(chunk, 1, n, f) != n)
            break;
        /* Lines start after each newline, and at the file's start; an
         * empty one or an app line is not it. */
        for (size_t i = n; i-- > 0 && found < 0;) {
            char first = i + 1 < n ? chunk[i + 1] : next;
            if (chunk[i] == '\n' && first != '\n' && first != '\t')
                found = from + (off_t)i + 1;
        }
        if (found < 0 && from == 0 && chunk[0] != '\n' && chunk[0] != '\t')
            found = 0;
        next = chunk[0];
        pos = from;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = found >= 0 && fseeko(f, found, SEEK_SET) == 0 ? getline(&line, &cap, f) : -1;
    fclose(f);
    if (len <= 0) {
        free(line);
        return NULL;
    }
    if (line[len - 1] == '\n')
        line[len - 1] = '\0';
    return line;
}

/* The requests w recorded in tmp (newest first) into out, oldest first.
 * 0, or -1 on an error (errno). */
static int copy_reversed(FILE *tmp, const walk_t *w, FILE *out)
{
    static char chunk[1 << 16];
    for (size_t i = w->n_starts; i-- > 0;) {
        long end = i + 1 < w->n_starts ? w->starts[i + 1] : w->base;
        if (fseek(tmp, w->starts[i], SEEK_SET) != 0)
            return -1;
        for (long left = end - w->starts[i]; left > 0;) {
            size_t n =
                fread(chunk, 1, left < (long)sizeof chunk ? (size_t)left : sizeof chunk, tmp);
            if (n == 0 || fwrite(chunk, 1, n, out) != n)
                return -1;
            left -= (long)n;
        }
    }
    return 0;
}

/* OUTPUT_FILE: the requests newest first into a temporary file, then
 * copied into the output oldest first, as appcfg.py did. */
static int write_file(sqlite3 *db, const logs_opts_t *o, int64_t since_us, int64_t until_us,
                      walk_t *w)
{
    FILE *tmp = tmpfile();
    if (!tmp) {
        fprintf(stderr, "gaelic logs: a temporary file: %s\n", strerror(errno));
        return EXIT_RUNTIME;
    }
    char *sentinel = o->append ? last_request_line(o->output) : NULL;
    w->sentinel = sentinel;
    int rc = print_logs(db, o, since_us, until_us, w, tmp);
    free(sentinel);
    int to_stdout = !strcmp(o->output, "-");
    FILE *out = NULL;
    if (rc == 0 && !(out = to_stdout ? stdout : fopen(o->output, o->append ? "a" : "w"))) {
        fprintf(stderr, "gaelic logs: %s: %s\n", o->output, strerror(errno));
        rc = EXIT_RUNTIME;
    }
    if (out) {
        int bad = fflush(tmp) != 0 || copy_reversed(tmp, w, out) < 0;
        bad |= to_stdout ? fflush(out) != 0 : fclose(out) != 0;
        if (bad) {
            fprintf(stderr, "gaelic logs: writing %s: %s\n", o->output, strerror(errno));
            rc = EXIT_RUNTIME;
        } else {
            fprintf(stderr, "gaelic logs: wrote %zu request%s to %s\n", w->n_starts,
                    w->n_starts == 1 ? "" : "s", to_stdout ? "stdout" : o->output);
        }
    }
    fclose(tmp);
    return rc;
}

/* SQLite reads a WAL database through its -shm file, which it cannot
 * create in a folder nobody may write (a read-only mount, a copy of
 * someone else's): "unable to open database file". One with no -wal file
 * left (its server stopped cleanly) holds everything in the file itself,
 * and is read as immutable then. 0 with the URI that says so in out. */
static int immutable_uri(const char *path, char *out, size_t n)
{
    char dir[PATH_MAX + 32], wal[PATH_MAX + 40];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    struct stat st;
    if (access(slash ? dir : ".", W_OK) == 0 ||
        snprintf(wal, sizeof wal, "%s-wal", path) >= (int)sizeof wal || stat(wal, &st) == 0)
        return -1;
    size_t k = (size_t)snprintf(out, n, "file:");
    const char *p = path;
    for (; *p && k + 4 < n; p++) {
        /* What a URI's path may not hold as itself. */
        if (strchr("?#%", *p))
            k += (size_t)snprintf(out + k, n - k, "%%%02X", (unsigned char)*p);
        else
            out[k++] = *p;
    }
    if (*p || k + sizeof "?immutable=1" > n)
        return -1;
    memcpy(out + k, "?immutable=1", sizeof "?immutable=1");
    return 0;
}

int logs_main(int argc, char **argv)
{
    logs_opts_t o = {.severity = -1, .limit = -1, .num_days = -1};
    int pa = parse_args(argc, argv, &o);
    if (pa != 0)
        return pa > 0 ? 0 : EXIT_USAGE;
    int64_t since_us = 0;
    if (o.since && (since_us = parse_since(o.since, log_store_now_us())) < 0) {
        fprintf(stderr,
                "gaelic logs: --since: invalid time '%s' (seconds since the epoch, "
                "YYYY-MM-DD[ HH:MM[:SS]] or an age such as 30s, 15m, 2h, 7d)\n",
                o.since);
        return EXIT_USAGE;
    }
    int64_t until_us = INT64_MAX;
    if (o.num_days >= 0 || o.end_date || o.output) {
        int64_t from_us;
        /* appcfg.py's default: one day, or with --append every day back to
         * the file's last request. */
        long days = o.num_days >= 0 ? o.num_days : o.append ? 0 : 1;
        if (day_window(o.end_date, days, time(NULL), &from_us, &until_us) < 0) {
            fprintf(stderr, "gaelic logs: --end_date: invalid date '%s' (YYYY-MM-DD)\n",
                    o.end_date);
            return EXIT_USAGE;
        }
        if (from_us > since_us)
            since_us = from_us;
        /* appcfg.py downloaded every request of those days. */
        if (o.limit < 0)
            o.limit = 0;
    }
    if (o.limit < 0)
        o.limit = 100;
    char path[PATH_MAX + 32], service[64];
    int dp = db_path(&o, path, sizeof path, service, sizeof service);
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
    char uri[3 * PATH_MAX + 64];
    const char *name = path;
    int flags = SQLITE_OPEN_READONLY;
    if (immutable_uri(path, uri, sizeof uri) == 0) {
        name = uri;
        flags |= SQLITE_OPEN_URI;
    }
    if (sqlite3_open_v2(name, &db, flags, NULL) != SQLITE_OK) {
        /* SQLite's "unable to open database file" alone does not say why. */
        int sys = sqlite3_system_errno(db);
        fprintf(stderr, "gaelic logs: %s: %s%s%s%s\n", path, sqlite3_errmsg(db), sys ? " (" : "",
                sys ? strerror(sys) : "", sys ? ")" : "");
        sqlite3_close(db);
        return EXIT_RUNTIME;
    }
    sqlite3_busy_timeout(db, 5000);
    walk_t w;
    memset(&w, 0, sizeof w);
    w.service = service;
    int rc = o.output ? write_file(db, &o, since_us, until_us, &w)
                      : print_logs(db, &o, since_us, until_us, &w, stdout);
    free(w.starts);
    sqlite3_close(db);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "gaelic logs: writing the output: %s\n", strerror(errno));
        rc = EXIT_RUNTIME;
    }
    return rc;
}
