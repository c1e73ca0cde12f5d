#include "cgi_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "http.h"
#include "ipc.h"

void cgi_split_target(const char *url, size_t len, const char **path, size_t *path_len,
                      const char **query, size_t *query_len)
{
    const char *p = url, *end = url + len;
    /* absolute-form: scheme "://" authority path */
    const char *colon = memchr(p, ':', len);
    if (len > 0 && *p != '/' && colon && colon + 2 < end && colon[1] == '/' && colon[2] == '/') {
        const char *slash = memchr(colon + 3, '/', (size_t)(end - colon - 3));
        const char *qm = memchr(colon + 3, '?', (size_t)(end - colon - 3));
        if (qm && (!slash || qm < slash))
            slash = qm;
        p = slash ? slash : end;
    }
    const char *q = memchr(p, '?', (size_t)(end - p));
    const char *path_end = q ? q : end;
    const char *hash = memchr(p, '#', (size_t)(path_end - p));
    *path = p;
    *path_len = (size_t)((hash ? hash : path_end) - p);
    /* "http://host" and "http://host?q": an empty path is "/" (RFC 9110
     * 4.2.3); an origin-form target always has one. */
    if (*path_len == 0 && p != url) {
        *path = "/";
        *path_len = 1;
    }
    if (q) {
        const char *qh = memchr(q + 1, '#', (size_t)(end - q - 1));
        *query = q + 1;
        *query_len = (size_t)((qh ? qh : end) - q - 1);
    } else {
        *query = "";
        *query_len = 0;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cgi_percent_decode(buf_t *out, const char *src, size_t len)
{
    if (buf_reserve(out, len) < 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%' && i + 2 < len) {
            int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = (char)(hi << 4 | lo);
                i += 2;
            }
        }
        buf_append(out, &c, 1);
    }
    return 0;
}

int cgi_escape_raw(buf_t *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int rc = c <= 0x20 || c >= 0x7f ? buf_printf(out, "%%%02X", c) : buf_append(out, s + i, 1);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int put(buf_t *out, uint32_t *count, const char *k, size_t klen, const char *v, size_t vlen)
{
    if (ipc_put_bytes(out, k, klen) < 0 || ipc_put_bytes(out, v, vlen) < 0)
        return -1;
    (*count)++;
    return 0;
}

static int puts_(buf_t *out, uint32_t *count, const char *k, const char *v)
{
    return put(out, count, k, strlen(k), v, strlen(v));
}

/* Fields that never become HTTP_* variables: those App Engine removed
 * from every request before the app saw it (the python27 runtime's
 * "Request headers"; dev_appserver's IGNORED_REQUEST_HEADERS): the
 * connection's own hop-by-hop fields, the proxy's credentials, and
 * Accept-Encoding, since the server compresses (RT6), Transfer-Encoding
 * also contradicting the de-chunked body's CONTENT_LENGTH. Then Proxy
 * ("httpoxy"): as HTTP_PROXY in the request's os.environ it would name a
 * proxy to the libraries that read that variable for their own requests.
 * And Content-Type and Content-Length, which are CONTENT_TYPE and
 * CONTENT_LENGTH. */
static const char *const NOT_FORWARDED[] = {
    "accept-encoding", "connection",        "keep-alive", "proxy-authorization", "te",
    "trailer",         "transfer-encoding", "proxy",      "content-type",        "content-length"};

/* Client-supplied X-AppEngine-* headers are dropped: apps trust them as set
 * by the platform (task queue names, cron, country). So are X-Google-*
 * ones, a pattern App Engine reserved for Google and removed from requests.
 * Names with '_' are dropped too, since HTTP_X_Y could then be spoofed by
 * "X_Y". So are NOT_FORWARDED's. */
static int header_forwarded(const app_env_t *app, const char *name, size_t n)
{
    if (app->front_end_peer && ((n == 15 && strncasecmp(name, "x-forwarded-for", 15) == 0) ||
                                (n == 17 && strncasecmp(name, "x-forwarded-proto", 17) == 0)))
        return 0; /* put_forwarded writes them */
    if (n >= 11 && strncasecmp(name, "x-appengine", 11) == 0)
        return 0;
    if (n > 9 && strncasecmp(name, "x-google-", 9) == 0)
        return 0;
    if (memchr(name, '_', n))
        return 0;
    for (size_t i = 0; i < sizeof NOT_FORWARDED / sizeof *NOT_FORWARDED; i++)
        /* (a shorter entry differs at its NUL) */
        if (strncasecmp(name, NOT_FORWARDED[i], n) == 0 && NOT_FORWARDED[i][n] == '\0')
            return 0;
    return 1;
}

/* Orders header indices by name (case-insensitive), then by place: the
 * lines of one name end up together, in the order they came. */
static int by_name_then_place(const void *a, const void *b, void *arg)
{
    const http_request_t *req = arg;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    const http_header_t *x = &req->headers[i], *y = &req->headers[j];
    if (x->name_len != y->name_len)
        return x->name_len < y->name_len ? -1 : 1;
    int c = strncasecmp(http_header_name(req, x), http_header_name(req, y), x->name_len);
    if (c)
        return c;
    return i < j ? -1 : i > j;
}

/* An entry of add_headers' order whose field is not forwarded has this bit
 * set; the rest is still its index, which keeps the order searchable. */
#define DROPPED ((size_t)1 << (sizeof(size_t) * 8 - 1))

/* Marks (DROPPED) the entries of order, sorted by by_name_then_place,
 * whose header is named name. */
static void drop_named(const http_request_t *req, size_t *order, size_t n, const char *name,
                       size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* the first entry not below name */
        size_t mid = lo + (hi - lo) / 2;
        const http_header_t *h = &req->headers[order[mid] & ~DROPPED];
        int c = h->name_len != len ? (h->name_len < len ? -1 : 1)
                                   : strncasecmp(http_header_name(req, h), name, len);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Named before (a Connection header may repeat a name thousands of
     * times): its entries are marked already, and walking them again for
     * each repeat cost the master O(options x fields), 0.3 s of its loop
     * for a 64 KB head. */
    if (lo < n && (order[lo] & DROPPED))
        return;
    for (; lo < n; lo++) {
        const http_header_t *h = &req->headers[order[lo] & ~DROPPED];
        if (h->name_len != len || strncasecmp(http_header_name(req, h), name, len) != 0)
            break;
        order[lo] |= DROPPED;
    }
}

/* The fields a Connection header names are the client's connection's
 * alone, not forwarded (RFC 9110 7.6.1), as App Engine's front end did not
 * forward them: Connection: close, X-Token with an X-Token field does not
 * give the app HTTP_X_TOKEN. */
static void drop_connection_options(const http_request_t *req, size_t *order, size_t n)
{
    size_t pos = 0, len;
    const char *v;
    while ((v = http_request_header_next(req, "connection", &pos, &len))) {
        for (size_t i = 0; i < len;) {
            while (i < len && (v[i] == ',' || v[i] == ' ' || v[i] == '\t'))
                i++;
            size_t start = i;
            while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
                i++;
            if (i > start)
                drop_named(req, order, n, v + start, i - start);
        }
    }
}

/* One HTTP_* variable per header name, its lines joined. Sorted rather
 * than each header looked for among the others: a head of 64 KB holds
 * some 9000 fields, and that search cost the master 0.4 s of its one
 * event loop per request. */
static int add_headers(buf_t *out, uint32_t *count, const app_env_t *app, const http_request_t *req)
{
    if (req->n_headers == 0)
        return 0;
    /* A usual head fits on the stack: no allocation per request. */
    size_t local[64];
    size_t *order = req->n_headers <= sizeof local / sizeof *local
                        ? local
                        : malloc(req->n_headers * sizeof *order);
    if (!order)
        return -1;
    char key[300];
    size_t n = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        const http_header_t *h = &req->headers[i];
        if (h->value_off != UINT32_MAX &&
            header_forwarded(app, http_header_name(req, h), h->name_len) &&
            h->name_len + 5 < sizeof key)
            order[n++] = i;
    }
    qsort_r(order, n, sizeof *order, by_name_then_place, (void *)req);
    drop_connection_options(req, order, n);
    buf_t val = BUF_INIT;
    int rc = 0;
    for (size_t g = 0, next; g < n && rc == 0; g = next) {
        /* A name's entries are marked alike, and names differ across groups. */
        if (order[g] & DROPPED) {
            next = g + 1;
            continue;
        }
        const http_header_t *h = &req->headers[order[g]];
        const char *name = http_header_name(req, h);
        memcpy(key, "HTTP_", 5);
        for (size_t k = 0; k < h->name_len; k++) {
            char c = name[k];
            key[5 + k] = c == '-' ? '_' : (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
        }
        size_t klen = 5 + h->name_len;
        int is_cookie = h->name_len == 6 && strncasecmp(name, "cookie", 6) == 0;
        buf_reset(&val);
        buf_append(&val, http_header_value(req, h), h->value_len);
        for (next = g + 1; next < n; next++) {
            const http_header_t *o = &req->headers[order[next] & ~DROPPED];
            if (o->name_len != h->name_len ||
                strncasecmp(http_header_name(req, o), name, h->name_len) != 0)
                break;
            /* ", " as App Engine's front end and dev_appserver joined
             * them; a cookie string's own separator for Cookie. */
            buf_append(&val, is_cookie ? "; " : ", ", 2);
            buf_append(&val, http_header_value(req, o), o->value_len);
        }
        rc = put(out, count, key, klen, buf_ptr(&val), val.len);
    }
    buf_free(&val);
    if (order != local)
        free(order);
    return rc;
}

/* As a front end, App Engine's among them, tells the app behind it: the
 * client's X-Forwarded-For with the address it came from appended, and
 * the scheme it was reached by. A client's own X-Forwarded-Proto would
 * otherwise pass for the truth to apps that read it (werkzeug's ProxyFix,
 * Django's SECURE_PROXY_SSL_HEADER, as App Engine's python3 guides set
 * them up), and its X-Forwarded-For would name whoever it liked last. */
static int put_forwarded(buf_t *out, uint32_t *count, const app_env_t *app,
                         const http_request_t *req)
{
    if (!app->front_end_peer)
        return 0;
    const char *proto = app->https ? "https" : "http";
    if (!http_request_header(req, "x-forwarded-for", NULL)) /* the usual case: no copy */
        return puts_(out, count, "HTTP_X_FORWARDED_FOR", app->front_end_peer) |
               puts_(out, count, "HTTP_X_FORWARDED_PROTO", proto);
    buf_t val = BUF_INIT;
    size_t pos = 0, len;
    const char *v;
    int rc = 0;
    while ((v = http_request_header_next(req, "x-forwarded-for", &pos, &len)))
        if (len)
            rc |= buf_append(&val, v, len) | buf_append(&val, ", ", 2);
    rc |= buf_append(&val, app->front_end_peer, strlen(app->front_end_peer));
    if (rc == 0)
        rc = put(out, count, "HTTP_X_FORWARDED_FOR", 20, buf_ptr(&val), val.len);
    buf_free(&val);
    return rc | puts_(out, count, "HTTP_X_FORWARDED_PROTO", proto);
}

/* SERVER_NAME/SERVER_PORT follow the Host header, as dev_appserver did,
 * unless it names no host (http_host_usable): then, as in the Locations
 * the server writes, the address the client reached, which the app's
 * absolute URLs (wsgiref.util.request_uri) can name. */
static void server_name_port(const app_env_t *app, const http_request_t *req, char *name,
                             size_t name_sz, char *port, size_t port_sz)
{
    size_t hlen = 0;
    const char *host = http_request_header(req, "host", &hlen);
    buf_format_uint(port, (unsigned)app->listen_port);
    if (!http_host_usable(host, hlen) || hlen >= name_sz) {
        /* An IPv6 address in brackets, as in a Host header (RFC 3875
         * 4.1.14): URLs are built from it. */
        snprintf(name, name_sz, strchr(app->listen_host, ':') ? "[%s]" : "%s", app->listen_host);
        return;
    }
    const char *end = host + hlen;
    const char *colon = NULL;
    if (host[0] == '[') {
        const char *rb = memchr(host, ']', hlen);
        if (rb && rb + 1 < end && rb[1] == ':')
            colon = rb + 1;
    } else {
        colon = memchr(host, ':', hlen);
    }
    size_t nlen = colon ? (size_t)(colon - host) : hlen;
    memcpy(name, host, nlen);
    name[nlen] = '\0';
    if (colon && (size_t)(end - colon - 1) < port_sz && end - colon > 1) {
        memcpy(port, colon + 1, (size_t)(end - colon - 1));
        port[end - colon - 1] = '\0';
    }
}

/* The variables App Engine's python3 runtimes (second generation) set
 * instead of python27's, as dev_appserver set them for such apps: GAE_ENV
 * "localdev", by which apps tell a development server from production
 * ("standard"), and PORT. After env_variables, which may not override them
 * there.
 * The pool adds GAE_INSTANCE beside INSTANCE_ID. */
static int put_python3_vars(buf_t *out, uint32_t *count, const app_env_t *app)
{
    if (!app->runtime || !config_is_python3(app->runtime))
        return 0;
    /* The project is the app id without its partition ("s~"). */
    const char *tilde = strchr(app->app_id, '~');
    const char *project = tilde ? tilde + 1 : app->app_id;
    size_t major_len = strcspn(app->version_id, ".");
    int rc = 0;
    rc |= puts_(out, count, "GAE_ENV", "localdev");
    rc |= puts_(out, count, "GAE_APPLICATION", app->app_id);
    rc |= puts_(out, count, "GOOGLE_CLOUD_PROJECT", project);
    rc |= puts_(out, count, "GAE_RUNTIME", app->runtime);
    rc |= puts_(out, count, "GAE_SERVICE", app->service);
    rc |= put(out, count, "GAE_VERSION", 11, app->version_id, major_len);
    /* The port the app's own server listened on there; here gaelic's, so
     * that code reading it (app.run(port=...), URLs) finds one. */
    char port[BUF_UINT_SIZE];
    buf_format_uint(port, (unsigned)app->listen_port);
    rc |= puts_(out, count, "PORT", port);
    return rc;
}

int cgi_env_build(buf_t *out, uint32_t *count, const app_env_t *app, const http_request_t *req,
                  const char *path_info, size_t path_info_len, const char *remote_ip,
                  int remote_port, const char *request_log_id)
{
    *count = 0;
    /* The python27 runtime's own variable (dev_appserver's too), here
     * 'python' for the 2.5 runtime's apps: libraries tell the sandbox by it,
     * google.appengine.ext.webapp its implementation (webapp2 or webapp
     * 1.x); env_variables may override it, as there. App Engine's python3
     * runtimes had none. */
    if (app->runtime &&
        (strcmp(app->runtime, "python27") == 0 || strcmp(app->runtime, "python") == 0) &&
        puts_(out, count, "APPENGINE_RUNTIME", app->runtime) < 0)
        return -1;
    for (size_t i = 0; i < app->n_vars; i++)
        if (puts_(out, count, app->vars[i].key, app->vars[i].value) < 0)
            return -1;

    const char *path, *query;
    size_t path_len, query_len;
    cgi_split_target(http_request_url(req), req->url_len, &path, &path_len, &query, &query_len);
    char proto[HTTP_VERSION_TEXT_SIZE], name[HTTP_HOST_MAX + 1], port[BUF_UINT_SIZE],
        rport[BUF_UINT_SIZE], clen[BUF_UINT_SIZE];
    http_version_text(req, proto);
    server_name_port(app, req, name, sizeof name, port, sizeof port);
    buf_format_uint(rport, (unsigned)remote_port);
    size_t ctlen = 0;
    const char *ctype = http_request_header(req, "content-type", &ctlen);
    /* A chunked body is de-chunked, and its Transfer-Encoding not passed
     * on: its length is said even when it is 0. */
    int has_len =
        req->body.len > 0 || req->has_te || http_request_header(req, "content-length", NULL);
    buf_format_uint(clen, req->body.len);

    int rc = 0;
    rc |= puts_(out, count, "REQUEST_METHOD", http_method_name(req->method));
    rc |= puts_(out, count, "SCRIPT_NAME", "");
    rc |= put(out, count, "PATH_INFO", 9, path_info, path_info_len);
    rc |= put(out, count, "QUERY_STRING", 12, query, query_len);
    rc |= put(out, count, "REQUEST_URI", 11, http_request_url(req), req->url_len);
    if (ctype)
        rc |= put(out, count, "CONTENT_TYPE", 12, ctype, ctlen);
    if (has_len)
        rc |= puts_(out, count, "CONTENT_LENGTH", clen);
    rc |= puts_(out, count, "SERVER_NAME", name);
    rc |= puts_(out, count, "SERVER_PORT", port);
    rc |= puts_(out, count, "SERVER_PROTOCOL", proto);
    rc |= puts_(out, count, "REMOTE_ADDR", remote_ip);
    rc |= puts_(out, count, "REMOTE_PORT", rport);
    rc |= puts_(out, count, "HTTPS", app->https ? "on" : "off");
    rc |= puts_(out, count, "GATEWAY_INTERFACE", "CGI/1.1");
    rc |= puts_(out, count, "SERVER_SOFTWARE", GAELIC_SERVER_SOFTWARE);
    rc |= puts_(out, count, "APPLICATION_ID", app->app_id);
    rc |= puts_(out, count, "CURRENT_VERSION_ID", app->version_id);
    rc |= puts_(out, count, "AUTH_DOMAIN", LOGIN_AUTH_DOMAIN);
    rc |= puts_(out, count, "DEFAULT_VERSION_HOSTNAME", app->default_hostname);
    rc |= puts_(out, count, "REQUEST_LOG_ID", request_log_id);
    /* python27 had an 8-digit hex hash of the request beside its log id
     * (appstats and task libraries key on it); Google's own python3
     * compatibility runtime derives it as the CRC-32 of the log id. */
    char id_hash[9];
    static const char hex[] = "0123456789ABCDEF";
    unsigned long crc = crc32(0L, (const Bytef *)request_log_id, (uInt)strlen(request_log_id));
    for (int i = 0; i < 8; i++)
        id_hash[i] = hex[(crc >> (28 - 4 * i)) & 0xf];
    id_hash[8] = '\0';
    rc |= puts_(out, count, "REQUEST_ID_HASH", id_hash);
    /* The service (module, as python27 named it) app.yaml names. */
    rc |= puts_(out, count, "CURRENT_MODULE_ID", app->service);
    /* App Engine's instances ran in UTC, and said so (TZ=UTC is also the
     * instances' process environment, for C's localtime). */
    rc |= puts_(out, count, "TZ", "UTC");
    const login_user_t *u = app->user && app->user->signed_in ? app->user : NULL;
    rc |= puts_(out, count, "USER_EMAIL", u ? u->email : "");
    rc |= puts_(out, count, "USER_ID", u ? u->user_id : "");
    rc |= puts_(out, count, "USER_NICKNAME", u ? u->nickname : "");
    rc |= puts_(out, count, "USER_IS_ADMIN", u && u->admin ? "1" : "0");
    /* A Google Apps domain's users had theirs; gmail.com accounts none. */
    rc |= puts_(out, count, "USER_ORGANIZATION", "");
    /* The client's country as App Engine's front end found it; "ZZ" is
     * its "unknown", which dev_appserver always sent. Client-sent
     * X-AppEngine-* headers never reach the app (header_forwarded). */
    rc |= puts_(out, count, "HTTP_X_APPENGINE_COUNTRY", "ZZ");
    rc |= put_python3_vars(out, count, app);
    if (rc)
        return -1;
    if (put_forwarded(out, count, app, req) < 0)
        return -1;
    return add_headers(out, count, app, req);
}
