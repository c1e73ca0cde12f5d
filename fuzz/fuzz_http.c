/* libFuzzer target: the request path of the master. The input is split
 * into reads at positions taken from its first byte, then fed through the
 * parser like a connection would, pipelined requests included; each parsed
 * request also goes through the environment builder, and is routed and
 * answered as conn.c does for what the master answers itself: the sign-in
 * pages, secure: and login: redirects, and static files of the app in
 * FUZZ_STATIC_APP (Range, conditional requests, gzip). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgi_env.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "login.h"
#include "router.h"
#include "secure_redirect.h"
#include "static.h"

/* A bound on held bodies below the body limit, so that both refusals are
 * reached; every byte counted must be given back once the request goes. */
static size_t held;
static const http_limits_t limits = {.max_header_bytes = 4096,
                                     .max_url_bytes = 1024,
                                     .max_body_bytes = 65536,
                                     .held = &held,
                                     .max_held = 20000};

static void build_env(const http_request_t *r)
{
    static const env_var_t vars[] = {{"A", "1"}};
    app_env_t app = {.app_id = "app",
                     .version_id = "1.1",
                     .default_hostname = "127.0.0.1:8080",
                     .runtime = "python27",
                     .service = "default",
                     .listen_host = "127.0.0.1",
                     .listen_port = 8080,
                     .vars = vars,
                     .n_vars = 1};
    buf_t env = BUF_INIT, path_info = BUF_INIT;
    const char *path, *query;
    size_t path_len, query_len;
    uint32_t n;
    /* As conn.c builds it: the path decoded once. */
    cgi_split_target(http_request_url(r), r->url_len, &path, &path_len, &query, &query_len);
    if (cgi_percent_decode(&path_info, path, path_len) == 0)
        cgi_env_build(&env, &n, &app, r, buf_ptr(&path_info), path_info.len, "127.0.0.1", 1234,
                      "0123");
    buf_free(&path_info);
    buf_free(&env);
}

static app_config_t *cfg;
static trusted_proxies_t proxies;

static void load_app(void)
{
    char err[512];
    /* A refused path's warning per input would slow the fuzzer down. */
    log_min_level = LOG_CRITICAL + 1;
    if (config_load(FUZZ_STATIC_APP, &cfg, err, sizeof err) < 0 ||
        static_init(cfg->root, NULL) < 0 ||
        trusted_proxies_parse(&proxies, "127.0.0.1", err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_http: %s: %s\n", FUZZ_STATIC_APP, err);
        abort();
    }
}

/* A handler's answer, as route_request gives it. */
static void answer_handler(const http_request_t *r, route_t *route, buf_t *out)
{
    const handler_t *h = route->handler;
    /* The host conn.c's request_host names: the Host, else the server's. */
    size_t host_len = 0;
    const char *host = http_request_header(r, "host", &host_len);
    if (!secure_host_valid(host, host_len)) {
        host = "127.0.0.1:8080";
        host_len = strlen(host);
    }
    int https = secure_request_is_https(r, &proxies, "127.0.0.1");
    if (h->secure != SECURE_OPTIONAL &&
        secure_redirect(out, h->secure, h->redirect_code, https, r, host, host_len, 1, 0) != 0)
        return;
    login_user_t user;
    login_from_request(r, &user);
    if (h->login != LOGIN_OPTIONAL && !user.signed_in) {
        login_redirect(out, r, host, host_len, https, 1, 0, 0);
        return;
    }
    if (h->kind == HANDLER_SCRIPT)
        return;
    static_result_t res;
    static_serve(cfg, route, r, 1, http_request_is_head(r), 0, out, &res);
    if (res.fd >= 0)
        close(res.fd);
}

/* handle_request's routing of the decoded path. */
static void route(const http_request_t *r)
{
    const char *path, *query;
    size_t path_len, query_len, host_len = 0;
    cgi_split_target(http_request_url(r), r->url_len, &path, &path_len, &query, &query_len);
    const char *host = http_request_header(r, "host", &host_len);
    buf_t decoded = BUF_INIT, out = BUF_INIT;
    if (path_len == 0 || path[0] != '/' || cgi_percent_decode(&decoded, path, path_len) < 0 ||
        memchr(buf_ptr(&decoded), '\0', decoded.len))
        goto done;
    size_t normal_len = router_normalize_path(buf_ptr(&decoded), decoded.len);
    if (normal_len < decoded.len) {
        login_quote(&out, buf_ptr(&decoded), normal_len);
        cgi_escape_raw(&out, query, query_len);
        goto done;
    }
    int kind = login_path(buf_ptr(&decoded), decoded.len);
    if (kind) {
        login_serve(&out, kind, r, host ? host : "", host_len, 1, 0, 0);
        goto done;
    }
    route_t rt;
    if (static_route(cfg, buf_ptr(&decoded), decoded.len, &rt) > 0) {
        answer_handler(r, &rt, &out);
        route_free(&rt);
    }
done:
    buf_free(&decoded);
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cfg)
        load_app();
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 17 + 1;
    data++;
    size--;
    http_request_t r;
    http_request_init(&r, &limits);
    buf_t pending = BUF_INIT;
    size_t pos = 0;
    int done = 0;
    while (pos < size && !done) {
        size_t n = size - pos < step ? size - pos : step;
        buf_append(&pending, data + pos, n);
        pos += n;
        while (pending.len > 0) {
            size_t used = 0;
            http_parse_t res = http_request_feed(&r, buf_ptr(&pending), pending.len, &used);
            buf_consume(&pending, used);
            if (res == HTTP_ERROR) {
                done = 1;
                break;
            }
            if (res == HTTP_MORE)
                break;
            build_env(&r);
            route(&r);
            http_request_reset(&r);
        }
    }
    buf_free(&pending);
    http_request_free(&r);
    if (held != 0)
        abort();
    return 0;
}
