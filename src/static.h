/* Static files (RT1): static_dir and static_files handlers answered by the
 * master itself, without an instance. Paths are checked here and opened
 * beneath the app root with openat2, so nothing outside the app folder
 * (by "..", an absolute path or a symlink) can be served. */
#ifndef GAELIC_STATIC_H
#define GAELIC_STATIC_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "app_links.h"
#include "buf.h"
#include "config.h"
#include "http.h"
#include "router.h"

/* Opens the app root (O_PATH) once at start; links (may be NULL, kept)
 * says where the app's symlinks may lead: the app folder (links->root,
 * for links written as absolute paths) and what --follow_symlinks
 * follows. Returns 0 or -1 (errno). */
int static_init(const char *root, const app_links_t *links);
void static_close(void);

/* Opens rel (relative to the app root, already checked) read-only beneath
 * the root, or through a link back into it or into what --follow_symlinks
 * follows. Returns
 * the fd, or -1 with errno (EXDEV or ELOOP when resolving it would leave
 * the app folder otherwise). */
int static_open_beneath(const char *rel);

/* router_match, but a static handler with require_matching_file whose
 * file (the one it would serve) is not there is passed over for the
 * handlers after it, as dev_appserver did. When it is there, it stays open
 * in r->file_fd, and static_serve answers with that very file. */
int static_route(const app_config_t *cfg, const char *path, size_t len, route_t *r);

/* Content-Type for a file name by its extension (case-insensitive);
 * "application/octet-stream" when unknown. */
const char *static_mime_type(const char *path);

/* Normalises target, a path from the percent-decoded request path (conn.c
 * decodes it once, before routing), into out ('/'-separated, no empty or
 * "." segments). Returns 0, or -1 with *why set when it has a backslash, a
 * ".." segment, is empty or too long. */
int static_clean_path(const char *target, char *out, size_t outlen, const char **why);

/* A Range header against a file of `size` bytes. Returns 1 with
 * [*first, *last] for one satisfiable range, 0 when the header is to be
 * ignored (absent, malformed, several ranges), -1 when unsatisfiable. */
int static_parse_range(const char *v, size_t len, off_t size, off_t *first, off_t *last);

/* Parses an HTTP date (IMF-fixdate, RFC 850 or asctime); -1 when invalid. */
time_t static_parse_date(const char *v, size_t len);

/* 1 when an If-None-Match value (list or "*") matches etag (weak compare). */
int static_etag_matches(const char *v, size_t len, const char *etag);

/* 1 when an If-Match value (list or "*") matches etag (strong compare: a
 * weak tag on either side never does). */
int static_etag_matches_strong(const char *v, size_t len, const char *etag);

typedef struct {
    /* 200, 206, 304, 412, 416; 404 when refused, 503 when the server
     * could not open the file now (out of fds; nothing written); 0 when
     * the file is to be compressed before it is answered (nothing written,
     * fd is the file for static_gzip_compress) */
    int status;
    int fd;          /* file to send after the head, or -1 */
    off_t offset;    /* where the body starts in fd */
    size_t length;   /* body bytes to send from fd */
    size_t body_len; /* for the request log */
} static_result_t;

/* Answers a request routed to a static handler (route, from static_route)
 * with the file in route->file_fd, which it takes, if static_route opened
 * it, else with the one it opens. On anything but 404, 503 or 0 the response
 * head is appended to out and, unless head_only, either the body too
 * (gzip-compressed, RT6: static_gzip.h, or up to 32 KiB as it is) or
 * res->fd/offset/length say what to sendfile after it (fd owned by the
 * caller). A file too big to compress in the loop and not yet cached: with
 * gzip_may_wait, status 0 asks the caller to have it compressed
 * (static_gzip_compress) and call again (which opens the file anew);
 * without, it goes out as it is. */
void static_serve(const app_config_t *cfg, route_t *route, const http_request_t *req,
                  int keep_alive, int head_only, int gzip_may_wait, buf_t *out,
                  static_result_t *res);

#endif
