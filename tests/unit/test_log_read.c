/* The Logs API's logic: log_store tasks (run on the writer thread after
 * the records queued before them, handed back through the event fd, in
 * order), LogReadRequest parsing and checks (src/log_read.c), the query
 * with each filter and paging (src/log_query.c) and the LogReadResponse
 * it builds (the loading, pending and replica fields too), services,
 * reading databases of user_version 1 and 2, and the combined line. */
#include <poll.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log_query.h"
#include "log_read.h"
#include "log_store.h"
#include "pb.h"
#include "unit.h"

static char tmpdir[] = "/tmp/gaelic-log-read-XXXXXX";

static log_str_t S(const char *s)
{
    return (log_str_t){s, s ? strlen(s) : 0};
}

/* A request log: id, version, start and end (0: running), status. */
static void request(log_store_t *st, const char *id, const char *version, int64_t start,
                    int64_t end, int status)
{
    log_request_t r = {
        .request_id = S(id),
        .version_id = S(version),
        .ip = S("10.0.0.1"),
        .method = S("GET"),
        .resource = S("/p?q=1"),
        .http_version = S("HTTP/1.1"),
        .user_agent = S("agent \"x\""),
        .host = S("h:1"),
        .instance_id = S("inst1"),
        .start_us = start,
        .end_us = end,
        .status = status,
        .response_size = 12,
        .mcycles = 3,
        .replica_index = -1,
    };
    log_store_request(st, &r);
}

/* ---------- tasks ---------- */

typedef struct {
    log_task_t task; /* first */
    int64_t rows;    /* seen by run */
    int done;
    int *order;
    int *n_order;
    int no;
} count_task_t;

static void count_run(log_task_t *t, sqlite3 *db)
{
    count_task_t *c = (count_task_t *)t;
    sqlite3_stmt *s;
    c->rows = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM request_logs", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        c->rows = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
}

static void count_done(log_task_t *t)
{
    count_task_t *c = (count_task_t *)t;
    c->done = 1;
    c->order[(*c->n_order)++] = c->no;
}

/* Waits (bounded) for the event fd, then completes what is there. */
static void wait_complete(log_store_t *st)
{
    struct pollfd p = {.fd = log_store_event_fd(st), .events = POLLIN};
    CHECK(poll(&p, 1, 5000) == 1);
    log_store_complete(st);
}

static void test_tasks(void)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/tasks.db", tmpdir);
    log_store_t *st = log_store_open(path, 1000, 0, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    int order[4], n_order = 0;
    count_task_t a = {{count_run, count_done, NULL}, 0, 0, order, &n_order, 1};
    count_task_t b = {{count_run, count_done, NULL}, 0, 0, order, &n_order, 2};
    request(st, "000000000000000100000001", "v1.1", 1, 2, 200);
    request(st, "000000000000000200000002", "v1.1", 2, 3, 200);
    CHECK(log_store_task(st, &a.task) == 0);
    request(st, "000000000000000300000003", "v1.1", 3, 4, 200);
    CHECK(log_store_task(st, &b.task) == 0);
    /* Tasks make the writer commit at once, not after its 100 ms. */
    int64_t t0 = log_store_now_us();
    while (n_order < 2 && log_store_now_us() - t0 < 5000000)
        wait_complete(st);
    CHECK(a.done && b.done);
    CHECK(n_order == 2 && order[0] == 1 && order[1] == 2);
    /* Each saw exactly what was queued before it. */
    CHECK(a.rows == 2);
    CHECK(b.rows == 3);
    /* A task still in the writer when the store closes is completed there. */
    count_task_t c = {{count_run, count_done, NULL}, 0, 0, order, &n_order, 3};
    CHECK(log_store_task(st, &c.task) == 0);
    log_store_close(st);
    CHECK(c.done && c.rows == 3);
}

/* ---------- LogReadRequest ---------- */

/* LogReadRequest fields, written by hand. */
static void put_req(buf_t *b, const char *app, const char *const *versions, int64_t start,
                    int64_t end, const char *offset, int min_level, int incomplete, int64_t count,
                    int app_logs)
{
    pb_put_str(b, 1, app);
    for (; versions && *versions; versions++)
        pb_put_str(b, 2, *versions);
    if (start >= 0)
        pb_put_int(b, 3, start);
    if (end >= 0)
        pb_put_int(b, 4, end);
    if (offset) {
        long m = pb_begin_msg(b, 5);
        pb_put_str(b, 1, offset);
        pb_end_msg(b, m);
    }
    if (min_level >= 0)
        pb_put_int(b, 7, min_level);
    pb_put_uint(b, 8, (uint64_t)incomplete);
    if (count)
        pb_put_int(b, 9, count);
    pb_put_uint(b, 10, (uint64_t)app_logs);
}

static int parse(buf_t *b, log_read_t *req, char *why, size_t n)
{
    return log_read_parse(req, "app", (const uint8_t *)buf_ptr(b), b->len, why, n);
}

static void test_parse(void)
{
    static const char *const v1[] = {"v1", NULL};
    char why[256];
    log_read_t req;
    buf_t b = BUF_INIT;

    put_req(&b, "app", v1, 5, 9, "00ab", 2, 1, 5000, 1);
    CHECK(parse(&b, &req, why, sizeof why) == 0);
    CHECK(req.start_us == 5 && req.end_us == 9 && req.min_level == 2);
    CHECK(req.include_incomplete && req.include_app_logs);
    CHECK(req.count == LOG_READ_MAX_COUNT); /* capped */
    CHECK(req.n_versions == 1 && req.version_filter);
    CHECK(req.offset.n == 4 && memcmp(req.offset.p, "00ab", 4) == 0);
    /* What it holds while it waits for its turn (log_read_budget.h): its
     * copy of the request and its lists. */
    CHECK(log_read_held_bytes(&req) ==
          b.len + 2 * sizeof(log_module_version_t) + sizeof(log_str_t));
    log_read_free(&req);

    /* Defaults. */
    buf_reset(&b);
    put_req(&b, "app", v1, -1, -1, NULL, -1, 0, 0, 0);
    CHECK(parse(&b, &req, why, sizeof why) == 0);
    CHECK(req.count == LOG_READ_DEFAULT_COUNT && req.min_level == -1);
    CHECK(req.start_us == INT64_MIN && req.end_us == INT64_MAX && !req.offset.p);
    log_read_free(&req);

    /* Invalid requests: -2 with a reason. */
    struct {
        const char *app;
        const char *const *versions;
        int64_t start;
        const char *offset;
        int level;
        int64_t count;
        const char *want;
    } bad[] = {
        {"other", v1, -1, NULL, -1, 0, "app_id"},
        {"app", NULL, -1, NULL, -1, 0, "version_id, module_version or request_id"},
        {"app", v1, -1, "xyz!", -1, 0, "offset"},
        {"app", v1, -1, "00FF", -1, 0, "offset"}, /* ids are given out in lowercase */
        {"app", v1, -1, NULL, 5, 0, "minimum_log_level"},
        {"app", v1, -1, NULL, -1, -3, "count"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        buf_reset(&b);
        put_req(&b, bad[i].app, bad[i].versions, bad[i].start, -1, bad[i].offset, bad[i].level, 0,
                bad[i].count, 0);
        why[0] = '\0';
        CHECK(parse(&b, &req, why, sizeof why) == -2);
        CHECK(strstr(why, bad[i].want) != NULL);
        log_read_free(&req);
    }

    /* request_id with a time, or with an offset. */
    buf_reset(&b);
    put_req(&b, "app", NULL, 7, -1, NULL, -1, 0, 0, 0);
    pb_put_str(&b, 6, "00ff");
    CHECK(parse(&b, &req, why, sizeof why) == -2);
    log_read_free(&req);
    buf_reset(&b);
    put_req(&b, "app", NULL, -1, -1, NULL, -1, 0, 0, 0);
    pb_put_str(&b, 6, "00ff");
    pb_put_str(&b, 6, "00fe");
    CHECK(parse(&b, &req, why, sizeof why) == 0);
    CHECK(req.n_ids == 2 && !req.version_filter);
    log_read_free(&req);
    buf_reset(&b);
    put_req(&b, "app", NULL, -1, -1, NULL, -1, 0, 0, 0);
    pb_put_str(&b, 6, "00FF");
    CHECK(parse(&b, &req, why, sizeof why) == -2 && strstr(why, "request_id"));
    log_read_free(&req);
    /* An id twice; an offset that is not one of the ids (a response's
     * offset is). */
    buf_reset(&b);
    put_req(&b, "app", NULL, -1, -1, NULL, -1, 0, 0, 0);
    pb_put_str(&b, 6, "00ff");
    pb_put_str(&b, 6, "00fe");
    pb_put_str(&b, 6, "00ff");
    CHECK(parse(&b, &req, why, sizeof why) == -2 && strstr(why, "duplicates"));
    log_read_free(&req);
    buf_reset(&b);
    put_req(&b, "app", NULL, -1, -1, "00fd", -1, 0, 0, 0);
    pb_put_str(&b, 6, "00ff");
    pb_put_str(&b, 6, "00fe");
    CHECK(parse(&b, &req, why, sizeof why) == -2 && strstr(why, "offset"));
    log_read_free(&req);
    buf_reset(&b);
    put_req(&b, "app", NULL, -1, -1, "00fe", -1, 0, 0, 0);
    pb_put_str(&b, 6, "00ff");
    pb_put_str(&b, 6, "00fe");
    CHECK(parse(&b, &req, why, sizeof why) == 0);
    log_read_free(&req);

    /* version_id and module_version together. */
    buf_reset(&b);
    put_req(&b, "app", v1, -1, -1, NULL, -1, 0, 0, 0);
    long m = pb_begin_msg(&b, 19);
    pb_put_str(&b, 2, "v2");
    pb_end_msg(&b, m);
    CHECK(parse(&b, &req, why, sizeof why) == -2);
    log_read_free(&req);
    /* A module_version names its service; without one, the default. A
     * version_id is the default service's. */
    buf_reset(&b);
    put_req(&b, "app", v1, -1, -1, NULL, -1, 0, 0, 0);
    m = pb_begin_msg(&b, 19);
    pb_put_str(&b, 1, "othermodule");
    pb_put_str(&b, 2, "v1");
    pb_end_msg(&b, m);
    CHECK(parse(&b, &req, why, sizeof why) == -2);
    log_read_free(&req);
    buf_reset(&b);
    put_req(&b, "app", NULL, -1, -1, NULL, -1, 0, 0, 0);
    m = pb_begin_msg(&b, 19);
    pb_put_str(&b, 1, "othermodule");
    pb_put_str(&b, 2, "v1");
    pb_end_msg(&b, m);
    m = pb_begin_msg(&b, 19);
    pb_put_str(&b, 2, "v2");
    pb_end_msg(&b, m);
    CHECK(parse(&b, &req, why, sizeof why) == 0);
    CHECK(req.version_filter && req.n_versions == 2);
    if (req.n_versions == 2) {
        CHECK(req.versions[0].module.n == 11 &&
              !memcmp(req.versions[0].module.p, "othermodule", 11));
        CHECK(req.versions[1].module.n == 7 && !memcmp(req.versions[1].module.p, "default", 7));
        CHECK(req.versions[1].version.n == 2 && !memcmp(req.versions[1].version.p, "v2", 2));
    }
    log_read_free(&req);
    buf_reset(&b);
    put_req(&b, "app", v1, -1, -1, NULL, -1, 0, 0, 0);
    CHECK(parse(&b, &req, why, sizeof why) == 0 && req.n_versions == 1 &&
          req.versions[0].module.n == 7 && !memcmp(req.versions[0].module.p, "default", 7));
    log_read_free(&req);
    /* An empty module_id names no service. */
    buf_reset(&b);
    put_req(&b, "app", NULL, -1, -1, NULL, -1, 0, 0, 0);
    m = pb_begin_msg(&b, 19);
    pb_put_str(&b, 1, "");
    pb_put_str(&b, 2, "v1");
    pb_end_msg(&b, m);
    CHECK(parse(&b, &req, why, sizeof why) == -2 && strstr(why, "module_id"));
    log_read_free(&req);

    /* Malformed: -1. A string field sent as a number; a truncated one. */
    buf_reset(&b);
    pb_put_int(&b, 1, 5);
    CHECK(parse(&b, &req, why, sizeof why) == -1);
    log_read_free(&req);
    buf_reset(&b);
    put_req(&b, "app", v1, -1, -1, NULL, -1, 0, 0, 0);
    b.len--;
    CHECK(parse(&b, &req, why, sizeof why) == -1);
    log_read_free(&req);
    /* A number field sent as a fixed64 or a group: not its value. */
    buf_reset(&b);
    put_req(&b, "app", v1, -1, -1, NULL, -1, 0, 0, 0);
    pb_put_double(&b, 3, 1.0);
    CHECK(parse(&b, &req, why, sizeof why) == -1);
    log_read_free(&req);
    buf_reset(&b);
    put_req(&b, "app", v1, -1, -1, NULL, -1, 0, 0, 0);
    buf_append(&b, "\x1b\x1c", 2);
    CHECK(parse(&b, &req, why, sizeof why) == -1);
    log_read_free(&req);
    /* An unknown group is skipped. */
    buf_reset(&b);
    put_req(&b, "app", v1, -1, -1, NULL, -1, 0, 0, 0);
    buf_append(&b, "\xa3\x01\x08\x01\xa4\x01", 6);
    CHECK(parse(&b, &req, why, sizeof why) == 0 && req.n_versions == 1);
    log_read_free(&req);
    buf_free(&b);
}

/* ---------- queries and the response ---------- */

typedef struct {
    char id[32][40];
    int finished[32];
    int status[32];
    int lines[32];
    int loading[32];
    int64_t pending[32];
    int replica[32]; /* -1: absent */
    char module[32][24], url_map[32][40];
    int n;
    int has_offset;
    char offset[40];
    int64_t last_end;
    int has_app, has_combined, has_url_map, cut;
    size_t size; /* of the whole response */
} response_t;

static void copy_str(char *out, size_t n, const pb_field_t *f)
{
    snprintf(out, n, "%.*s", (int)f->len, (const char *)f->data);
}

static void decode_log(response_t *r, const pb_field_t *log)
{
    pb_reader_t rd;
    pb_field_t f;
    int i = r->n++;
    r->finished[i] = 1;
    r->replica[i] = -1;
    pb_reader_init(&rd, log->data, log->len);
    while (pb_next(&rd, &f) > 0) {
        if (f.num == 1)
            r->has_app = 1;
        else if (f.num == 3)
            copy_str(r->id[i], sizeof r->id[i], &f);
        else if (f.num == 13)
            r->status[i] = (int)f.u64;
        else if (f.num == 17) {
            r->has_url_map = 1;
            copy_str(r->url_map[i], sizeof r->url_map[i], &f);
        } else if (f.num == 37)
            copy_str(r->module[i], sizeof r->module[i], &f);
        else if (f.num == 18)
            r->has_combined = 1;
        else if (f.num == 24)
            r->loading[i] = (int)f.u64;
        else if (f.num == 25)
            r->pending[i] = (int64_t)f.u64;
        else if (f.num == 26)
            r->replica[i] = (int)f.u64;
        else if (f.num == 27)
            r->finished[i] = (int)f.u64;
        else if (f.num == 29)
            r->lines[i]++;
        else if (f.num == 36)
            r->cut = 1;
    }
}

static void decode(const buf_t *b, response_t *r)
{
    pb_reader_t rd;
    pb_field_t f;
    memset(r, 0, sizeof *r);
    r->size = b->len;
    pb_reader_init(&rd, buf_ptr(b), b->len);
    while (pb_next(&rd, &f) > 0) {
        if (f.num == 1 && r->n < 32) {
            decode_log(r, &f);
        } else if (f.num == 2) {
            pb_reader_t o;
            pb_field_t of;
            pb_reader_init(&o, f.data, f.len);
            r->has_offset = 1;
            while (pb_next(&o, &of) > 0)
                if (of.num == 1)
                    copy_str(r->offset, sizeof r->offset, &of);
        } else if (f.num == 3) {
            r->last_end = (int64_t)f.u64;
        }
    }
}

/* Runs a LogReadRequest built by put_req (+ extra) against db. */
static int run(sqlite3 *db, buf_t *reqb, response_t *resp)
{
    char why[256];
    log_read_t req;
    buf_t out = BUF_INIT;
    int rc = parse(reqb, &req, why, sizeof why);
    if (rc == 0)
        rc = log_read_run(db, &req, &out, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "run: %s\n", why);
    decode(&out, resp);
    buf_free(&out);
    log_read_free(&req);
    return rc;
}

static char *id_of(int n)
{
    static char ids[16][32];
    char *s = ids[n];
    snprintf(s, 32, "%016x%08x", n * 1000, n);
    return s;
}

static void test_queries(void)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/read.db", tmpdir);
    log_store_t *st = log_store_open(path, 1000, 0, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    /* Requests 1..8 started at n*1000 µs and ended 500 µs later; 5 is still
     * running; 6 is version v10 (not v1!), 7 is v2; 3 logged an error, 4 a
     * debug line; 8 a few lines. */
    for (int n = 1; n <= 8; n++)
        request(st, id_of(n),
                n == 6   ? "v10.1"
                : n == 7 ? "v2.1"
                         : "v1.1",
                n * 1000, n == 5 ? 0 : n * 1000 + 500, n == 5 ? 0 : 200);
    log_store_app_line(st, S(id_of(3)), 3100, 3, S("error"));
    log_store_app_line(st, S(id_of(4)), 4100, 0, S("debug"));
    for (int i = 0; i < 3; i++)
        log_store_app_line(st, S(id_of(8)), 8100 + i, 1, S("info"));
    /* The running request 5 logged at 5200 and last at 9000, long after
     * its start: its last update. */
    log_store_app_line(st, S(id_of(5)), 5200, 1, S("working"));
    log_store_app_line(st, S(id_of(5)), 9000, 1, S("still working"));
    log_store_close(st);

    sqlite3 *db;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    static const char *const v1[] = {"v1", NULL}, *const v10[] = {"v10", NULL},
                             *const full[] = {"v2.1", NULL}, *const both[] = {"v1", "v2", NULL};
    buf_t b = BUF_INIT;
    response_t r;

    /* Finished v1 requests, newest first, with the required fields. */
    put_req(&b, "app", v1, -1, -1, NULL, -1, 0, 0, 1);
    CHECK(run(db, &b, &r) == 0);
    CHECK(r.n == 5);
    CHECK_STR(r.id[0], id_of(8));
    CHECK_STR(r.id[1], id_of(4));
    CHECK_STR(r.id[4], id_of(1));
    CHECK(r.lines[0] == 3 && r.lines[2] == 1);
    CHECK(r.has_app && r.has_combined && r.has_url_map && !r.has_offset);
    CHECK(r.last_end == 1500);

    /* With the running one, which says so. */
    buf_reset(&b);
    put_req(&b, "app", v1, -1, -1, NULL, -1, 1, 0, 0);
    CHECK(run(db, &b, &r) == 0);
    CHECK(r.n == 6 && strcmp(r.id[1], id_of(5)) == 0 && !r.finished[1] && r.status[1] == 0);

    /* Versions: major v10 only; a full version; two majors. */
    buf_reset(&b);
    put_req(&b, "app", v10, -1, -1, NULL, -1, 0, 0, 0);
    CHECK(run(db, &b, &r) == 0 && r.n == 1 && strcmp(r.id[0], id_of(6)) == 0);
    buf_reset(&b);
    put_req(&b, "app", full, -1, -1, NULL, -1, 0, 0, 0);
    CHECK(run(db, &b, &r) == 0 && r.n == 1 && strcmp(r.id[0], id_of(7)) == 0);
    buf_reset(&b);
    put_req(&b, "app", both, -1, -1, NULL, -1, 0, 0, 0);
    CHECK(run(db, &b, &r) == 0 && r.n == 6);

    /* Minimum level: 3 keeps request 3; 0 the requests with any line. */
    buf_reset(&b);
    put_req(&b, "app", v1, -1, -1, NULL, 3, 0, 0, 0);
    CHECK(run(db, &b, &r) == 0 && r.n == 1 && strcmp(r.id[0], id_of(3)) == 0);
    buf_reset(&b);
    put_req(&b, "app", v1, -1, -1, NULL, 0, 0, 0, 0);
    CHECK(run(db, &b, &r) == 0 && r.n == 3);

    /* Times bound the end: [2500, 4500) holds requests 2 and 3 (4 ended at
     * 4500, excluded); a running request goes by its last update, as App
     * Engine's "completion or last-update time": its newest line (9000),
     * not its start (5000) nor an earlier line. */
    buf_reset(&b);
    put_req(&b, "app", v1, 2500, 4500, NULL, -1, 0, 0, 0);
    CHECK(run(db, &b, &r) == 0 && r.n == 2);
    CHECK_STR(r.id[0], id_of(3));
    CHECK_STR(r.id[1], id_of(2));
    buf_reset(&b);
    put_req(&b, "app", v1, 8600, 9001, NULL, -1, 1, 0, 0);
    CHECK(run(db, &b, &r) == 0 && r.n == 1 && strcmp(r.id[0], id_of(5)) == 0);
    buf_reset(&b);
    put_req(&b, "app", v1, 5000, 5201, NULL, -1, 1, 0, 0);
    CHECK(run(db, &b, &r) == 0 && r.n == 0);
    buf_reset(&b);
    put_req(&b, "app", v1, 9001, -1, NULL, -1, 1, 0, 0);
    CHECK(run(db, &b, &r) == 0 && r.n == 0);

    /* Paging: two at a time, each page going on from the offset. */
    buf_reset(&b);
    put_req(&b, "app", v1, -1, -1, NULL, -1, 0, 2, 0);
    CHECK(run(db, &b, &r) == 0 && r.n == 2 && r.has_offset);
    CHECK_STR(r.offset, id_of(4));
    char seen[8][40];
    int n_seen = 0;
    for (int page = 0; page < 5 && r.n; page++) {
        for (int i = 0; i < r.n && n_seen < 8; i++)
            snprintf(seen[n_seen++], sizeof seen[0], "%s", r.id[i]);
        if (!r.has_offset)
            break;
        char offset[40];
        snprintf(offset, sizeof offset, "%s", r.offset);
        buf_reset(&b);
        put_req(&b, "app", v1, -1, -1, offset, -1, 0, 2, 0);
        CHECK(run(db, &b, &r) == 0);
    }
    CHECK(n_seen == 5);
    CHECK_STR(seen[2], id_of(3));
    CHECK_STR(seen[4], id_of(1));

    /* Request ids: in the order asked, unknown ones skipped, any state. */
    buf_reset(&b);
    put_req(&b, "app", NULL, -1, -1, NULL, -1, 0, 0, 0);
    pb_put_str(&b, 6, id_of(2));
    pb_put_str(&b, 6, "00ff");
    pb_put_str(&b, 6, id_of(5));
    pb_put_str(&b, 6, id_of(7));
    CHECK(run(db, &b, &r) == 0 && r.n == 3);
    CHECK_STR(r.id[0], id_of(2));
    CHECK_STR(r.id[1], id_of(5));
    CHECK_STR(r.id[2], id_of(7));
    CHECK(!r.finished[1] && !r.has_offset);

    /* Start times (gaelic logs --since, --end_date): [3000, 6000) holds
     * requests 5 (running), 4 and 3; 6 started at the bound. Before the
     * epoch: none. */
    log_query_t q = LOG_QUERY_ALL;
    q.started_since_us = 3000;
    q.started_before_us = 6000;
    char why[256];
    log_cursor_t *c = log_cursor_open(db, &q, why, sizeof why);
    CHECK(c != NULL);
    if (c) {
        log_request_t row;
        for (int n = 5; n >= 3; n--)
            CHECK(log_cursor_next(c, &row) == 1 && row.request_id.n == strlen(id_of(n)) &&
                  !memcmp(row.request_id.p, id_of(n), row.request_id.n));
        CHECK(log_cursor_next(c, &row) == 0);
        log_cursor_close(c);
    }
    q.started_since_us = 0;
    q.started_before_us = -1;
    c = log_cursor_open(db, &q, why, sizeof why);
    CHECK(c != NULL);
    if (c) {
        log_request_t row;
        CHECK(log_cursor_next(c, &row) == 0);
        log_cursor_close(c);
    }

    buf_free(&b);
    sqlite3_close(db);
}

/* A loading request that waited, on backend instance 2, and one of the
 * default version that did not wait: the fields are set on the first and
 * absent (their defaults) on the second. */
static void test_request_fields(void)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/fields.db", tmpdir);
    log_store_t *st = log_store_open(path, 1000, 0, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    log_request_t loaded = {.request_id = S(id_of(1)),
                            .start_us = 1000,
                            .end_us = 2000,
                            .status = 200,
                            .was_loading = 1,
                            .pending_us = 250,
                            .replica_index = 2};
    log_request_t plain = {.request_id = S(id_of(2)),
                           .start_us = 3000,
                           .end_us = 4000,
                           .status = 200,
                           .replica_index = -1};
    log_store_request(st, &loaded);
    log_store_request(st, &plain);
    log_store_close(st);

    sqlite3 *db;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(log_query_schema(db) == 0);
    buf_t b = BUF_INIT;
    response_t r;
    put_req(&b, "app", NULL, -1, -1, NULL, -1, 0, 0, 0);
    pb_put_str(&b, 6, id_of(1));
    pb_put_str(&b, 6, id_of(2));
    CHECK(run(db, &b, &r) == 0 && r.n == 2);
    CHECK(r.loading[0] == 1 && r.pending[0] == 250 && r.replica[0] == 2);
    CHECK(r.loading[1] == 0 && r.pending[1] == 0 && r.replica[1] == -1);
    buf_free(&b);
    sqlite3_close(db);
}

/* A database no server has opened since user_version 1 or 2 (`gaelic
 * logs` reads it as it is): its rows read as not loading, no wait, no
 * replica (1), of the default service with no handler named (1 and 2); a
 * version filter finds them as the default service's. */
static void check_old_schema(const char *name, const char *extra, int schema)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE TABLE request_logs("
                       " request_id TEXT PRIMARY KEY, version_id TEXT, start_us INTEGER,"
                       " end_us INTEGER, ip TEXT, nickname TEXT, method TEXT, resource TEXT,"
                       " http_version TEXT, status INTEGER, response_size INTEGER,"
                       " referrer TEXT, user_agent TEXT, host TEXT, mcycles INTEGER,"
                       " instance_id TEXT) WITHOUT ROWID;"
                       "CREATE TABLE app_logs(request_id TEXT NOT NULL, time_us INTEGER NOT NULL,"
                       " level INTEGER NOT NULL, message TEXT NOT NULL);"
                       "INSERT INTO request_logs(request_id, version_id, start_us, end_us, status,"
                       " mcycles) VALUES ('000000000000000100000001', 'v1.1', 1, 2, 200, 9);",
                       NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(db, extra, NULL, NULL, NULL) == SQLITE_OK);
    CHECK(log_query_schema(db) == schema);
    log_query_t q = LOG_QUERY_ALL;
    q.schema = schema;
    log_module_version_t v1 = {S("default"), S("v1")};
    q.version_filter = 1;
    q.versions = &v1;
    q.n_versions = 1;
    char why[256];
    log_cursor_t *c = log_cursor_open(db, &q, why, sizeof why);
    CHECK(c != NULL);
    if (c) {
        log_request_t row;
        CHECK(log_cursor_next(c, &row) == 1);
        CHECK(row.mcycles == 9 && row.status == 200);
        CHECK(schema == 2 ||
              (row.was_loading == 0 && row.pending_us == 0 && row.replica_index == -1));
        CHECK(row.module_id.n == 7 && !memcmp(row.module_id.p, "default", 7));
        CHECK(row.url_map_entry.p && row.url_map_entry.n == 0);
        CHECK(log_cursor_next(c, &row) == 0);
        log_cursor_close(c);
    }
    sqlite3_close(db);
}

static void test_old_schemas(void)
{
    check_old_schema("v1.db", "PRAGMA user_version=1", 1);
    check_old_schema("v2.db",
                     "ALTER TABLE request_logs ADD COLUMN was_loading INTEGER NOT NULL DEFAULT 0;"
                     "ALTER TABLE request_logs ADD COLUMN pending_us INTEGER NOT NULL DEFAULT 0;"
                     "ALTER TABLE request_logs ADD COLUMN replica_index INTEGER NOT NULL "
                     "DEFAULT -1;"
                     "PRAGMA user_version=2",
                     2);
}

/* Services (app.yaml's service:): a version_id is the default service's;
 * a module_version names its service's; each RequestLog says its service
 * and the handler that took it. */
static void test_services(void)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/services.db", tmpdir);
    log_store_t *st = log_store_open(path, 1000, 0, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    static const struct {
        const char *module, *version, *url_map;
    } rows[] = {
        {NULL, "v1.1", "main.app"},
        {"api", "v1.1", "api.app"},
        {"api", "v2.1", "static/x.css"},
        {"default", "v1.2", NULL},
    };
    for (int i = 0; i < 4; i++) {
        log_request_t r = {.request_id = S(id_of(i + 1)),
                           .version_id = S(rows[i].version),
                           .module_id = S(rows[i].module),
                           .url_map_entry = S(rows[i].url_map),
                           .start_us = (i + 1) * 1000,
                           .end_us = (i + 1) * 1000 + 10,
                           .status = 200,
                           .replica_index = -1};
        log_store_request(st, &r);
    }
    log_store_close(st);
    sqlite3 *db;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    static const char *const v1[] = {"v1", NULL};
    buf_t b = BUF_INIT;
    response_t r;
    put_req(&b, "app", v1, -1, -1, NULL, -1, 0, 0, 0);
    CHECK(run(db, &b, &r) == 0 && r.n == 2);
    CHECK_STR(r.id[0], id_of(4));
    CHECK_STR(r.module[0], "default");
    CHECK_STR(r.url_map[0], "");
    CHECK_STR(r.id[1], id_of(1));
    CHECK_STR(r.module[1], "default");
    CHECK_STR(r.url_map[1], "main.app");

    static const struct {
        const char *module, *version;
        int n;
        int ids[3];
    } cases[] = {
        {"api", "v1", 1, {2}},   {"api", "v2.1", 1, {3}}, {"api", "v3", 0, {0}},
        {"other", "v1", 0, {0}}, {NULL, "v1", 2, {4, 1}}, /* no module_id: the default service */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        buf_reset(&b);
        put_req(&b, "app", NULL, -1, -1, NULL, -1, 0, 0, 0);
        long m = pb_begin_msg(&b, 19);
        if (cases[k].module)
            pb_put_str(&b, 1, cases[k].module);
        pb_put_str(&b, 2, cases[k].version);
        pb_end_msg(&b, m);
        CHECK(run(db, &b, &r) == 0 && r.n == cases[k].n);
        for (int i = 0; i < r.n && i < cases[k].n; i++)
            CHECK_STR(r.id[i], id_of(cases[k].ids[i]));
    }
    CHECK_STR(r.module[0], "default");

    /* Two services' versions at once. */
    buf_reset(&b);
    put_req(&b, "app", NULL, -1, -1, NULL, -1, 0, 0, 0);
    long m = pb_begin_msg(&b, 19);
    pb_put_str(&b, 1, "api");
    pb_put_str(&b, 2, "v2");
    pb_end_msg(&b, m);
    m = pb_begin_msg(&b, 19);
    pb_put_str(&b, 2, "v1");
    pb_end_msg(&b, m);
    CHECK(run(db, &b, &r) == 0 && r.n == 3);
    CHECK_STR(r.id[0], id_of(4));
    CHECK_STR(r.id[1], id_of(3));
    CHECK_STR(r.module[1], "api");
    CHECK_STR(r.url_map[1], "static/x.css");
    CHECK_STR(r.id[2], id_of(1));
    buf_free(&b);
    sqlite3_close(db);
}

/* A request whose lines pass the response budget gets cut, and says so. */
static void test_budget(void)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/big.db", tmpdir);
    log_store_t *st = log_store_open(path, 1000, 0, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    static char big[32 * 1024];
    memset(big, 'x', sizeof big);
    request(st, id_of(1), "v1.1", 1000, 1500, 200);
    request(st, id_of(2), "v1.1", 2000, 2500, 200);
    int lines = (int)(LOG_READ_MAX_BYTES / sizeof big) + 10;
    for (int i = 0; i < lines; i++)
        log_store_app_line(st, S(id_of(2)), 2100 + i, 1, (log_str_t){big, sizeof big});
    log_store_close(st);
    sqlite3 *db;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    static const char *const v1[] = {"v1", NULL};
    buf_t b = BUF_INIT;
    response_t r;
    put_req(&b, "app", v1, -1, -1, NULL, -1, 0, 0, 1);
    CHECK(run(db, &b, &r) == 0);
    /* Request 2, cut; request 1 is for the next batch. */
    CHECK(r.n == 1 && r.cut && r.lines[0] > 0 && r.lines[0] < lines);
    CHECK(r.has_offset && strcmp(r.offset, id_of(2)) == 0);
    /* A list of ids stops there too, and goes on after the offset's id. */
    buf_reset(&b);
    put_req(&b, "app", NULL, -1, -1, NULL, -1, 0, 0, 1);
    pb_put_str(&b, 6, id_of(2));
    pb_put_str(&b, 6, id_of(1));
    CHECK(run(db, &b, &r) == 0);
    CHECK(r.n == 1 && r.cut && r.has_offset);
    CHECK_STR(r.id[0], id_of(2));
    CHECK_STR(r.offset, id_of(2));
    buf_reset(&b);
    put_req(&b, "app", NULL, -1, -1, id_of(2), -1, 0, 0, 1);
    pb_put_str(&b, 6, id_of(2));
    pb_put_str(&b, 6, id_of(1));
    CHECK(run(db, &b, &r) == 0);
    CHECK(r.n == 1 && !r.cut && !r.has_offset);
    CHECK_STR(r.id[0], id_of(1));
    buf_free(&b);
    sqlite3_close(db);
}

/* Rows count against the budget of a list of ids too: 40 requests whose
 * user agent (a client's header) takes 200 KB come back in pages of about
 * LOG_READ_MAX_BYTES, not as one response of 16 MB (hundreds of MB for a
 * list of 1000). The ids not stored are skipped wherever a page ends. */
static void test_ids_budget(void)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/rows.db", tmpdir);
    log_store_t *st = log_store_open(path, 1000, 0, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    enum { N = 40, UA = 200 * 1000 };
    static char ua[UA];
    memset(ua, 'u', sizeof ua);
    static char ids[N][32];
    for (int n = 0; n < N; n++) {
        snprintf(ids[n], sizeof ids[n], "%016x%08x", (n + 1) * 1000, n + 1);
        log_request_t r = {.request_id = S(ids[n]),
                           .version_id = S("v1.1"),
                           .user_agent = {ua, sizeof ua},
                           .start_us = (n + 1) * 1000,
                           .end_us = (n + 1) * 1000 + 500,
                           .status = 200,
                           .replica_index = -1};
        log_store_request(st, &r);
    }
    log_store_close(st);
    sqlite3 *db;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    buf_t b = BUF_INIT;
    response_t r;
    int got = 0, pages = 0, in_order = 1;
    char offset[40] = "";
    do {
        buf_reset(&b);
        put_req(&b, "app", NULL, -1, -1, offset[0] ? offset : NULL, -1, 0, 0, 0);
        for (int n = 0; n < N; n++) {
            char unknown[32]; /* an id no request has */
            snprintf(unknown, sizeof unknown, "%016xffffffff", n);
            pb_put_str(&b, 6, ids[n]);
            pb_put_str(&b, 6, unknown);
        }
        CHECK(run(db, &b, &r) == 0);
        CHECK(r.size < LOG_READ_MAX_BYTES + 3 * UA);
        for (int i = 0; i < r.n; i++)
            in_order &= got + i < N && strcmp(r.id[i], ids[got + i]) == 0;
        got += r.n;
        snprintf(offset, sizeof offset, "%s", r.has_offset ? r.offset : "");
    } while (r.has_offset && r.n > 0 && ++pages < 20);
    CHECK(got == N && in_order);
    CHECK(pages > 1);
    buf_free(&b);
    sqlite3_close(db);
}

static void test_combined(void)
{
    buf_t b = BUF_INIT;
    log_request_t r = {
        .ip = S("1.2.3.4"),
        .nickname = S("ann@example.com"),
        .method = S("POST"),
        .resource = S("/a b\nc\"d\\e"),
        .http_version = S("HTTP/1.0"),
        .referrer = S("http://r/\"q\""),
        .start_us = 0,
        .status = 201,
        .response_size = 0,
    };
    CHECK(log_combined(&b, &r) == 0);
    buf_append(&b, "", 1);
    const char *s = buf_ptr(&b);
    CHECK(strncmp(s, "1.2.3.4 - ann@example.com [", 27) == 0);
    CHECK(strstr(s, "] \"POST /a b\\nc\\\"d\\\\e HTTP/1.0\" 201 - \"http://r/\\\"q\\\"\" \"-\"") !=
          NULL);
    buf_free(&b);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_tasks();
    test_parse();
    test_queries();
    test_request_fields();
    test_old_schemas();
    test_services();
    test_budget();
    test_ids_budget();
    test_combined();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    UNIT_DONE();
}
