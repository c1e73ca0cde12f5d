/* Request logs and application logs (RT9, LG3) in SQLite (WAL mode).
 *
 * The event loop only copies records into a queue; a writer thread commits
 * the queue every LOG_STORE_COMMIT_MS (or sooner when it grows) in one
 * transaction, so a request costs no disk I/O on the loop. Other processes
 * (the `gaelic logs` command) open the same file; WAL lets them read while
 * the server writes. The server's own reads (the Logs API) are tasks run
 * by the writer thread (log_store_task).
 *
 * Schema (user_version 3):
 *   request_logs(request_id TEXT PRIMARY KEY, version_id, start_us, end_us,
 *                ip, nickname, method, resource, http_version, status,
 *                response_size, referrer, user_agent, host, mcycles,
 *                instance_id, was_loading, pending_us, replica_index,
 *                module_id, url_map_entry)
 *   app_logs(request_id, time_us, level 0..4, message)
 * A database of an older user_version is given the columns it lacks when a
 * server opens it, old rows taking 0, 0, -1 (those of user_version 2),
 * 'default' and '' (3).
 * request_id is REQUEST_LOG_ID: hex start time in microseconds then a
 * sequence number, so ordering by it is ordering by start time. A request
 * still running (its app lines were flushed before it ended, or a
 * background thread) has end_us 0 and status 0 until its final row
 * replaces it. */
#ifndef GAELIC_LOG_STORE_H
#define GAELIC_LOG_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define LOG_STORE_COMMIT_MS 100
#define LOG_STORE_FILE "logs.db"

typedef struct log_store log_store_t;

/* A byte string that need not be NUL-terminated; p may be NULL (SQL NULL). */
typedef struct {
    const char *p;
    size_t n;
} log_str_t;

typedef struct {
    log_str_t request_id, version_id, ip, nickname, method, resource, http_version, referrer,
        user_agent, host, instance_id;
    /* The service that served it (NULL: the default one) and the handler
     * that took it: a script's WSGI path or file, a static file's path in
     * the app (NULL: none, as for a 404 no handler took). */
    log_str_t module_id, url_map_entry;
    int64_t start_us, end_us;
    int status;
    int64_t response_size;
    int64_t mcycles;
    /* App Engine's loading request (its instance's first), the time it
     * waited in the master for an instance, and the backend instance that
     * served it (-1: none, the default version's). */
    int was_loading;
    int64_t pending_us;
    int replica_index;
} log_request_t;

/* Opens (creating the folders and the schema) the log database at path.
 * max_requests bounds the stored request logs: older ones and their app
 * lines are deleted as new ones come. max_bytes (0: none) bounds the
 * database's pages in use and its WAL file (a quarter of it, 64 MiB at
 * most): past it the oldest app log lines are deleted, and the oldest
 * request logs when no app line is left.
 * NULL with a reason in err. */
log_store_t *log_store_open(const char *path, int64_t max_requests, int64_t max_bytes, char *err,
                            size_t errlen);

/* An app log line longer than this is stored cut (before a character
 * the limit falls in), followed by LOG_STORE_CUT: the runtime cuts its
 * lines at 32 KiB itself, and one an app sends past it (of megabytes,
 * each invalid byte of which a Read writes as four) must not make every
 * Read of it that large. */
#define LOG_STORE_MAX_LINE (64u << 10)
#define LOG_STORE_CUT "... (truncated)"

/* Queue a record (copied; nothing is kept). Called from the event loop.
 * While the writer is behind, records are dropped and counted; app lines
 * first (at half the queue), so that request logs still find room.
 * log_store_app_line: 0, or -1 when the line was dropped (NULL st too). */
void log_store_request(log_store_t *st, const log_request_t *r);
int log_store_app_line(log_store_t *st, log_str_t request_id, int64_t time_us, int level,
                       log_str_t message);
/* Counts n app lines as dropped without queueing them. */
void log_store_drop_app_lines(log_store_t *st, uint64_t n);

/* Work on the database off the event loop (the Logs API's reads). The
 * writer thread calls run(task, db) after it has written every record
 * queued before the task (inside its transaction: read-your-writes), and
 * a queued task makes it commit at once instead of gathering. Once the
 * batch is committed the task is handed back: the event fd becomes
 * readable and log_store_complete, on the loop thread, calls done(task),
 * which owns the task again. Tasks complete in the order they were queued.
 * db is NULL while the database, deleted under the server, cannot be
 * opened again. */
typedef struct log_task log_task_t;
struct log_task {
    void (*run)(log_task_t *task, sqlite3 *db); /* writer thread */
    void (*done)(log_task_t *task);             /* loop thread */
    log_task_t *next;                           /* private */
};

/* Queues a task (not copied: it must live until done). 0, or -1 when
 * memory runs out or the store is closing (done is never called then). */
int log_store_task(log_store_t *st, log_task_t *task);
/* An eventfd (non-blocking) the loop watches for EPOLLIN; then it calls
 * log_store_complete, which reads it and runs the finished tasks' done. */
int log_store_event_fd(const log_store_t *st);
void log_store_complete(log_store_t *st);

/* Ends the requests a server that died left running (their final rows
 * never came), before any record queued after this call. Only once this
 * server owns the storage folder (control.h): another server may still be
 * running them; and not while another server (another storage folder, the
 * same --logs_path) holds the database. 0, or -1 when memory runs out. */
int log_store_end_stale_requests(log_store_t *st);

/* Commits what is queued (running queued tasks, then their done), stops
 * the writer and closes the database. */
void log_store_close(log_store_t *st);

/* A new REQUEST_LOG_ID (at least 25 bytes with the NUL): the start time
 * in hex, then a sequence number, so that ids sort by start time. */
void log_store_new_request_id(char *out, size_t n, int64_t start_us);

/* The time now in microseconds since the epoch (CLOCK_REALTIME). */
int64_t log_store_now_us(void);

#endif
