#include "backend_state.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

struct backend_state {
    sqlite3 *db;
};

static const char SCHEMA[] = "PRAGMA journal_mode=WAL;"
                             "CREATE TABLE IF NOT EXISTS backends("
                             " name TEXT PRIMARY KEY, stopped INTEGER NOT NULL,"
                             " deleted INTEGER NOT NULL, instances INTEGER NOT NULL,"
                             " public INTEGER NOT NULL, failfast INTEGER NOT NULL);";

backend_state_t *backend_state_open(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/backends.db", dir);
    backend_state_t *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(st->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
        backend_state_close(st);
        return NULL;
    }
    sqlite3_busy_timeout(st->db, 2000);
    return st;
}

void backend_state_get(backend_state_t *st, const char *name, backend_saved_t *out)
{
    *out = (backend_saved_t){0, 0, -1, -1, -1};
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT stopped, deleted, instances, public, failfast FROM backends "
                           "WHERE name = ?",
                           -1, &s, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        out->stopped = sqlite3_column_int(s, 0);
        out->deleted = sqlite3_column_int(s, 1);
        out->instances = sqlite3_column_int(s, 2);
        out->public_ = sqlite3_column_int(s, 3);
        out->failfast = sqlite3_column_int(s, 4);
    }
    sqlite3_finalize(s);
}

int backend_state_put(backend_state_t *st, const char *name, const backend_saved_t *v, char *err,
                      size_t errlen)
{
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(st->db,
                                "INSERT OR REPLACE INTO backends(name, stopped, deleted, "
                                "instances, public, failfast) VALUES (?,?,?,?,?,?)",
                                -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, v->stopped);
        sqlite3_bind_int(s, 3, v->deleted);
        sqlite3_bind_int(s, 4, v->instances);
        sqlite3_bind_int(s, 5, v->public_);
        sqlite3_bind_int(s, 6, v->failfast);
        rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_finalize(s);
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "saving the state of backend %s: %s", name, sqlite3_errmsg(st->db));
        return -1;
    }
    return 0;
}

void backend_state_close(backend_state_t *st)
{
    if (!st)
        return;
    sqlite3_close(st->db);
    free(st);
}
