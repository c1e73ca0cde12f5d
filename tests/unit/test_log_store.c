/* The request log store (src/log_store.c) and the storage folder choice
 * (src/app_identity.c): records go through the writer thread into SQLite
 * intact, NULLs stay NULL, pruning keeps the newest, databases of
 * user_version 1 and 2 are upgraded, and errors name the path. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_identity.h"
#include "log_store.h"
#include "unit.h"

static char tmpdir[] = "/tmp/gaelic-log-store-XXXXXX";

static log_str_t S(const char *s)
{
    return (log_str_t){s, s ? strlen(s) : 0};
}

static void request(log_store_t *st, const char *id, int status)
{
    log_request_t r = {
        .request_id = S(id),
        .version_id = S("1.2"),
        .ip = S("127.0.0.1"),
        .method = S("GET"),
        /* Not NUL-terminated in the master: only n bytes count. */
        .resource = {"/path?q=1XXXX", 9},
        .http_version = S("HTTP/1.1"),
        .user_agent = S("agent \"quoted\""),
        .host = S("localhost:8080"),
        .instance_id = S("inst"),
        .module_id = S("api"),
        .url_map_entry = S("main.app"),
        .start_us = 1000000,
        .end_us = 1002500,
        .status = status,
        .response_size = 42,
        .mcycles = 7,
        .was_loading = 1,
        .pending_us = 1234,
        .replica_index = 3,
    };
    log_store_request(st, &r);
}

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    return db;
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void query_text(sqlite3 *db, const char *sql, char *out, size_t n)
{
    sqlite3_stmt *s;
    snprintf(out, n, "(none)");
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        snprintf(out, n, "%s",
                 sqlite3_column_type(s, 0) == SQLITE_NULL
                     ? "(null)"
                     : (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
}

static void test_round_trip(void)
{
    char path[256], err[512], text[256];
    snprintf(path, sizeof path, "%s/a/b/logs.db", tmpdir);
    log_store_t *st = log_store_open(path, 1000, 0, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    log_store_app_line(st, S("000000000000000100000001"), 1000100, 3,
                       (log_str_t){"line\ntwoZZ", 8});
    log_store_app_line(st, S("000000000000000100000001"), 1000200, 0, S("debug"));
    request(st, "000000000000000100000001", 500);
    log_store_close(st);

    sqlite3 *db = open_db(path);
    CHECK(query_int(db, "SELECT count(*) FROM request_logs") == 1);
    query_text(db, "SELECT resource FROM request_logs", text, sizeof text);
    CHECK_STR(text, "/path?q=1");
    query_text(db, "SELECT user_agent FROM request_logs", text, sizeof text);
    CHECK_STR(text, "agent \"quoted\"");
    query_text(db, "SELECT nickname FROM request_logs", text, sizeof text);
    CHECK_STR(text, "(null)");
    CHECK(query_int(db, "SELECT status FROM request_logs") == 500);
    CHECK(query_int(db, "SELECT end_us - start_us FROM request_logs") == 2500);
    CHECK(query_int(db, "SELECT mcycles FROM request_logs") == 7);
    CHECK(query_int(db, "SELECT was_loading FROM request_logs") == 1);
    CHECK(query_int(db, "SELECT pending_us FROM request_logs") == 1234);
    CHECK(query_int(db, "SELECT replica_index FROM request_logs") == 3);
    query_text(db, "SELECT module_id FROM request_logs", text, sizeof text);
    CHECK_STR(text, "api");
    query_text(db, "SELECT url_map_entry FROM request_logs", text, sizeof text);
    CHECK_STR(text, "main.app");
    CHECK(query_int(db, "SELECT count(*) FROM app_logs") == 2);
    query_text(db, "SELECT message FROM app_logs WHERE level = 3", text, sizeof text);
    CHECK_STR(text, "line\ntwo");
    CHECK(query_int(db, "PRAGMA user_version") == 3);
    query_text(db, "PRAGMA journal_mode", text, sizeof text);
    CHECK_STR(text, "wal");
    sqlite3_close(db);

    /* Reopening keeps what is there and appends. */
    st = log_store_open(path, 1000, 0, err, sizeof err);
    CHECK(st != NULL);
    request(st, "000000000000000200000002", 200);
    log_store_close(st);
    db = open_db(path);
    CHECK(query_int(db, "SELECT count(*) FROM request_logs") == 2);
    sqlite3_close(db);
}

/* request_logs as user_version 1 made it, with one row. */
static const char SCHEMA_1[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE request_logs("
    " request_id TEXT PRIMARY KEY, version_id TEXT, start_us INTEGER, end_us INTEGER,"
    " ip TEXT, nickname TEXT, method TEXT, resource TEXT, http_version TEXT,"
    " status INTEGER, response_size INTEGER, referrer TEXT, user_agent TEXT, host TEXT,"
    " mcycles INTEGER, instance_id TEXT) WITHOUT ROWID;"
    "CREATE TABLE app_logs("
    " request_id TEXT NOT NULL, time_us INTEGER NOT NULL, level INTEGER NOT NULL,"
    " message TEXT NOT NULL);"
    "CREATE INDEX app_logs_by_request ON app_logs(request_id, time_us);"
    "INSERT INTO request_logs(request_id, start_us, end_us, status) "
    "VALUES ('000000000000000100000001', 1, 2, 200);"
    "PRAGMA user_version=1;";

static int exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc =
        sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK
            ? 0
            : -1;
    sqlite3_close(db);
    return rc;
}

/* A request that waited nearly all its life: its wait, timed on another
 * clock, is stored as no longer than its latency. */
static void test_pending_time_within_latency(void)
{
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/pending/logs.db", tmpdir);
    log_store_t *st = log_store_open(path, 1000, 0, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    log_request_t r = {
        .request_id = S("000000000000000100000009"),
        .method = S("GET"),
        .resource = S("/"),
        .start_us = 1000000,
        .end_us = 1002500,
        .status = 200,
        .pending_us = 2516,
    };
    log_store_request(st, &r);
    log_store_close(st);
    sqlite3 *db = open_db(path);
    CHECK(query_int(db, "SELECT pending_us FROM request_logs") == 2500);
    sqlite3_close(db);
}

/* A database of user_version 1 gets the new columns (its rows: not
 * loading, no wait, no replica, the default service, no handler) and
 * version 3, and takes new rows; one an older server set back to version 1
 * over the columns opens as well. */
static void test_upgrade_from_user_version_1(void)
{
    char path[256], err[512], text[64];
    snprintf(path, sizeof path, "%s/v1.db", tmpdir);
    CHECK(exec(path, SCHEMA_1) == 0);
    log_store_t *st = log_store_open(path, 1000, 0, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    request(st, "000000000000000200000002", 200);
    log_store_close(st);
    sqlite3 *db = open_db(path);
    CHECK(query_int(db, "PRAGMA user_version") == 3);
    CHECK(query_int(db, "SELECT count(*) FROM request_logs") == 2);
    query_text(db,
               "SELECT module_id || '|' || url_map_entry FROM request_logs WHERE "
               "request_id = '000000000000000100000001'",
               text, sizeof text);
    CHECK_STR(text, "default|");
    query_text(db,
               "SELECT module_id || '|' || url_map_entry FROM request_logs WHERE "
               "request_id = '000000000000000200000002'",
               text, sizeof text);
    CHECK_STR(text, "api|main.app");
    CHECK(query_int(db, "SELECT was_loading + pending_us FROM request_logs WHERE "
                        "request_id = '000000000000000100000001'") == 0);
    CHECK(query_int(db, "SELECT replica_index FROM request_logs WHERE "
                        "request_id = '000000000000000100000001'") == -1);
    CHECK(query_int(db, "SELECT replica_index FROM request_logs WHERE "
                        "request_id = '000000000000000200000002'") == 3);
    sqlite3_close(db);

    CHECK(exec(path, "PRAGMA user_version=1") == 0);
    st = log_store_open(path, 1000, 0, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    log_store_close(st);
    db = open_db(path);
    CHECK(query_int(db, "PRAGMA user_version") == 3);
    sqlite3_close(db);
}

/* One of user_version 2 gets module_id and url_map_entry alone. */
static void test_upgrade_from_user_version_2(void)
{
    char path[256], err[512], text[64];
    snprintf(path, sizeof path, "%s/v2.db", tmpdir);
    CHECK(exec(path, SCHEMA_1) == 0);
    CHECK(exec(path, "ALTER TABLE request_logs ADD COLUMN was_loading INTEGER NOT NULL DEFAULT 0;"
                     "ALTER TABLE request_logs ADD COLUMN pending_us INTEGER NOT NULL DEFAULT 0;"
                     "ALTER TABLE request_logs ADD COLUMN replica_index INTEGER NOT NULL "
                     "DEFAULT -1;"
                     "PRAGMA user_version=2;") == 0);
    log_store_t *st = log_store_open(path, 1000, 0, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    request(st, "000000000000000200000002", 200);
    log_store_close(st);
    sqlite3 *db = open_db(path);
    CHECK(query_int(db, "PRAGMA user_version") == 3);
    query_text(db,
               "SELECT group_concat(module_id || '|' || url_map_entry, ',') FROM (SELECT * FROM "
               "request_logs ORDER BY request_id)",
               text, sizeof text);
    CHECK_STR(text, "default|,api|main.app");
    sqlite3_close(db);
}

static void test_prune_keeps_newest(void)
{
    char path[256], err[512], id[32], text[64];
    snprintf(path, sizeof path, "%s/prune.db", tmpdir);
    log_store_t *st = log_store_open(path, 5, 0, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    for (int i = 1; i <= 20; i++) {
        snprintf(id, sizeof id, "%016x%08x", i, i);
        log_store_app_line(st, S(id), i, 1, S("x"));
        request(st, id, 200);
    }
    log_store_close(st);
    sqlite3 *db = open_db(path);
    CHECK(query_int(db, "SELECT count(*) FROM request_logs") == 5);
    CHECK(query_int(db, "SELECT count(*) FROM app_logs") == 5);
    query_text(db, "SELECT min(request_id) FROM request_logs", text, sizeof text);
    CHECK_STR(text, "000000000000001000000010"); /* 16..20 kept */
    sqlite3_close(db);
}

/* The request logs a server left count towards the limit of the next:
 * 20 stored without a limit, then one more under a limit of 5. */
static void test_prune_counts_what_was_stored(void)
{
    char path[256], err[512], id[32];
    snprintf(path, sizeof path, "%s/reopen.db", tmpdir);
    for (int limit = 0, n = 20, from = 1; limit <= 5; limit += 5, from += n, n = 1) {
        log_store_t *st = log_store_open(path, limit, 0, err, sizeof err);
        CHECK(st != NULL);
        if (!st)
            return;
        for (int i = from; i < from + n; i++) {
            snprintf(id, sizeof id, "%016x%08x", i, i);
            request(st, id, 200);
        }
        log_store_close(st);
    }
    sqlite3 *db = open_db(path);
    CHECK(query_int(db, "SELECT count(*) FROM request_logs") == 5);
    sqlite3_close(db);
}

/* One request logging in a loop: the pages in use stay near max_bytes
 * (the oldest lines go), and the newest lines are kept. */
static void test_prune_by_bytes(void)
{
    char path[256], err[512], line[2048];
    snprintf(path, sizeof path, "%s/bytes.db", tmpdir);
    const int64_t max_bytes = 1 << 20;
    memset(line, 'x', sizeof line);
    int64_t written = 0;
    for (int round = 0; round < 8; round++) {
        log_store_t *st = log_store_open(path, 1000, max_bytes, err, sizeof err);
        CHECK(st != NULL);
        if (!st)
            return;
        for (int i = 0; i < 500; i++, written++) /* 1 MB a round, each round a commit */
            log_store_app_line(st, S("0000000000000001000000001"), written, 1,
                               (log_str_t){line, sizeof line});
        log_store_close(st);
    }
    sqlite3 *db = open_db(path);
    int64_t used = query_int(db, "PRAGMA page_count") - query_int(db, "PRAGMA freelist_count");
    used *= query_int(db, "PRAGMA page_size");
    /* Under the limit after each commit, give or take the last batch. */
    CHECK(used > 0 && used <= max_bytes + (2 << 20));
    CHECK(query_int(db, "SELECT max(time_us) FROM app_logs") == written - 1);
    CHECK(query_int(db, "SELECT min(time_us) FROM app_logs") > written / 2);
    sqlite3_close(db);
}

/* An app line past 64 KiB (an app may send megabytes, bypassing the
 * runtime's 32 KiB cut) is stored cut before the character the limit falls
 * in, marked; one of 64 KiB is kept whole. */
static void test_long_line_is_cut(void)
{
    enum { MAX_LINE = 64 << 10, BIG = 1 << 20 };
    static const char mark[] = "... (truncated)";
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/long.db", tmpdir);
    log_store_t *st = log_store_open(path, 1000, 0, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    static char big[BIG];
    memset(big, 'a', sizeof big);
    memcpy(big + MAX_LINE - 1, "\xe2\x82\xac", 3); /* a euro sign across the limit */
    log_store_app_line(st, S("0000000000000001000000001"), 1, 1, (log_str_t){big, sizeof big});
    log_store_app_line(st, S("0000000000000001000000001"), 2, 1, (log_str_t){big, MAX_LINE});
    log_store_close(st);
    sqlite3 *db = open_db(path);
    CHECK(query_int(db, "SELECT length(CAST(message AS BLOB)) FROM app_logs WHERE time_us = 1") ==
          MAX_LINE - 1 + (int64_t)sizeof mark - 1);
    /* Marked, and no piece of the euro sign left before the mark. */
    CHECK(query_int(
              db, "SELECT substr(message, -15) = '... (truncated)' AND "
                  "instr(CAST(message AS BLOB), x'e2') = 0 FROM app_logs WHERE time_us = 1") == 1);
    CHECK(query_int(db, "SELECT length(CAST(message AS BLOB)) FROM app_logs WHERE time_us = 2") ==
          MAX_LINE);
    sqlite3_close(db);
}

static void test_open_errors(void)
{
    char path[256], err[512];
    /* A regular file where a folder must be. */
    snprintf(path, sizeof path, "%s/file", tmpdir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    snprintf(path, sizeof path, "%s/file/sub/logs.db", tmpdir);
    err[0] = '\0';
    CHECK(log_store_open(path, 10, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "/file is not a folder") != NULL);
    /* Not a database. */
    snprintf(path, sizeof path, "%s/file", tmpdir);
    f = fopen(path, "w");
    if (f) {
        fputs("this is not an SQLite database, not at all, really not\n", f);
        fclose(f);
    }
    err[0] = '\0';
    CHECK(log_store_open(path, 10, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, path) != NULL);
}

static void test_storage_folder(void)
{
    char out[256];
    app_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.root = "/srv/apps/guestbook";
    app_identity_id(&cfg, NULL, out, sizeof out);
    CHECK_STR(out, "guestbook");
    app_identity_id(&cfg, "override", out, sizeof out);
    CHECK_STR(out, "override");
    /* A folder name that is no app id is made one. */
    const char *const folders[][2] = {
        {"/srv/My App_1", "my-app-1"}, {"/srv/-a--b-", "a-b"},
        {"/srv/evil\"\nx", "evil-x"},  {"/srv/caf\xc3\xa9 2", "caf-2"},
        {"/srv/\xc3\xa9___", "app"},   {"/", "app"},
        {"/srv/s~x:y", "s-x-y"},       {"/srv/folder-named-app", "folder-named-app"},
    };
    char root[64];
    for (size_t i = 0; i < sizeof folders / sizeof *folders; i++) {
        snprintf(root, sizeof root, "%s", folders[i][0]);
        cfg.root = root;
        app_identity_id(&cfg, NULL, out, sizeof out);
        CHECK_STR(out, folders[i][1]);
    }
    /* At most 100 characters, never ending in '-'. */
    char longer[160];
    memset(longer, 'a', sizeof longer);
    memcpy(longer, "/srv/", 5);
    longer[5 + 99] = '_';
    longer[sizeof longer - 1] = '\0';
    cfg.root = longer;
    app_identity_id(&cfg, NULL, out, sizeof out);
    CHECK(strlen(out) == 99 && out[98] == 'a');
    cfg.application = "from-yaml";
    app_identity_id(&cfg, NULL, out, sizeof out);
    CHECK_STR(out, "from-yaml");

    CHECK(app_identity_storage("x", "/given/path", out, sizeof out) == 0);
    CHECK_STR(out, "/given/path");
    setenv("XDG_CACHE_HOME", "/cache", 1);
    CHECK(app_identity_storage("s~my/app:1", NULL, out, sizeof out) == 0);
    CHECK_STR(out, "/cache/gaelic/s~my_app_1");
    CHECK(app_identity_storage("..", NULL, out, sizeof out) == 0);
    CHECK_STR(out, "/cache/gaelic/_");
    setenv("XDG_CACHE_HOME", "relative", 1); /* ignored, as the spec says */
    setenv("HOME", "/home/u", 1);
    CHECK(app_identity_storage("app", NULL, out, sizeof out) == 0);
    CHECK_STR(out, "/home/u/.cache/gaelic/app");
    char small[8];
    CHECK(app_identity_storage("app", NULL, small, sizeof small) == -1);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_pending_time_within_latency();
    test_upgrade_from_user_version_1();
    test_upgrade_from_user_version_2();
    test_prune_keeps_newest();
    test_prune_counts_what_was_stored();
    test_prune_by_bytes();
    test_long_line_is_cut();
    test_open_errors();
    test_storage_folder();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    UNIT_DONE();
}
