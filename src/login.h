/* Development sign-in (SV4), compatible with dev_appserver: the
 * /_ah/login page and /_ah/logout, the dev_appserver_login cookie
 * ("email:True|False:user_id") and the answers for login: handlers.
 * Pure functions over buffers: conn.c does the I/O. */
#ifndef GAELIC_LOGIN_H
#define GAELIC_LOGIN_H

#include <stddef.h>

#include "buf.h"
#include "http.h"

#define LOGIN_COOKIE "dev_appserver_login"
#define LOGIN_AUTH_DOMAIN "gmail.com"

typedef struct {
    int signed_in;
    int admin;
    char email[256];
    char user_id[32];
    char nickname[256]; /* email without "@gmail.com", else the email */
} login_user_t;

/* dev_appserver's 21-digit decimal id for an email (case-insensitive). */
void login_user_id(const char *email, size_t len, char out[32]);

/* Fills *u from one cookie value ("email:True:id", quotes allowed).
 * Returns 1 when signed in; 0 (and a signed-out *u) when invalid. */
int login_parse_value(const char *v, size_t len, login_user_t *u);

/* The user of a request, from its Cookie headers. Returns u->signed_in. */
int login_from_request(const http_request_t *req, login_user_t *u);

/* 1 when target may be followed after sign-in: a path ("/x", not "//x")
 * or an http(s) URL on host (the request's Host header value), without
 * controls, spaces or backslashes (bytes above ASCII are allowed: the
 * caller escapes them). */
int login_continue_ok(const char *target, size_t len, const char *host, size_t host_len);

/* 1 for /_ah/login, 2 for /_ah/logout, else 0. */
int login_path(const char *path, size_t len);

/* Answers a /_ah/login or /_ah/logout request (kind from login_path) into
 * out; host is the Host header (or the server's host:port). Returns the
 * status, or -1 when memory runs out. */
int login_serve(buf_t *out, int kind, const http_request_t *req, const char *host, size_t host_len,
                int keep_alive, int http10, int head_only);

/* 302 to /_ah/login?continue=<http://host + the request's target>
 * (https:// when the request came over HTTPS, so that sign-in comes back
 * to the scheme the client used). */
int login_redirect(buf_t *out, const http_request_t *req, const char *host, size_t host_len,
                   int https, int keep_alive, int http10, int head_only);

/* Percent-encodes all but unreserved characters and '/' (appending). */
int login_quote(buf_t *out, const char *s, size_t len);

#endif
