/* Sign-in (SV4): cookie parsing, continue validation, user ids, quoting and
 * the answers of /_ah/login. */
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "login.h"
#include "md5.h"
#include "unit.h"

static http_limits_t limits = {
    .max_header_bytes = 8192, .max_url_bytes = 4096, .max_body_bytes = 1 << 20};

static int parse(const char *v, login_user_t *u)
{
    return login_parse_value(v, strlen(v), u);
}

static void test_cookie_values(void)
{
    login_user_t u;
    CHECK(parse("a@example.com:False:123", &u) == 1);
    CHECK_STR(u.email, "a@example.com");
    CHECK_STR(u.user_id, "123");
    CHECK_STR(u.nickname, "a@example.com");
    CHECK(u.admin == 0 && u.signed_in == 1);
    CHECK(parse("\"b@gmail.com:True:9\"", &u) == 1);
    CHECK_STR(u.email, "b@gmail.com");
    CHECK_STR(u.nickname, "b");
    CHECK(u.admin == 1);
    CHECK(parse(" c@example.com:true: ", &u) == 1); /* blanks around are tolerated */
    CHECK(parse("c@example.com:true:1 2", &u) == 0);
    CHECK(parse("c@example.com:true:", &u) == 1);
    CHECK(strlen(u.user_id) == 21);
    const char *bad[] = {"",
                         "\"\"",
                         "x",
                         "x:True:1",
                         "a@example.com",
                         "a@example.com:True",
                         ":True:1",
                         "a@example.com:yes:1",
                         "a@example.com:True:1a",
                         "a@example.com:True:1:2",
                         "a b@example.com:True:1",
                         "\"a@example.com:True:1",
                         "a@example.com:True:123456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(parse(bad[i], &u) == 0);
        CHECK(u.signed_in == 0 && u.email[0] == '\0');
    }
    char longv[400];
    memset(longv, 'x', 300);
    strcpy(longv + 300, "@e.com:True:1");
    CHECK(parse(longv, &u) == 0);
}

static void test_user_id(void)
{
    char a[32], b[32], c[32];
    login_user_id("x@example.com", 13, a);
    login_user_id("X@Example.com", 13, b);
    login_user_id("y@example.com", 13, c);
    CHECK(strlen(a) == 21);
    CHECK_STR(a, b);
    CHECK(strcmp(a, c) != 0);
    /* dev_appserver's ids: its well-known test@example.com one, and one
     * whose MD5 bytes give 3-digit numbers ("%02d" of 100-255). */
    login_user_id("test@example.com", 16, a);
    CHECK_STR(a, "185804764220139124118");
    login_user_id("Alice@Example.com", 17, a);
    CHECK_STR(a, "119396248204105164240");
}

static void test_md5(void)
{
    /* RFC 1321's test suite, which spans one block, two, and several. */
    static const char *const cases[][2] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        unsigned char d[16];
        char hex[33];
        md5(cases[i][0], strlen(cases[i][0]), d);
        for (int j = 0; j < 16; j++)
            snprintf(hex + 2 * j, 3, "%02x", d[j]);
        CHECK_STR(hex, cases[i][1]);
    }
}

static int ok(const char *t)
{
    return login_continue_ok(t, strlen(t), "h:8080", 6);
}

static void test_continue(void)
{
    CHECK(ok("/"));
    CHECK(ok("/a/b?c=d#e"));
    CHECK(ok("http://h:8080"));
    CHECK(ok("http://H:8080/x"));
    CHECK(ok("https://h:8080?q"));
    CHECK(!ok(""));
    CHECK(!ok("//evil.com/"));
    CHECK(!ok("/\\evil.com"));
    CHECK(!ok("http://evil.com/"));
    CHECK(!ok("http://h:8080.evil.com/"));
    CHECK(!ok("http://h:8080@evil.com/"));
    CHECK(!ok("http://h:80801/"));
    CHECK(!ok("javascript:alert(1)"));
    CHECK(!ok("ftp://h:8080/"));
    CHECK(!ok("relative"));
    CHECK(!ok("/a\r\nX: y"));
    CHECK(!ok("/a b"));
    CHECK(!ok("/a\x7f"));
    /* Non-ASCII: a continue URL users.create_login_url made of a path
     * such as /caf\u00e9 (quoted as UTF-8, so unquoted to its bytes). */
    CHECK(ok("/caf\xc3\xa9"));
    CHECK(ok("http://h:8080/\xe6\x97\xa5?k=\xe6\x97\xa5"));
    CHECK(!ok("http://h:8080\xc3\xa9/"));
}

static void test_paths_and_quote(void)
{
    CHECK(login_path("/_ah/login", 10) == 1);
    CHECK(login_path("/_ah/logout", 11) == 2);
    CHECK(login_path("/_ah/login/", 11) == 0);
    CHECK(login_path("/_ah/log", 8) == 0);
    buf_t b = BUF_INIT;
    login_quote(&b, "http://h/a b?c=d&e", 18);
    buf_append(&b, "", 1);
    CHECK_STR(buf_ptr(&b), "http%3A//h/a%20b%3Fc%3Dd%26e");
    buf_free(&b);
}

/* Runs one request through login_serve (kind 1 or 2) or login_redirect
 * (0, or -1 for a request that came over HTTPS); returns the
 * status and leaves the response in out (NUL-terminated). */
static int run(const char *raw, int kind, buf_t *out)
{
    http_request_t req;
    http_request_init(&req, &limits);
    size_t used;
    int status = -2;
    if (http_request_feed(&req, raw, strlen(raw), &used) == HTTP_DONE)
        status = kind > 0 ? login_serve(out, kind, &req, "h:1", 3, 1, 0, 0)
                          : login_redirect(out, &req, "h:1", 3, kind < 0, 1, 0, 0);
    buf_append(out, "", 1);
    http_request_free(&req);
    return status;
}

static const char *form_post(char *raw, size_t n, const char *body)
{
    snprintf(raw, n,
             "POST /_ah/login HTTP/1.1\r\nHost: h:1\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    return raw;
}

static void test_answers(void)
{
    buf_t out = BUF_INIT;
    char raw[512];
    CHECK(run("GET /_ah/login?continue=/x HTTP/1.1\r\nHost: h:1\r\n\r\n", 1, &out) == 200);
    CHECK(strstr(buf_ptr(&out), "test@example.com") != NULL);
    CHECK(strstr(buf_ptr(&out), "name=\"continue\" value=\"/x\"") != NULL);
    buf_reset(&out);
    CHECK(run("GET /_ah/login?action=Login&email=a%40b.c&admin=True&continue=%2Fy HTTP/1.1\r\n"
              "Host: h:1\r\n\r\n",
              1, &out) == 302);
    CHECK(strstr(buf_ptr(&out), "\r\nLocation: /y\r\n") != NULL);
    CHECK(strstr(buf_ptr(&out), "Set-Cookie: dev_appserver_login=\"a@b.c:True:1") != NULL);
    buf_reset(&out);
    CHECK(run(form_post(raw, sizeof raw, "action=Login&email=d+e%40f&continue=http://evil/"), 1,
              &out) == 400); /* a space in the email */
    buf_reset(&out);
    CHECK(run(form_post(raw, sizeof raw, "action=Login&email=de%40f&continue=http://evil/"), 1,
              &out) == 302);
    CHECK(strstr(buf_ptr(&out), "\r\nLocation: /\r\n") != NULL);
    CHECK(strstr(buf_ptr(&out), ":False:") != NULL);
    buf_reset(&out);
    /* A non-ASCII destination goes out escaped: a Location is ASCII. */
    CHECK(run(form_post(raw, sizeof raw, "action=Login&email=de%40f&continue=%2Fcaf%C3%A9%3Fq"), 1,
              &out) == 302);
    CHECK(strstr(buf_ptr(&out), "\r\nLocation: /caf%C3%A9?q\r\n") != NULL);
    buf_reset(&out);
    CHECK(run("GET /_ah/logout?continue=/z HTTP/1.1\r\nHost: h:1\r\n\r\n", 2, &out) == 302);
    CHECK(strstr(buf_ptr(&out), "\r\nLocation: /z\r\n") != NULL);
    CHECK(strstr(buf_ptr(&out), "Max-Age=0") != NULL);
    buf_reset(&out);
    CHECK(run("GET /a/b?c=1 HTTP/1.1\r\nHost: h:1\r\n\r\n", 0, &out) == 302);
    CHECK(strstr(buf_ptr(&out),
                 "\r\nLocation: /_ah/login?continue=http%3A//h%3A1/a/b%3Fc%3D1\r\n") != NULL);
    buf_reset(&out);
    /* Over HTTPS, sign-in comes back to https://. */
    CHECK(run("GET /a HTTP/1.1\r\nHost: h:1\r\n\r\n", -1, &out) == 302);
    CHECK(strstr(buf_ptr(&out), "\r\nLocation: /_ah/login?continue=https%3A//h%3A1/a\r\n") != NULL);
    buf_free(&out);
}

static void test_from_request(void)
{
    http_request_t req;
    http_request_init(&req, &limits);
    const char *raw = "GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\n"
                      "Cookie: x=2; dev_appserver_login=\"k@l.m:True:42\"\r\n\r\n";
    size_t used;
    login_user_t u;
    CHECK(http_request_feed(&req, raw, strlen(raw), &used) == HTTP_DONE);
    CHECK(login_from_request(&req, &u) == 1);
    CHECK_STR(u.email, "k@l.m");
    CHECK(u.admin == 1);
    http_request_reset(&req);
    raw = "GET / HTTP/1.1\r\nHost: h\r\nCookie: xdev_appserver_login=k@l.m:True:42\r\n\r\n";
    CHECK(http_request_feed(&req, raw, strlen(raw), &used) == HTTP_DONE);
    CHECK(login_from_request(&req, &u) == 0);
    http_request_free(&req);
}

int main(void)
{
    test_cookie_values();
    test_user_id();
    test_md5();
    test_continue();
    test_paths_and_quote();
    test_answers();
    test_from_request();
    UNIT_DONE();
}
