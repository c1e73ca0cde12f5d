/* error_handlers of app.yaml (RT1): the app's own pages for errors the
 * server generates (never for a status the app returns itself). The files
 * are read once at start; answering with one costs no allocation beyond
 * the output buffer and no file access. */
#ifndef GAELIC_ERROR_PAGES_H
#define GAELIC_ERROR_PAGES_H

#include <stddef.h>

#include "buf.h"
#include "config.h"

/* App Engine limited each error page to 10 KB. */
#define ERROR_PAGE_MAX_BYTES 10240

/* Which error_code a server-generated answer belongs to. The status stays
 * the caller's; App Engine used these ones: */
typedef enum {
    ERROR_PAGE_DEFAULT = 0,    /* "default": any other server error of a dynamic request
                                * (500 crashed instance, the app raised or answered wrongly,
                                * 503 no capacity) */
    ERROR_PAGE_OVER_QUOTA,     /* "over_quota": the app is over a quota (503); gaelic has
                                * no quotas yet, a future quota check answers with it */
    ERROR_PAGE_DOS_API_DENIAL, /* "dos_api_denial": a client blocked by DoS protection
                                * (403); accepted, gaelic has no DoS protection */
    ERROR_PAGE_TIMEOUT,        /* "timeout": the request ran past its deadline (500) */
    ERROR_PAGE_KINDS
} error_page_kind_t;

typedef struct {
    char *body; /* owned; NULL: the app has no page for this kind */
    size_t body_len;
    const char *content_type; /* the handler's mime_type (owned by the app_config_t, which
                               * must outlive the pages) or a static string */
} error_page_t;

typedef struct {
    error_page_t page[ERROR_PAGE_KINDS];
} error_pages_t;

/* The kind for an app.yaml error_code; -1 when unknown. */
int error_page_kind(const char *error_code);

/* Reads every error_handlers file of cfg beneath the app root (static_init
 * must have opened it): each must be a regular file inside the app folder,
 * not excluded by skip_files, at most ERROR_PAGE_MAX_BYTES, and each
 * error_code may appear once. Returns 0, or -1 with "FILE:LINE: reason"
 * in err (nothing to free then). */
int error_pages_load(error_pages_t *pages, const app_config_t *cfg, char *err, size_t errlen);
void error_pages_free(error_pages_t *pages);

/* Appends a complete response with this status to out: the app's page for
 * kind, else its "default" page, else (also when pages is NULL) the
 * server's built-in page. Returns 0 or -1 when memory runs out. */
int error_page_send(const error_pages_t *pages, error_page_kind_t kind, buf_t *out, int status,
                    int keep_alive, int http10, int head_only);

#endif
