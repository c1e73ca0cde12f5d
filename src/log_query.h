/* Reading the request log database (log_store.h's schema): the one place
 * with the SQL, shared by the Logs API (log_read.c, run on the log
 * writer's thread) and `gaelic logs` (logs_cmd.c, another process).
 *
 * A cursor walks the request logs that match a query, newest first
 * (request ids sort by start time), and for each, if asked, its app log
 * lines in time order. Strings handed out point into SQLite's row and are
 * valid until the next call on the cursor. */
#ifndef GAELIC_LOG_QUERY_H
#define GAELIC_LOG_QUERY_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "log_store.h"

/* A version of a service: "v1" of "default". */
typedef struct {
    log_str_t module, version;
} log_module_version_t;

typedef struct {
    /* Finished requests whose end time is in [from_us, to_us); with
     * include_incomplete also unfinished ones (end 0) whose last update
     * (newest app line, else start) is. */
    int64_t from_us, to_us;
    int include_incomplete;
    int64_t started_since_us;  /* start time at or after it (0: any) */
    int64_t started_before_us; /* start time before it (INT64_MAX: any) */
    int min_level;             /* with an app line at or above it; -1: any */
    /* With version_filter, only these versions of their services (none
     * given: nothing). A major version ("v1") matches its deployments
     * ("v1.123"); a full one matches itself. */
    int version_filter;
    const log_module_version_t *versions;
    size_t n_versions;
    const log_str_t *ids; /* n_ids > 0: only these request ids */
    size_t n_ids;
    log_str_t before_id; /* p != NULL: only request ids below it (paging) */
    int64_t limit;       /* at most this many; -1: no limit */
    int schema;          /* the database's user_version when older (log_query_schema); 0: current */
} log_query_t;

/* A query with no filter: every request log, finished or not. */
#define LOG_QUERY_ALL                                                                              \
    {                                                                                              \
        .from_us = INT64_MIN, .to_us = INT64_MAX, .include_incomplete = 1,                         \
        .started_before_us = INT64_MAX, .min_level = -1, .limit = -1                               \
    }

typedef struct {
    int64_t time_us;
    int level;
    log_str_t message;
    int64_t rowid; /* with time_us, its place: lines come in that order */
} log_line_t;

typedef struct log_cursor log_cursor_t;

/* The user_version of db's request logs (log_store.h) by the columns they
 * have, when a server has not opened it since it was written by an older
 * one: 1 without was_loading, pending_us and replica_index (read as 0, 0
 * and -1), 2 without module_id and url_map_entry (read as 'default' and
 * ''); 0 when it has them all; -1 on an error (sqlite3_errmsg). A server's
 * own database is always current. */
int log_query_schema(sqlite3 *db);

/* NULL with the reason in err. */
log_cursor_t *log_cursor_open(sqlite3 *db, const log_query_t *q, char *err, size_t errlen);
/* The next request log: 1, 0 at the end, -1 on an error (log_cursor_error). */
int log_cursor_next(log_cursor_t *c, log_request_t *row);
/* The app lines of request_id at or above min_level (0: all), those after
 * `after` (NULL: from the first), then each with log_cursor_next_line (1,
 * 0 at the end, -1 on an error). */
int log_cursor_lines(log_cursor_t *c, log_str_t request_id, int min_level, const log_line_t *after);
int log_cursor_next_line(log_cursor_t *c, log_line_t *line);
const char *log_cursor_error(const log_cursor_t *c);
void log_cursor_close(log_cursor_t *c);

/* The request in Apache's combined format (App Engine's `combined`):
 * ip - nickname [start time] "METHOD resource HTTP/x.y" status size
 * "referrer" "user agent", with "-" for what is missing, quotes and control
 * bytes escaped. 0 or -1 (out of memory). */
int log_combined(buf_t *out, const log_request_t *r);
/* One such quoted field ("-" when missing). */
int log_quoted(buf_t *out, log_str_t s);

/* s made valid UTF-8 (what a client sent is stored as it came): each byte
 * that is not part of a valid character becomes the text \xNN, as the
 * runtime writes such bytes of an app's output. 0 or -1 (out of memory). */
int log_utf8(buf_t *out, log_str_t s);

#endif
