/* The logservice Read method's logic (LG1; messages: API-MESSAGES.md
 * section 4): a LogReadRequest parsed and checked on the event loop, then
 * run against the log database (on the log writer's thread) into the
 * serialized LogReadResponse.
 *
 * Semantics: request logs newest first (by request id, which sorts by
 * start time); start_time/end_time bound a finished request's end time and
 * an unfinished one's start time; unfinished requests only with
 * include_incomplete; minimum_log_level keeps requests with an app line at
 * or above it; version_id (of the default service) / module_version name
 * major versions ("v1" matches deployment "v1.123") of a service; request_id asks for those
 * requests, in that order, whatever their version or state, each once, and may not be combined with
 * times or a minimum level; count (default 20, at most 1000) is the batch size,
 * LogOffset.request_id the last request id returned: the next batch holds older requests (for a
 * list of request ids: those after it in the list). A response stops early (with an offset) when it
 * passes LOG_READ_MAX_BYTES; one request's app lines are cut there (lines_incomplete). */
#ifndef GAELIC_LOG_READ_H
#define GAELIC_LOG_READ_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "log_query.h"
#include "log_store.h"

#define LOG_READ_DEFAULT_COUNT 20
#define LOG_READ_MAX_COUNT 1000
#define LOG_READ_MAX_LIST 1000 /* version ids, request ids */
#define LOG_READ_MAX_BYTES (4u << 20)

/* LogServiceError.ErrorCode */
enum { LOGSERVICE_OK = 0, LOGSERVICE_INVALID_REQUEST = 1, LOGSERVICE_STORAGE_ERROR = 2 };

typedef struct {
    char app_id[128];
    int64_t start_us, end_us; /* INT64_MIN / INT64_MAX when not given */
    int has_time;
    log_str_t offset; /* LogOffset.request_id; p NULL: none */
    int min_level;    /* -1: none */
    int include_incomplete, include_app_logs;
    int64_t count;
    int version_filter;
    log_module_version_t *versions; /* into raw */
    size_t n_versions;
    log_str_t *ids; /* into raw */
    size_t n_ids;
    uint8_t *raw; /* a copy of the request the strings point into */
    size_t raw_len;
} log_read_t;

/* Parses and checks a LogReadRequest for app app_id. 0; -1 when it is not
 * a well-formed message (PARSE_ERROR), with the reason in why; -2 when it
 * asks for something invalid (LogServiceError INVALID_REQUEST), or -3 when
 * memory runs out. log_read_free releases it whatever the result. */
int log_read_parse(log_read_t *req, const char *app_id, const uint8_t *p, size_t n, char *why,
                   size_t whylen);
void log_read_free(log_read_t *req);
/* The memory a parsed request holds (its copy and lists). */
size_t log_read_held_bytes(const log_read_t *req);

/* Runs req against db, appending the serialized LogReadResponse to out.
 * 0, or -1 with the reason in why (STORAGE_ERROR). */
int log_read_run(sqlite3 *db, const log_read_t *req, buf_t *out, char *why, size_t whylen);

#endif
