#include "log_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_query.h"
#include "pb.h"

/* LogReadRequest */
enum {
    REQ_APP_ID = 1,
    REQ_VERSION_ID = 2,
    REQ_START_TIME = 3,
    REQ_END_TIME = 4,
    REQ_OFFSET = 5,
    REQ_REQUEST_ID = 6,
    REQ_MIN_LEVEL = 7,
    REQ_INCLUDE_INCOMPLETE = 8,
    REQ_COUNT = 9,
    REQ_INCLUDE_APP_LOGS = 10,
    REQ_MODULE_VERSION = 19,
};
/* LogOffset, LogModuleVersion */
enum { OFFSET_REQUEST_ID = 1 };
enum { MV_MODULE_ID = 1, MV_VERSION_ID = 2 };
/* LogReadResponse, RequestLog, LogLine */
enum { RESP_LOG = 1, RESP_OFFSET = 2, RESP_LAST_END_TIME = 3 };
enum {
    RL_APP_ID = 1,
    RL_VERSION_ID = 2,
    RL_REQUEST_ID = 3,
    RL_IP = 4,
    RL_NICKNAME = 5,
    RL_START_TIME = 6,
    RL_END_TIME = 7,
    RL_LATENCY = 8,
    RL_MCYCLES = 9,
    RL_METHOD = 10,
    RL_RESOURCE = 11,
    RL_HTTP_VERSION = 12,
    RL_STATUS = 13,
    RL_RESPONSE_SIZE = 14,
    RL_REFERRER = 15,
    RL_USER_AGENT = 16,
    RL_URL_MAP_ENTRY = 17,
    RL_COMBINED = 18,
    RL_HOST = 20,
    RL_WAS_LOADING_REQUEST = 24,
    RL_PENDING_TIME = 25,
    RL_REPLICA_INDEX = 26,
    RL_FINISHED = 27,
    RL_CLONE_KEY = 28,
    RL_LINE = 29,
    RL_OFFSET = 35,
    RL_LINES_INCOMPLETE = 36,
    RL_MODULE_ID = 37,
};
enum { LINE_TIME = 1, LINE_LEVEL = 2, LINE_MESSAGE = 3 };

#define MAX_VERSION_LEN 128
#define MAX_ID_LEN 64

void log_read_free(log_read_t *req)
{
    free(req->versions);
    free(req->ids);
    free(req->raw);
    memset(req, 0, sizeof *req);
}

size_t log_read_held_bytes(const log_read_t *req)
{
    return req->raw_len + (req->n_versions + 1) * sizeof *req->versions +
           (req->n_ids + 1) * sizeof *req->ids;
}

static int fail(char *why, size_t whylen, int rc, const char *fmt, const char *arg)
{
    snprintf(why, whylen, fmt, arg);
    return rc;
}

/* Request ids are ours: lowercase hex digits (REQUEST_LOG_ID). Uppercase
 * is refused rather than let through to match nothing. */
static int valid_id(const uint8_t *p, size_t n)
{
    if (n == 0 || n > MAX_ID_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return 0;
    return 1;
}

static int valid_version(const uint8_t *p, size_t n)
{
    return n > 0 && n <= MAX_VERSION_LEN && pb_utf8_valid(p, n);
}

/* Each LEN field's wire type is checked by the caller; lists are counted
 * first so that their arrays are allocated once. */
static int count_lists(const uint8_t *p, size_t n, size_t *versions, size_t *ids)
{
    pb_reader_t r;
    pb_field_t f;
    int rc;
    *versions = *ids = 0;
    pb_reader_init(&r, p, n);
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num == REQ_VERSION_ID || f.num == REQ_MODULE_VERSION)
            (*versions)++;
        else if (f.num == REQ_REQUEST_ID)
            (*ids)++;
    }
    return rc;
}

/* A LogModuleVersion: its module ("default" when it names none) and
 * version. */
static int module_version(const pb_field_t *mv, log_module_version_t *out, char *why, size_t whylen)
{
    pb_reader_t r;
    pb_field_t f;
    int rc;
    log_str_t module = {"default", 7}, version = {NULL, 0};
    pb_reader_init(&r, mv->data, mv->len);
    while ((rc = pb_next(&r, &f)) > 0) {
        if ((f.num == MV_MODULE_ID || f.num == MV_VERSION_ID) && f.wire != PB_LEN)
            return fail(why, whylen, -1, "%s", "LogModuleVersion: bad wire type");
        if (f.num == MV_MODULE_ID)
            module = (log_str_t){(const char *)f.data, f.len};
        else if (f.num == MV_VERSION_ID)
            version = (log_str_t){(const char *)f.data, f.len};
    }
    if (rc < 0)
        return fail(why, whylen, -1, "%s", "malformed LogModuleVersion");
    if (!valid_version((const uint8_t *)module.p, module.n))
        return fail(why, whylen, -2, "%s", "invalid module_id");
    if (!version.p || !valid_version((const uint8_t *)version.p, version.n))
        return fail(why, whylen, -2, "%s", "a module_version needs a valid version_id");
    *out = (log_module_version_t){module, version};
    return 0;
}

static int same_str(log_str_t a, log_str_t b)
{
    return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

static int compare_str(const void *a, const void *b)
{
    const log_str_t *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* 1 when an id is twice in req's list, 0 when not, -1 when memory runs
 * out. Sorted, not compared pairwise: this runs on the event loop, and a
 * list of 1000 took 1.5 ms pairwise. */
static int duplicate_ids(const log_read_t *req)
{
    if (req->n_ids < 2)
        return 0;
    log_str_t *sorted = malloc(req->n_ids * sizeof *sorted);
    if (!sorted)
        return -1;
    memcpy(sorted, req->ids, req->n_ids * sizeof *sorted);
    qsort(sorted, req->n_ids, sizeof *sorted, compare_str);
    int dup = 0;
    for (size_t i = 1; i < req->n_ids && !dup; i++)
        dup = same_str(sorted[i - 1], sorted[i]);
    free(sorted);
    return dup;
}

/* Where id is in req's list of request ids; n_ids when it is not. */
static size_t id_index(const log_read_t *req, log_str_t id)
{
    size_t i = 0;
    while (i < req->n_ids && !same_str(req->ids[i], id))
        i++;
    return i;
}

int log_read_parse(log_read_t *req, const char *app_id, const uint8_t *p, size_t n, char *why,
                   size_t whylen)
{
    memset(req, 0, sizeof *req);
    req->start_us = INT64_MIN;
    req->end_us = INT64_MAX;
    req->min_level = -1;
    req->count = LOG_READ_DEFAULT_COUNT;
    size_t n_versions, n_ids;
    if (count_lists(p, n, &n_versions, &n_ids) < 0)
        return fail(why, whylen, -1, "%s", "malformed LogReadRequest");
    if (n_versions > LOG_READ_MAX_LIST || n_ids > LOG_READ_MAX_LIST)
        return fail(why, whylen, -2, "%s", "more than 1000 versions or request ids");
    req->raw = malloc(n ? n : 1);
    req->versions = calloc(n_versions ? n_versions : 1, sizeof *req->versions);
    req->ids = calloc(n_ids ? n_ids : 1, sizeof *req->ids);
    if (!req->raw || !req->versions || !req->ids)
        return fail(why, whylen, -3, "%s", "out of memory");
    memcpy(req->raw, p, n);
    req->raw_len = n;

    pb_reader_t r;
    pb_field_t f;
    int rc, have_app = 0, have_versions = 0, have_modules = 0;
    pb_reader_init(&r, req->raw, n);
    while ((rc = pb_next(&r, &f)) > 0) {
        int len_field = f.num == REQ_APP_ID || f.num == REQ_VERSION_ID || f.num == REQ_OFFSET ||
                        f.num == REQ_REQUEST_ID || f.num == REQ_MODULE_VERSION;
        int known = len_field || (f.num >= REQ_START_TIME && f.num <= REQ_INCLUDE_APP_LOGS);
        if (known && f.wire != (len_field ? PB_LEN : PB_VARINT))
            return fail(why, whylen, -1, "LogReadRequest: field %s has the wrong wire type",
                        len_field ? "of bytes" : "of numbers");
        switch (f.num) {
        case REQ_APP_ID:
            if (f.len >= sizeof req->app_id || strlen(app_id) != f.len ||
                memcmp(f.data, app_id, f.len) != 0)
                return fail(why, whylen, -2, "app_id is not this application's (%s)", app_id);
            snprintf(req->app_id, sizeof req->app_id, "%s", app_id);
            have_app = 1;
            break;
        case REQ_VERSION_ID:
            if (!valid_version(f.data, f.len))
                return fail(why, whylen, -2, "%s", "invalid version_id");
            /* The field before services: a version of the default one. */
            req->versions[req->n_versions++] =
                (log_module_version_t){{"default", 7}, {(const char *)f.data, f.len}};
            have_versions = 1;
            break;
        case REQ_MODULE_VERSION: {
            int mrc = module_version(&f, &req->versions[req->n_versions], why, whylen);
            if (mrc < 0)
                return mrc;
            req->n_versions++;
            have_modules = 1;
            break;
        }
        case REQ_START_TIME:
            req->start_us = (int64_t)f.u64;
            req->has_time = 1;
            break;
        case REQ_END_TIME:
            req->end_us = (int64_t)f.u64;
            req->has_time = 1;
            break;
        case REQ_OFFSET: {
            pb_reader_t o;
            pb_field_t of;
            int orc;
            pb_reader_init(&o, f.data, f.len);
            req->offset = (log_str_t){"", 0};
            while ((orc = pb_next(&o, &of)) > 0)
                if (of.num == OFFSET_REQUEST_ID) {
                    if (of.wire != PB_LEN)
                        return fail(why, whylen, -1, "%s", "LogOffset: bad wire type");
                    req->offset = (log_str_t){(const char *)of.data, of.len};
                }
            if (orc < 0)
                return fail(why, whylen, -1, "%s", "malformed LogOffset");
            if (!valid_id((const uint8_t *)req->offset.p, req->offset.n))
                return fail(why, whylen, -2, "%s", "invalid offset");
            break;
        }
        case REQ_REQUEST_ID:
            if (!valid_id(f.data, f.len))
                return fail(why, whylen, -2, "%s", "invalid request_id");
            req->ids[req->n_ids++] = (log_str_t){(const char *)f.data, f.len};
            break;
        case REQ_MIN_LEVEL:
            if ((int64_t)f.u64 < 0 || f.u64 > 4)
                return fail(why, whylen, -2, "%s", "minimum_log_level must be 0 to 4");
            req->min_level = (int)f.u64;
            break;
        case REQ_INCLUDE_INCOMPLETE:
            req->include_incomplete = f.u64 != 0;
            break;
        case REQ_COUNT:
            if ((int64_t)f.u64 < 1)
                return fail(why, whylen, -2, "%s", "count must be positive");
            req->count = f.u64 > LOG_READ_MAX_COUNT ? LOG_READ_MAX_COUNT : (int64_t)f.u64;
            break;
        case REQ_INCLUDE_APP_LOGS:
            req->include_app_logs = f.u64 != 0;
            break;
        default:
            break; /* fields we do not use (include_host, regexes, ...) */
        }
    }
    if (rc < 0)
        return fail(why, whylen, -1, "%s", "malformed LogReadRequest");
    if (!have_app)
        return fail(why, whylen, -2, "%s", "app_id is required");
    if (have_versions && have_modules)
        return fail(why, whylen, -2, "%s", "version_id and module_version cannot be combined");
    if (!have_versions && !have_modules && !req->n_ids)
        return fail(why, whylen, -2, "%s",
                    "a version_id, module_version or request_id is required");
    if (req->n_ids && (req->has_time || req->min_level >= 0))
        return fail(why, whylen, -2, "%s",
                    "request_id cannot be combined with start_time, end_time or "
                    "minimum_log_level");
    /* A list of ids is read from its start, or (the offset of a response
     * that stopped at its budget) after the id the offset names: each id
     * may appear once, and the offset must be one of them. */
    int dup = duplicate_ids(req);
    if (dup)
        return dup < 0 ? fail(why, whylen, -3, "%s", "out of memory")
                       : fail(why, whylen, -2, "%s", "request_id contains duplicates");
    if (req->n_ids && req->offset.p && id_index(req, req->offset) == req->n_ids)
        return fail(why, whylen, -2, "%s", "offset is not one of the request ids");
    req->version_filter = !req->n_ids;
    return 0;
}

/* ---------- the response ---------- */

/* A string field, valid UTF-8 as the reader's protobuf requires (it
 * refuses the whole response otherwise). */
static int put_str(buf_t *b, uint32_t field, log_str_t s)
{
    if (!s.p || pb_utf8_valid((const uint8_t *)s.p, s.n))
        return pb_put_bytes(b, field, s.p ? s.p : "", s.p ? s.n : 0);
    buf_t fixed = BUF_INIT;
    int rc = log_utf8(&fixed, s) < 0 ? -1 : pb_put_bytes(b, field, buf_ptr(&fixed), fixed.len);
    buf_free(&fixed);
    return rc;
}

/* One RequestLog, every required field set. Lines until the response
 * passes its budget; *cut is set when some were left out. */
static int put_request_log(buf_t *b, log_cursor_t *c, const log_read_t *req, const log_request_t *r,
                           int *cut, char *why, size_t whylen)
{
    int finished = r->end_us != 0;
    long mark = pb_begin_msg(b, RESP_LOG);
    buf_t combined = BUF_INIT;
    int bad = mark < 0 || pb_put_str(b, RL_APP_ID, req->app_id) < 0 ||
              put_str(b, RL_VERSION_ID, r->version_id) < 0 ||
              put_str(b, RL_REQUEST_ID, r->request_id) < 0 || put_str(b, RL_IP, r->ip) < 0 ||
              (r->nickname.p && put_str(b, RL_NICKNAME, r->nickname) < 0) ||
              pb_put_int(b, RL_START_TIME, r->start_us) < 0 ||
              pb_put_int(b, RL_END_TIME, r->end_us) < 0 ||
              pb_put_int(b, RL_LATENCY, finished ? r->end_us - r->start_us : 0) < 0 ||
              pb_put_int(b, RL_MCYCLES, r->mcycles) < 0 || put_str(b, RL_METHOD, r->method) < 0 ||
              put_str(b, RL_RESOURCE, r->resource) < 0 ||
              put_str(b, RL_HTTP_VERSION, r->http_version) < 0 ||
              pb_put_int(b, RL_STATUS, r->status) < 0 ||
              pb_put_int(b, RL_RESPONSE_SIZE, r->response_size) < 0 ||
              (r->referrer.p && put_str(b, RL_REFERRER, r->referrer) < 0) ||
              (r->user_agent.p && put_str(b, RL_USER_AGENT, r->user_agent) < 0) ||
              put_str(b, RL_URL_MAP_ENTRY, r->url_map_entry) < 0 ||
              log_combined(&combined, r) < 0 ||
              put_str(b, RL_COMBINED, (log_str_t){buf_ptr(&combined), combined.len}) < 0 ||
              (r->host.p && put_str(b, RL_HOST, r->host) < 0) ||
              (r->was_loading && pb_put_uint(b, RL_WAS_LOADING_REQUEST, 1) < 0) ||
              (r->pending_us > 0 && pb_put_int(b, RL_PENDING_TIME, r->pending_us) < 0) ||
              (r->replica_index >= 0 && pb_put_int(b, RL_REPLICA_INDEX, r->replica_index) < 0) ||
              pb_put_uint(b, RL_FINISHED, (uint64_t)finished) < 0 ||
              (r->instance_id.p && put_str(b, RL_CLONE_KEY, r->instance_id) < 0);
    buf_free(&combined);
    if (bad)
        return fail(why, whylen, -1, "%s", "out of memory");
    if (req->include_app_logs) {
        log_line_t line;
        int rc;
        log_cursor_lines(c, r->request_id, 0, NULL);
        while ((rc = log_cursor_next_line(c, &line)) > 0) {
            if (b->len >= LOG_READ_MAX_BYTES) {
                *cut = 1;
                break;
            }
            long lm = pb_begin_msg(b, RL_LINE);
            if (lm < 0 || pb_put_int(b, LINE_TIME, line.time_us) < 0 ||
                pb_put_int(b, LINE_LEVEL, line.level) < 0 ||
                put_str(b, LINE_MESSAGE, line.message) < 0 || pb_end_msg(b, lm) < 0)
                return fail(why, whylen, -1, "%s", "out of memory");
        }
        if (rc < 0)
            return fail(why, whylen, -1, "%s", log_cursor_error(c));
        if (*cut && pb_put_uint(b, RL_LINES_INCOMPLETE, 1) < 0)
            return fail(why, whylen, -1, "%s", "out of memory");
    }
    long om = pb_begin_msg(b, RL_OFFSET);
    if (om < 0 || put_str(b, OFFSET_REQUEST_ID, r->request_id) < 0 || pb_end_msg(b, om) < 0 ||
        put_str(b, RL_MODULE_ID, r->module_id) < 0 || pb_end_msg(b, mark) < 0)
        return fail(why, whylen, -1, "%s", "out of memory");
    return 0;
}

/* Runs query q, adding at most `want` request logs; *more is set when a
 * further one matched (or, with budget, when the response passed
 * LOG_READ_MAX_BYTES first), *last_end the last one's end time, *last_id
 * its id (copied). */
static int run_query(sqlite3 *db, const log_read_t *req, const log_query_t *q, int64_t want,
                     int budget, buf_t *out, int *more, int64_t *last_end, char *last_id,
                     size_t idlen, char *why, size_t whylen)
{
    log_cursor_t *c = log_cursor_open(db, q, why, whylen);
    if (!c)
        return -1;
    log_request_t r;
    int rc, added = 0;
    while ((rc = log_cursor_next(c, &r)) > 0) {
        if (added == want || (budget && out->len >= LOG_READ_MAX_BYTES)) {
            *more = 1;
            break;
        }
        int cut = 0;
        if (put_request_log(out, c, req, &r, &cut, why, whylen) < 0) {
            log_cursor_close(c);
            return -1;
        }
        added++;
        *last_end = r.end_us;
        snprintf(last_id, idlen, "%.*s", (int)r.request_id.n, r.request_id.p);
    }
    if (rc < 0)
        snprintf(why, whylen, "%s", log_cursor_error(c));
    log_cursor_close(c);
    return rc < 0 ? -1 : added;
}

int log_read_run(sqlite3 *db, const log_read_t *req, buf_t *out, char *why, size_t whylen)
{
    int more = 0;
    int64_t last_end = 0;
    char last_id[MAX_ID_LEN + 1] = "";
    int found = 0;
    if (req->n_ids) {
        /* The requests asked for, in that order, from the one after the
         * offset's. Past the budget the response stops, its offset the
         * last id looked up (found or not): their rows are not bounded
         * like their lines (a client's headers, escaped in combined, make
         * a row of hundreds of KiB), and a list of 1000 of them made a
         * response of hundreds of MiB. */
        size_t from = req->offset.p ? id_index(req, req->offset) + 1 : 0;
        for (size_t i = from; i < req->n_ids; i++) {
            if (i > from && out->len >= LOG_READ_MAX_BYTES) {
                const log_str_t *id = &req->ids[i - 1];
                snprintf(last_id, sizeof last_id, "%.*s", (int)id->n, id->p);
                more = 1;
                break;
            }
            log_query_t q = LOG_QUERY_ALL;
            q.ids = &req->ids[i];
            q.n_ids = 1;
            q.limit = 1;
            int rc = run_query(db, req, &q, 1, 0, out, &more, &last_end, last_id, sizeof last_id,
                               why, whylen);
            if (rc < 0)
                return -1;
            found += rc;
        }
    } else {
        log_query_t q = LOG_QUERY_ALL;
        q.from_us = req->start_us;
        q.to_us = req->end_us;
        q.include_incomplete = req->include_incomplete;
        q.min_level = req->min_level;
        q.version_filter = req->version_filter;
        q.versions = req->versions;
        q.n_versions = req->n_versions;
        q.before_id = req->offset;
        q.limit = req->count + 1; /* one more tells whether more follow */
        int rc = run_query(db, req, &q, req->count, 1, out, &more, &last_end, last_id,
                           sizeof last_id, why, whylen);
        if (rc < 0)
            return -1;
        found = rc;
    }
    if (more && found) {
        long om = pb_begin_msg(out, RESP_OFFSET);
        if (om < 0 || pb_put_bytes(out, OFFSET_REQUEST_ID, last_id, strlen(last_id)) < 0 ||
            pb_end_msg(out, om) < 0)
            return fail(why, whylen, -1, "%s", "out of memory");
    }
    if (found && pb_put_int(out, RESP_LAST_END_TIME, last_end) < 0)
        return fail(why, whylen, -1, "%s", "out of memory");
    return 0;
}
