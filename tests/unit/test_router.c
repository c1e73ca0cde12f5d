/* Handler selection and \N substitution (RT1). */
#include <stdlib.h>

#include "config.h"
#include "router.h"
#include "unit.h"

static app_config_t *load(const char *handlers)
{
    char yaml[8192], err[512];
    snprintf(yaml, sizeof yaml, "runtime: python27\nthreadsafe: false\nhandlers:\n%s", handlers);
    app_config_t *cfg = NULL;
    if (config_load_string(yaml, strlen(yaml), "app.yaml", "/app", &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "config error: %s\n", err);
        unit_failed++;
    }
    return cfg;
}

/* Routes path and checks the handler index and target (index -1: no match). */
static void expect_route_at(int line, const app_config_t *cfg, const char *path, int index,
                            const char *target)
{
    route_t r;
    int rc = router_match(cfg, path, strlen(path), &r);
    int ok = index < 0
                 ? (rc == 0 && r.handler == NULL && r.target == NULL)
                 : (rc == 1 && r.index == (size_t)index && r.handler == &cfg->handlers[index] &&
                    r.target && strcmp(r.target, target) == 0);
    if (ok) {
        unit_passed++;
    } else {
        unit_failed++;
        fprintf(stderr, "%s:%d: route '%s': rc %d index %zu target '%s', want index %d '%s'\n",
                __FILE__, line, path, rc, r.index, r.target ? r.target : "(null)", index,
                target ? target : "(null)");
    }
    route_free(&r);
}
#define EXPECT_ROUTE(cfg, path, index, target) expect_route_at(__LINE__, cfg, path, index, target)
#define EXPECT_NO_ROUTE(cfg, path) expect_route_at(__LINE__, cfg, path, -1, NULL)

static void test_first_match_wins(void)
{
    app_config_t *cfg = load("- url: /admin/.*\n  script: admin.app\n"
                             "- url: /admin/special\n  script: special.app\n"
                             "- url: /.*\n  script: main.app\n"
                             "- url: /never\n  script: never.app\n");
    if (!cfg)
        return;
    EXPECT_ROUTE(cfg, "/admin/special", 0, "admin.app");
    EXPECT_ROUTE(cfg, "/admin/", 0, "admin.app");
    EXPECT_ROUTE(cfg, "/admin", 2, "main.app");
    EXPECT_ROUTE(cfg, "/never", 2, "main.app");
    EXPECT_ROUTE(cfg, "/", 2, "main.app");
    EXPECT_NO_ROUTE(cfg, "");
    EXPECT_NO_ROUTE(cfg, "relative");
    config_free(cfg);
}

static void test_anchoring(void)
{
    app_config_t *cfg = load("- url: /fo\n  script: fo.app\n"
                             "- url: /foo\n  script: foo.app\n"
                             "- url: /bar.*\n  script: bar.app\n"
                             "- url: /caret$\n  script: caret.app\n"
                             "- url: /a|/b\n  script: ab.app\n"
                             "- url: .*\\.txt\n  script: txt.app\n");
    if (!cfg)
        return;
    EXPECT_ROUTE(cfg, "/fo", 0, "fo.app");
    EXPECT_ROUTE(cfg, "/foo", 1, "foo.app");
    EXPECT_NO_ROUTE(cfg, "/foobar");
    EXPECT_NO_ROUTE(cfg, "/xfoo");
    EXPECT_NO_ROUTE(cfg, "/foo/");
    EXPECT_NO_ROUTE(cfg, "/foo\n");
    EXPECT_ROUTE(cfg, "/bar", 2, "bar.app");
    EXPECT_ROUTE(cfg, "/barista", 2, "bar.app");
    EXPECT_ROUTE(cfg, "/caret", 3, "caret.app");
    EXPECT_NO_ROUTE(cfg, "/caret/x");
    /* Each alternative must match the whole path. */
    EXPECT_ROUTE(cfg, "/a", 4, "ab.app");
    EXPECT_ROUTE(cfg, "/b", 4, "ab.app");
    EXPECT_NO_ROUTE(cfg, "/ab");
    EXPECT_NO_ROUTE(cfg, "/a/x");
    EXPECT_ROUTE(cfg, "/notes/a.txt", 5, "txt.app");
    EXPECT_NO_ROUTE(cfg, "/notes/a.txt.bak");
    config_free(cfg);
}

static void test_substitution(void)
{
    app_config_t *cfg = load("- url: /api/(\\w+)/(\\w+)\n  script: api.\\1.\\2\n"
                             "- url: /cgi/(\\w+)(/x)?\n  script: cgi/\\1\\2.py\n"
                             "- url: /img/(.*\\.(png|gif))\n  static_files: static/img/\\1\n"
                             "  upload: static/img/.*\\.(png|gif)\n"
                             "- url: /(robots)\\.(txt)\n  static_files: \\2/\\1.\\2\n"
                             "  upload: txt/.*\n"
                             "- url: /twice/(\\w)\n  script: \\1\\1.app\n");
    if (!cfg)
        return;
    EXPECT_ROUTE(cfg, "/api/users/list", 0, "api.users.list");
    EXPECT_NO_ROUTE(cfg, "/api/users/list/more");
    EXPECT_ROUTE(cfg, "/cgi/counter", 1, "cgi/counter.py"); /* unset group: empty */
    EXPECT_ROUTE(cfg, "/cgi/counter/x", 1, "cgi/counter/x.py");
    EXPECT_ROUTE(cfg, "/img/a/b.png", 2, "static/img/a/b.png");
    EXPECT_NO_ROUTE(cfg, "/img/a/b.jpg");
    EXPECT_ROUTE(cfg, "/robots.txt", 3, "txt/robots.txt");
    EXPECT_ROUTE(cfg, "/twice/z", 4, "zz.app");
    config_free(cfg);
}

/* "$PYTHON_LIB/" names the runtime's library when app.yaml writes it, never
 * when a url's group brings it: that text is a path in the app folder. */
static void test_python_lib_only_from_app_yaml(void)
{
    app_config_t *cfg = load("- url: /admin/(\\w+)\n  script: $PYTHON_LIB/admin/\\1.py\n"
                             "- url: /(.*)/run\n  script: \\1/x.py\n"
                             "- url: /(.*)\\.py\n  script: \\1.py\n");
    if (!cfg)
        return;
    EXPECT_ROUTE(cfg, "/admin/console", 0, "$PYTHON_LIB/admin/console.py");
    EXPECT_ROUTE(cfg, "/$PYTHON_LIB/run", 1, "./$PYTHON_LIB/x.py");
    EXPECT_ROUTE(cfg, "/$PYTHON_LIB/webapp2.py", 2, "./$PYTHON_LIB/webapp2.py");
    EXPECT_ROUTE(cfg, "/cgi/$PYTHON_LIB/a.py", 2, "cgi/$PYTHON_LIB/a.py");
    EXPECT_ROUTE(cfg, "/$PYTHON_LIBX/a.py", 2, "$PYTHON_LIBX/a.py");
    config_free(cfg);
}

static void test_static_dir_prefix(void)
{
    app_config_t *cfg = load("- url: /stylesheets\n  static_dir: stylesheets\n"
                             "- url: /js/\n  static_dir: static/js/\n"
                             "- url: /(img|pics)\n  static_dir: images\n"
                             "- url: /\n  static_dir: root\n");
    if (!cfg)
        return;
    EXPECT_ROUTE(cfg, "/stylesheets/main.css", 0, "stylesheets/main.css");
    EXPECT_ROUTE(cfg, "/stylesheets/a/b/c.css", 0, "stylesheets/a/b/c.css");
    EXPECT_ROUTE(cfg, "/stylesheets/", 0, "stylesheets/");
    EXPECT_ROUTE(cfg, "/js/app.js", 1, "static/js/app.js");
    EXPECT_ROUTE(cfg, "/img/x.png", 2, "images/x.png");
    EXPECT_ROUTE(cfg, "/pics/y/x.png", 2, "images/y/x.png");
    /* Without the slash the prefix does not match; the catch-all takes it. */
    EXPECT_ROUTE(cfg, "/stylesheets", 3, "root/stylesheets");
    EXPECT_ROUTE(cfg, "/stylesheetsx/a.css", 3, "root/stylesheetsx/a.css");
    EXPECT_ROUTE(cfg, "/index.html", 3, "root/index.html");
    EXPECT_ROUTE(cfg, "/", 3, "root/");
    config_free(cfg);

    cfg = load("- url: /s\n  static_dir: s\n");
    if (!cfg)
        return;
    EXPECT_NO_ROUTE(cfg, "/s");
    EXPECT_NO_ROUTE(cfg, "/sx/y");
    EXPECT_ROUTE(cfg, "/s/y", 0, "s/y");
    config_free(cfg);
}

static void test_length_and_bytes(void)
{
    app_config_t *cfg = load("- url: /exact\n  script: exact.app\n"
                             "- url: /(.*)\n  script: cgi/\\1.py\n");
    if (!cfg)
        return;
    /* Only len bytes of path count. */
    route_t r;
    CHECK(router_match(cfg, "/exact-and-more", 6, &r) == 1);
    CHECK(r.index == 0 && strcmp(r.target, "exact.app") == 0);
    route_free(&r);
    CHECK(r.target == NULL);
    /* Embedded NUL and non-UTF-8 bytes are just bytes. */
    static const char odd[] = "/a\0b\xff";
    CHECK(router_match(cfg, odd, sizeof odd - 1, &r) == 1);
    CHECK(r.index == 1 && memcmp(r.target, "cgi/a\0b\xff.py", 12) == 0);
    route_free(&r);
    route_free(NULL);
    config_free(cfg);
}

static void test_many_groups(void)
{
    /* More groups than the initial match data holds: it grows. */
    char handlers[1024];
    size_t n = (size_t)snprintf(handlers, sizeof handlers, "- url: /");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(handlers + n, sizeof handlers - n, "(a)");
    snprintf(handlers + n, sizeof handlers - n, "(.*)\n  script: \\1\\9.app\n");
    app_config_t *cfg = load(handlers);
    if (!cfg)
        return;
    EXPECT_ROUTE(cfg, "/aaaaaaaaaaaaaaaaaaaarest", 0, "aa.app");
    config_free(cfg);
}

/* App Engine compiled urls with Python's re, which reads "{,N}" as
 * "{0,N}" and "{,}" as "{0,}"; PCRE2 10.42 reads both as literal text.
 * Escaped, or in a class, a '{' is itself in both. */
static void test_python_quantifier_without_lower_bound(void)
{
    app_config_t *cfg = load("- url: /a{,2}\n  script: a.app\n"
                             "- url: /b(x{,})\n  static_files: b/\\1\n  upload: b/x{,}\n"
                             "- url: /c\\{,2}\n  script: c.app\n"
                             "- url: /d[{,]+\n  script: d.app\n"
                             "- url: /.*\n  script: main.app\n");
    if (!cfg)
        return;
    EXPECT_ROUTE(cfg, "/", 0, "a.app");
    EXPECT_ROUTE(cfg, "/aa", 0, "a.app");
    EXPECT_ROUTE(cfg, "/aaa", 4, "main.app");
    EXPECT_ROUTE(cfg, "/a{,2}", 4, "main.app");
    EXPECT_ROUTE(cfg, "/bxxx", 1, "b/xxx");
    EXPECT_ROUTE(cfg, "/b", 1, "b/");
    EXPECT_ROUTE(cfg, "/c{,2}", 2, "c.app");
    EXPECT_ROUTE(cfg, "/cc", 4, "main.app");
    EXPECT_ROUTE(cfg, "/d{,", 3, "d.app");
    /* The upload pattern instances are given reads the same way. */
    CHECK(cfg->static_only_files && strcmp(cfg->static_only_files, "b/x{0,}") == 0);
    config_free(cfg);
}

static void test_match_limit(void)
{
    /* Catastrophic backtracking ends in an error, not a stalled server. */
    app_config_t *cfg = load("- url: /(a|aa)+[bc]\n  script: slow.app\n"
                             "- url: /.*\n  script: main.app\n");
    if (!cfg)
        return;
    char path[200] = "/";
    memset(path + 1, 'a', 120);
    path[121] = 'd';
    route_t r;
    CHECK(router_match(cfg, path, strlen(path), &r) == -1);
    CHECK(r.target == NULL);
    EXPECT_ROUTE(cfg, "/aab", 0, "slow.app");
    config_free(cfg);
}

/* App Engine's dot-segment rule for a decoded path (the 302 it sent). */
static void expect_normalized_at(int line, const char *path, const char *want)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    size_t n = router_normalize_path(buf, strlen(buf));
    if (n == strlen(want) && memcmp(buf, want, n) == 0) {
        unit_passed++;
    } else {
        unit_failed++;
        fprintf(stderr, "%s:%d: normalize '%s' gave '%.*s', want '%s'\n", __FILE__, line, path,
                (int)n, buf, want);
    }
}
#define EXPECT_NORMALIZED(path, want) expect_normalized_at(__LINE__, path, want)

static void test_normalize_path(void)
{
    EXPECT_NORMALIZED("/", "/");
    EXPECT_NORMALIZED("/admin", "/admin");
    EXPECT_NORMALIZED("/a/b/", "/a/b/");
    EXPECT_NORMALIZED("//admin", "//admin"); /* repeated slashes stay, as in production */
    EXPECT_NORMALIZED("/a//b", "/a//b");
    EXPECT_NORMALIZED("/..a/a../...", "/..a/a../...");
    EXPECT_NORMALIZED("/foo/../admin", "/admin");
    EXPECT_NORMALIZED("/./admin", "/admin");
    EXPECT_NORMALIZED("/a/./b/.", "/a/b");
    EXPECT_NORMALIZED("/a/b/..", "/a");
    EXPECT_NORMALIZED("/a/b/../", "/a/");
    EXPECT_NORMALIZED("/..", "/");
    EXPECT_NORMALIZED("/.", "/");
    EXPECT_NORMALIZED("/../../x", "/x");
    EXPECT_NORMALIZED("/a//../x", "/a/x");
    EXPECT_NORMALIZED("/x/..//evil.example", "//evil.example");
    EXPECT_NORMALIZED("/static/css/../../app.yaml", "/app.yaml");
}

int main(void)
{
    test_first_match_wins();
    test_anchoring();
    test_substitution();
    test_python_lib_only_from_app_yaml();
    test_static_dir_prefix();
    test_length_and_bytes();
    test_many_groups();
    test_python_quantifier_without_lower_bound();
    test_match_limit();
    test_normalize_path();
    UNIT_DONE();
}
