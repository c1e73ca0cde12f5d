/* Picks the app.yaml handler for a request path (first match wins, the
 * pattern must match the whole path) and applies \1-style substitution. */
#ifndef GAELIC_ROUTER_H
#define GAELIC_ROUTER_H

#include <stddef.h>

#include "config.h"

typedef struct {
    const handler_t *handler; /* borrowed from the config */
    size_t index;
    char *target; /* malloc'd: script or static file path after substitution,
                     or for static_dir the file path under the dir; free with
                     route_free */
    int file_fd;  /* the static file, when static_route (static.h) opened it
                     to check it is there; else -1. route_free closes it */
} route_t;

/* path: the URL path without query string, percent-decoded (App Engine
 * matched the PATH_INFO the app sees; conn.c decodes it once).
 * Returns 1 and fills r on a match, 0 when no handler matches, -1 on error
 * (out of memory, or a url pattern past PCRE2's match limit). */
int router_match(const app_config_t *cfg, const char *path, size_t len, route_t *r);
/* router_match over the handlers from index `from` on. */
int router_match_from(const app_config_t *cfg, const char *path, size_t len, size_t from,
                      route_t *r);
void route_free(route_t *r);

/* RequestLog.url_map_entry of a matched route: the script or static file
 * it names, or "auto" for a python3 app's handler, which App Engine logged
 * as app.yaml says it (`script: auto`, an app.yaml without handlers too),
 * not as the module:app its entrypoint runs. */
const char *route_url_map_entry(const route_t *r);

/* App Engine's rule for the "." and ".." segments of a percent-decoded
 * path (it answered such a path with a 302 to the result): "." segments go,
 * ".." removes the segment before it (never the leading '/'), repeated
 * slashes stay. path[0] is '/'. Rewrites path[0..len) in place and returns
 * the new length, which is smaller exactly when the path changed. */
size_t router_normalize_path(char *path, size_t len);

#endif
