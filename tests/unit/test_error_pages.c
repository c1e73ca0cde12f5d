/* error_handlers: loading the pages at start (limits, safe paths) and the
 * responses built from them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error_pages.h"
#include "static.h"
#include "unit.h"

static char dir[64];
static app_config_t *cfg; /* the pages point into it: kept until the next load */

static const char HEAD[] = "application: t\nruntime: python27\napi_version: 1\nthreadsafe: true\n"
                           "handlers:\n- url: /.*\n  script: main.app\n";

static void write_file(const char *rel, const char *text, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fwrite(text, 1, len, f);
    fclose(f);
}

/* Loads app.yaml text (HEAD + tail) and its error pages. Returns what
 * error_pages_load returned; err gets the message. */
static int load(const char *tail, error_pages_t *pages, char *err, size_t errlen)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "%s%s", HEAD, tail);
    config_free(cfg);
    cfg = NULL;
    if (config_load_string(yaml, strlen(yaml), "app.yaml", dir, &cfg, err, errlen) < 0) {
        fprintf(stderr, "config: %s\n", err);
        return -2;
    }
    return error_pages_load(pages, cfg, err, errlen);
}

/* The response error_page_send writes, NUL-terminated. */
static const char *respond(const error_pages_t *pages, error_page_kind_t kind, int status,
                           int head_only, buf_t *out)
{
    buf_reset(out);
    CHECK(error_page_send(pages, kind, out, status, 1, 0, head_only) == 0);
    buf_append(out, "", 1);
    return buf_ptr(out);
}

/* s without its Date header line, copied to out: two responses made a
 * moment apart may be a second apart. */
static const char *undated(const char *s, char *out, size_t n)
{
    const char *date = strstr(s, "\r\nDate: ");
    const char *end = date ? strstr(date + 2, "\r\n") : NULL;
    if (end)
        snprintf(out, n, "%.*s%s", (int)(date - s), s, end);
    else
        snprintf(out, n, "%s", s);
    return out;
}

static void test_kinds(void)
{
    CHECK(error_page_kind("default") == ERROR_PAGE_DEFAULT);
    CHECK(error_page_kind("over_quota") == ERROR_PAGE_OVER_QUOTA);
    CHECK(error_page_kind("dos_api_denial") == ERROR_PAGE_DOS_API_DENIAL);
    CHECK(error_page_kind("timeout") == ERROR_PAGE_TIMEOUT);
    CHECK(error_page_kind("teapot") == -1);
}

static void test_pages(void)
{
    write_file("oops.html", "<p>oops</p>", 11);
    write_file("slow.txt", "too slow", 8);
    write_file("quota.page", "QUOTA", 5);
    error_pages_t pages;
    char err[512];
    CHECK(load("error_handlers:\n- file: oops.html\n- error_code: timeout\n  file: slow.txt\n"
               "- error_code: over_quota\n  file: quota.page\n  mime_type: text/x-quota\n",
               &pages, err, sizeof err) == 0);
    buf_t out = BUF_INIT;
    const char *r = respond(&pages, ERROR_PAGE_TIMEOUT, 500, 0, &out);
    CHECK(strncmp(r, "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0);
    CHECK(strstr(r, "\r\nContent-Type: text/plain\r\n") != NULL);
    CHECK(strstr(r, "\r\nContent-Length: 8\r\n") != NULL);
    CHECK(strstr(r, "\r\n\r\ntoo slow") != NULL);
    r = respond(&pages, ERROR_PAGE_DEFAULT, 503, 0, &out);
    CHECK(strncmp(r, "HTTP/1.1 503 ", 13) == 0);
    CHECK(strstr(r, "\r\nContent-Type: text/html\r\n") != NULL);
    CHECK(strstr(r, "\r\n\r\n<p>oops</p>") != NULL);
    r = respond(&pages, ERROR_PAGE_OVER_QUOTA, 503, 0, &out);
    CHECK(strstr(r, "\r\nContent-Type: text/x-quota\r\n") != NULL);
    CHECK(strstr(r, "\r\n\r\nQUOTA") != NULL);
    /* No dos_api_denial page: the default one. */
    r = respond(&pages, ERROR_PAGE_DOS_API_DENIAL, 403, 0, &out);
    CHECK(strncmp(r, "HTTP/1.1 403 Forbidden\r\n", 24) == 0);
    CHECK(strstr(r, "\r\n\r\n<p>oops</p>") != NULL);
    /* HEAD: the length of the page, no body. */
    r = respond(&pages, ERROR_PAGE_TIMEOUT, 500, 1, &out);
    CHECK(strstr(r, "\r\nContent-Length: 8\r\n") != NULL);
    CHECK(strstr(r, "too slow") == NULL);
    error_pages_free(&pages);

    /* Without pages (or without a default): the built-in page. */
    buf_t builtin = BUF_INIT;
    http_simple_response(&builtin, 500, 1, 0, 0);
    buf_append(&builtin, "", 1);
    char want[1024], got[1024];
    undated(buf_ptr(&builtin), want, sizeof want);
    CHECK(strcmp(want, buf_ptr(&builtin)) != 0); /* it had a Date */
    r = respond(NULL, ERROR_PAGE_TIMEOUT, 500, 0, &out);
    CHECK_STR(undated(r, got, sizeof got), want);
    CHECK(load("error_handlers:\n- error_code: timeout\n  file: slow.txt\n", &pages, err,
               sizeof err) == 0);
    r = respond(&pages, ERROR_PAGE_DEFAULT, 500, 0, &out);
    CHECK_STR(undated(r, got, sizeof got), want);
    error_pages_free(&pages);
    CHECK(load("", &pages, err, sizeof err) == 0);
    r = respond(&pages, ERROR_PAGE_TIMEOUT, 500, 0, &out);
    CHECK_STR(undated(r, got, sizeof got), want);
    error_pages_free(&pages);
    buf_free(&builtin);
    buf_free(&out);
}

/* 1 when loading fails with "app.yaml:LINE: " and a reason containing
 * `reason`. */
static int refused(const char *tail, int line, const char *reason)
{
    error_pages_t pages;
    char err[512], prefix[32];
    if (load(tail, &pages, err, sizeof err) != -1)
        return 0;
    snprintf(prefix, sizeof prefix, "app.yaml:%d: ", line);
    int ok = strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, reason) != NULL;
    if (!ok)
        fprintf(stderr, "unexpected message: %s\n", err);
    return ok;
}

static void test_refused(void)
{
    static char big[ERROR_PAGE_MAX_BYTES + 1];
    memset(big, 'x', sizeof big);
    write_file("limit.html", big, ERROR_PAGE_MAX_BYTES);
    write_file("big.html", big, sizeof big);
    error_pages_t pages;
    char err[512];
    CHECK(load("error_handlers:\n- file: limit.html\n", &pages, err, sizeof err) == 0);
    CHECK(pages.page[ERROR_PAGE_DEFAULT].body_len == ERROR_PAGE_MAX_BYTES);
    error_pages_free(&pages);
    /* An error about the file names the file's line, one about the
     * error_code that key's line, whichever comes first in the item. */
    CHECK(refused("error_handlers:\n- file: limit.html\n- error_code: timeout\n  file: big.html\n",
                  11, "10241 bytes"));
    CHECK(refused("error_handlers:\n- file: missing.html\n", 9, "No such file"));
    CHECK(refused("error_handlers:\n- error_code: timeout\n  file: missing.html\n", 10,
                  "No such file"));
    CHECK(refused("skip_files:\n- ^.*\\.txt$\nerror_handlers:\n- mime_type: text/plain\n"
                  "  file: slow.txt\n",
                  12, "skip_files"));
    CHECK(refused("error_handlers:\n- error_code: timeout\n  file: slow.txt\n"
                  "- file: oops.html\n  error_code: timeout\n",
                  12, "already has a page (line 9)"));
    char sub[128], link[128];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0755);
    CHECK(refused("error_handlers:\n- file: sub\n", 9, "not a regular file"));
    snprintf(link, sizeof link, "%s/link.html", dir);
    CHECK(symlink("/etc/hostname", link) == 0);
    CHECK(refused("error_handlers:\n- file: link.html\n", 9, "outside the app folder"));
    CHECK(refused("error_handlers:\n- file: slow.txt\n- error_code: default\n  file: oops.html\n",
                  10, "already has a page (line 9)"));
    CHECK(refused("skip_files:\n- ^.*\\.txt$\nerror_handlers:\n- file: slow.txt\n", 11,
                  "skip_files"));
    /* A mime_type with a control character is refused by config.c already
     * (tests/unit/test_config.c). */
    unlink(link);
    rmdir(sub);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/gaelic-error-pages-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    CHECK(static_init(dir, NULL) == 0);
    test_kinds();
    test_pages();
    test_refused();
    static_close();
    config_free(cfg);
    const char *files[] = {"oops.html", "slow.txt", "quota.page", "limit.html", "big.html"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    UNIT_DONE();
}
