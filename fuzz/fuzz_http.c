/* libFuzzer target: the request path of the master. The input is split
 * into reads at positions taken from its first byte, then fed through the
 * parser like a connection would, pipelined requests included; each parsed
 * request also goes through the environment builder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgi_env.h"
#include "http.h"

/* A bound on held bodies below the body limit, so that both refusals are
 * reached; every byte counted must be given back once the request goes. */
static size_t bodies_held;
static const http_limits_t limits = {.max_header_bytes = 4096,
                                     .max_url_bytes = 1024,
                                     .max_body_bytes = 65536,
                                     .bodies_held = &bodies_held,
                                     .max_bodies_held = 20000};

static void build_env(const http_request_t *r)
{
    static const env_var_t vars[] = {{"A", "1"}};
    app_env_t app = {.app_id = "app",
                     .version_id = "1.1",
                     .default_hostname = "127.0.0.1:8080",
                     .runtime = "python27",
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
            http_request_reset(&r);
        }
    }
    buf_free(&pending);
    http_request_free(&r);
    if (bodies_held != 0)
        abort();
    return 0;
}
