/* Static file helpers (RT1): content types, path cleaning, Range,
 * conditional-request parsing, and a require_matching_file handler
 * serving the file routing found. */
#include <stdlib.h>
#include <unistd.h>

#include "static.h"
#include "unit.h"

static void test_mime(void)
{
    CHECK_STR(static_mime_type("a/b/index.html"), "text/html");
    CHECK_STR(static_mime_type("x.HTM"), "text/html");
    CHECK_STR(static_mime_type("s.css"), "text/css");
    CHECK_STR(static_mime_type("app.js"), "text/javascript");
    CHECK_STR(static_mime_type("m.mjs"), "text/javascript");
    CHECK_STR(static_mime_type("d.json"), "application/json");
    CHECK_STR(static_mime_type("p.png"), "image/png");
    CHECK_STR(static_mime_type("p.JPEG"), "image/jpeg");
    CHECK_STR(static_mime_type("p.svg"), "image/svg+xml");
    CHECK_STR(static_mime_type("f.woff2"), "font/woff2");
    CHECK_STR(static_mime_type("w.wasm"), "application/wasm");
    CHECK_STR(static_mime_type("a.tar.gz"), "application/gzip");
    /* Types browsers and players refuse other types for. */
    CHECK_STR(static_mime_type("captions.en.vtt"), "text/vtt");
    CHECK_STR(static_mime_type("live/index.m3u8"), "application/vnd.apple.mpegurl");
    CHECK_STR(static_mime_type("clip.MOV"), "video/quicktime");
    CHECK_STR(static_mime_type("clip.mpg"), "video/mpeg");
    CHECK_STR(static_mime_type("page.xhtml"), "application/xhtml+xml");
    CHECK_STR(static_mime_type("scan.tiff"), "image/tiff");
    CHECK_STR(static_mime_type("song.m4a"), "audio/mp4");
    CHECK_STR(static_mime_type("noext"), "application/octet-stream");
    CHECK_STR(static_mime_type("dir.html/noext"), "application/octet-stream");
    CHECK_STR(static_mime_type("trailing."), "application/octet-stream");
    CHECK_STR(static_mime_type("x.unknownext"), "application/octet-stream");
}

static void expect_clean(int line, const char *in, const char *want)
{
    char out[256];
    const char *why = NULL;
    int rc = static_clean_path(in, out, sizeof out, &why);
    int ok = want ? (rc == 0 && strcmp(out, want) == 0) : (rc < 0 && why != NULL);
    if (ok) {
        unit_passed++;
    } else {
        unit_failed++;
        fprintf(stderr, "%s:%d: clean '%s': rc %d out '%s' why '%s', want '%s'\n", __FILE__, line,
                in, rc, rc == 0 ? out : "", why ? why : "", want ? want : "(refused)");
    }
}
#define EXPECT_CLEAN(in, want) expect_clean(__LINE__, in, want)

static void test_clean(void)
{
    EXPECT_CLEAN("static/a.html", "static/a.html");
    EXPECT_CLEAN("static//a.html", "static/a.html");
    EXPECT_CLEAN("static/./a.html", "static/a.html");
    EXPECT_CLEAN("/etc/passwd", "etc/passwd"); /* always relative to the root */
    /* Already decoded (conn.c): a '%' is a file name's own. */
    EXPECT_CLEAN("static/a b.txt", "static/a b.txt");
    EXPECT_CLEAN("static/100%.txt", "static/100%.txt");
    EXPECT_CLEAN("static/%2e%2e/x", "static/%2e%2e/x");
    EXPECT_CLEAN("static/dir/", "static/dir");
    EXPECT_CLEAN("static/..a", "static/..a");
    EXPECT_CLEAN("static/a..", "static/a..");
    EXPECT_CLEAN("static/...", "static/...");
    EXPECT_CLEAN("static/../app.yaml", NULL);
    EXPECT_CLEAN("..", NULL);
    EXPECT_CLEAN("static/..", NULL);
    EXPECT_CLEAN("static/../../x", NULL);
    EXPECT_CLEAN("static/a/../x", NULL);
    EXPECT_CLEAN("static\\..\\x", NULL);
    EXPECT_CLEAN("static/\\x", NULL);
    EXPECT_CLEAN("", NULL);
    EXPECT_CLEAN("/./", NULL);
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    EXPECT_CLEAN(big, NULL); /* longer than the output */
}

static void expect_range(int line, const char *v, off_t size, int want, off_t f, off_t l)
{
    off_t first = -7, last = -7;
    int rc = static_parse_range(v, v ? strlen(v) : 0, size, &first, &last);
    int ok = rc == want && (want != 1 || (first == f && last == l));
    if (ok) {
        unit_passed++;
    } else {
        unit_failed++;
        fprintf(stderr, "%s:%d: range '%s' size %lld: rc %d %lld-%lld, want %d %lld-%lld\n",
                __FILE__, line, v ? v : "(null)", (long long)size, rc, (long long)first,
                (long long)last, want, (long long)f, (long long)l);
    }
}
#define EXPECT_RANGE(v, size, want, f, l) expect_range(__LINE__, v, size, want, f, l)

static void test_range(void)
{
    EXPECT_RANGE("bytes=0-9", 100, 1, 0, 9);
    EXPECT_RANGE("bytes=10-", 100, 1, 10, 99);
    EXPECT_RANGE("bytes=-5", 100, 1, 95, 99);
    EXPECT_RANGE("bytes=-500", 100, 1, 0, 99);
    EXPECT_RANGE("bytes=50-500", 100, 1, 50, 99);
    EXPECT_RANGE("bytes=99-99", 100, 1, 99, 99);
    EXPECT_RANGE(" Bytes=1-2 ", 100, 1, 1, 2);
    EXPECT_RANGE("bytes=100-", 100, -1, 0, 0);
    EXPECT_RANGE("bytes=100-200", 100, -1, 0, 0);
    EXPECT_RANGE("bytes=-0", 100, -1, 0, 0);
    EXPECT_RANGE("bytes=0-", 0, -1, 0, 0);
    EXPECT_RANGE("bytes=-1", 0, -1, 0, 0);
    EXPECT_RANGE(NULL, 100, 0, 0, 0);
    EXPECT_RANGE("bytes=0-1,3-4", 100, 0, 0, 0);
    EXPECT_RANGE("bytes=5-2", 100, 0, 0, 0);
    EXPECT_RANGE("bytes=a-b", 100, 0, 0, 0);
    EXPECT_RANGE("bytes=-", 100, 0, 0, 0);
    EXPECT_RANGE("bytes=1-2x", 100, 0, 0, 0);
    EXPECT_RANGE("items=0-1", 100, 0, 0, 0);
    EXPECT_RANGE("bytes=99999999999999999999999-", 100, 0, 0, 0);
}

static void test_dates_and_etags(void)
{
    const char *d = "Sun, 06 Nov 1994 08:49:37 GMT";
    CHECK(static_parse_date(d, strlen(d)) == 784111777);
    d = "Sunday, 06-Nov-94 08:49:37 GMT";
    CHECK(static_parse_date(d, strlen(d)) == 784111777);
    d = "Sun Nov  6 08:49:37 1994";
    CHECK(static_parse_date(d, strlen(d)) == 784111777);
    d = "yesterday";
    CHECK(static_parse_date(d, strlen(d)) == -1);
    CHECK(static_parse_date(NULL, 0) == -1);

    const char *etag = "\"1a-2b\"";
    const char *v = "\"1a-2b\"";
    CHECK(static_etag_matches(v, strlen(v), etag));
    v = "W/\"1a-2b\"";
    CHECK(static_etag_matches(v, strlen(v), etag));
    v = "\"x\", \"1a-2b\"";
    CHECK(static_etag_matches(v, strlen(v), etag));
    v = "*";
    CHECK(static_etag_matches(v, strlen(v), etag));
    v = "\"1a-2c\"";
    CHECK(!static_etag_matches(v, strlen(v), etag));
    v = "\"1a-2b";
    CHECK(!static_etag_matches(v, strlen(v), etag));
    v = "";
    CHECK(!static_etag_matches(v, strlen(v), etag));

    v = "\"x\", \"1a-2b\"";
    CHECK(static_etag_matches_strong(v, strlen(v), etag));
    v = "*";
    CHECK(static_etag_matches_strong(v, strlen(v), etag));
    v = "W/\"1a-2b\"";
    CHECK(!static_etag_matches_strong(v, strlen(v), etag));
    v = "\"1a-2b\"";
    CHECK(!static_etag_matches_strong(v, strlen(v), "W/\"1a-2b\""));
    CHECK(!static_etag_matches_strong(NULL, 0, etag));
}

/* A require_matching_file handler answers with the file static_route found
 * there, not with another open of its name: one removed in between is still
 * the file served, not a 404 for a request routed to it. */
static void test_require_matching_file_serves_the_file_routing_found(void)
{
    char dir[] = "/tmp/gaelic-static-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/here.css", dir);
    FILE *f = fopen(path, "w");
    CHECK(f && fputs("found", f) >= 0 && fclose(f) == 0);
    const char *yaml = "runtime: python27\nthreadsafe: false\nhandlers:\n"
                       "- url: /(.*\\.css)\n  static_files: \\1\n  upload: .*\\.css\n"
                       "  require_matching_file: true\n"
                       "- url: /.*\n  script: main.app\n";
    app_config_t *cfg = NULL;
    char err[512];
    CHECK(config_load_string(yaml, strlen(yaml), "app.yaml", dir, &cfg, err, sizeof err) == 0);
    CHECK(static_init(dir, NULL) == 0);
    route_t r;
    CHECK(cfg && static_route(cfg, "/here.css", 9, &r) == 1);
    CHECK(r.index == 0 && r.file_fd >= 0);
    unlink(path);

    static const http_limits_t limits = {
        .max_header_bytes = 1024, .max_url_bytes = 256, .max_body_bytes = 4096};
    http_request_t req;
    http_request_init(&req, &limits);
    const char *head = "GET /here.css HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t used;
    CHECK(http_request_feed(&req, head, strlen(head), &used) == HTTP_DONE);
    buf_t out = BUF_INIT;
    static_result_t res;
    static_serve(cfg, &r, &req, 1, 0, 0, &out, &res);
    CHECK(res.status == 200);
    CHECK(out.len > 9 && memcmp(buf_ptr(&out) + out.len - 9, "\r\n\r\nfound", 9) == 0);
    CHECK(r.file_fd == -1); /* static_serve took it */
    route_free(&r);

    /* Now that it is gone, the request passes to the script. */
    CHECK(static_route(cfg, "/here.css", 9, &r) == 1);
    CHECK(r.index == 1 && r.file_fd == -1);
    route_free(&r);
    buf_free(&out);
    http_request_free(&req);
    static_close();
    config_free(cfg);
    rmdir(dir);
}

int main(void)
{
    test_mime();
    test_clean();
    test_range();
    test_dates_and_etags();
    test_require_matching_file_serves_the_file_routing_found();
    UNIT_DONE();
}
