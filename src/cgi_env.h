/* The per-request environment an instance receives (RT8): CGI/WSGI
 * variables, the App Engine variables and app.yaml's env_variables,
 * encoded as ipc.h (bytes key, bytes value) pairs. INSTANCE_ID is added by
 * the pool when it picks the instance. */
#ifndef GAELIC_CGI_ENV_H
#define GAELIC_CGI_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "http.h"
#include "login.h"

/* CURRENT_VERSION_ID's room: a version (up to 63 characters) or a backend
 * name (up to 100), '.', and the minor number. */
#define VERSION_ID_SIZE 128

typedef struct {
    const char *app_id;
    const char *version_id;       /* major.minor: the default version's or a backend's */
    const char *default_hostname; /* host:port */
    const char *runtime;          /* app.yaml's runtime: */
    const char *service;          /* app.yaml's service: ("default" when none) */
    const char *listen_host;      /* the address the client reached: SERVER_NAME without a Host */
    int listen_port;
    const env_var_t *vars; /* app.yaml env_variables */
    size_t n_vars;
    const login_user_t *user; /* NULL or signed out: USER_* empty */
    int https;                /* the request came over HTTPS (a trusted proxy said so) */
    /* The peer's address when the server is the app's front end (the peer
     * is no --trusted_proxy): X-Forwarded-For gets it appended and
     * X-Forwarded-Proto is the server's own. NULL: both as they came. */
    const char *front_end_peer;
} app_env_t;

/* Splits a request target into path and query (absolute-form targets lose
 * their scheme and authority, and an empty path of theirs is "/"). Never
 * fails: the path of another target may be empty. */
void cgi_split_target(const char *url, size_t len, const char **path, size_t *path_len,
                      const char **query, size_t *query_len);

/* Percent-decodes src into out (appending). Invalid escapes stay as they are. */
int cgi_percent_decode(buf_t *out, const char *src, size_t len);

/* Appends s (a part of a request target), with the bytes that may not
 * appear in a header or URL as they are (controls, space, non-ASCII, which
 * a client may send raw) percent-encoded. Returns 0, or -1 when memory
 * runs out. */
int cgi_escape_raw(buf_t *out, const char *s, size_t len);

/* The request's CGI/WSGI variables. path_info: the target's path,
 * percent-decoded (conn.c decodes it once, for routing too). */
int cgi_env_build(buf_t *out, uint32_t *count, const app_env_t *app, const http_request_t *req,
                  const char *path_info, size_t path_info_len, const char *remote_ip,
                  int remote_port, const char *request_log_id);

#endif
