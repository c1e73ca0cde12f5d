#include "log_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Columns of a request row, in log_request_t's terms; in a database of an
 * older user_version, those it lacks are what its rows stand for. */
#define ROW_COLUMNS                                                                                \
    "request_id, version_id, start_us, end_us, ip, nickname, method, resource, http_version, "     \
    "status, response_size, referrer, user_agent, host, mcycles, instance_id, "
#define ROW_FIELDS_2 "was_loading, pending_us, replica_index, "
#define ROW_FIELDS_1 "0, 0, -1, "
#define ROW_FIELDS_3 "module_id, url_map_entry"
#define ROW_FIELDS_OLD "'default', ''"
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
    C_INSTANCE,
    C_LOADING,
    C_PENDING,
    C_REPLICA,
    C_MODULE,
    C_URL_MAP_ENTRY
};

/* Fixed parameters; versions and ids are numbered after them. */
enum {
    P_FROM = 1,
    P_TO,
    P_INCOMPLETE,
    P_SINCE,
    P_LEVEL,
    P_BEFORE,
    P_LIMIT,
    P_STARTED_BEFORE,
    P_LISTS
};

struct log_cursor {
    sqlite3 *db;
    sqlite3_stmt *rows, *lines;
    char error[256];
};

static void set_error(log_cursor_t *c, const char *what)
{
    snprintf(c->error, sizeof c->error, "%s: %s", what, sqlite3_errmsg(c->db));
}

/* "?N,?N+1,..." for n parameters from first. */
static int put_params(buf_t *sql, int first, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (buf_printf(sql, "%s?%d", i ? "," : "", first + (int)i) < 0)
            return -1;
    return 0;
}

/* A running request's last update, which App Engine's time bounds go by
 * for it (the "completion or last-update time"): its newest app line, as
 * its lines are seen when they come once it has flushed; its start
 * before it has any. A Flush may carry lines dated before the start. */
#define LAST_UPDATE                                                                                \
    "max(start_us, coalesce((SELECT max(a.time_us) FROM app_logs a "                               \
    "WHERE a.request_id = r.request_id), start_us))"

static int build_sql(buf_t *sql, const log_query_t *q)
{
    int ids_at = P_LISTS + (int)q->n_versions;
    int current = q->schema == 0;
    int bad = buf_append_str(sql, "SELECT " ROW_COLUMNS) < 0 ||
              buf_append_str(sql, q->schema == 1 ? ROW_FIELDS_1 : ROW_FIELDS_2) < 0 ||
              buf_append_str(sql, current ? ROW_FIELDS_3 : ROW_FIELDS_OLD) < 0 ||
              buf_append_str(sql, " FROM request_logs r WHERE "
                                  "((end_us != 0 AND end_us >= ?1 AND end_us < ?2) OR "
                                  "(?3 AND end_us = 0 AND " LAST_UPDATE " >= ?1 AND " LAST_UPDATE
                                  " < ?2)) "
                                  "AND request_id >= ?4 "
                                  "AND (?5 < 0 OR EXISTS (SELECT 1 FROM app_logs a WHERE "
                                  "a.request_id = r.request_id AND a.level >= ?5)) "
                                  "AND (?6 IS NULL OR request_id < ?6) "
                                  "AND (?8 IS NULL OR request_id < ?8)") < 0;
    if (q->version_filter && q->n_versions == 0)
        bad |= buf_append_str(sql, " AND 0") < 0;
    else if (q->version_filter) {
        /* Each pair is bound as "module:version" (neither holds a colon),
         * matched by the full version or the major one (what comes before
         * the first dot). */
        const char *module = current ? "module_id" : "'default'";
        bad |= buf_printf(sql, " AND ((%s || ':' || version_id) IN (", module) < 0 ||
               put_params(sql, P_LISTS, q->n_versions) < 0 ||
               buf_printf(sql,
                          ") OR (%s || ':' || substr(version_id, 1, "
                          "instr(version_id || '.', '.') - 1)) IN (",
                          module) < 0 ||
               put_params(sql, P_LISTS, q->n_versions) < 0 || buf_append_str(sql, "))") < 0;
    }
    if (q->n_ids)
        bad |= buf_append_str(sql, " AND request_id IN (") < 0 ||
               put_params(sql, ids_at, q->n_ids) < 0 || buf_append_str(sql, ")") < 0;
    bad |=
        buf_append_str(sql, " ORDER BY request_id DESC LIMIT ?7") < 0 || buf_append(sql, "", 1) < 0;
    return bad ? -1 : 0;
}

static void bind_str(sqlite3_stmt *s, int col, log_str_t v)
{
    if (v.p)
        sqlite3_bind_text(s, col, v.p, (int)v.n, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, col);
}

log_cursor_t *log_cursor_open(sqlite3 *db, const log_query_t *q, char *err, size_t errlen)
{
    log_cursor_t *c = calloc(1, sizeof *c);
    buf_t sql = BUF_INIT;
    if (!c || build_sql(&sql, q) < 0) {
        snprintf(err, errlen, "out of memory");
        free(c);
        buf_free(&sql);
        return NULL;
    }
    c->db = db;
    if (sqlite3_prepare_v2(db, buf_ptr(&sql), -1, &c->rows, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT time_us, level, message, rowid FROM app_logs WHERE "
                           "request_id = ?1 AND level >= ?2 AND (time_us, rowid) > (?3, ?4) "
                           "ORDER BY time_us, rowid",
                           -1, &c->lines, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "preparing a query: %s", sqlite3_errmsg(db));
        buf_free(&sql);
        log_cursor_close(c);
        return NULL;
    }
    buf_free(&sql);
    sqlite3_stmt *s = c->rows;
    sqlite3_bind_int64(s, P_FROM, q->from_us);
    sqlite3_bind_int64(s, P_TO, q->to_us);
    sqlite3_bind_int(s, P_INCOMPLETE, q->include_incomplete != 0);
    /* Request ids begin with the start time as 16 hex digits, so a range on
     * the primary key is a range of start times: ids below a time's digits
     * started before it (a time before the epoch: the digits of 0, below
     * every id). */
    char since[32], before[32];
    snprintf(since, sizeof since, "%016llx",
             (unsigned long long)(q->started_since_us > 0 ? q->started_since_us : 0));
    sqlite3_bind_text(s, P_SINCE, since, -1, SQLITE_TRANSIENT);
    if (q->started_before_us != INT64_MAX) { /* unbound: NULL, no bound */
        snprintf(before, sizeof before, "%016llx",
                 (unsigned long long)(q->started_before_us > 0 ? q->started_before_us : 0));
        sqlite3_bind_text(s, P_STARTED_BEFORE, before, -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int(s, P_LEVEL, q->min_level);
    bind_str(s, P_BEFORE, q->before_id);
    sqlite3_bind_int64(s, P_LIMIT, q->limit);
    buf_t pair = BUF_INIT;
    for (size_t i = 0; i < q->n_versions; i++) {
        const log_module_version_t *mv = &q->versions[i];
        buf_reset(&pair);
        if (buf_append(&pair, mv->module.p, mv->module.n) < 0 || buf_append(&pair, ":", 1) < 0 ||
            buf_append(&pair, mv->version.p, mv->version.n) < 0) {
            snprintf(err, errlen, "out of memory");
            buf_free(&pair);
            log_cursor_close(c);
            return NULL;
        }
        sqlite3_bind_text(s, P_LISTS + (int)i, buf_ptr(&pair), (int)pair.len, SQLITE_TRANSIENT);
    }
    buf_free(&pair);
    for (size_t i = 0; i < q->n_ids; i++)
        bind_str(s, P_LISTS + (int)q->n_versions + (int)i, q->ids[i]);
    return c;
}

static log_str_t col_str(sqlite3_stmt *s, int col)
{
    const char *p = (const char *)sqlite3_column_text(s, col);
    return (log_str_t){p, p ? (size_t)sqlite3_column_bytes(s, col) : 0};
}

int log_cursor_next(log_cursor_t *c, log_request_t *row)
{
    sqlite3_stmt *s = c->rows;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW) {
        set_error(c, "reading request logs");
        return -1;
    }
    memset(row, 0, sizeof *row);
    static const struct {
        size_t off;
        int col;
    } strs[] = {
        {offsetof(log_request_t, request_id), C_ID},
        {offsetof(log_request_t, version_id), C_VERSION},
        {offsetof(log_request_t, ip), C_IP},
        {offsetof(log_request_t, nickname), C_NICK},
        {offsetof(log_request_t, method), C_METHOD},
        {offsetof(log_request_t, resource), C_RESOURCE},
        {offsetof(log_request_t, http_version), C_HTTP},
        {offsetof(log_request_t, referrer), C_REFERRER},
        {offsetof(log_request_t, user_agent), C_UA},
        {offsetof(log_request_t, host), C_HOST},
        {offsetof(log_request_t, instance_id), C_INSTANCE},
        {offsetof(log_request_t, module_id), C_MODULE},
        {offsetof(log_request_t, url_map_entry), C_URL_MAP_ENTRY},
    };
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        *(log_str_t *)((char *)row + strs[i].off) = col_str(s, strs[i].col);
    row->start_us = sqlite3_column_int64(s, C_START);
    row->end_us = sqlite3_column_int64(s, C_END);
    row->status = sqlite3_column_int(s, C_STATUS);
    row->response_size = sqlite3_column_int64(s, C_SIZE);
    row->mcycles = sqlite3_column_int64(s, C_MCYCLES);
    row->was_loading = sqlite3_column_int(s, C_LOADING);
    row->pending_us = sqlite3_column_int64(s, C_PENDING);
    row->replica_index = sqlite3_column_int(s, C_REPLICA);
    return 1;
}

int log_cursor_lines(log_cursor_t *c, log_str_t request_id, int min_level, const log_line_t *after)
{
    sqlite3_reset(c->lines);
    bind_str(c->lines, 1, request_id);
    sqlite3_bind_int(c->lines, 2, min_level);
    sqlite3_bind_int64(c->lines, 3, after ? after->time_us : INT64_MIN);
    sqlite3_bind_int64(c->lines, 4, after ? after->rowid : INT64_MIN);
    return 0;
}

int log_cursor_next_line(log_cursor_t *c, log_line_t *line)
{
    int rc = sqlite3_step(c->lines);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW) {
        set_error(c, "reading app log lines");
        return -1;
    }
    line->time_us = sqlite3_column_int64(c->lines, 0);
    line->level = sqlite3_column_int(c->lines, 1);
    line->message = col_str(c->lines, 2);
    if (!line->message.p)
        line->message = (log_str_t){"", 0};
    line->rowid = sqlite3_column_int64(c->lines, 3);
    return 1;
}

const char *log_cursor_error(const log_cursor_t *c)
{
    return c->error;
}

void log_cursor_close(log_cursor_t *c)
{
    if (!c)
        return;
    sqlite3_finalize(c->rows);
    sqlite3_finalize(c->lines);
    free(c);
}

/* 1 when db's request_logs has the column name, 0 when not, -1 on an error. */
static int has_column(sqlite3 *db, const char *name)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM pragma_table_info('request_logs') WHERE name = ?",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) > 0 : -1;
    sqlite3_finalize(s);
    return rc;
}

int log_query_schema(sqlite3 *db)
{
    int has_2 = has_column(db, "replica_index"), has_3 = has_column(db, "url_map_entry");
    if (has_2 < 0 || has_3 < 0)
        return -1;
    return has_3 ? 0 : has_2 ? 2 : 1;
}

/* ---------- the combined line ---------- */

/* A field as it is, "-" when missing; newlines written as \n so that the
 * line stays one line, and quotes and backslashes escaped as Apache's %r
 * does: a request target may hold '"' (a client's GET /a"b), which would
 * end the quoted request line early for whoever parses the line. */
static int put_plain(buf_t *b, log_str_t s)
{
    if (!s.p || !s.n)
        return buf_append(b, "-", 1);
    for (size_t i = 0; i < s.n; i++) {
        char ch = s.p[i];
        int rc = ch == '\n'                ? buf_append(b, "\\n", 2)
                 : ch == '\r'              ? buf_append(b, "\\r", 2)
                 : ch == '"' || ch == '\\' ? buf_printf(b, "\\%c", ch)
                                           : buf_append(b, &ch, 1);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Apache's quoted fields: quotes, backslashes and control bytes escaped. */
int log_quoted(buf_t *b, log_str_t s)
{
    if (!s.p || !s.n)
        return buf_append(b, "\"-\"", 3);
    if (buf_append(b, "\"", 1) < 0)
        return -1;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        int rc = ch == '"' || ch == '\\'   ? buf_printf(b, "\\%c", ch)
                 : ch < 0x20 || ch == 0x7f ? buf_printf(b, "\\x%02x", ch)
                                           : buf_append(b, &ch, 1);
        if (rc < 0)
            return -1;
    }
    return buf_append(b, "\"", 1);
}

int log_combined(buf_t *out, const log_request_t *r)
{
    time_t t = (time_t)(r->start_us / 1000000);
    struct tm tm;
    localtime_r(&t, &tm);
    char when[64];
    strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", &tm);
    int bad = put_plain(out, r->ip) < 0 || buf_append(out, " - ", 3) < 0 ||
              put_plain(out, r->nickname) < 0 || buf_printf(out, " [%s] \"", when) < 0 ||
              put_plain(out, r->method) < 0 || buf_append(out, " ", 1) < 0 ||
              put_plain(out, r->resource) < 0 || buf_append(out, " ", 1) < 0 ||
              put_plain(out, r->http_version) < 0 || buf_printf(out, "\" %d ", r->status) < 0;
    if (!bad && r->response_size > 0)
        bad = buf_printf(out, "%lld ", (long long)r->response_size) < 0;
    else if (!bad)
        bad = buf_append(out, "- ", 2) < 0;
    bad = bad || log_quoted(out, r->referrer) < 0 || buf_append(out, " ", 1) < 0 ||
          log_quoted(out, r->user_agent) < 0;
    return bad ? -1 : 0;
}

int log_utf8(buf_t *out, log_str_t s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    for (size_t i = 0; i < s.n;) {
        size_t len = log_utf8_char_len(p + i, s.n - i);
        if ((len ? buf_append(out, p + i, len) : buf_printf(out, "\\x%02x", p[i])) < 0)
            return -1;
        i += len ? len : 1;
    }
    return 0;
}
