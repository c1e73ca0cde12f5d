#include "log_store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

/* Beyond this the writer has fallen behind (disk stalled): records are
 * dropped and counted rather than growing the master without bound. */
#define QUEUE_MAX (64u << 20)
/* App log lines are dropped once this much is queued: the rest is kept for
 * request logs, so that an app flooding its log (lines of its own, or a
 * Flush carrying millions) cannot make other requests' logs be dropped. */
#define QUEUE_LINES_MAX (QUEUE_MAX / 2)
/* The writer is woken early when this much is queued. */
#define QUEUE_HIGH (1u << 20)
/* A batch the database did not take (locked, disk full) is tried again
 * after this long, with what was queued since. */
#define RETRY_MS 1000

enum { REC_REQUEST = 1, REC_APP_LINE = 2, REC_TASK = 3, REC_END_STALE = 4 };
/* A request record: its strings, then its numbers (log_request_t's order). */
enum { REQUEST_STRS = 13, REQUEST_NUMS = 8 };

#define SCHEMA_VERSION 3

struct log_store {
    char *path;
    sqlite3 *db; /* NULL when opening it again failed (writer thread only) */
    sqlite3_stmt *insert_request, *replace_request, *insert_line, *prune_lines, *prune_requests;
    sqlite3_stmt *page_count, *free_pages, *prune_oldest_lines;
    int64_t max_requests;
    int64_t max_bytes;       /* of the database's pages in use (the WAL's taken off); 0: no limit */
    int64_t max_bytes_given; /* --logs_max_bytes, WAL included */
    int64_t page_size;       /* the database's (one made before may differ) */
    int64_t n_requests;      /* rows in request_logs, kept by the writer */
    pthread_t writer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    buf_t queue;      /* encoded records, guarded by mu */
    int stop;         /* guarded by mu */
    int woken;        /* an early wake-up is pending, guarded by mu */
    int urgent;       /* a task is queued: commit without gathering, guarded by mu */
    log_task_t *done; /* tasks run, oldest first, guarded by mu */
    log_task_t **done_tail;
    int event_fd; /* eventfd: readable when done has tasks */
    int owner_fd; /* the database, flock'ed: this server ends what was left running */
    uint64_t dropped_lines, dropped_requests; /* guarded by mu */
    /* Writer thread only: the error said on the console in this episode
     * of failures ("" when none), and whether the batch being written
     * failed; the first batch written whole ends the episode. */
    char last_error[1024];
    int batch_failed;
};

/* The columns user_version 2 added, with what older rows (and rows an
 * older server writes) take: not a loading request, no wait, no replica. */
#define COLUMN_WAS_LOADING "was_loading INTEGER NOT NULL DEFAULT 0"
#define COLUMN_PENDING_US "pending_us INTEGER NOT NULL DEFAULT 0"
#define COLUMN_REPLICA_INDEX "replica_index INTEGER NOT NULL DEFAULT -1"
/* Those of user_version 3: older rows are the default service's, with no
 * handler named. */
#define COLUMN_MODULE_ID "module_id TEXT NOT NULL DEFAULT 'default'"
#define COLUMN_URL_MAP_ENTRY "url_map_entry TEXT NOT NULL DEFAULT ''"
static const char *const ADDED[] = {COLUMN_WAS_LOADING, COLUMN_PENDING_US, COLUMN_REPLICA_INDEX,
                                    COLUMN_MODULE_ID, COLUMN_URL_MAP_ENTRY};

/* Each WAL frame costs system calls, so pages are large; request logs are
 * one B-tree keyed by their (time-ordered) id, without a rowid beside.
 * Writes append at the right edge, so a 4 MiB page cache is plenty (the
 * kernel caches the file); at 16 MiB it grew to most of the master's memory
 * under load, with no gain in throughput. */
static const char SCHEMA[] =
    "PRAGMA page_size=65536;"
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA cache_size=-4096;"
    "CREATE TABLE IF NOT EXISTS request_logs("
    " request_id TEXT PRIMARY KEY, version_id TEXT, start_us INTEGER, end_us INTEGER,"
    " ip TEXT, nickname TEXT, method TEXT, resource TEXT, http_version TEXT,"
    " status INTEGER, response_size INTEGER, referrer TEXT, user_agent TEXT, host TEXT,"
    " mcycles INTEGER, instance_id TEXT, " COLUMN_WAS_LOADING ", " COLUMN_PENDING_US
    ", " COLUMN_REPLICA_INDEX ", " COLUMN_MODULE_ID ", " COLUMN_URL_MAP_ENTRY ") WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS app_logs("
    " request_id TEXT NOT NULL, time_us INTEGER NOT NULL, level INTEGER NOT NULL,"
    " message TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS app_logs_by_request ON app_logs(request_id, time_us);";

int64_t log_store_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void log_store_new_request_id(char *out, size_t n, int64_t start_us)
{
    static uint32_t seq;
    snprintf(out, n, "%016llx%08x", (unsigned long long)start_us,
             __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
}

/* ---------- record encoding (loop thread -> writer thread) ---------- */

static int put_i64(buf_t *b, int64_t v)
{
    return buf_append(b, &v, sizeof v);
}

/* Length (-1 for NULL) then the bytes, then tail_n bytes of tail (counted
 * in the length: one string). */
static int put_str_tail(buf_t *b, log_str_t s, const char *tail, size_t tail_n)
{
    int64_t n = s.p ? (int64_t)(s.n + tail_n) : -1;
    if (put_i64(b, n) < 0)
        return -1;
    if (!s.p)
        return 0;
    return buf_append(b, s.p, s.n) < 0 || (tail_n && buf_append(b, tail, tail_n) < 0) ? -1 : 0;
}

static int put_str(buf_t *b, log_str_t s)
{
    return put_str_tail(b, s, NULL, 0);
}

typedef struct {
    const char *p, *end;
} reader_t;

static int64_t get_i64(reader_t *r)
{
    int64_t v;
    memcpy(&v, r->p, sizeof v);
    r->p += sizeof v;
    return v;
}

static log_str_t get_str(reader_t *r)
{
    int64_t n = get_i64(r);
    log_str_t s = {NULL, 0};
    if (n >= 0) {
        s.p = r->p;
        s.n = (size_t)n;
        r->p += n;
    }
    return s;
}

/* Appends one encoded record under the lock unless the queue would pass
 * limit (then it is dropped and counted: -1); the writer is woken when the
 * queue was empty (it then gathers for LOG_STORE_COMMIT_MS) or is large. */
static int enqueue(log_store_t *st, const buf_t *rec, size_t limit, uint64_t *dropped)
{
    int rc = 0;
    pthread_mutex_lock(&st->mu);
    if (st->queue.len + rec->len > limit || buf_append(&st->queue, buf_ptr(rec), rec->len) < 0) {
        (*dropped)++;
        rc = -1;
    } else if (st->queue.len == rec->len || (st->queue.len >= QUEUE_HIGH && !st->woken)) {
        st->woken = st->queue.len >= QUEUE_HIGH;
        pthread_cond_signal(&st->cv);
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

/* Queues a record that is never dropped (as records are when the queue is
 * full) and wakes the writer for it. 0, or -1 once the store stops. */
static int queue_urgent(log_store_t *st, const void *rec, size_t n)
{
    pthread_mutex_lock(&st->mu);
    int rc = st->stop ? -1 : buf_append(&st->queue, rec, n);
    if (rc == 0) {
        st->urgent = 1;
        pthread_cond_signal(&st->cv);
    }
    pthread_mutex_unlock(&st->mu);
    return rc < 0 ? -1 : 0;
}

int log_store_task(log_store_t *st, log_task_t *task)
{
    uint8_t rec[1 + sizeof task];
    rec[0] = REC_TASK;
    memcpy(rec + 1, &task, sizeof task);
    task->next = NULL;
    /* Never dropped like records: its owner waits for done. */
    return queue_urgent(st, rec, sizeof rec);
}

int log_store_event_fd(const log_store_t *st)
{
    return st->event_fd;
}

/* Takes the tasks the writer has run and calls their done, in order. */
static void complete(log_store_t *st)
{
    pthread_mutex_lock(&st->mu);
    log_task_t *t = st->done;
    st->done = NULL;
    st->done_tail = &st->done;
    pthread_mutex_unlock(&st->mu);
    while (t) {
        log_task_t *next = t->next;
        t->done(t);
        t = next;
    }
}

void log_store_complete(log_store_t *st)
{
    uint64_t n;
    while (read(st->event_fd, &n, sizeof n) == (ssize_t)sizeof n)
        ;
    complete(st);
}

/* One scratch buffer for encoding: only the loop thread calls these. */
static buf_t scratch = BUF_INIT;

void log_store_request(log_store_t *st, const log_request_t *r)
{
    if (!st)
        return;
    /* The wait is timed on the event loop's clock, from the moment the
     * batch that queued the request began, the latency on the wall clock
     * read later: a request that waited nearly all its life could show
     * more waiting than life by a few microseconds. */
    int64_t pending_us = r->pending_us;
    if (r->end_us > 0 && pending_us > r->end_us - r->start_us)
        pending_us = r->end_us - r->start_us;
    buf_t *b = &scratch;
    buf_reset(b);
    uint8_t kind = REC_REQUEST;
    /* Their columns are NOT NULL, with what older rows took. */
    log_str_t module_id = r->module_id.p ? r->module_id : (log_str_t){"default", 7};
    log_str_t url_map_entry = r->url_map_entry.p ? r->url_map_entry : (log_str_t){"", 0};
    const log_str_t *strs[] = {&r->request_id, &r->version_id, &r->ip,           &r->nickname,
                               &r->method,     &r->resource,   &r->http_version, &r->referrer,
                               &r->user_agent, &r->host,       &r->instance_id,  &module_id,
                               &url_map_entry};
    int bad = buf_append(b, &kind, 1) < 0;
    for (size_t i = 0; i < sizeof strs / sizeof *strs && !bad; i++)
        bad = put_str(b, *strs[i]) < 0;
    if (bad || put_i64(b, r->start_us) < 0 || put_i64(b, r->end_us) < 0 ||
        put_i64(b, r->status) < 0 || put_i64(b, r->response_size) < 0 ||
        put_i64(b, r->mcycles) < 0 || put_i64(b, r->was_loading) < 0 ||
        put_i64(b, pending_us) < 0 || put_i64(b, r->replica_index) < 0) {
        pthread_mutex_lock(&st->mu);
        st->dropped_requests++;
        pthread_mutex_unlock(&st->mu);
        return;
    }
    enqueue(st, b, QUEUE_MAX, &st->dropped_requests);
}

int log_store_app_line(log_store_t *st, log_str_t request_id, int64_t time_us, int level,
                       log_str_t message)
{
    if (!st)
        return -1;
    buf_t *b = &scratch;
    buf_reset(b);
    uint8_t kind = REC_APP_LINE;
    size_t cut = 0;
    if (message.p && message.n > LOG_STORE_MAX_LINE) {
        message.n = LOG_STORE_MAX_LINE;
        /* Not inside a character: back over its continuation bytes. */
        for (int k = 0; k < 3 && ((unsigned char)message.p[message.n] & 0xC0) == 0x80; k++)
            message.n--;
        cut = sizeof LOG_STORE_CUT - 1;
    }
    if (buf_append(b, &kind, 1) < 0 || put_str(b, request_id) < 0 || put_i64(b, time_us) < 0 ||
        put_i64(b, level) < 0 || put_str_tail(b, message, LOG_STORE_CUT, cut) < 0) {
        log_store_drop_app_lines(st, 1);
        return -1;
    }
    return enqueue(st, b, QUEUE_LINES_MAX, &st->dropped_lines);
}

void log_store_drop_app_lines(log_store_t *st, uint64_t n)
{
    if (!st || !n)
        return;
    pthread_mutex_lock(&st->mu);
    st->dropped_lines += n;
    pthread_mutex_unlock(&st->mu);
}

/* ---------- the writer thread ---------- */

static void report_msg(log_store_t *st, const char *text)
{
    char msg[sizeof st->last_error];
    snprintf(msg, sizeof msg, "%s", text); /* as kept, to compare */
    st->batch_failed = 1;
    /* The same failure repeated every commit is reported once. */
    if (strcmp(msg, st->last_error) != 0) {
        snprintf(st->last_error, sizeof st->last_error, "%s", msg);
        log_msg_unbuffered(LOG_ERROR, "request logs: %s", msg);
    }
}

static void report(log_store_t *st, const char *what)
{
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s", what, sqlite3_errmsg(st->db));
    report_msg(st, msg);
}

static void bind_str(sqlite3_stmt *s, int col, log_str_t v)
{
    if (v.p)
        sqlite3_bind_text(s, col, v.p, (int)v.n, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, col);
}

static int step_reset(log_store_t *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        report(st, what);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Binds a request record to s: its strings, then its numbers. */
static void bind_request(sqlite3_stmt *s, const log_str_t *strs, const int64_t *nums)
{
    for (int i = 0; i < REQUEST_STRS; i++)
        bind_str(s, 1 + i, strs[i]);
    for (int i = 0; i < REQUEST_NUMS; i++)
        sqlite3_bind_int64(s, 1 + REQUEST_STRS + i, nums[i]);
}

/* A new request log is counted; one that replaces the request's earlier
 * row (unfinished: flushed, or a background thread's start) is not, or
 * the count would grow past the rows and prune() delete what it must keep. */
static void write_request(log_store_t *st, reader_t *r)
{
    log_str_t strs[REQUEST_STRS];
    int64_t nums[REQUEST_NUMS];
    for (int i = 0; i < REQUEST_STRS; i++)
        strs[i] = get_str(r);
    for (int i = 0; i < REQUEST_NUMS; i++)
        nums[i] = get_i64(r);
    bind_request(st->insert_request, strs, nums);
    if (step_reset(st, st->insert_request, "storing a request log") < 0)
        return;
    if (sqlite3_changes(st->db) == 1) {
        st->n_requests++;
        return;
    }
    bind_request(st->replace_request, strs, nums);
    step_reset(st, st->replace_request, "storing a request log");
}

static void write_line(log_store_t *st, reader_t *r)
{
    sqlite3_stmt *s = st->insert_line;
    bind_str(s, 1, get_str(r));
    sqlite3_bind_int64(s, 2, get_i64(r));
    sqlite3_bind_int64(s, 3, get_i64(r));
    bind_str(s, 4, get_str(r));
    step_reset(st, s, "storing an app log line");
}

static void skip_request(reader_t *r)
{
    for (int i = 0; i < REQUEST_STRS; i++)
        get_str(r);
    for (int i = 0; i < REQUEST_NUMS; i++)
        get_i64(r);
}

static void skip_line(reader_t *r)
{
    get_str(r);
    get_i64(r);
    get_i64(r);
    get_str(r);
}

/* Deletes the n oldest request logs and their app lines; how many request
 * logs went. */
static int64_t prune_oldest_requests(log_store_t *st, int64_t n)
{
    sqlite3_bind_int64(st->prune_lines, 1, n);
    sqlite3_bind_int64(st->prune_requests, 1, n);
    if (step_reset(st, st->prune_lines, "deleting old app log lines") < 0 ||
        step_reset(st, st->prune_requests, "deleting old request logs") < 0)
        return 0;
    int64_t gone = sqlite3_changes(st->db);
    st->n_requests -= gone;
    return gone;
}

/* Keeps at most max_requests request logs, the most recently started;
 * deletes in batches of a tenth so that pruning is rare. */
static void prune(log_store_t *st)
{
    if (st->max_requests <= 0 || st->n_requests <= st->max_requests + st->max_requests / 10)
        return;
    prune_oldest_requests(st, st->n_requests - st->max_requests);
}

static int64_t pragma_value(sqlite3_stmt *stmt)
{
    int64_t v = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_reset(stmt);
    return v;
}

/* Keeps the pages in use under max_bytes by deleting the oldest app log
 * lines, a tenth of them at a time until it is, whatever request they
 * belong to: the request count alone lets one request that logs in a loop
 * fill the disk. With no app line left, the request logs are over it by
 * themselves (clients' headers take up to --max_header_bytes each): the
 * oldest tenth of them go. SQLite reuses the pages freed, so the file
 * stops growing. */
static void prune_bytes(log_store_t *st)
{
    if (st->max_bytes <= 0)
        return;
    for (;;) {
        int64_t pages = pragma_value(st->page_count), free_pages = pragma_value(st->free_pages);
        if (pages < 0 || free_pages < 0 || (pages - free_pages) * st->page_size <= st->max_bytes)
            return;
        if (step_reset(st, st->prune_oldest_lines, "deleting the oldest app log lines") < 0)
            return;
        if (sqlite3_changes(st->db) == 0 &&
            prune_oldest_requests(st, (st->n_requests > 0 ? st->n_requests / 10 : 0) + 1) == 0)
            return; /* nothing left to delete */
    }
}

/* Requests still running when the last server died (killed, out of
 * memory) never got their final row, and their instances died with it:
 * they end (500, at the last line they logged), or they would read as
 * running for good. A record, so that it runs in order (after this server
 * owns the folder, before any row of its own) and, in a batch the database
 * did not take, is tried again with it. */
static void end_stale(log_store_t *st)
{
    if (sqlite3_exec(st->db,
                     "UPDATE request_logs SET status = 500, end_us = max(start_us, "
                     "coalesce((SELECT max(time_us) FROM app_logs a WHERE "
                     "a.request_id = request_logs.request_id), start_us)) WHERE end_us = 0",
                     NULL, NULL, NULL) != SQLITE_OK)
        report(st, "ending the requests the last server left running");
}

/* Writes a batch in one transaction. A task runs where it was queued,
 * inside the transaction, so it sees every record queued before it; it is
 * handed back (appended to *tasks) once the batch is committed. -1 when
 * the transaction did not happen or was rolled back: no record is stored. */
static int commit_batch(log_store_t *st, const buf_t *batch, log_task_t ***tasks)
{
    /* Without a database (its reopening was reported), tasks still run. */
    int in_tx = st->db && sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    if (!in_tx && st->db)
        report(st, "starting a transaction");
    reader_t r = {buf_ptr(batch), buf_ptr(batch) + batch->len};
    while (r.p < r.end) {
        /* SQLite rolls the whole transaction back on some errors (a full
         * disk, I/O): the records left would each be a transaction of
         * their own, and COMMIT would fail for want of one. */
        if (in_tx && sqlite3_get_autocommit(st->db))
            in_tx = 0;
        uint8_t kind = (uint8_t)*r.p++;
        if (kind == REC_TASK) {
            log_task_t *t;
            memcpy(&t, r.p, sizeof t);
            r.p += sizeof t;
            t->run(t, st->db);
            **tasks = t;
            *tasks = &t->next;
        } else if (kind == REC_END_STALE) {
            if (in_tx)
                end_stale(st);
        } else if (!in_tx) {
            /* No transaction: records are skipped (and reported above). */
            if (kind == REC_REQUEST)
                skip_request(&r);
            else
                skip_line(&r);
        } else if (kind == REC_REQUEST) {
            write_request(st, &r);
        } else {
            write_line(st, &r);
        }
    }
    if (!in_tx)
        return -1;
    prune(st);
    prune_bytes(st);
    if (sqlite3_get_autocommit(st->db)) /* rolled back by the pruning's error */
        return -1;
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        report(st, "committing");
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* Leaves in a batch that was not stored its records, in order, without
 * its tasks (they have run); counts them. */
static void keep_records(buf_t *batch, uint64_t *requests, uint64_t *lines)
{
    char *w = buf_ptr(batch);
    reader_t r = {buf_ptr(batch), buf_ptr(batch) + batch->len};
    while (r.p < r.end) {
        const char *start = r.p;
        uint8_t kind = (uint8_t)*r.p++;
        if (kind == REC_TASK) {
            r.p += sizeof(log_task_t *);
            continue;
        }
        if (kind == REC_REQUEST) {
            skip_request(&r);
            (*requests)++;
        } else if (kind == REC_APP_LINE) {
            skip_line(&r);
            (*lines)++;
        }
        memmove(w, start, (size_t)(r.p - start));
        w += r.p - start;
    }
    batch->len = (size_t)(w - buf_ptr(batch));
}

/* Counting reads every page of request_logs (about 13 ms for the default
 * 100,000 rows, warm; more from a cold disk), so the writer does it with
 * its first batch, which it gathers for LOG_STORE_COMMIT_MS: not beside
 * the first instance's start, nor in the master before it serves.
 * Unknown, the count starts at 0: the byte limit still prunes, the row
 * limit later. */
static void count_requests(log_store_t *st)
{
    sqlite3_stmt *count = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM request_logs", -1, &count, NULL) ==
            SQLITE_OK &&
        sqlite3_step(count) == SQLITE_ROW)
        st->n_requests = sqlite3_column_int64(count, 0);
    else
        report(st, "counting the request logs");
    sqlite3_finalize(count);
}

static void close_db(log_store_t *st)
{
    sqlite3_stmt **stmts[] = {&st->insert_request, &st->replace_request,   &st->insert_line,
                              &st->prune_lines,    &st->prune_requests,    &st->page_count,
                              &st->free_pages,     &st->prune_oldest_lines};
    for (size_t i = 0; i < sizeof stmts / sizeof *stmts; i++) {
        sqlite3_finalize(*stmts[i]);
        *stmts[i] = NULL;
    }
    sqlite3_close(st->db);
    st->db = NULL;
}

static int open_db(log_store_t *st, char *err, size_t errlen);

/* A database deleted or replaced under the server (by hand, by a cleanup)
 * would take every log into a file nobody can read again: the one at its
 * path is opened (created) instead, before the next batch. */
static void reopen_if_moved(log_store_t *st)
{
    int moved = 0;
    if (st->db &&
        (sqlite3_file_control(st->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK ||
         !moved))
        return;
    if (st->db) {
        log_msg_unbuffered(LOG_WARNING,
                           "request logs: %s was deleted or replaced: opening it again", st->path);
        close_db(st);
    }
    char err[1024];
    if (open_db(st, err, sizeof err) < 0) {
        report_msg(st, err);
        return;
    }
    count_requests(st);
}

static void *writer_main(void *arg)
{
    log_store_t *st = arg;
    buf_t batch = BUF_INIT;
    int retrying = 0; /* the queue starts with a batch that was not stored */
    int counted = 0;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (!st->stop && st->queue.len == 0)
            pthread_cond_wait(&st->cv, &st->mu);
        /* Gather for a while: one transaction per batch, not per request.
         * A batch tried again waits longer, however much is queued: a disk
         * that stays full fails every attempt at once. */
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long wait_ms = retrying ? RETRY_MS : LOG_STORE_COMMIT_MS;
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += wait_ms % 1000 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!st->stop && !st->urgent && (retrying || st->queue.len < QUEUE_HIGH) &&
               pthread_cond_timedwait(&st->cv, &st->mu, &until) != ETIMEDOUT)
            ;
        buf_t tmp = st->queue;
        st->queue = batch;
        batch = tmp;
        st->woken = 0;
        st->urgent = 0;
        int stopping = st->stop;
        uint64_t dropped_lines = st->dropped_lines, dropped_requests = st->dropped_requests;
        st->dropped_lines = st->dropped_requests = 0;
        pthread_mutex_unlock(&st->mu);
        if (dropped_lines || dropped_requests)
            log_msg_unbuffered(LOG_WARNING,
                               "request logs: %llu app log lines and %llu request logs dropped "
                               "(the log writer fell behind, or the database did not take them)",
                               (unsigned long long)dropped_lines,
                               (unsigned long long)dropped_requests);
        log_task_t *tasks = NULL, **tail = &tasks;
        uint64_t unstored_requests = 0, unstored_lines = 0;
        if (batch.len) {
            st->batch_failed = 0;
            reopen_if_moved(st);
            if (!counted && st->db)
                count_requests(st);
            counted = 1;
            /* The rows counted (and pruned) in a transaction that did not
             * happen are not there: the count goes back with them. */
            int64_t n_requests = st->n_requests;
            if (commit_batch(st, &batch, &tail) < 0) {
                st->n_requests = n_requests;
                keep_records(&batch, &unstored_requests, &unstored_lines);
            } else {
                buf_reset(&batch);
            }
            /* Said once the trouble ends, so that the next episode (the
             * disk full again, the database locked again) is said too. */
            if (!st->batch_failed && st->last_error[0]) {
                st->last_error[0] = '\0';
                log_msg_unbuffered(LOG_INFO, "request logs: stored again");
            }
        }
        pthread_mutex_lock(&st->mu);
        /* Records the database did not take go back before those queued
         * since, within the queue's bound, unless the server is stopping
         * (then they would be tried for as long as the trouble lasts). */
        retrying = 0;
        if (batch.len) {
            if (!stopping && batch.len + st->queue.len <= QUEUE_MAX &&
                buf_append(&batch, buf_ptr(&st->queue), st->queue.len) == 0) {
                buf_t swap = st->queue;
                st->queue = batch;
                batch = swap;
                retrying = 1;
            } else {
                st->dropped_requests += unstored_requests;
                st->dropped_lines += unstored_lines;
            }
            buf_reset(&batch);
        }
        if (tasks) {
            *st->done_tail = tasks;
            st->done_tail = tail;
            uint64_t one = 1;
            if (write(st->event_fd, &one, sizeof one) < 0) {
                /* The counter is full: the loop has a wake-up pending anyway. */
            }
        }
        if (stopping && st->queue.len == 0)
            break;
    }
    uint64_t lost_lines = st->dropped_lines, lost_requests = st->dropped_requests;
    pthread_mutex_unlock(&st->mu);
    if (lost_lines || lost_requests)
        log_msg_unbuffered(LOG_WARNING,
                           "request logs: %llu app log lines and %llu request logs not stored "
                           "before the server stopped",
                           (unsigned long long)lost_lines, (unsigned long long)lost_requests);
    buf_free(&batch);
    return NULL;
}

/* ---------- open / close ---------- */

/* mkdir -p of the folder that holds path. */
static int make_parent_dirs(const char *path, char *err, size_t errlen)
{
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
                return -1;
            }
            /* A file there (--storage_path naming one) left SQLite to say
             * only "unable to open database file". */
            struct stat st;
            if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
                snprintf(err, errlen, "%s is not a folder", dir);
                return -1;
            }
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return 0;
}

/* After "INSERT OR IGNORE" / "INSERT OR REPLACE". */
#define INSERT_REQUEST                                                                             \
    " INTO request_logs(request_id, version_id, ip, nickname, method, resource, http_version, "    \
    "referrer, user_agent, host, instance_id, module_id, url_map_entry, start_us, end_us, "        \
    "status, "                                                                                     \
    "response_size, mcycles, was_loading, pending_us, replica_index) "                             \
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"

/* Brings a database of an older user_version to this one: the columns
 * added since, then the version, in one transaction. Only missing columns
 * are added: an older server that opened the database again set its
 * user_version back over them. 0, or -1 (sqlite3_errmsg) with the
 * transaction left open: closing the database rolls it back. */
static int migrate(sqlite3 *db)
{
    sqlite3_stmt *version = NULL, *has = NULL;
    int ok = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &version, NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(db,
                                "SELECT count(*) FROM pragma_table_info('request_logs') "
                                "WHERE name = ?",
                                -1, &has, NULL) == SQLITE_OK;
    int64_t v = ok ? pragma_value(version) : -1;
    ok = ok && v >= 0;
    for (size_t i = 0; ok && v < SCHEMA_VERSION && i < sizeof ADDED / sizeof *ADDED; i++) {
        /* The column's name: its definition's first word. */
        sqlite3_bind_text(has, 1, ADDED[i], (int)strcspn(ADDED[i], " "), SQLITE_STATIC);
        int64_t present = pragma_value(has);
        char sql[128];
        snprintf(sql, sizeof sql, "ALTER TABLE request_logs ADD COLUMN %s", ADDED[i]);
        ok = present > 0 || (present == 0 && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    }
    sqlite3_finalize(version);
    sqlite3_finalize(has);
    if (ok && v < SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", SCHEMA_VERSION);
        ok = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
    }
    return ok && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static void store_free(log_store_t *st)
{
    close_db(st);
    free(st->path);
    if (st->event_fd >= 0)
        close(st->event_fd);
    if (st->owner_fd >= 0)
        close(st->owner_fd);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    buf_free(&st->queue);
    free(st);
}

/* SQLite opens no database whose absolute path, with room for the
 * "-journal" it may add, passes its VFS's limit (512 bytes on Unix), and
 * then says only "unable to open database file". */
static int path_fits_sqlite(const char *path, char *err, size_t errlen)
{
    size_t len = strlen(path);
    char cwd[4096];
    if (path[0] != '/' && getcwd(cwd, sizeof cwd))
        len += strlen(cwd) + 1;
    size_t limit = (size_t)sqlite3_vfs_find(NULL)->mxPathname - (sizeof "-journal" - 1);
    if (len <= limit)
        return 0;
    snprintf(err, errlen, "%s: the path is too long for SQLite (%zu bytes, at most %zu)", path, len,
             limit);
    return -1;
}

/* Opens (creates) the database at st->path: 0, or -1 with err set and
 * nothing left open. */
static int open_db(log_store_t *st, char *err, size_t errlen)
{
    const char *path = st->path;
    int64_t max_bytes = st->max_bytes_given;
    if (make_parent_dirs(path, err, errlen) < 0)
        return -1;
    const char *what = "opening";
    if (sqlite3_open_v2(path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK)
        goto fail;
    /* SQLite reads a file it may not write, and then fails for a reason of
     * its own (no WAL file to read): the system's reason is the one. */
    if (sqlite3_db_readonly(st->db, "main") == 1) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        int why = fd < 0 ? errno : EACCES;
        if (fd >= 0)
            close(fd);
        snprintf(err, errlen, "%s: opening: cannot write it (%s)", path, strerror(why));
        close_db(st);
        return -1;
    }
    sqlite3_busy_timeout(st->db, 5000);
    what = "creating the schema";
    if (sqlite3_exec(st->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    what = "upgrading the schema";
    if (migrate(st->db) < 0)
        goto fail;
    what = "preparing statements";
    if (sqlite3_prepare_v2(st->db, "INSERT OR IGNORE" INSERT_REQUEST, -1, &st->insert_request,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "INSERT OR REPLACE" INSERT_REQUEST, -1, &st->replace_request,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "INSERT INTO app_logs(request_id, time_us, level, message) "
                           "VALUES (?,?,?,?)",
                           -1, &st->insert_line, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "DELETE FROM app_logs WHERE request_id IN (SELECT request_id FROM "
                           "request_logs ORDER BY request_id LIMIT ?)",
                           -1, &st->prune_lines, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "DELETE FROM request_logs WHERE request_id IN (SELECT request_id "
                           "FROM request_logs ORDER BY request_id LIMIT ?)",
                           -1, &st->prune_requests, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "PRAGMA page_count", -1, &st->page_count, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "PRAGMA freelist_count", -1, &st->free_pages, NULL) !=
            SQLITE_OK ||
        /* Lines get increasing rowids: the lowest tenth of the range are
         * the oldest (at least one line). */
        sqlite3_prepare_v2(st->db,
                           "DELETE FROM app_logs WHERE rowid <= (SELECT min(rowid) + "
                           "(max(rowid) - min(rowid)) / 10 FROM app_logs)",
                           -1, &st->prune_oldest_lines, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_stmt *count;
    what = "reading the page size";
    if (sqlite3_prepare_v2(st->db, "PRAGMA page_size", -1, &count, NULL) != SQLITE_OK)
        goto fail;
    st->page_size = pragma_value(count);
    sqlite3_finalize(count);
    if (max_bytes > 0) {
        /* The WAL file takes room too, up to SQLite's 1000 pages (64 MiB)
         * before a checkpoint, and keeps its size after: it is checkpointed
         * and cut back at a quarter of max_bytes (4 pages at least), and
         * the pages in use get the rest. */
        int64_t wal_pages = max_bytes / 4 / st->page_size;
        wal_pages = wal_pages < 4 ? 4 : wal_pages > 1000 ? 1000 : wal_pages;
        char sql[128];
        snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint=%lld;PRAGMA journal_size_limit=%lld;",
                 (long long)wal_pages, (long long)(wal_pages * st->page_size));
        what = "limiting the WAL file";
        if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
            goto fail;
        st->max_bytes = max_bytes - wal_pages * st->page_size;
        if (st->max_bytes < st->page_size)
            st->max_bytes = st->page_size;
    }
    return 0;
fail:;
    /* SQLite's "unable to open database file" alone does not say why. */
    int sys = st->db ? sqlite3_system_errno(st->db) : 0;
    snprintf(err, errlen, "%s: %s: %s%s%s%s", path, what,
             st->db ? sqlite3_errmsg(st->db) : "out of memory", sys ? " (" : "",
             sys ? strerror(sys) : "", sys ? ")" : "");
    close_db(st);
    return -1;
}

log_store_t *log_store_open(const char *path, int64_t max_requests, int64_t max_bytes, char *err,
                            size_t errlen)
{
    if (path_fits_sqlite(path, err, errlen) < 0)
        return NULL;
    log_store_t *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->max_requests = max_requests;
    st->max_bytes = st->max_bytes_given = max_bytes;
    st->done_tail = &st->done;
    st->owner_fd = -1;
    st->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&st->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st->cv, &ca);
    pthread_condattr_destroy(&ca);
    st->path = strdup(path);
    if (!st->path || st->event_fd < 0) {
        snprintf(err, errlen, "%s: %s", path, st->path ? strerror(errno) : "out of memory");
        store_free(st);
        return NULL;
    }
    if (open_db(st, err, errlen) < 0) {
        store_free(st);
        return NULL;
    }
    if (pthread_create(&st->writer, NULL, writer_main, st) != 0) {
        snprintf(err, errlen, "%s: cannot start the log writer thread", path);
        store_free(st);
        return NULL;
    }
    return st;
}

int log_store_end_stale_requests(log_store_t *st)
{
    /* Servers of other storage folders may share the database
     * (--logs_path): their requests still run. Only the server holding
     * this lock ends requests, and a server that dies, however it dies,
     * lets go of it. */
    st->owner_fd = open(st->path, O_RDONLY | O_CLOEXEC);
    if (st->owner_fd < 0 || flock(st->owner_fd, LOCK_EX | LOCK_NB) < 0) {
        log_msg(LOG_WARNING,
                "request logs: another running server writes %s too: the requests a server "
                "that died left running there are not ended",
                st->path);
        return 0;
    }
    uint8_t rec = REC_END_STALE;
    return queue_urgent(st, &rec, 1);
}

void log_store_close(log_store_t *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&st->mu);
    st->stop = 1;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    pthread_join(st->writer, NULL);
    /* Tasks the writer ran since the loop last looked: their owners must
     * see done (by now, for a cancelled task, only to free it). */
    complete(st);
    buf_free(&scratch);
    store_free(st);
}
