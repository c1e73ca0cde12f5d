/* What `gaelic backends` changed and must survive a server restart (BK5,
 * BK6): each backend's START/STOP state, whether it was deleted, and the
 * values `configure` set live. Kept in STORAGE/backends.db (SQLite). */
#ifndef GAELIC_BACKEND_STATE_H
#define GAELIC_BACKEND_STATE_H

#include <stddef.h>

typedef struct {
    int stopped;
    int deleted;
    int instances; /* -1: as backends.yaml says */
    int public_;   /* -1: as backends.yaml says */
    int failfast;  /* -1: as backends.yaml says */
} backend_saved_t;

typedef struct backend_state backend_state_t;

/* Opens (creating) DIR/backends.db. NULL with a reason in err. */
backend_state_t *backend_state_open(const char *dir, char *err, size_t errlen);
/* Fills *out (defaults when nothing is saved). */
void backend_state_get(backend_state_t *st, const char *name, backend_saved_t *out);
/* 0, or -1 with a reason in err. */
int backend_state_put(backend_state_t *st, const char *name, const backend_saved_t *v, char *err,
                      size_t errlen);
void backend_state_close(backend_state_t *st);

#endif
