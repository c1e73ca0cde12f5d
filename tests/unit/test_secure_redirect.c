/* secure: handlers: trusted proxies, the request's scheme from
 * X-Forwarded-Proto, Host checks and the redirect itself. */
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "secure_redirect.h"
#include "unit.h"

static http_limits_t limits = {
    .max_header_bytes = 8192, .max_url_bytes = 4096, .max_body_bytes = 1 << 20};

/* Parses one raw request into r (which the caller frees). */
static void parse(http_request_t *r, const char *raw)
{
    http_request_init(r, &limits);
    size_t used;
    CHECK(http_request_feed(r, raw, strlen(raw), &used) == HTTP_DONE);
}

/* The response head written by secure_redirect, NUL-terminated. */
static int redirect_code(const char *raw, secure_t mode, int https, int code, buf_t *out)
{
    http_request_t r;
    parse(&r, raw);
    size_t hlen = 0;
    const char *host = http_request_header(&r, "host", &hlen);
    CHECK(host != NULL);
    buf_reset(out);
    int status = secure_redirect(out, mode, code, https, &r, host, hlen, 1, 0);
    buf_append(out, "", 1);
    http_request_free(&r);
    return status;
}

static int redirect(const char *raw, secure_t mode, int https, buf_t *out)
{
    return redirect_code(raw, mode, https, 0, out);
}

static void test_trusted_proxies(void)
{
    trusted_proxies_t tp;
    char err[128];
    CHECK(trusted_proxies_parse(&tp, NULL, err, sizeof err) == 0 && tp.n == 0);
    CHECK(trusted_proxies_parse(&tp, "", err, sizeof err) == 0 && tp.n == 0);
    CHECK(trusted_proxies_parse(&tp, "127.0.0.1,::1,10.0.0.7", err, sizeof err) == 0);
    CHECK(tp.n == 3);
    CHECK(trusted_proxies_parse(&tp, "127.0.0.1,,::1", err, sizeof err) == -1);
    CHECK(trusted_proxies_parse(&tp, "localhost", err, sizeof err) == -1);
    CHECK(strstr(err, "'localhost'") != NULL);
    CHECK(trusted_proxies_parse(&tp, "10.0.0.1/8", err, sizeof err) == -1);
    char many[512] = "";
    for (int i = 0; i <= TRUSTED_PROXIES_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s10.0.0.%d", i ? "," : "", i);
    CHECK(trusted_proxies_parse(&tp, many, err, sizeof err) == -1);
}

static int is_https(const char *raw, const char *proxies, const char *peer)
{
    trusted_proxies_t tp;
    char err[128];
    CHECK(trusted_proxies_parse(&tp, proxies, err, sizeof err) == 0);
    http_request_t r;
    parse(&r, raw);
    int https = secure_request_is_https(&r, &tp, peer);
    http_request_free(&r);
    return https;
}

static void test_scheme(void)
{
    const char *https = "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\n\r\n";
    CHECK(is_https(https, "127.0.0.1", "127.0.0.1") == 1);
    CHECK(is_https(https, "::ffff:127.0.0.1", "127.0.0.1") == 1); /* same address */
    CHECK(is_https(https, "127.0.0.1", "::ffff:127.0.0.1") == 1);
    CHECK(is_https(https, "::1", "::1") == 1);
    CHECK(is_https(https, NULL, "127.0.0.1") == 0); /* nobody trusted */
    CHECK(is_https(https, "10.0.0.1", "127.0.0.1") == 0);
    CHECK(is_https("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "127.0.0.1", "127.0.0.1") == 0);
    CHECK(is_https("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: HTTPS \r\n\r\n", "127.0.0.1",
                   "127.0.0.1") == 1);
    /* The nearest proxy's value counts: the last element of the last header. */
    CHECK(is_https("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https, http\r\n\r\n",
                   "127.0.0.1", "127.0.0.1") == 0);
    CHECK(is_https("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: http,https\r\n\r\n",
                   "127.0.0.1", "127.0.0.1") == 1);
    CHECK(is_https("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Proto: "
                   "http\r\n\r\n",
                   "127.0.0.1", "127.0.0.1") == 0);
    CHECK(is_https("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: httpsx\r\n\r\n", "127.0.0.1",
                   "127.0.0.1") == 0);
}

static void test_host_valid(void)
{
    CHECK(secure_host_valid("example.com", 11));
    CHECK(secure_host_valid("a-b.example.com:8443", 20));
    CHECK(secure_host_valid("[::1]:80", 8));
    CHECK(!secure_host_valid(NULL, 0));
    CHECK(!secure_host_valid("", 0));
    CHECK(!secure_host_valid("a b", 3));
    CHECK(!secure_host_valid(":80", 3));         /* a port with no host */
    CHECK(!secure_host_valid("evil.com;y", 10)); /* a sub-delim, which the parser takes */
    CHECK(!secure_host_valid("evil.com/x", 10));
    CHECK(!secure_host_valid("user@evil.com", 13));
    CHECK(!secure_host_valid("a\r\nSet-Cookie: x", 16));
    /* strchr finds the NUL that ends its set: a NUL byte is no host byte. */
    CHECK(!secure_host_valid("evil.com\0x", 10));
    char longhost[300];
    memset(longhost, 'a', sizeof longhost);
    CHECK(!secure_host_valid(longhost, sizeof longhost));
}

static void test_redirects(void)
{
    buf_t out = BUF_INIT;
    const char *get = "GET /p/a?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\n\r\n";
    CHECK(redirect(get, SECURE_ALWAYS, 0, &out) == 302);
    CHECK(strncmp(buf_ptr(&out), "HTTP/1.1 302 Found\r\n", 20) == 0);
    CHECK(strstr(buf_ptr(&out), "\r\nLocation: https://example.com/p/a?x=1&y=2\r\n") != NULL);
    CHECK(strstr(buf_ptr(&out), "\r\nContent-Length: 0\r\n") != NULL);
    CHECK(redirect(get, SECURE_ALWAYS, 1, &out) == 0);
    CHECK(redirect(get, SECURE_NEVER, 0, &out) == 0);
    CHECK(redirect(get, SECURE_OPTIONAL, 0, &out) == 0);
    CHECK(redirect(get, SECURE_OPTIONAL, 1, &out) == 0);
    CHECK(redirect(get, SECURE_NEVER, 1, &out) == 302);
    CHECK(strstr(buf_ptr(&out), "\r\nLocation: http://example.com/p/a?x=1&y=2\r\n") != NULL);
    CHECK(redirect("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", SECURE_ALWAYS, 0, &out) == 302);
    /* Other methods keep their method and body. */
    CHECK(redirect("POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx", SECURE_ALWAYS, 0,
                   &out) == 307);
    CHECK(strncmp(buf_ptr(&out), "HTTP/1.1 307 Temporary Redirect\r\n", 33) == 0);
    CHECK(strstr(buf_ptr(&out), "\r\nLocation: https://h/f\r\n") != NULL);
    /* A handler's redirect_http_response_code is the status for every
     * method, as App Engine used it. */
    CHECK(redirect_code(get, SECURE_ALWAYS, 0, 301, &out) == 301);
    CHECK(strncmp(buf_ptr(&out), "HTTP/1.1 301 Moved Permanently\r\n", 32) == 0);
    CHECK(strstr(buf_ptr(&out), "\r\nLocation: https://example.com/p/a?x=1&y=2\r\n") != NULL);
    CHECK(redirect_code("POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx", SECURE_ALWAYS,
                        0, 303, &out) == 303);
    CHECK(redirect_code(get, SECURE_NEVER, 1, 307, &out) == 307);
    CHECK(redirect_code(get, SECURE_ALWAYS, 1, 301, &out) == 0);
    /* Bytes that do not belong in a header are percent-encoded. */
    CHECK(redirect("GET /caf\xc3\xa9?q=%7f HTTP/1.1\r\nHost: h\r\n\r\n", SECURE_ALWAYS, 0, &out) ==
          302);
    CHECK(strstr(buf_ptr(&out), "\r\nLocation: https://h/caf%C3%A9?q=%7f\r\n") != NULL);
    /* An absolute-form target: its authority is the host (RFC 9112 3.2.2),
     * its path and query follow. */
    CHECK(redirect("GET http://other/z?k HTTP/1.1\r\nHost: h\r\n\r\n", SECURE_ALWAYS, 0, &out) ==
          302);
    CHECK(strstr(buf_ptr(&out), "\r\nLocation: https://other/z?k\r\n") != NULL);
    buf_free(&out);
}

int main(void)
{
    test_trusted_proxies();
    test_scheme();
    test_host_valid();
    test_redirects();
    UNIT_DONE();
}
