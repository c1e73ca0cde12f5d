/* app.yaml loading and validation (RT1) and app file limits (RT10). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "instance_class.h"
#include "unit.h"

/* Lines 1-3 of most test files; handlers start on line 4. */
#define HEAD "runtime: python27\napi_version: 1\nthreadsafe: true\n"
#define MAIN_HANDLER "handlers:\n- url: /.*\n  script: main.app\n"

static char err[1024];

static app_config_t *load(const char *yaml)
{
    app_config_t *cfg = NULL;
    err[0] = '\0';
    if (config_load_string(yaml, strlen(yaml), "app.yaml", "/srv/app", &cfg, err, sizeof err) < 0)
        return NULL;
    return cfg;
}

/* Loading must succeed; failures print the caller's line and the error. */
static app_config_t *load_ok_at(int line, const char *yaml)
{
    app_config_t *cfg = load(yaml);
    CHECK(cfg != NULL);
    if (!cfg)
        fprintf(stderr, "  (line %d) unexpected error: %s\n", line, err);
    return cfg;
}
#define LOAD_OK(yaml) load_ok_at(__LINE__, yaml)

/* A load (cfg, err) must have failed with exactly `want` as the message. */
static void expect_failed_at(int line, app_config_t *cfg, const char *want)
{
    CHECK(cfg == NULL);
    config_free(cfg);
    if (strcmp(err, want) == 0) {
        unit_passed++;
    } else {
        unit_failed++;
        fprintf(stderr, "%s:%d: error \"%s\", want \"%s\"\n", __FILE__, line, err, want);
    }
}
#define EXPECT_ERR(yaml, want) expect_failed_at(__LINE__, load(yaml), want)

/* 1 when the text loads, for quick accept/refuse checks. */
static int accepts(const char *yaml)
{
    app_config_t *cfg = load(yaml);
    config_free(cfg);
    return cfg != NULL;
}

static void test_full_app(void)
{
    app_config_t *cfg = LOAD_OK("application: guestbook\n"
                                "version: 2-beta\n"
                                "runtime: python27\n"
                                "api_version: 1\n"
                                "threadsafe: no\n"
                                "default_expiration: \"4d 5h\"\n"
                                "env_variables:\n"
                                "  GREETING: hello\n"
                                "  COUNT: 42\n"
                                "  RATIO: 1.5\n"
                                "libraries:\n"
                                "- name: webapp2\n"
                                "  version: \"2.5.2\"\n"
                                "- name: jinja2\n"
                                "  version: latest\n"
                                "error_handlers:\n"
                                "- file: default_error.html\n"
                                "- error_code: over_quota\n"
                                "  file: over_quota.html\n"
                                "  mime_type: text/html\n"
                                "handlers:\n"
                                "- url: /favicon\\.ico\n"
                                "  static_files: static/favicon.ico\n"
                                "  upload: static/favicon\\.ico\n"
                                "  mime_type: image/x-icon\n"
                                "  expiration: 30m\n"
                                "- url: /stylesheets\n"
                                "  static_dir: stylesheets\n"
                                "- url: /admin/.*\n"
                                "  script: admin.app\n"
                                "  login: admin\n"
                                "  secure: always\n"
                                "  auth_fail_action: unauthorized\n"
                                "- url: /cgi\n"
                                "  script: cgi/counter.py\n"
                                "  login: required\n"
                                "  secure: never\n"
                                "- url: /.*\n"
                                "  script: main.application\n");
    if (!cfg)
        return;
    CHECK_STR(cfg->path, "app.yaml");
    CHECK_STR(cfg->root, "/srv/app");
    CHECK_STR(cfg->application, "guestbook");
    CHECK_STR(cfg->version, "2-beta");
    CHECK_STR(cfg->runtime, "python27");
    CHECK_STR(cfg->api_version, "1");
    CHECK(cfg->threadsafe == 0);
    CHECK(cfg->default_expiration == 4 * 86400 + 5 * 3600);

    CHECK(cfg->n_env == 3);
    CHECK_STR(cfg->env[0].key, "GREETING");
    CHECK_STR(cfg->env[0].value, "hello");
    CHECK_STR(cfg->env[1].value, "42");
    CHECK_STR(cfg->env[2].value, "1.5");

    CHECK(cfg->n_libraries == 2);
    CHECK_STR(cfg->libraries[0].name, "webapp2");
    CHECK_STR(cfg->libraries[0].version, "2.5.2");
    CHECK(cfg->libraries[0].line == 12);
    CHECK_STR(cfg->libraries[1].version, "latest");

    CHECK(cfg->n_error_handlers == 2);
    CHECK_STR(cfg->error_handlers[0].error_code, "default");
    CHECK_STR(cfg->error_handlers[0].file, "default_error.html");
    CHECK(cfg->error_handlers[0].mime_type == NULL);
    CHECK_STR(cfg->error_handlers[1].error_code, "over_quota");
    CHECK_STR(cfg->error_handlers[1].mime_type, "text/html");
    CHECK(cfg->error_handlers[1].line == 18);

    CHECK(cfg->n_handlers == 5);
    const handler_t *h = cfg->handlers;
    CHECK(h[0].kind == HANDLER_STATIC_FILES);
    CHECK(h[0].line == 22);
    CHECK_STR(h[0].url, "/favicon\\.ico");
    CHECK_STR(h[0].static_files, "static/favicon.ico");
    CHECK_STR(h[0].upload, "static/favicon\\.ico");
    CHECK(h[0].upload_re != NULL);
    CHECK_STR(h[0].mime_type, "image/x-icon");
    CHECK(h[0].expiration == 1800);
    CHECK(h[1].kind == HANDLER_STATIC_DIR);
    CHECK_STR(h[1].static_dir, "stylesheets");
    CHECK(h[1].expiration == -1);
    CHECK(h[1].mime_type == NULL);
    CHECK(h[2].kind == HANDLER_SCRIPT);
    CHECK_STR(h[2].script, "admin.app");
    CHECK(h[2].script_is_cgi == 0);
    CHECK(h[2].login == LOGIN_ADMIN);
    CHECK(h[2].secure == SECURE_ALWAYS);
    CHECK(h[2].auth_fail_action == AUTH_FAIL_UNAUTHORIZED);
    CHECK(h[3].script_is_cgi == 1);
    CHECK_STR(h[3].script, "cgi/counter.py");
    CHECK(h[3].login == LOGIN_REQUIRED);
    CHECK(h[3].secure == SECURE_NEVER);
    CHECK(h[3].auth_fail_action == AUTH_FAIL_REDIRECT);
    CHECK(h[4].login == LOGIN_OPTIONAL);
    CHECK(h[4].secure == SECURE_OPTIONAL);
    CHECK(h[4].re != NULL);
    CHECK(h[4].line == 38);
    config_free(cfg);
}

static void test_defaults(void)
{
    app_config_t *cfg = LOAD_OK("runtime: python311\n" MAIN_HANDLER);
    if (!cfg)
        return;
    CHECK(cfg->application == NULL);
    CHECK(cfg->version == NULL);
    CHECK_STR(cfg->api_version, "1");
    CHECK(cfg->threadsafe == 1); /* python3 runtimes presumed it */
    CHECK(config_default_deadline_ms(cfg) == 600000);
    CHECK(cfg->max_concurrent_requests == 0);
    CHECK(cfg->default_expiration == -1);
    CHECK(cfg->n_env == 0 && cfg->env == NULL);
    CHECK(cfg->n_libraries == 0 && cfg->n_error_handlers == 0);
    /* No skip_files there: gcloud's default .gcloudignore for Python (the
     * app folder has none; test_gcloudignore.c checks the regex). */
    CHECK(strstr(cfg->skip_files, "(?=(?:.*/)?__pycache__(?:/|$))") != NULL);
    CHECK(cfg->skip_files_re != NULL);
    CHECK(cfg->handlers[0].expiration == -1);
    CHECK(cfg->handlers[0].mime_type == NULL);
    config_free(cfg);
    cfg = LOAD_OK("runtime: python27\nthreadsafe: true\n" MAIN_HANDLER);
    if (cfg)
        CHECK(config_default_deadline_ms(cfg) == 60000);
    if (cfg)
        CHECK_STR(cfg->skip_files,
                  "^(.*/)?((#.*#)|(.*~)|(.*\\.py[co])|(.*/RCS/.*)|(\\..*)|(__pycache__/.*))$");
    config_free(cfg);
}

/* The keys the start names as accepted and not used (serve.c). */
static void test_unused_keys(void)
{
    app_config_t *cfg = LOAD_OK("runtime: python312\n");
    if (cfg)
        CHECK(cfg->unused_keys == NULL);
    config_free(cfg);
    cfg = LOAD_OK("runtime: python312\ninstance_class: B2\nbasic_scaling:\n  max_instances: 2\n"
                  "vpc_access_connector:\n  name: c\nservice_account: a@b.iam.gserviceaccount.com\n"
                  "build_env_variables:\n  X: y\nruntime_config:\n  python_version: 3\n");
    if (cfg)
        CHECK_STR(cfg->unused_keys, "basic_scaling, vpc_access_connector, service_account, "
                                    "build_env_variables, runtime_config");
    config_free(cfg);
    /* min_pending_latency is honoured: alone, nothing goes unused. */
    cfg = LOAD_OK("runtime: python312\nautomatic_scaling:\n  min_pending_latency: 30ms\n");
    if (cfg)
        CHECK(cfg->unused_keys == NULL);
    config_free(cfg);
    cfg = LOAD_OK("runtime: python312\nautomatic_scaling:\n  min_pending_latency: 30ms\n"
                  "  max_instances: 3\n  target_cpu_utilization: 0.6\n");
    if (cfg)
        CHECK_STR(cfg->unused_keys, "automatic_scaling (but min_pending_latency, max_instances)");
    config_free(cfg);
    /* min_instances, max_instances, min_idle_instances and
     * max_idle_instances are honoured. */
    cfg = LOAD_OK("runtime: python312\nautomatic_scaling:\n  min_instances: 1\n"
                  "  max_instances: 3\n");
    if (cfg) {
        CHECK(cfg->unused_keys == NULL);
        CHECK(cfg->min_instances == 1 && cfg->max_instances == 3);
    }
    config_free(cfg);
    cfg = LOAD_OK("runtime: python312\nautomatic_scaling:\n  min_instances: 2\n"
                  "  min_idle_instances: 1\n  max_idle_instances: 3\n");
    if (cfg)
        CHECK(cfg->unused_keys == NULL);
    config_free(cfg);
    cfg = LOAD_OK("runtime: python312\nautomatic_scaling:\n  min_instances: 2\n"
                  "  max_idle_instances: 3\n  target_cpu_utilization: 0.6\n");
    if (cfg)
        CHECK_STR(cfg->unused_keys, "automatic_scaling (but min_instances, max_idle_instances)");
    config_free(cfg);
    cfg = LOAD_OK(HEAD "manual_scaling:\n  instances: 2\n" MAIN_HANDLER);
    if (cfg)
        CHECK_STR(cfg->unused_keys, "manual_scaling");
    config_free(cfg);
    /* max_concurrent_requests is honoured. */
    cfg = LOAD_OK("runtime: python312\nautomatic_scaling:\n  max_concurrent_requests: 5\n");
    if (cfg)
        CHECK(cfg->unused_keys == NULL);
    config_free(cfg);
    cfg =
        LOAD_OK("runtime: python312\nautomatic_scaling:\n  max_concurrent_requests: 5\n"
                "  min_pending_latency: 20ms\n  max_instances: 2\n  target_cpu_utilization: .6\n");
    if (cfg)
        CHECK_STR(cfg->unused_keys, "automatic_scaling (but min_pending_latency, max_instances, "
                                    "max_concurrent_requests)");
    config_free(cfg);
    cfg = LOAD_OK(HEAD "automatic_scaling:\n  max_concurrent_requests: 5\n" MAIN_HANDLER);
    if (cfg)
        CHECK(cfg->unused_keys == NULL);
    config_free(cfg);
    /* Also by a python27 app that is not threadsafe: --threadsafe_override
     * may make it so (serve.c says when it stays unused). */
    cfg = LOAD_OK("runtime: python27\napi_version: 1\nthreadsafe: false\n"
                  "automatic_scaling:\n  max_concurrent_requests: 5\n" MAIN_HANDLER);
    if (cfg)
        CHECK(cfg->unused_keys == NULL && cfg->max_concurrent_requests == 5);
    config_free(cfg);
}

static void test_threadsafe(void)
{
    static const struct {
        const char *text;
        int value;
    } cases[] = {{"yes", 1},
                 {"no", 0},
                 {"true", 1},
                 {"false", 0},
                 {"True", 1},
                 {"False", 0},
                 {"TRUE", 1},
                 {"on", 1},
                 {"off", 0},
                 {"Yes", 1},
                 /* YAML ints, as App Engine's bool() conversion took them */
                 {"1", 1},
                 {"0", 0},
                 {"2", 1},
                 {"-1", 1},
                 {"0x0", 0},
                 {"00", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml, "runtime: python27\nthreadsafe: %s\n" MAIN_HANDLER,
                 cases[i].text);
        app_config_t *cfg = LOAD_OK(yaml);
        CHECK(cfg && cfg->threadsafe == cases[i].value);
        config_free(cfg);
    }
    EXPECT_ERR("runtime: python27\n\n\n\n\n\n\n\n\n\n\nthreadsafe: maybe\n" MAIN_HANDLER,
               "app.yaml:12: threadsafe: expected a boolean, got 'maybe'");
    /* Strings are refused, though bool() made any non-empty one true. */
    EXPECT_ERR("runtime: python27\nthreadsafe: y\n" MAIN_HANDLER,
               "app.yaml:2: threadsafe: expected a boolean, got 'y'");
    EXPECT_ERR("runtime: python27\nthreadsafe: '0'\n" MAIN_HANDLER,
               "app.yaml:2: threadsafe: expected a boolean, got '0'");
    /* A quoted boolean word is a string too: bool() made "false" true. */
    EXPECT_ERR("runtime: python27\nthreadsafe: \"false\"\n" MAIN_HANDLER,
               "app.yaml:2: threadsafe: expected a boolean, got 'false'");
    EXPECT_ERR("runtime: python27\nthreadsafe: !!str true\n" MAIN_HANDLER,
               "app.yaml:2: threadsafe: expected a boolean, got 'true'");
    EXPECT_ERR("runtime: python27\nthreadsafe: 1.0\n" MAIN_HANDLER,
               "app.yaml:2: threadsafe: expected a boolean, got '1.0'");
    /* Empty is not given (App Engine's Optional), which python27 needs. */
    EXPECT_ERR("runtime: python27\nthreadsafe:\n" MAIN_HANDLER,
               "app.yaml:2: runtime python27 needs 'threadsafe: true' or 'threadsafe: false'");
    EXPECT_ERR("runtime: python27\nthreadsafe: [true]\n" MAIN_HANDLER,
               "app.yaml:2: threadsafe: expected a boolean, got a list");
}

static void test_runtime(void)
{
    static const char *const good[] = {"python27", "python3", "python311", "python37", "python"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml, "runtime: %s\nthreadsafe: true\n" MAIN_HANDLER, good[i]);
        app_config_t *cfg = LOAD_OK(yaml);
        CHECK(cfg && strcmp(cfg->runtime, good[i]) == 0);
        config_free(cfg);
    }
    EXPECT_ERR("application: x\nversion: one\nruntime: python99x\n" MAIN_HANDLER,
               "app.yaml:3: runtime 'python99x' is not supported (python27, python3, python3NN)");
    EXPECT_ERR("runtime: python2\n" MAIN_HANDLER,
               "app.yaml:1: runtime 'python2' is not supported (python27, python3, python3NN)");
    EXPECT_ERR("runtime: go\n" MAIN_HANDLER,
               "app.yaml:1: runtime 'go' is not supported (python27, python3, python3NN)");
    EXPECT_ERR("runtime: python3111\n" MAIN_HANDLER,
               "app.yaml:1: runtime 'python3111' is not supported (python27, python3, python3NN)");
    EXPECT_ERR("api_version: 1\n" MAIN_HANDLER, "app.yaml:1: missing required key 'runtime'");
    EXPECT_ERR("runtime: python27\napi_version: 'a b'\n" MAIN_HANDLER,
               "app.yaml:2: api_version: 'a b' is not valid: use up to 32 letters, digits, '_' "
               "and '.'");
}

static void test_application_and_version(void)
{
    static const char *const good_apps[] = {"guestbook", "my-app-1", "s~my-app",
                                            "example.com:my-app", "a"};
    for (size_t i = 0; i < sizeof good_apps / sizeof *good_apps; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml, "application: %s\n" HEAD MAIN_HANDLER, good_apps[i]);
        app_config_t *cfg = LOAD_OK(yaml);
        CHECK(cfg && strcmp(cfg->application, good_apps[i]) == 0);
        config_free(cfg);
    }
    EXPECT_ERR("application: MyApp\nruntime: python27\n" MAIN_HANDLER,
               "app.yaml:1: application: 'MyApp' is not valid: use lowercase letters, digits and "
               "'-'");
    EXPECT_ERR("application: my-app-\nruntime: python27\n" MAIN_HANDLER,
               "app.yaml:1: application: 'my-app-' is not valid: use lowercase letters, digits "
               "and '-'");
    /* The later SDK's alias: project is the application, and not both
     * (its MultipleProjectNames). */
    app_config_t *cfg = LOAD_OK("project: my-proj\n" HEAD MAIN_HANDLER);
    CHECK(cfg && cfg->application && strcmp(cfg->application, "my-proj") == 0);
    config_free(cfg);
    EXPECT_ERR("project: My_Proj\n" HEAD MAIN_HANDLER,
               "app.yaml:1: project: 'My_Proj' is not valid: use lowercase letters, digits and "
               "'-'");
    EXPECT_ERR("application: a\n" HEAD "project: a\n" MAIN_HANDLER,
               "app.yaml:5: project: give 'application' or 'project' (its later name), not both");
    cfg = LOAD_OK("version: 1\n" HEAD MAIN_HANDLER);
    CHECK(cfg && strcmp(cfg->version, "1") == 0);
    config_free(cfg);
    EXPECT_ERR("version: -1\nruntime: python27\n" MAIN_HANDLER,
               "app.yaml:1: version: '-1' is not valid: use up to 63 lowercase letters, digits "
               "and '-', not first or last");
    EXPECT_ERR("version: v_1\nruntime: python27\n" MAIN_HANDLER,
               "app.yaml:1: version: 'v_1' is not valid: use up to 63 lowercase letters, digits "
               "and '-', not first or last");
    /* App Engine matched str() of the YAML value: 010 is the int 8, 01 is 1,
     * on is True; quoted, each is as written. */
    cfg = LOAD_OK("version: 010\nmodule: 01\napplication: 0_7\n" HEAD MAIN_HANDLER);
    CHECK(cfg && strcmp(cfg->version, "8") == 0 && strcmp(cfg->application, "7") == 0);
    config_free(cfg);
    cfg = LOAD_OK("version: '010'\n" HEAD MAIN_HANDLER);
    CHECK(cfg && strcmp(cfg->version, "010") == 0);
    config_free(cfg);
    EXPECT_ERR("version: on\n" HEAD MAIN_HANDLER,
               "app.yaml:1: version: 'on' (read by YAML as True) is not valid: use up to 63 "
               "lowercase letters, digits and '-', not first or last");
    EXPECT_ERR("service: 1.50\n" HEAD MAIN_HANDLER,
               "app.yaml:1: service: '1.50' (read by YAML as 1.5) is not valid: use up to 63 "
               "lowercase letters, digits and '-', not first or last");
    EXPECT_ERR("project: yes\n" HEAD MAIN_HANDLER,
               "app.yaml:1: project: 'yes' (read by YAML as True) is not valid: use lowercase "
               "letters, digits and '-'");
}

static long expiration_of(const char *text)
{
    char yaml[256];
    snprintf(yaml, sizeof yaml, HEAD "default_expiration: %s\n" MAIN_HANDLER, text);
    app_config_t *cfg = load(yaml);
    long secs = cfg ? cfg->default_expiration : -2;
    config_free(cfg);
    return secs;
}

static void test_durations(void)
{
    CHECK(expiration_of("\"4d 5h\"") == 4 * 86400 + 5 * 3600);
    CHECK(expiration_of("30m") == 1800);
    CHECK(expiration_of("10s") == 10);
    CHECK(expiration_of("1d") == 86400);
    CHECK(expiration_of("90") == 90);
    CHECK(expiration_of("0") == 0);
    CHECK(expiration_of("1d 2h 3m 4s") == 86400 + 7200 + 180 + 4);
    CHECK(expiration_of("2D 3H") == 2 * 86400 + 3 * 3600);
    /* App Engine's pattern put white space between the terms. */
    CHECK(expiration_of("1h30m") == -2);
    CHECK(expiration_of("1d6h") == -2);
    CHECK(expiration_of("5m30") == -2);
    CHECK(expiration_of("\"5m 30\"") == 330);
    CHECK(expiration_of("\"7d 7d 7d\"") == 21 * 86400);
    CHECK(expiration_of("\" 10 \"") == 10);
    CHECK(expiration_of("5x") == -2);
    CHECK(expiration_of("h") == -2);
    CHECK(expiration_of("-1") == -2);
    CHECK(expiration_of("1.5h") == -2);
    CHECK(expiration_of("99999999999d") == -2);
    CHECK(expiration_of("25000d") == -2); /* past INT32_MAX seconds */
    CHECK(expiration_of("''") == -2);
    EXPECT_ERR("runtime: python27\ndefault_expiration: soon\n" MAIN_HANDLER,
               "app.yaml:2: default_expiration: expected a duration like '1d 6h', '30m' or "
               "'10s' (terms separated by spaces), got 'soon'");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  expiration: 1h30m\n",
               "app.yaml:7: expiration: expected a duration like '1d 6h', '30m' or '10s' (terms "
               "separated by spaces), got '1h30m'");
    EXPECT_ERR(HEAD "default_expiration: 25000d\n" MAIN_HANDLER,
               "app.yaml:4: default_expiration: '25000d' is too long (at most 2147483647 "
               "seconds, about 68 years)");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  expiration: 1y\n",
               "app.yaml:7: expiration: expected a duration like '1d 6h', '30m' or '10s' (terms "
               "separated by spaces), got '1y'");
}

static void test_unknown_keys(void)
{
    EXPECT_ERR(HEAD "handler:\n- url: /\n  script: main.app\n",
               "app.yaml:4: unknown key 'handler' (did you mean 'handlers'?)");
    EXPECT_ERR(HEAD "colour: blue\n" MAIN_HANDLER, "app.yaml:4: unknown key 'colour'");
    EXPECT_ERR(HEAD "thredsafe: true\n" MAIN_HANDLER,
               "app.yaml:4: unknown key 'thredsafe' (did you mean 'threadsafe'?)");
    EXPECT_ERR(HEAD "handlers:\n- url: /\n  scrip: main.app\n",
               "app.yaml:6: unknown key 'scrip' in handler (did you mean 'script'?)");
    EXPECT_ERR(HEAD "libraries:\n- name: webapp2\n  versoin: latest\n" MAIN_HANDLER,
               "app.yaml:6: unknown key 'versoin' in library (did you mean 'version'?)");
    EXPECT_ERR(HEAD "error_handlers:\n- file: x.html\n  code: timeout\n" MAIN_HANDLER,
               "app.yaml:6: unknown key 'code' in error handler");
    EXPECT_ERR(HEAD "[a]: b\n" MAIN_HANDLER, "app.yaml:4: expected a key name, got a list");
}

/* Keys gaelic does not use are still checked inside, as App Engine's
 * AdminConsole, ApiConfigHandler, Pagespeed and derived_file_type did. */
static void test_checked_unused_keys(void)
{
    EXPECT_ERR(HEAD "admin_console:\n  page:\n  - name: a\n    url: /a\n" MAIN_HANDLER,
               "app.yaml:5: unknown key 'page' in admin_console (did you mean 'pages'?)");
    EXPECT_ERR(HEAD "admin_console:\n  pages:\n  - name: a\n" MAIN_HANDLER,
               "app.yaml:6: admin_console page has no 'url'");
    EXPECT_ERR(HEAD "admin_console:\n  pages:\n  - name: a\n    url: stats\n" MAIN_HANDLER,
               "app.yaml:7: url: 'stats' is not valid: a url pattern starts with '/'");
    EXPECT_ERR(HEAD "admin_console:\n  pages: [/a]\n" MAIN_HANDLER,
               "app.yaml:5: admin_console page must be a mapping, got '/a'");
    EXPECT_ERR(HEAD "api_config:\n  url: /_ah/spi/.*\n" MAIN_HANDLER,
               "app.yaml:5: api_config has no 'script'");
    EXPECT_ERR(HEAD
               "api_config:\n  url: /_ah/spi/.*\n  script: api.app\n  login: all\n" MAIN_HANDLER,
               "app.yaml:7: login: expected optional, required or admin, got 'all'");
    EXPECT_ERR(HEAD
               "api_config:\n  url: /_ah/spi/.*\n  script: api.app\n  static_dir: s\n" MAIN_HANDLER,
               "app.yaml:7: unknown key 'static_dir' in api_config");
    EXPECT_ERR(HEAD "derived_file_type:\n- python_compiled\n" MAIN_HANDLER,
               "app.yaml:5: derived_file_type: 'python_compiled' is not valid: use "
               "java_precompiled or python_precompiled");
    EXPECT_ERR(HEAD "pagespeed:\n  enabled_rewriter: [MinifyCss]\n" MAIN_HANDLER,
               "app.yaml:5: unknown key 'enabled_rewriter' in pagespeed (did you mean "
               "'enabled_rewriters'?)");
    EXPECT_ERR(HEAD "pagespeed:\n  url_blacklist:\n  - {a: b}\n" MAIN_HANDLER,
               "app.yaml:6: url_blacklist: expected a string, got a mapping");
    EXPECT_ERR(HEAD "pagespeed:\n  url_blacklist: [example.com/x]\n" MAIN_HANDLER,
               "app.yaml:5: url_blacklist: 'example.com/x' is not valid: use http:// or https:// "
               "and up to 499 characters without spaces");
    EXPECT_ERR(HEAD "pagespeed:\n  enabled_rewriters: [Minify-Css]\n" MAIN_HANDLER,
               "app.yaml:5: enabled_rewriters: 'Minify-Css' is not valid: a rewriter name is "
               "letters, digits and '_'");
    EXPECT_ERR(HEAD "pagespeed:\n  domains_to_rewrite: ['*.example.com/x']\n" MAIN_HANDLER,
               "app.yaml:5: domains_to_rewrite: '*.example.com/x' is not valid: use a domain "
               "pattern like www.example.com or https://*.example.com:8080");
    EXPECT_ERR(HEAD "source_language: php quercus\n" MAIN_HANDLER,
               "app.yaml:4: source_language: 'php quercus' is not valid: use up to 32 letters, "
               "digits, '_', '.' and '-'");
    EXPECT_ERR(HEAD "code_lock: locked\n" MAIN_HANDLER,
               "app.yaml:4: code_lock: expected a boolean, got 'locked'");
    app_config_t *cfg = LOAD_OK(
        HEAD "source_language: php-quercus\ncode_lock: false\n"
             "admin_console:\n  pages: []\napi_config:\n"
             "  url: /_ah/spi/.*\n  script: api.app\n  login: admin\n"
             "  secure: always\n  auth_fail_action: unauthorized\n"
             "pagespeed:\n  domains_to_rewrite: [www.example.com, 'https://*.example.com:8080']\n"
             "  url_blacklist: [http://example.com/x/*]\n"
             "  disabled_rewriters: [CombineCss]\n"
             "derived_file_type: [java_precompiled]\n" MAIN_HANDLER);
    config_free(cfg);
}

static void test_accepted_keys(void)
{
    /* Keys real python27 apps carry are accepted (and ignored). */
    app_config_t *cfg = LOAD_OK("application: real-app\n"
                                "module: default\n"
                                "version: live\n"
                                "runtime: python27\n"
                                "api_version: 1\n"
                                "threadsafe: true\n"
                                "instance_class: F2\n"
                                "automatic_scaling:\n"
                                "  min_idle_instances: 1\n"
                                "  max_pending_latency: 1s\n"
                                "builtins:\n"
                                "- remote_api: on\n"
                                "- deferred: on\n"
                                "inbound_services:\n"
                                "- warmup\n"
                                "- mail\n"
                                "admin_console:\n"
                                "  pages:\n"
                                "  - name: Stats\n"
                                "    url: /stats\n"
                                "derived_file_type:\n"
                                "- python_precompiled\n"
                                "pagespeed:\n"
                                "  enabled_rewriters: [MinifyCss]\n"
                                "api_config:\n"
                                "  url: /_ah/spi/.*\n"
                                "  script: api.app\n"
                                "vm: false\n"
                                "beta_settings:\n"
                                "  machine_type: n1\n"
                                "auto_id_policy: default\n"
                                "handlers:\n"
                                "- url: /static\n"
                                "  static_dir: static\n"
                                "  application_readable: true\n"
                                "  http_headers:\n"
                                "    X-Frame-Options: DENY\n"
                                "    Cache-Control: public\n"
                                "  redirect_http_response_code: 301\n"
                                "- url: /.*\n"
                                "  script: main.app\n");
    CHECK(cfg && cfg->n_handlers == 2);
    CHECK(cfg && cfg->warmup); /* inbound_services lists it */
    /* redirect_http_response_code is the secure: redirect's status. */
    CHECK(cfg && cfg->handlers[0].redirect_code == 301 && cfg->handlers[1].redirect_code == 0);
    config_free(cfg);
    cfg = LOAD_OK("service: api\nruntime: python311\nentrypoint: gunicorn -b :$PORT main:app\n"
                  "env: standard\napp_engine_apis: true\nbasic_scaling:\n  max_instances: 2\n"
                  "  idle_timeout: 10m\n" MAIN_HANDLER);
    CHECK(cfg != NULL);
    config_free(cfg);
    cfg = LOAD_OK(HEAD "manual_scaling:\n  instances: 3\n" MAIN_HANDLER);
    CHECK(cfg && cfg->manual_scaling_instances == 3);
    config_free(cfg);
    cfg = LOAD_OK(HEAD MAIN_HANDLER);
    CHECK(cfg && cfg->manual_scaling_instances == 0 && !cfg->warmup);
    config_free(cfg);
    cfg = LOAD_OK(HEAD "automatic_scaling:\n  min_idle_instances: automatic\n"
                       "  max_idle_instances: 3\n  max_pending_latency: 1.5s\n"
                       "  max_concurrent_requests: 40\n  min_instances: 0\n  max_instances: 9\n"
                       "  target_cpu_utilization: 0.65\n"
                       "  target_throughput_utilization: .7\n" MAIN_HANDLER);
    CHECK(cfg != NULL);
    config_free(cfg);
    /* The scaling keys gaelic ignores are still checked (App Engine's syntax). */
    EXPECT_ERR(HEAD "manual_scaling:\n  instances: lots\n" MAIN_HANDLER,
               "app.yaml:5: instances: 'lots' is not valid: use a whole number from 1");
    EXPECT_ERR(HEAD "manual_scaling:\n  instancez: 2\n" MAIN_HANDLER,
               "app.yaml:5: unknown key 'instancez' in manual_scaling (did you mean 'instances'?)");
    EXPECT_ERR(HEAD "manual_scaling: {}\n" MAIN_HANDLER,
               "app.yaml:4: manual_scaling has no 'instances'");
    EXPECT_ERR(HEAD "basic_scaling:\n  max_instances: 0\n" MAIN_HANDLER,
               "app.yaml:5: max_instances: '0' is not valid: use a whole number from 1");
    EXPECT_ERR(HEAD "basic_scaling:\n  max_instances: 2\n  idle_timeout: forever\n" MAIN_HANDLER,
               "app.yaml:6: idle_timeout: 'forever' is not valid: use a time like '10m' or '300s'");
    EXPECT_ERR(HEAD "automatic_scaling:\n  max_idle_instances: -1\n" MAIN_HANDLER,
               "app.yaml:5: max_idle_instances: '-1' is not valid: use a whole number or "
               "'automatic'");
    EXPECT_ERR(HEAD "automatic_scaling:\n  target_cpu_utilization: 2\n" MAIN_HANDLER,
               "app.yaml:5: target_cpu_utilization: '2' is not valid: use a fraction like 0.6");
    EXPECT_ERR(HEAD "automatic_scaling:\n  colour: red\n" MAIN_HANDLER,
               "app.yaml:5: unknown key 'colour' in automatic_scaling");
    EXPECT_ERR(HEAD "automatic_scaling:\n  max_instances: [1]\n" MAIN_HANDLER,
               "app.yaml:5: max_instances: expected a string, got a list");
    /* 0 is App Engine's "no limit"; a minimum above the maximum is refused. */
    cfg = LOAD_OK(HEAD "automatic_scaling:\n  min_instances: 5\n  max_instances: 0\n" MAIN_HANDLER);
    CHECK(cfg && cfg->min_instances == 5 && cfg->max_instances == 0);
    config_free(cfg);
    cfg = LOAD_OK(HEAD "automatic_scaling:\n  min_idle_instances: 2\n" MAIN_HANDLER);
    CHECK(cfg && cfg->min_idle_instances == 2);
    config_free(cfg);
    cfg = LOAD_OK(HEAD "automatic_scaling:\n  min_idle_instances: automatic\n" MAIN_HANDLER);
    CHECK(cfg && cfg->min_idle_instances == 0 && cfg->max_idle_instances == -1);
    config_free(cfg);
    cfg = LOAD_OK(
        HEAD "automatic_scaling:\n  min_idle_instances: 2\n  max_idle_instances: 2\n" MAIN_HANDLER);
    CHECK(cfg && cfg->min_idle_instances == 2 && cfg->max_idle_instances == 2);
    config_free(cfg);
    cfg = LOAD_OK(HEAD "automatic_scaling:\n  max_idle_instances: 0\n" MAIN_HANDLER);
    CHECK(cfg && cfg->max_idle_instances == 0);
    config_free(cfg);
    cfg = LOAD_OK(HEAD "automatic_scaling:\n  min_idle_instances: 3\n"
                       "  max_idle_instances: automatic\n" MAIN_HANDLER);
    CHECK(cfg && cfg->min_idle_instances == 3 && cfg->max_idle_instances == -1);
    config_free(cfg);
    EXPECT_ERR(
        HEAD "automatic_scaling:\n  max_idle_instances: 1\n  min_idle_instances: 2\n" MAIN_HANDLER,
        "app.yaml:6: automatic_scaling: min_idle_instances (2) is more than "
        "max_idle_instances (1)");
    EXPECT_ERR(HEAD "automatic_scaling:\n  max_instances: 2\n  min_instances: 3\n" MAIN_HANDLER,
               "app.yaml:6: automatic_scaling: min_instances (3) is more than max_instances (2)");
    EXPECT_ERR(HEAD "automatic_scaling:\n  min_instances: -1\n" MAIN_HANDLER,
               "app.yaml:5: min_instances: '-1' is not valid: use a whole number from 0");
    EXPECT_ERR(HEAD "automatic_scaling:\n  max_idle_instances: 1\nmanual_scaling:\n"
                    "  instances: 1\n" MAIN_HANDLER,
               "app.yaml:6: manual_scaling: a version has only one kind of scaling, and "
               "automatic_scaling is given");
    EXPECT_ERR(HEAD "inbound_services: warmup\n" MAIN_HANDLER,
               "app.yaml:4: inbound_services: expected a list, got 'warmup'");
    CHECK(accepts(HEAD
                  "inbound_services: [mail, mail_bounce, xmpp_message, xmpp_subscribe, "
                  "xmpp_presence, xmpp_error, channel_presence, rest, warmup]\n" MAIN_HANDLER));
    EXPECT_ERR(HEAD "inbound_services:\n- warmup\n- wramup\n" MAIN_HANDLER,
               "app.yaml:6: inbound_services: 'wramup' is not one of mail, mail_bounce, "
               "xmpp_message, xmpp_subscribe, xmpp_presence, xmpp_error, channel_presence, rest "
               "or warmup");
    EXPECT_ERR(HEAD "inbound_services:\n- [warmup]\n" MAIN_HANDLER,
               "app.yaml:5: inbound_services: expected a service name, got a list");
    EXPECT_ERR(HEAD "automatic_scaling: 3\n" MAIN_HANDLER,
               "app.yaml:4: automatic_scaling: expected a mapping, got '3'");
    EXPECT_ERR(HEAD "vm: sometimes\n" MAIN_HANDLER,
               "app.yaml:4: vm: expected a boolean, got 'sometimes'");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  redirect_http_response_code: 308\n",
               "app.yaml:7: redirect_http_response_code: expected 301, 302, 303 or 307, got "
               "'308'");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n    X-A: [1]\n",
               "app.yaml:8: http_headers: expected a string value, got a list");
    /* App Engine's HttpHeadersDict rules: token names, printable ASCII values,
     * and not the headers the server itself owns. */
    CHECK(accepts(HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n"
                       "    X-Frame-Options: DENY\n    Content-Security-Policy: \"a 'self'\"\n"
                       "    Access-Control-Allow-Origin: '*'\n"));
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n    Bad Name: x\n",
               "app.yaml:8: http_headers: 'Bad Name' is not a valid header name (RFC 9110 token "
               "characters)");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n    'X:Y': x\n",
               "app.yaml:8: http_headers: 'X:Y' is not a valid header name (RFC 9110 token "
               "characters)");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n    \"\": x\n",
               "app.yaml:8: http_headers: '' is not a valid header name (RFC 9110 token "
               "characters)");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n"
                    "    X-A: \"a\\r\\nX-B: c\"\n",
               "app.yaml:8: http_headers: X-A: 'a??X-B: c' is not valid: header values are "
               "printable ASCII");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n"
                    "    X-A: \"caf\xc3\xa9\"\n",
               "app.yaml:8: http_headers: X-A: 'caf\xc3\xa9' is not valid: header values are "
               "printable ASCII");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n"
                    "    X-A: ok\n    content-length: '5'\n",
               "app.yaml:9: http_headers: 'content-length' is set by the server and not allowed "
               "here");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n"
                    "    User-Agent: x\n",
               "app.yaml:8: http_headers: 'User-Agent' is a request header, not a response "
               "header");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n"
                    "    X-AppEngine-Country: x\n",
               "app.yaml:8: http_headers: 'X-AppEngine-Country': names beginning with "
               "X-AppEngine are reserved");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n"
                    "    Connection: close\n",
               "app.yaml:8: http_headers: 'Connection' is a hop-by-hop header (RFC 9110 7.6.1)");
    /* RFC 9110 spells it Trailer (RFC 2616's list said "Trailers"). */
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n"
                    "    Trailer: X-A\n",
               "app.yaml:8: http_headers: 'Trailer' is a hop-by-hop header (RFC 9110 7.6.1)");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n    X-A: \"a\\tb\"\n",
               "app.yaml:8: http_headers: X-A: 'a?b' is not valid: header values are "
               "printable ASCII");
    /* "NAME: VALUE\r\n" under 500 bytes, but Set-Cookie (4096) and Location (2047). */
    char yaml[6000], value[4200];
    memset(value, 'v', sizeof value);
    value[500 - strlen("X-A: \r\n") - 1] = '\0';
    snprintf(yaml, sizeof yaml,
             HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n    X-A: %s\n", value);
    CHECK(accepts(yaml));
    memset(value, 'v', sizeof value);
    value[500 - strlen("X-A: \r\n")] = '\0';
    snprintf(yaml, sizeof yaml,
             HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n    X-A: %s\n", value);
    CHECK(!accepts(yaml));
    CHECK(strcmp(err, "app.yaml:8: http_headers: 'X-A' is too long: name and value take 500 "
                      "bytes or more") == 0);
    memset(value, 'v', sizeof value);
    value[4096] = '\0';
    snprintf(yaml, sizeof yaml,
             HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n    Set-Cookie: %s\n",
             value);
    CHECK(accepts(yaml));
    value[4096] = 'v';
    value[4097] = '\0';
    snprintf(yaml, sizeof yaml,
             HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n    Set-Cookie: %s\n",
             value);
    CHECK(!accepts(yaml));
    CHECK(strcmp(err, "app.yaml:8: http_headers: 'Set-Cookie' value has 4097 bytes, the limit "
                      "is 4096") == 0);
    /* A Content-Type there and a mime_type would say it twice. */
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  mime_type: text/html\n"
                    "  http_headers:\n    content-type: text/html\n",
               "app.yaml:9: http_headers: content-type: the handler has a mime_type already");
    /* At most 500 headers, as App Engine's HttpHeadersDict (MAX_LEN): one
     * more is refused, a name again in another case is not one more. */
    buf_t many = BUF_INIT;
    buf_printf(&many, HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n");
    for (int i = 0; i < 500; i++)
        buf_printf(&many, "    X-H%d: v\n", i);
    buf_printf(&many, "    x-h7: again\n");
    buf_append(&many, "", 1);
    CHECK(accepts(buf_ptr(&many)));
    many.len--;
    buf_printf(&many, "    X-One-More: v\n");
    buf_append(&many, "", 1);
    EXPECT_ERR(buf_ptr(&many), "app.yaml:509: http_headers: 'X-One-More' is one header too many: "
                               "a handler has at most 500");
    buf_free(&many);
    static const char *const owned[] = {"Content-Encoding", "Content-Length", "Date", "Server"};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml,
                 HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n    %s: x\n",
                 owned[i]);
        CHECK(!accepts(yaml));
    }
}

static void test_pending_latency(const char *key)
{
    static const struct {
        const char *value;
        int ms;
    } ok[] = {{"automatic", -1}, {"30ms", 30},     {"0.5s", 500},  {"15s", 15000},
              {"10ms", 10},      {"1.001s", 1001}, {"0.25s", 250}, {"0.01s", 10}};
    char yaml[256];
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        snprintf(yaml, sizeof yaml, HEAD "automatic_scaling:\n  %s: %s\n" MAIN_HANDLER, key,
                 ok[i].value);
        app_config_t *cfg = LOAD_OK(yaml);
        CHECK(cfg && (key[1] == 'i' ? cfg->min_pending_latency_ms : cfg->max_pending_latency_ms) ==
                         ok[i].ms);
        config_free(cfg);
    }
    /* Absent, and beside the scheduler keys that stay ignored. */
    app_config_t *cfg = LOAD_OK(HEAD MAIN_HANDLER);
    CHECK(cfg && cfg->min_pending_latency_ms == -1 && cfg->max_pending_latency_ms == -1);
    config_free(cfg);
    cfg = LOAD_OK(HEAD "automatic_scaling:\n  target_cpu_utilization: 0.7\n" MAIN_HANDLER);
    CHECK(cfg && cfg->min_pending_latency_ms == -1 && cfg->max_pending_latency_ms == -1);
    config_free(cfg);
    static const char *const bad[] = {"5ms",   "16s",   "30",      "fast",   "30 ms",
                                      "[1]",   "+30ms", "1e1ms",   "10.5ms", "1.0001s",
                                      "'.5s'", "'1.s'", "' 30ms'", "0x1Ems"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(yaml, sizeof yaml, HEAD "automatic_scaling:\n  %s: %s\n" MAIN_HANDLER, key,
                 bad[i]);
        CHECK(!accepts(yaml));
    }
    char want[256];
    snprintf(yaml, sizeof yaml, HEAD "automatic_scaling:\n  %s: 5ms\n" MAIN_HANDLER, key);
    snprintf(want, sizeof want,
             "app.yaml:5: automatic_scaling: %s must be 'automatic' or between 10ms and 15s (like "
             "'30ms' or '0.5s'), got '5ms'",
             key);
    EXPECT_ERR(yaml, want);
}

static void test_pending_latencies(void)
{
    test_pending_latency("min_pending_latency");
    test_pending_latency("max_pending_latency");
    app_config_t *cfg = LOAD_OK(HEAD "automatic_scaling:\n  min_pending_latency: 30ms\n"
                                     "  max_pending_latency: 0.03s\n" MAIN_HANDLER);
    CHECK(cfg && cfg->min_pending_latency_ms == 30 && cfg->max_pending_latency_ms == 30);
    config_free(cfg);
    EXPECT_ERR(HEAD "automatic_scaling:\n  max_pending_latency: 20ms\n"
                    "  min_pending_latency: 1s\n" MAIN_HANDLER,
               "app.yaml:6: automatic_scaling: min_pending_latency (1000 ms) is more than "
               "max_pending_latency (20 ms)");
}

static void test_duplicates(void)
{
    EXPECT_ERR(HEAD MAIN_HANDLER "runtime: python3\n",
               "app.yaml:7: duplicate key 'runtime' (first on line 1)");
    EXPECT_ERR(HEAD "handlers:\n- url: /a\n  script: a.app\n  url: /b\n",
               "app.yaml:7: duplicate key 'url' (first on line 5)");
    EXPECT_ERR(HEAD "env_variables:\n  A: 1\n  B: 2\n  A: 3\n" MAIN_HANDLER,
               "app.yaml:7: duplicate key 'A' (first on line 5)");
    /* The earliest second occurrence is the one reported. */
    EXPECT_ERR(HEAD "env_variables:\n  A: 1\n  B: 2\n  B: 3\n  A: 4\n" MAIN_HANDLER,
               "app.yaml:7: duplicate key 'B' (first on line 6)");
    /* Even inside keys that are otherwise ignored. */
    EXPECT_ERR(HEAD "automatic_scaling:\n  max: 1\n  max: 2\n" MAIN_HANDLER,
               "app.yaml:6: duplicate key 'max' (first on line 5)");
    EXPECT_ERR(HEAD "libraries:\n- name: jinja2\n  version: latest\n- name: jinja2\n"
                    "  version: \"2.6\"\n" MAIN_HANDLER,
               "app.yaml:7: library 'jinja2' is listed twice (first on line 5)");
    /* The lines of the names, with version first. */
    EXPECT_ERR(HEAD "libraries:\n- version: latest\n  name: jinja2\n- version: \"2.6\"\n"
                    "  name: jinja2\n" MAIN_HANDLER,
               "app.yaml:8: library 'jinja2' is listed twice (first on line 6)");
}

static void test_yaml_errors(void)
{
    EXPECT_ERR("runtime: python27\nhandlers:\n- url: /\n  script: main.app\n  - bad\n",
               "app.yaml:5: did not find expected key (while parsing a block mapping on line 3)");
    EXPECT_ERR("runtime: python27\nhandlers:\n- url: /\n\tscript: main.app\n",
               "app.yaml:4: found a tab character that violates indentation (while scanning a "
               "plain scalar on line 3)");
    EXPECT_ERR("runtime: python27\nhandlers:\n- url: [/\n  script: main.app\n",
               "app.yaml:4: did not find expected ',' or ']' (while parsing a flow sequence on "
               "line 3)");
    EXPECT_ERR("runtime: python27\nhandlers:\n- url: \"/\xff\"\n  script: main.app\n",
               "app.yaml:3: invalid leading UTF-8 octet (0xFF)");
    EXPECT_ERR("runtime: python27\r\n\r\nhandlers: \xc3\x28\r\n",
               "app.yaml:3: invalid trailing UTF-8 octet (0x28)");
    EXPECT_ERR(HEAD MAIN_HANDLER "---\nruntime: python27\n",
               "app.yaml:8: a second YAML document; the file must hold only one");
    EXPECT_ERR("- url: /\n  script: main.app\n", "app.yaml:1: the top level must be a mapping, "
                                                 "got a list");
    EXPECT_ERR("just text\n", "app.yaml:1: the top level must be a mapping, got 'just text'");
    /* A "\0" escape cannot become a C string. */
    EXPECT_ERR(HEAD "handlers:\n- url: /\n  script: \"main\\0.app\"\n",
               "app.yaml:6: script: expected a string, got 'main?.app'");
    /* NUL bytes in the text itself. */
    static const char with_nul[] = "runtime: python27\n\0handlers: []\n";
    app_config_t *cfg = NULL;
    CHECK(config_load_string(with_nul, sizeof with_nul - 1, "x.yaml", ".", &cfg, err, sizeof err) <
          0);
    CHECK(strncmp(err, "x.yaml:2: control characters are not allowed", 44) == 0);
    /* A UTF-8 byte order mark is fine. */
    cfg = LOAD_OK("\xef\xbb\xbf" HEAD MAIN_HANDLER);
    config_free(cfg);
    /* App Engine's YAML builder refused anchors and aliases (its
     * BuilderHandler: "Anchors not supported", "References not
     * supported"), and so merge keys with them. */
    EXPECT_ERR(HEAD "handlers:\n- &h {url: /a, script: main.app}\n- *h\n",
               "app.yaml:5: anchors (&name) are not allowed, as App Engine did not allow them");
    EXPECT_ERR(HEAD "handlers:\n- url: /a\n  script: &s main.app\n",
               "app.yaml:6: anchors (&name) are not allowed, as App Engine did not allow them");
    EXPECT_ERR(HEAD MAIN_HANDLER "env_variables:\n  A: x\n  B: *a\n",
               "app.yaml:9: aliases (*name) are not allowed, as App Engine did not allow them");
}

/* App Engine read app.yaml with PyYAML's Python scanner, which took a tab
 * only inside a quoted or block scalar or a comment ("found character
 * '\t' that cannot start any token"); libyaml also takes one after a key's
 * ':', at the end of a value, before a comment or inside a plain scalar. */
static void test_yaml_tabs(void)
{
#define TAB_ERR(line)                                                                              \
    "app.yaml:" #line ": a tab character outside a quoted or block scalar or a comment (App "      \
    "Engine's YAML parser refused it there; use spaces)"
    EXPECT_ERR("runtime: python27\nthreadsafe:\ttrue\n" MAIN_HANDLER, TAB_ERR(2));
    EXPECT_ERR("runtime: python27\nthreadsafe: true\t\n" MAIN_HANDLER, TAB_ERR(2));
    EXPECT_ERR(HEAD MAIN_HANDLER "env_variables:\n  A: 1\t# one\n", TAB_ERR(8));
    EXPECT_ERR(HEAD MAIN_HANDLER "env_variables:\n  A: a\tb\n", TAB_ERR(8));
    EXPECT_ERR(HEAD MAIN_HANDLER "inbound_services: [warmup,\tmail]\n", TAB_ERR(7));
    /* The first one counts, also after a quoted value. */
    EXPECT_ERR(HEAD MAIN_HANDLER "env_variables:\n  A: \"a\tb\"\t\n  B: c\t\n", TAB_ERR(8));
    /* Where PyYAML took them. */
    app_config_t *cfg = LOAD_OK(HEAD MAIN_HANDLER "env_variables:\n  A: \"a\tb\"\n  B: 'c\td'\n"
                                                  "  C: |\n    e\tf\n      \tg\n"
                                                  "  D: > # a\tcomment\n    h\ti\n"
                                                  "  E: j # k\tl\n  F: \"m\"#\tn\n"
                                                  "# \t\n");
    CHECK(cfg && cfg->n_env == 6);
    CHECK(cfg && strcmp(cfg->env[0].value, "a\tb") == 0);
    CHECK(cfg && strcmp(cfg->env[2].value, "e\tf\n  \tg\n") == 0);
    CHECK(cfg && strcmp(cfg->env[3].value, "h\ti\n") == 0);
    config_free(cfg);
    /* A multi-byte character before the tab keeps the columns right. */
    cfg = LOAD_OK(HEAD MAIN_HANDLER "env_variables:\n  A: \"\xc3\xa9\t\"\n");
    config_free(cfg);
    EXPECT_ERR(HEAD MAIN_HANDLER "env_variables:\n  A: \"\xc3\xa9\xc3\xa9\"\t\n", TAB_ERR(8));
    /* libyaml's own refusals keep their words. */
    EXPECT_ERR("runtime: python27\nhandlers:\n- url: /\n\tscript: main.app\n",
               "app.yaml:4: found a tab character that violates indentation (while scanning a "
               "plain scalar on line 3)");
#undef TAB_ERR
}

/* Explicit tags as App Engine's YAML builder took them: a tagged value was
 * built by PyYAML's constructor for the tag, so !!str keeps the text as
 * written; other tags either mean what the plain scalar means or are
 * refused. */
static void test_yaml_tags(void)
{
    app_config_t *cfg = LOAD_OK(HEAD MAIN_HANDLER "env_variables:\n  A: !!str true\n"
                                                  "  B: !!str 007\n  C: !!str ~\n  D: !!str 1.10\n"
                                                  "  E: !<tag:yaml.org,2002:str> 0x10\n"
                                                  "  F: !!int 010\n  G: !!bool \"yes\"\n"
                                                  "  H: !!null ''\n  I: !!float 1.50\n");
    CHECK(cfg && cfg->n_env == 9);
    if (cfg && cfg->n_env == 9) {
        CHECK_STR(cfg->env[0].value, "true");
        CHECK_STR(cfg->env[1].value, "007");
        CHECK_STR(cfg->env[2].value, "~");
        CHECK_STR(cfg->env[3].value, "1.10");
        CHECK_STR(cfg->env[4].value, "0x10");
        CHECK_STR(cfg->env[5].value, "8");
        CHECK_STR(cfg->env[6].value, "True");
        CHECK_STR(cfg->env[7].value, "None");
        CHECK_STR(cfg->env[8].value, "1.5");
    }
    config_free(cfg);
    /* A tag handle of the document's own names the same tag. */
    cfg = LOAD_OK("%TAG !y! tag:yaml.org,2002:\n---\n" HEAD MAIN_HANDLER
                  "env_variables: !y!map\n  A: !y!str 1_000\n");
    CHECK(cfg && cfg->n_env == 1 && strcmp(cfg->env[0].value, "1_000") == 0);
    config_free(cfg);
    cfg = LOAD_OK(HEAD "handlers: !!seq\n- !!map {url: !!str /.*, script: main.app}\n");
    config_free(cfg);
    /* !!str ~ is the text "~", no empty value. */
    EXPECT_ERR(HEAD "handlers:\n- url: /.*\n  script: !!str ~\n",
               "app.yaml:6: script '~' is neither a WSGI object path (module.app) nor a .py file "
               "path");
    /* A .py path of other characters is named as such. */
    EXPECT_ERR(HEAD "handlers:\n- url: /.*\n  script: caf\xc3\xa9.py\n",
               "app.yaml:6: script 'caf\xc3\xa9.py': a CGI script's path may hold only ASCII "
               "letters, digits and '_', '-', '.', '/', '$' (not '\xc3\xa9')");
    EXPECT_ERR(HEAD "handlers:\n- url: /.*\n  script: my app.py\n",
               "app.yaml:6: script 'my app.py': a CGI script's path may hold only ASCII "
               "letters, digits and '_', '-', '.', '/', '$' (not ' ')");
    EXPECT_ERR(HEAD MAIN_HANDLER "env_variables:\n  A: !!binary aGVsbG8=\n",
               "app.yaml:8: the tag '!!binary' is not supported here: a value takes !!str, !!int, "
               "!!float, !!bool or !!null");
    EXPECT_ERR("application: !app x\n" HEAD MAIN_HANDLER,
               "app.yaml:1: the tag '!app' is not supported here: a value takes !!str, !!int, "
               "!!float, !!bool or !!null");
    EXPECT_ERR("application: ! x\n" HEAD MAIN_HANDLER,
               "app.yaml:1: the tag '!' is not supported here: a value takes !!str, !!int, "
               "!!float, !!bool or !!null");
    EXPECT_ERR("runtime: python27\napi_version: 1\nthreadsafe: !!bool maybe\n" MAIN_HANDLER,
               "app.yaml:3: the tag '!!bool' is not supported here: the value is not one of its "
               "type");
    EXPECT_ERR(HEAD "handlers: !!map\n- url: /.*\n  script: main.app\n",
               "app.yaml:4: the tag '!!map' is not supported here: a list takes only !!seq");
    EXPECT_ERR(HEAD MAIN_HANDLER "env_variables: !!set {A}\n",
               "app.yaml:7: the tag '!!set' is not supported here: a mapping takes only !!map");
}

/* Bounds that keep libyaml's quadratic corners away (yaml_tree.h). */
static void test_yaml_limits(void)
{
    enum { BIG = 200000 };
    char *yaml = malloc(BIG * 8 + 256);
    if (!yaml) {
        unit_failed++;
        return;
    }
    /* 64 levels are fine (1 + 1 + 62 here), 65 are not. */
    size_t n = (size_t)sprintf(yaml, HEAD MAIN_HANDLER "beta_settings:\n  x: ");
    for (int i = 0; i < 62; i++)
        yaml[n++] = '[';
    for (int i = 0; i < 62; i++)
        yaml[n++] = ']';
    strcpy(yaml + n, "\n");
    CHECK(accepts(yaml));
    n = (size_t)sprintf(yaml, HEAD MAIN_HANDLER "beta_settings: ");
    for (int i = 0; i < BIG; i++)
        yaml[n++] = '[';
    strcpy(yaml + n, "\n");
    EXPECT_ERR(yaml, "app.yaml:7: nested deeper than 64 levels");
    /* Block nesting counts too. */
    n = (size_t)sprintf(yaml, HEAD MAIN_HANDLER "beta_settings:\n");
    for (int i = 1; i <= 70; i++)
        n += (size_t)sprintf(yaml + n, "%*sa:\n", i, "");
    EXPECT_ERR(yaml, "app.yaml:71: nested deeper than 64 levels");
    /* A file of aliases (libyaml's search of the anchors is quadratic)
     * stops at the first one. */
    n = (size_t)sprintf(yaml, HEAD MAIN_HANDLER "inbound_services: [warmup");
    for (int i = 0; i < BIG; i++)
        n += (size_t)sprintf(yaml + n, ", *a");
    strcpy(yaml + n, "]\n");
    EXPECT_ERR(yaml,
               "app.yaml:7: aliases (*name) are not allowed, as App Engine did not allow them");
    free(yaml);
}

/* skip_files and the static handlers' files go to each instance as one
 * command-line argument: past Linux's 128 KiB for one, the instance could
 * not be started at all. */
static void test_instance_argument_limits(void)
{
    enum { HANDLERS = 99, NAMES = 130 };
    buf_t yaml = BUF_INIT;
    buf_append_str(&yaml, HEAD "handlers:\n");
    for (int i = 0; i < HANDLERS; i++) {
        buf_printf(&yaml, "- url: /s%d/(.*)\n  static_files: s%d/\\1\n  upload: s%d/(", i, i, i);
        for (int j = 0; j < NAMES; j++)
            buf_printf(&yaml, "%sfile%04d\\.png", j ? "|" : "", j);
        buf_append_str(&yaml, ")\n");
    }
    buf_append_str(&yaml, "- url: /.*\n  script: main.app\n");
    buf_append(&yaml, "", 1);
    EXPECT_ERR(buf_ptr(&yaml),
               "app.yaml: the static handlers' upload patterns and static_dir folders take more "
               "than 131071 bytes together, the most an instance is given; the handler for "
               "'/s71/(.*)' goes past it");
    buf_free(&yaml);
    /* As much as fits is taken; a regex comment compiles to nothing, so
     * only the argument's length limits it. */
    enum { ROOM = 256 };
    char *upload = malloc(CONFIG_MAX_INSTANCE_ARG + 2);
    char *text = malloc(CONFIG_MAX_INSTANCE_ARG + ROOM);
    if (upload && text) {
        memset(upload, 'a', CONFIG_MAX_INSTANCE_ARG + 1);
        memcpy(upload, "(?#", 3);
        upload[CONFIG_MAX_INSTANCE_ARG - 1] = ')';
        upload[CONFIG_MAX_INSTANCE_ARG] = '\0';
        snprintf(text, CONFIG_MAX_INSTANCE_ARG + ROOM,
                 HEAD "handlers:\n- url: /a\n  static_files: a\n  upload: '%s'\n", upload);
        app_config_t *cfg = LOAD_OK(text);
        CHECK(cfg && strlen(cfg->static_only_files) == CONFIG_MAX_INSTANCE_ARG);
        config_free(cfg);
        upload[CONFIG_MAX_INSTANCE_ARG - 1] = 'a';
        upload[CONFIG_MAX_INSTANCE_ARG] = ')';
        upload[CONFIG_MAX_INSTANCE_ARG + 1] = '\0';
        snprintf(text, CONFIG_MAX_INSTANCE_ARG + ROOM,
                 HEAD "handlers:\n- url: /a\n  static_files: a\n  upload: '%s'\n", upload);
        EXPECT_ERR(text, "app.yaml: the static handlers' upload patterns and static_dir folders "
                         "take more than 131071 bytes together, the most an instance is given; "
                         "the handler for '/a' goes past it");
        snprintf(text, CONFIG_MAX_INSTANCE_ARG + ROOM, HEAD "skip_files: '%s'\n" MAIN_HANDLER,
                 upload);
        EXPECT_ERR(text, "app.yaml:4: skip_files: the regular expressions take more than 131071 "
                         "bytes together (included files' counted), the most an instance is "
                         "given");
    } else {
        unit_failed++;
    }
    free(upload);
    free(text);
}

static void test_no_handlers(void)
{
    /* An empty file lacks runtime first (python3 apps need no handlers). */
    EXPECT_ERR("", "app.yaml:1: the file is empty: it needs at least 'runtime:' (and, but for "
                   "python3 runtimes, 'handlers:')");
    EXPECT_ERR("# only a comment\n", "app.yaml:1: the file is empty: it needs at least "
                                     "'runtime:' (and, but for python3 runtimes, 'handlers:')");
    EXPECT_ERR("~\n", "app.yaml:1: the file is empty: it needs at least 'runtime:' (and, but for "
                      "python3 runtimes, 'handlers:')");
    EXPECT_ERR(HEAD, "app.yaml:1: no handlers");
    EXPECT_ERR(HEAD "handlers: []\n", "app.yaml:4: no handlers");
    EXPECT_ERR(HEAD "handlers:\n", "app.yaml:4: no handlers");
    EXPECT_ERR(HEAD "handlers:\n  url: /\n",
               "app.yaml:5: handlers: expected a list, got a mapping");
    EXPECT_ERR(HEAD "handlers:\n- /main\n", "app.yaml:5: handler must be a mapping, got '/main'");
}

static void test_max_handlers(void)
{
    char yaml[8192];
    size_t n = (size_t)snprintf(yaml, sizeof yaml, "%s", HEAD "handlers:\n");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(yaml + n, sizeof yaml - n, "- {url: /%d, script: m.app}\n", i);
    app_config_t *cfg = LOAD_OK(yaml);
    CHECK(cfg && cfg->n_handlers == 100);
    config_free(cfg);
    snprintf(yaml + n, sizeof yaml - n, "- {url: /x, script: m.app}\n");
    EXPECT_ERR(yaml, "app.yaml:105: too many handlers (101), the limit is 100");
}

static void test_handler_kinds(void)
{
    EXPECT_ERR(HEAD "handlers:\n- script: main.app\n", "app.yaml:5: handler has no 'url'");
    EXPECT_ERR(HEAD "handlers:\n- url: /\n  login: admin\n",
               "app.yaml:5: handler for '/' has no script, static_dir or static_files");
    EXPECT_ERR(HEAD "handlers:\n- url: /\n  script: main.app\n  static_dir: s\n",
               "app.yaml:5: handler for '/' has more than one of script, static_dir, "
               "static_files");
    EXPECT_ERR(HEAD "handlers:\n- url: /(.*)\n  static_files: s/\\1\n",
               "app.yaml:5: handler with static_files 's/\\1' has no 'upload'");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: s\n  upload: s/.*\n",
               "app.yaml:7: 'upload' is only allowed with static_files");
    EXPECT_ERR(HEAD "handlers:\n- url: /\n  script: main.app\n  expiration: 1d\n",
               "app.yaml:7: 'expiration' is only allowed in static_dir and static_files handlers");
    EXPECT_ERR(HEAD "handlers:\n- url: /\n  mime_type: text/plain\n  script: main.app\n",
               "app.yaml:6: 'mime_type' is only allowed in static_dir and static_files handlers");
    EXPECT_ERR(HEAD "handlers:\n- url: /\n  script: main.app\n  login: sometimes\n",
               "app.yaml:7: login: expected optional, required or admin, got 'sometimes'");
    EXPECT_ERR(HEAD "handlers:\n- url: /\n  script: main.app\n  secure: yes\n",
               "app.yaml:7: secure: expected optional, never, always or default, got 'yes'");
    /* App Engine's 'secure: default' is 'optional' (FixSecureDefaults). */
    app_config_t *cfg =
        LOAD_OK(HEAD "handlers:\n- url: /\n  script: main.app\n  secure: default\n");
    CHECK(cfg && cfg->handlers[0].secure == SECURE_OPTIONAL);
    config_free(cfg);
    EXPECT_ERR(HEAD "handlers:\n- url: /\n  script: main.app\n  auth_fail_action: deny\n",
               "app.yaml:7: auth_fail_action: expected redirect or unauthorized, got 'deny'");
    /* An empty script is no script (App Engine's Optional). */
    EXPECT_ERR(HEAD "handlers:\n- url: /\n  script:\n",
               "app.yaml:5: handler for '/' has no script, static_dir or static_files");
    EXPECT_ERR(HEAD "handlers:\n- url: /\n  script: ''\n",
               "app.yaml:6: script: '' is not valid: it is empty");
}

static void test_urls(void)
{
    EXPECT_ERR(HEAD "handlers:\n- url: /(unclosed\n  script: main.app\n",
               "app.yaml:5: url: '/(unclosed' is not a valid regular expression: missing closing "
               "parenthesis (at offset 10)");
    EXPECT_ERR(HEAD "handlers:\n- url: main\n  script: main.app\n",
               "app.yaml:5: url: 'main' is not valid: a url pattern starts with '/'");
    EXPECT_ERR(HEAD "handlers:\n- url: /s(\n  static_dir: s\n",
               "app.yaml:5: url: '/s(' is not a valid regular expression: missing closing "
               "parenthesis (at offset 3)");
    CHECK(accepts(HEAD "handlers:\n- url: .*\n  script: main.app\n"));
    CHECK(accepts(HEAD "handlers:\n- url: (/a|/b)\n  script: main.app\n"));
    /* App Engine's url pattern (appinfo _URL_REGEX): no leading '^', and
     * one in parentheses does not end with '$'; a '/' one may. */
    EXPECT_ERR(HEAD "handlers:\n- url: ^/x$\n  script: main.app\n",
               "app.yaml:5: url: '^/x$' is not valid: url patterns are anchored already, so one "
               "may not start with '^'");
    EXPECT_ERR(HEAD "handlers:\n- url: (/a|/b)$\n  script: main.app\n",
               "app.yaml:5: url: '(/a|/b)$' is not valid: url patterns are anchored already, so "
               "one starting with '(' may not end with '$'");
    EXPECT_ERR(HEAD "handlers:\n- url: ()\n  script: main.app\n",
               "app.yaml:5: url: '()' is not valid: it is too short");
    EXPECT_ERR(HEAD "handlers:\n- url: \"/a\\nb\"\n  script: main.app\n",
               "app.yaml:5: url: '/a?b' is not valid: it has a line break");
    CHECK(accepts(HEAD "handlers:\n- url: /x$\n  script: main.app\n"));
    CHECK(accepts(HEAD "handlers:\n- url: .*\\.txt$\n  script: main.app\n"));
}

/* CGI handlers need a threadsafe: false app (test_cgi_threadsafe). */
#define HEAD_CGI "runtime: python27\napi_version: 1\nthreadsafe: false\n"

static void test_scripts(void)
{
    static const struct {
        const char *script;
        int cgi; /* -1: refused */
    } cases[] = {
        {"main.app", 0},       {"pkg.module.application", 0},
        {"_private.app_2", 0}, {"main.py", 1},
        {"cgi/counter.py", 1}, {"$PYTHON_LIB/google/appengine/ext/admin/__init__.py", 1},
        {"my-dir/x.py", 1},    {"main", -1},
        {"foo bar", -1},       {"main.app.py.", -1},
        {".app", -1},          {"main..app", -1},
        {"1main.app", -1},     {"/abs/main.py", -1},
        {"../up.py", -1},      {"dir/.py", -1},
        {".py", -1},           {"a//b.py", -1},
        {"main.app()", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml, HEAD_CGI "handlers:\n- url: /\n  script: \"%s\"\n",
                 cases[i].script);
        app_config_t *cfg = load(yaml);
        int got = cfg ? cfg->handlers[0].script_is_cgi : -1;
        if (got == cases[i].cgi) {
            unit_passed++;
        } else {
            unit_failed++;
            fprintf(stderr, "%s: script '%s': got %d, want %d (%s)\n", __FILE__, cases[i].script,
                    got, cases[i].cgi, err);
        }
        config_free(cfg);
    }
    EXPECT_ERR(HEAD "handlers:\n- url: /\n  script: main\n",
               "app.yaml:6: script 'main' is neither a WSGI object path (module.app) nor a .py "
               "file path");
}

/* App Engine's ThreadsafeWithCgiHandler: a threadsafe python27 app has no
 * CGI handler; the error is at the first one's script line. */
static void test_cgi_threadsafe(void)
{
    EXPECT_ERR(HEAD "handlers:\n- url: /w\n  script: main.app\n- url: /c\n  login: admin\n"
                    "  script: dir/x.py\n- url: /.*\n  script: main.py\n",
               "app.yaml:9: script 'dir/x.py' is a CGI script, which 'threadsafe: true' does not "
               "allow (use a WSGI object path, module.app, or 'threadsafe: false')");
    EXPECT_ERR("handlers:\n- url: /(.*)\n  script: cgi/\\1.py\n"
               "runtime: python27\nthreadsafe: yes\n",
               "app.yaml:3: script 'cgi/\\1.py' is a CGI script, which 'threadsafe: true' does "
               "not allow (use a WSGI object path, module.app, or 'threadsafe: false')");
    app_config_t *cfg = LOAD_OK(HEAD_CGI "handlers:\n- url: /.*\n  script: main.py\n");
    CHECK(cfg && cfg->handlers[0].script_is_cgi == 1);
    config_free(cfg);
    /* App Engine's rule was python27's; python3 apps had no CGI to refuse. */
    cfg = LOAD_OK("runtime: python3\nthreadsafe: true\nhandlers:\n- url: /.*\n"
                  "  script: main.py\n");
    CHECK(cfg && cfg->threadsafe == 1 && cfg->handlers[0].script_is_cgi == 1);
    config_free(cfg);
}

static void test_script_auto(void)
{
    app_config_t *cfg = LOAD_OK("runtime: python311\nhandlers:\n- url: /.*\n  script: auto\n");
    CHECK(cfg && strcmp(cfg->handlers[0].script, "main.app") == 0);
    CHECK(cfg && cfg->handlers[0].script_is_cgi == 0);
    config_free(cfg);
    EXPECT_ERR("handlers:\n- url: /.*\n  script: auto\nruntime: python27\nthreadsafe: true\n",
               "app.yaml:2: script 'auto' needs a python3 runtime, not 'python27'");
}

static void test_group_refs(void)
{
    app_config_t *cfg = LOAD_OK(HEAD_CGI "handlers:\n"
                                         "- url: /(\\w+)/(\\w+)\n"
                                         "  script: \\1.\\2.app\n"
                                         "- url: /img/(.*\\.(png|gif))\n"
                                         "  static_files: static/\\1\n"
                                         "  upload: static/.*\\.(png|gif)\n"
                                         "- url: /cgi/(.*)\n"
                                         "  script: cgi/\\1.py\n");
    CHECK(cfg && cfg->n_handlers == 3);
    CHECK(cfg && cfg->handlers[2].script_is_cgi == 1);
    config_free(cfg);
    EXPECT_ERR(HEAD "handlers:\n- url: /(.*)\n  script: \\2.app\n",
               "app.yaml:6: script: \\2 refers to a group the url does not have (it has 1)");
    EXPECT_ERR(HEAD "handlers:\n- url: /x\n  static_files: s/\\1\n  upload: s/.*\n",
               "app.yaml:6: static_files: \\1 refers to a group the url does not have (it has "
               "0)");
    EXPECT_ERR(HEAD "handlers:\n- url: /(.*)\n  script: \\0.app\n",
               "app.yaml:6: script: '\\' must be followed by a group number 1-9");
    EXPECT_ERR(HEAD "handlers:\n- url: /(.*)\n  static_files: s/\\x\n  upload: s/.*\n",
               "app.yaml:6: static_files: '\\' must be followed by a group number 1-9");
    EXPECT_ERR(HEAD "handlers:\n- url: /(.*)\n  static_files: s/\\1\n  upload: s/(\n",
               "app.yaml:7: upload: 's/(' is not a valid regular expression: missing closing "
               "parenthesis (at offset 3)");
}

static void test_static_paths(void)
{
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: /etc\n",
               "app.yaml:6: static_dir: '/etc' is not valid: it must be relative to the app "
               "folder");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: static/../..\n",
               "app.yaml:6: static_dir: 'static/../..' is not valid: it must not contain '..'");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: ..\n",
               "app.yaml:6: static_dir: '..' is not valid: it must not contain '..'");
    EXPECT_ERR(HEAD "handlers:\n- url: /(.*)\n  static_files: ../\\1\n  upload: .*\n",
               "app.yaml:6: static_files: '../\\1' is not valid: it must not contain '..'");
    EXPECT_ERR(HEAD "handlers:\n- url: /s\n  static_dir: ''\n",
               "app.yaml:6: static_dir: '' is not valid: it is empty");
    CHECK(accepts(HEAD "handlers:\n- url: /s\n  static_dir: s/..x/y..\n"));
    /* mime_type is sent as a header line: no CR/LF (or other control) in it. */
    EXPECT_ERR(
        HEAD "handlers:\n- url: /s\n  static_dir: s\n  mime_type: \"text/plain\\r\\nX: y\"\n",
        "app.yaml:7: mime_type: 'text/plain??X: y' is not valid: it has a control character");
    EXPECT_ERR(HEAD "error_handlers:\n- file: e.html\n  mime_type: \"text/html\\n\"\n" MAIN_HANDLER,
               "app.yaml:6: mime_type: 'text/html?' is not valid: it has a control character");
    EXPECT_ERR(HEAD "error_handlers:\n- file: /etc/passwd\n" MAIN_HANDLER,
               "app.yaml:5: file: '/etc/passwd' is not valid: it must be relative to the app "
               "folder");
}

static void test_env_variables(void)
{
    app_config_t *cfg = LOAD_OK(HEAD "env_variables:\n  A: 'x y'\n  B: true\n  C: 007\n"
                                     "  D: \"\"\n" MAIN_HANDLER);
    if (cfg) {
        CHECK(cfg->n_env == 4);
        CHECK_STR(cfg->env[0].value, "x y");
        /* str() of PyYAML's value, as App Engine set them */
        CHECK_STR(cfg->env[1].value, "True");
        CHECK_STR(cfg->env[2].value, "7");
        CHECK_STR(cfg->env[3].value, "");
    }
    config_free(cfg);
    EXPECT_ERR(HEAD "env_variables:\n  A: {b: c}\n" MAIN_HANDLER,
               "app.yaml:5: env_variables: A: expected a string, got a mapping");
    EXPECT_ERR(HEAD "env_variables:\n  'A=B': c\n" MAIN_HANDLER,
               "app.yaml:5: env_variables: 'A=B' is not a valid variable name (letters, digits "
               "and '_', not starting with a digit)");
    EXPECT_ERR(HEAD "env_variables: [A]\n" MAIN_HANDLER,
               "app.yaml:4: env_variables: expected a mapping, got a list");
}

static void test_libraries_and_error_handlers(void)
{
    EXPECT_ERR(HEAD "libraries:\n- name: webapp2\n" MAIN_HANDLER,
               "app.yaml:5: library has no 'version'");
    EXPECT_ERR(HEAD "libraries:\n- version: latest\n" MAIN_HANDLER,
               "app.yaml:5: library has no 'name'");
    EXPECT_ERR(HEAD "libraries:\n- webapp2\n" MAIN_HANDLER,
               "app.yaml:5: library must be a mapping, got 'webapp2'");
    EXPECT_ERR(HEAD "libraries: webapp2\n" MAIN_HANDLER,
               "app.yaml:4: libraries: expected a list, got 'webapp2'");
    EXPECT_ERR(HEAD "error_handlers:\n- error_code: timeout\n" MAIN_HANDLER,
               "app.yaml:5: error handler has no 'file'");
    EXPECT_ERR(HEAD "error_handlers:\n- file: e.html\n  error_code: 404\n" MAIN_HANDLER,
               "app.yaml:6: error_code: expected default, over_quota, dos_api_denial or timeout, "
               "got '404'");
    char many[8192];
    size_t n = (size_t)snprintf(many, sizeof many, "%s", HEAD MAIN_HANDLER "libraries:\n");
    for (int i = 0; i < 101; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "- {name: l%d, version: x}\n", i);
    EXPECT_ERR(many, "app.yaml:108: too many libraries (101), the limit is 100");
    /* The python (2.5) runtime had no libraries (RuntimeDoesNotSupportLibraries). */
    EXPECT_ERR("runtime: python\nlibraries:\n- name: six\n  version: latest\n" MAIN_HANDLER,
               "app.yaml:2: libraries: the python runtime (2.5) has none; use python27 or a "
               "python3 runtime");
    CHECK(accepts("runtime: python\nlibraries: []\n" MAIN_HANDLER));
    app_config_t *cfg = LOAD_OK(HEAD "libraries: []\nerror_handlers:\n- file: t.html\n"
                                     "  error_code: dos_api_denial\n" MAIN_HANDLER);
    CHECK(cfg && cfg->n_libraries == 0 && cfg->n_error_handlers == 1);
    CHECK(cfg && strcmp(cfg->error_handlers[0].error_code, "dos_api_denial") == 0);
    config_free(cfg);
}

/* The files static handlers keep from the app (application_readable). */
static void test_static_only_files(void)
{
    app_config_t *cfg = LOAD_OK(HEAD MAIN_HANDLER);
    CHECK(cfg && cfg->static_only_files == NULL); /* no static handler */
    config_free(cfg);
    cfg = LOAD_OK(HEAD "handlers:\n"
                       "- url: /s\n  static_dir: st.a+/\n"
                       "- url: /r\n  static_dir: r\n  application_readable: true\n"
                       "- url: /i/(.*)\n  static_files: i/\\1\n  upload: i/(x)\\1\\.png\n"
                       "- url: /.*\n  script: main.app\n");
    /* The dir is a literal; each regex on its own line keeps upload's \1 its own. */
    CHECK(cfg && cfg->static_only_files &&
          strcmp(cfg->static_only_files, "st\\.a\\+/.*\ni/(x)\\1\\.png") == 0);
    config_free(cfg);
    /* Uploads are regexes of their own, as App Engine matched each: their
     * group names may repeat at other numbers, or differ at the same. */
    cfg = LOAD_OK(HEAD "handlers:\n"
                       "- url: /a/(.*)\n  static_files: a/\\1\n  upload: a/(?P<f>.*)\n"
                       "- url: /b/(.*)\n  static_files: b/\\1\n  upload: (b)/(?P<f>.*)\n"
                       "- url: /c/(.*)\n  static_files: c/\\1\n  upload: c/(?P<g>.*)\n"
                       "- url: /d/(.*)\n  static_files: d/\\1\n  upload: d/\\Q.x\n");
    CHECK(cfg && cfg->static_only_files &&
          strcmp(cfg->static_only_files, "a/(?P<f>.*)\n(b)/(?P<f>.*)\nc/(?P<g>.*)\nd/\\Q.x") == 0);
    config_free(cfg);
    /* A line break would split the list; App Engine took none either. */
    EXPECT_ERR(HEAD "handlers:\n- url: /a/(.*)\n  static_files: a/\\1\n  upload: \"a/.*\\nb\"\n",
               "app.yaml:7: upload: 'a/.*?b' is not valid: it has a line break");
    EXPECT_ERR(HEAD "handlers:\n- url: /a/(.*)\n  static_files: a/\\1\n  upload: ''\n",
               "app.yaml:7: upload: '' is not valid: it is empty");
    cfg = LOAD_OK(HEAD "handlers:\n- url: /r\n  static_dir: r\n  application_readable: true\n"
                       "- url: /.*\n  script: main.app\n");
    CHECK(cfg && cfg->static_only_files == NULL);
    config_free(cfg);
    /* As the handler serves them: "./pub/" and "pub/./" are pub's files,
     * "." all of the app's. */
    static const struct {
        const char *dir, *re;
    } folders[] = {
        {"./pub", "pub/.*"}, {"pub/./", "pub/.*"}, {".//a/.//b", "a/b/.*"},
        {".", ".*"},         {"./", ".*"},         {"a.b/c", "a\\.b/c/.*"},
    };
    for (size_t i = 0; i < sizeof folders / sizeof *folders; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml,
                 HEAD "handlers:\n- url: /s\n  static_dir: '%s'\n- url: /.*\n  script: main.app\n",
                 folders[i].dir);
        cfg = LOAD_OK(yaml);
        CHECK(cfg && cfg->static_only_files && strcmp(cfg->static_only_files, folders[i].re) == 0);
        config_free(cfg);
    }
    /* A folder whose name has a line break stays one regex (its line
     * break escaped): split at it, the instance would hide "pub" and
     * "lic/..." and let the app read pub<LF>lic's files. */
    cfg = LOAD_OK(HEAD "handlers:\n- url: /s\n  static_dir: \"pub\\nlic\"\n"
                       "- url: /.*\n  script: main.app\n");
    CHECK(cfg && cfg->static_only_files && strcmp(cfg->static_only_files, "pub\\nlic/.*") == 0);
    config_free(cfg);
}

static void test_skip_files(void)
{
    app_config_t *cfg = LOAD_OK(HEAD MAIN_HANDLER);
    if (cfg) {
        /* App Engine's default: editor backups, .pyc/.pyo, dotfiles, RCS. */
        CHECK(config_is_skipped(cfg, "foo~"));
        CHECK(config_is_skipped(cfg, "dir/foo.py~"));
        CHECK(config_is_skipped(cfg, "#foo#"));
        CHECK(config_is_skipped(cfg, "a/#b#"));
        CHECK(config_is_skipped(cfg, ".git/"));
        CHECK(config_is_skipped(cfg, ".git/config"));
        CHECK(config_is_skipped(cfg, "sub/.hidden"));
        CHECK(config_is_skipped(cfg, "lib/RCS/x,v"));
        CHECK(config_is_skipped(cfg, "__pycache__/"));
        CHECK(config_is_skipped(cfg, "pkg/__pycache__/mod.cpython-311.pyc"));
        CHECK(!config_is_skipped(cfg, "main.py"));
        CHECK(config_is_skipped(cfg, "main.pyc"));
        CHECK(config_is_skipped(cfg, "pkg/mod.pyo"));
        CHECK(!config_is_skipped(cfg, "static/"));
        CHECK(!config_is_skipped(cfg, "app.yaml"));
        CHECK(!config_is_skipped(cfg, "a#b"));
    }
    config_free(cfg);

    /* Python's "{,N}" is "{0,N}", in the regex instances are given too. */
    cfg = LOAD_OK(HEAD "skip_files:\n- ^a{,2}\\.bak$\n" MAIN_HANDLER);
    if (cfg) {
        CHECK_STR(cfg->skip_files, "^(?:^a{0,2}\\.bak$)");
        CHECK(config_is_skipped(cfg, ".bak"));
        CHECK(config_is_skipped(cfg, "aa.bak"));
        CHECK(!config_is_skipped(cfg, "a{,2}.bak"));
    }
    config_free(cfg);

    cfg = LOAD_OK(HEAD "skip_files: .*\\.bak\n" MAIN_HANDLER);
    if (cfg) {
        CHECK_STR(cfg->skip_files, "^(?:.*\\.bak)");
        CHECK(config_is_skipped(cfg, "x.bak"));
        /* Anchored at the start only, as App Engine's re.match. */
        CHECK(config_is_skipped(cfg, "x.bak2"));
        CHECK(!config_is_skipped(cfg, "x.ba"));
        CHECK(!config_is_skipped(cfg, ".hidden")); /* the default is replaced */
    }
    config_free(cfg);

    cfg = LOAD_OK(HEAD "skip_files:\n- ^(.*/)?#.*#$\n- ^(.*/)?.*~$\n- ^(.*/)?.*\\.py[co]$\n"
                       "- ^tests/.*\n" MAIN_HANDLER);
    if (cfg) {
        CHECK_STR(cfg->skip_files,
                  "^(?:^(.*/)?#.*#$)|^(?:^(.*/)?.*~$)|^(?:^(.*/)?.*\\.py[co]$)|^(?:^tests/.*)");
        CHECK(config_is_skipped(cfg, "a/b.pyc"));
        CHECK(config_is_skipped(cfg, "tests/"));
        CHECK(config_is_skipped(cfg, "tests/t.py"));
        CHECK(!config_is_skipped(cfg, "a/tests/t.py"));
        CHECK(!config_is_skipped(cfg, "main.py"));
    }
    config_free(cfg);

    /* A rule that matches a folder leaves out all of it, as App Engine's
     * upload matched each folder's path without a trailing '/'. */
    cfg = LOAD_OK(HEAD "skip_files:\n- ^venv$\n- ^(.*/)?node_modules$\n" MAIN_HANDLER);
    if (cfg) {
        CHECK(config_is_skipped(cfg, "venv"));
        CHECK(config_is_skipped(cfg, "venv/"));
        CHECK(config_is_skipped(cfg, "venv/lib/site.py"));
        CHECK(config_is_skipped(cfg, "web/node_modules/a/b.js"));
        CHECK(!config_is_skipped(cfg, "venvx/a.py"));
        CHECK(!config_is_skipped(cfg, "lib/venv.py"));
        CHECK(!config_is_skipped(cfg, "web/node_modules.js"));
        CHECK(!config_is_skipped(cfg, "main.py"));
    }
    config_free(cfg);

    /* The usual way to leave out a folder on App Engine: a prefix rule
     * without ".*" or "$" (re.match needs only the start to match). */
    cfg = LOAD_OK(HEAD "skip_files:\n- ^tests/\n- ^docs\n" MAIN_HANDLER);
    if (cfg) {
        CHECK(config_is_skipped(cfg, "tests/t.py"));
        CHECK(config_is_skipped(cfg, "tests/unit/u.py"));
        CHECK(config_is_skipped(cfg, "docs/index.html"));
        CHECK(config_is_skipped(cfg, "docs.txt"));
        CHECK(!config_is_skipped(cfg, "tests"));
        CHECK(!config_is_skipped(cfg, "a/tests/t.py"));
        CHECK(!config_is_skipped(cfg, "main.py"));
    }
    config_free(cfg);

    /* The block-scalar form of old App Engine docs: one regex over several
     * lines, whose line breaks App Engine removed before compiling. */
    cfg = LOAD_OK(HEAD
                  "skip_files: |\n  ^(.*/)?(\n  (app\\.yaml)|\n  (.*\\.bak)|\n  )$\n" MAIN_HANDLER);
    if (cfg) {
        CHECK(config_is_skipped(cfg, "app.yaml"));
        CHECK(config_is_skipped(cfg, "static/x.bak"));
        CHECK(!config_is_skipped(cfg, "main.py"));
    }
    config_free(cfg);
    cfg = LOAD_OK(HEAD "skip_files:\n- \"^tests/\\r\\n\"\n- |-\n  ^docs\n  /\n" MAIN_HANDLER);
    if (cfg) {
        CHECK(config_is_skipped(cfg, "tests/t.py"));
        CHECK(config_is_skipped(cfg, "docs/a.html"));
        CHECK(!config_is_skipped(cfg, "main.py"));
    }
    config_free(cfg);

    cfg = LOAD_OK(HEAD "skip_files: []\n" MAIN_HANDLER);
    CHECK(cfg && !config_is_skipped(cfg, ".git/"));
    CHECK(cfg && !config_is_skipped(cfg, ""));
    config_free(cfg);

    EXPECT_ERR(HEAD "skip_files:\n- ok\n- bad(\n" MAIN_HANDLER,
               "app.yaml:6: skip_files: 'bad(' is not a valid regular expression: missing "
               "closing parenthesis (at offset 4)");
    EXPECT_ERR(HEAD "skip_files:\n- [x]\n" MAIN_HANDLER,
               "app.yaml:5: skip_files: expected a regular expression, got a list");
    EXPECT_ERR(HEAD "skip_files: {a: b}\n" MAIN_HANDLER,
               "app.yaml:4: skip_files: expected a string or a list, got a mapping");
    CHECK(config_is_skipped(NULL, "x") == 0);
}

static void test_error_paths_and_lines(void)
{
    app_config_t *cfg = NULL;
    const char *yaml = "runtime: python27\nhandlers:\n- url: /\n  script: x\n";
    CHECK(config_load_string(yaml, strlen(yaml), "examples/x/app.yaml", "examples/x", &cfg, err,
                             sizeof err) < 0);
    CHECK(cfg == NULL);
    CHECK(strncmp(err, "examples/x/app.yaml:4: script 'x'", 33) == 0);
    /* A tiny buffer truncates but stays terminated. */
    char small[12];
    CHECK(config_load_string(yaml, strlen(yaml), "app.yaml", ".", &cfg, small, sizeof small) < 0);
    CHECK_STR(small, "app.yaml:4:");
    /* len is honoured: the text need not be NUL-terminated where it ends. */
    const char *two = HEAD MAIN_HANDLER "junk: [";
    cfg = NULL;
    CHECK(config_load_string(two, strlen(two) - strlen("junk: ["), "app.yaml", ".", &cfg, err,
                             sizeof err) == 0);
    config_free(cfg);
}

static void test_app_engine_refusals(void)
{
    /* threadsafe is required with python27 only (App Engine's MissingThreadsafe). */
    EXPECT_ERR("application: x\nruntime: python27\n" MAIN_HANDLER,
               "app.yaml:2: runtime python27 needs 'threadsafe: true' or 'threadsafe: false'");
    /* python3 runtimes no longer read it: every app was threadsafe unless
     * it allowed one request at a time per instance (an explicit value
     * is still taken). */
    app_config_t *cfg = LOAD_OK("runtime: python3\n" MAIN_HANDLER);
    CHECK(cfg && cfg->threadsafe == 1);
    config_free(cfg);
    cfg = LOAD_OK("runtime: python3\nautomatic_scaling:\n  max_concurrent_requests: 1\n");
    CHECK(cfg && cfg->threadsafe == 0 && cfg->max_concurrent_requests == 1);
    config_free(cfg);
    cfg = LOAD_OK("runtime: python3\nautomatic_scaling:\n  max_concurrent_requests: 50\n");
    CHECK(cfg && cfg->threadsafe == 1 && cfg->max_concurrent_requests == 50);
    config_free(cfg);
    cfg = LOAD_OK("runtime: python3\nthreadsafe: false\n");
    CHECK(cfg && cfg->threadsafe == 0);
    config_free(cfg);
    cfg = LOAD_OK("runtime: python27\nthreadsafe: false\n" MAIN_HANDLER);
    CHECK(cfg && cfg->threadsafe == 0);
    config_free(cfg);

    /* instance_class: App Engine's pattern took the letter in either case,
     * the rest exactly. */
    static const char *const good_classes[] = {"F1", "f2", "F4_1G", "f4_1G", "b8", "B4_1G"};
    for (size_t i = 0; i < sizeof good_classes / sizeof *good_classes; i++) {
        char yaml[256];
        /* B classes are for basic and manual scaling. */
        const char *scaling = good_classes[i][0] == 'b' || good_classes[i][0] == 'B'
                                  ? "basic_scaling:\n  max_instances: 1\n"
                                  : "";
        snprintf(yaml, sizeof yaml, "instance_class: %s\n%s" HEAD MAIN_HANDLER, good_classes[i],
                 scaling);
        CHECK(accepts(yaml));
    }
    /* App Engine refused a class of the other kind of scaling. */
    EXPECT_ERR("instance_class: B4\n" HEAD MAIN_HANDLER,
               "app.yaml:1: instance_class: B4 is not for automatic scaling, the default (use F1, "
               "F2, F4 or F4_1G, or basic_scaling or manual_scaling)");
    EXPECT_ERR("instance_class: b2\nautomatic_scaling:\n  max_instances: 3\n" HEAD MAIN_HANDLER,
               "app.yaml:1: instance_class: b2 is not for automatic scaling, the default (use F1, "
               "F2, F4 or F4_1G, or basic_scaling or manual_scaling)");
    EXPECT_ERR(HEAD "manual_scaling:\n  instances: 2\ninstance_class: F2\n" MAIN_HANDLER,
               "app.yaml:6: instance_class: F2 is not for manual_scaling (use B1, B2, B4, B4_1G "
               "or B8)");
    EXPECT_ERR(HEAD "instance_class: F4\nbasic_scaling:\n  max_instances: 2\n" MAIN_HANDLER,
               "app.yaml:4: instance_class: F4 is not for basic_scaling (use B1, B2, B4, B4_1G or "
               "B8)");
    /* Without instance_class: F1 with automatic scaling, B2 with the others. */
    app_config_t *cls = LOAD_OK(HEAD "automatic_scaling:\n  max_instances: 3\n" MAIN_HANDLER);
    CHECK(cls && cls->instance_class == NULL);
    config_free(cls);
    cls = LOAD_OK(HEAD "manual_scaling:\n  instances: 2\n" MAIN_HANDLER);
    CHECK(cls && cls->instance_class && strcmp(cls->instance_class, "B2") == 0);
    CHECK(cls && instance_class_mhz(cls->instance_class) == 1200);
    config_free(cls);
    cls = LOAD_OK(HEAD "basic_scaling:\n  max_instances: 2\n" MAIN_HANDLER);
    CHECK(cls && cls->instance_class && strcmp(cls->instance_class, "B2") == 0);
    config_free(cls);
    static const char *const bad_classes[] = {"F3", "f4_1g", "F", "", "F2 ", "x2"};
    for (size_t i = 0; i < sizeof bad_classes / sizeof *bad_classes; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml, "instance_class: '%s'\n" HEAD MAIN_HANDLER, bad_classes[i]);
        CHECK(!accepts(yaml));
    }
    CHECK(instance_class_mhz("f2") == 1200 && instance_class_mhz("b8") == 4800);
    CHECK(instance_class_mhz("F3") == -1 && instance_class_mhz(NULL) == INSTANCE_CLASS_DEFAULT_MHZ);
    CHECK(strcmp(instance_class_name("f4_1G"), "F4_1G") == 0 && !instance_class_name("f4_1g"));

    /* env: App Engine's ENV_RE_STRING (gaelic serves each as standard). */
    static const char *const good_envs[] = {"standard", "flex", "flexible", "1", "2"};
    for (size_t i = 0; i < sizeof good_envs / sizeof *good_envs; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml, "env: %s\n" HEAD MAIN_HANDLER, good_envs[i]);
        CHECK(accepts(yaml));
    }
    EXPECT_ERR("env: standrad\n" HEAD MAIN_HANDLER,
               "app.yaml:1: env: expected standard, flex, flexible, 1 or 2, got 'standrad'");

    /* module and service (its later name): MODULE_ID_RE_STRING, and not
     * both (App Engine's ModuleAndServiceDefined). */
    CHECK(accepts("service: my-api-2\n" HEAD MAIN_HANDLER));
    CHECK(accepts("module: default\n" HEAD MAIN_HANDLER));
    EXPECT_ERR("service: My_Api\n" HEAD MAIN_HANDLER,
               "app.yaml:1: service: 'My_Api' is not valid: use up to 63 lowercase letters, "
               "digits and '-', not first or last");
    EXPECT_ERR(HEAD "module: api-\n" MAIN_HANDLER,
               "app.yaml:4: module: 'api-' is not valid: use up to 63 lowercase letters, digits "
               "and '-', not first or last");
    EXPECT_ERR("module: api\nservice: api\n" HEAD MAIN_HANDLER,
               "app.yaml:2: service: a version has 'module' or 'service' (its later name), not "
               "both");

    /* version: MODULE_VERSION_ID_RE_STRING and its reserved names. */
    static const char *const good_versions[] = {"1", "v-2", "a1", "0", "prod"};
    for (size_t i = 0; i < sizeof good_versions / sizeof *good_versions; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml, "version: %s\n" HEAD MAIN_HANDLER, good_versions[i]);
        CHECK(accepts(yaml));
    }
    char yaml[512];
    snprintf(yaml, sizeof yaml, "version: %.63s\n" HEAD MAIN_HANDLER,
             "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij");
    CHECK(accepts(yaml));
    snprintf(yaml, sizeof yaml, "version: %.64s\n" HEAD MAIN_HANDLER,
             "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij");
    CHECK(!accepts(yaml));
    EXPECT_ERR("version: beta-\n" HEAD MAIN_HANDLER,
               "app.yaml:1: version: 'beta-' is not valid: use up to 63 lowercase letters, "
               "digits and '-', not first or last");
    EXPECT_ERR("version: a-dot-b\n" HEAD MAIN_HANDLER,
               "app.yaml:1: version: 'a-dot-b' is not valid: it must not contain '-dot-'");
    EXPECT_ERR("version: ah-builtin-x\n" HEAD MAIN_HANDLER,
               "app.yaml:1: version: 'ah-builtin-x' is not valid: the prefix 'ah-' is reserved");
    /* The later App Engine reserved all of ah- and two names. */
    EXPECT_ERR("version: ah-1\n" HEAD MAIN_HANDLER,
               "app.yaml:1: version: 'ah-1' is not valid: the prefix 'ah-' is reserved");
    EXPECT_ERR("version: default\n" HEAD MAIN_HANDLER,
               "app.yaml:1: version: 'default' is not valid: 'default' and 'latest' are reserved");
    EXPECT_ERR(HEAD "version: latest\n" MAIN_HANDLER,
               "app.yaml:4: version: 'latest' is not valid: 'default' and 'latest' are reserved");
    CHECK(accepts("version: ah\n" HEAD MAIN_HANDLER));
    CHECK(accepts("version: latest-1\n" HEAD MAIN_HANDLER));
    CHECK(accepts("version: v-ah-1\n" HEAD MAIN_HANDLER));

    /* env_variables names: App Engine's [a-zA-Z_][a-zA-Z0-9_]*. */
    CHECK(accepts(HEAD "env_variables:\n  _A1: x\n  b_2: y\n" MAIN_HANDLER));
    static const char *const bad_names[] = {"'1A'", "'A B'",     "'A-B'",
                                            "''",   "\"A\\0B\"", "'\xc3\xa9'"};
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        snprintf(yaml, sizeof yaml, HEAD "env_variables:\n  %s: x\n" MAIN_HANDLER, bad_names[i]);
        CHECK(!accepts(yaml));
        CHECK(strstr(err, "app.yaml:5: env_variables: ") && strstr(err, "not a valid variable"));
    }

    /* builtins: known names, on/off, one per item, once per file. */
    cfg =
        LOAD_OK(HEAD "builtins:\n- remote_api: on\n- deferred: off\n- appstats: yes\n"
                     "- default: 'y'\n- admin_redirect: '0'\n- django_wsgi: false\n" MAIN_HANDLER);
    CHECK(cfg != NULL);
    config_free(cfg);
    CHECK(accepts("runtime: python\nbuiltins:\n- datastore_admin: on\n" MAIN_HANDLER));
    EXPECT_ERR(HEAD "builtins:\n- remote_apy: on\n" MAIN_HANDLER,
               "app.yaml:5: builtins: 'remote_apy' is not a builtin (admin_redirect, appstats, "
               "default, deferred, django_wsgi or remote_api)");
    EXPECT_ERR(HEAD "builtins:\n- remote_api: maybe\n" MAIN_HANDLER,
               "app.yaml:5: builtins: remote_api: expected on or off, got 'maybe'");
    EXPECT_ERR(HEAD "builtins:\n- remote_api\n" MAIN_HANDLER,
               "app.yaml:5: builtins: each item is one 'name: on' or 'name: off', got "
               "'remote_api'");
    EXPECT_ERR(HEAD "builtins:\n- remote_api: on\n  deferred: on\n" MAIN_HANDLER,
               "app.yaml:5: builtins: each item is one 'name: on' or 'name: off', got a mapping");
    EXPECT_ERR(HEAD "builtins:\n- deferred: on\n- deferred: off\n" MAIN_HANDLER,
               "app.yaml:6: builtins: 'deferred' is listed twice (first on line 5)");
    EXPECT_ERR(HEAD "builtins:\n- mapreduce: on\n" MAIN_HANDLER,
               "app.yaml:5: builtins: 'mapreduce' is not available in the python27 runtime");

    /* position belongs to included files' handlers. */
    EXPECT_ERR(HEAD "handlers:\n- url: /.*\n  script: main.app\n  position: tail\n",
               "app.yaml:7: 'position' is only allowed in the handlers of an included file");
    /* includes: paths are strings, relative; none found under a missing folder. */
    EXPECT_ERR(HEAD "includes: [/etc/passwd]\n" MAIN_HANDLER,
               "app.yaml:4: includes: '/etc/passwd' must be relative to the app folder");
    EXPECT_ERR(HEAD "includes:\n- {a: b}\n" MAIN_HANDLER,
               "app.yaml:5: includes: expected a file path, got a mapping");
    EXPECT_ERR(HEAD "includes: [x.yaml]\n" MAIN_HANDLER,
               "app.yaml:4: includes: 'x.yaml' not found (a YAML file, or a folder with "
               "include.yaml, beside this file or in the app folder)");
}

/* ---- files on disk --------------------------------------------------------- */

static char tmp_root[256];

static void write_file(const char *rel, const char *text, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp_root, rel);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return;
    }
    if (text)
        fputs(text, f);
    else if (size && (fseek(f, (long)size - 1, SEEK_SET) != 0 || fputc(0, f) == EOF))
        perror(path);
    fclose(f);
}

static void make_dir(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp_root, rel);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        perror(path);
}

static void remove_tree(const char *path)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", path);
}

/* A fresh tmp_root from template ("...XXXXXX"); 0, or -1 counted as a failure. */
static int make_tmp_root(const char *template)
{
    snprintf(tmp_root, sizeof tmp_root, "%s", template);
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        unit_failed++;
        return -1;
    }
    return 0;
}

/* Loads tmp_root; returns the config or NULL with err set. */
static app_config_t *load_dir(void)
{
    app_config_t *cfg = NULL;
    err[0] = '\0';
    if (config_load(tmp_root, &cfg, err, sizeof err) < 0)
        return NULL;
    return cfg;
}

static void test_config_load_files(void)
{
    if (make_tmp_root("/tmp/gaelic-test-config-XXXXXX") < 0)
        return;
    app_config_t *cfg = NULL;
    char expect[600];

    CHECK(config_load(tmp_root, &cfg, err, sizeof err) < 0);
    snprintf(expect, sizeof expect, "%s: no app.yaml or app.yml", tmp_root);
    CHECK_STR(err, expect);

    write_file("app.yml", HEAD MAIN_HANDLER, 0);
    CHECK(config_load(tmp_root, &cfg, err, sizeof err) == 0);
    snprintf(expect, sizeof expect, "%s/app.yml", tmp_root);
    CHECK(cfg && strcmp(cfg->path, expect) == 0);
    config_free(cfg);
    cfg = NULL;

    write_file("app.yaml", "runtime: python27\nhandlers:\n- url: /\n  script: bad\n", 0);
    char given[300];
    snprintf(given, sizeof given, "%s/", tmp_root); /* trailing slash as typed */
    CHECK(config_load(given, &cfg, err, sizeof err) < 0);
    snprintf(expect, sizeof expect, "%s/app.yaml:4: script 'bad'", tmp_root);
    CHECK(strncmp(err, expect, strlen(expect)) == 0);

    write_file("app.yaml", HEAD MAIN_HANDLER, 0);
    CHECK(config_load(tmp_root, &cfg, err, sizeof err) == 0);
    if (!cfg) {
        fprintf(stderr, "  config_load: %s\n", err);
        remove_tree(tmp_root);
        return;
    }
    snprintf(expect, sizeof expect, "%s/app.yaml", tmp_root);
    CHECK_STR(cfg->path, expect);
    CHECK_STR(cfg->root, tmp_root); /* mkdtemp under /tmp is already canonical */

    /* app.yaml + app.yml + main.py + static/{a,b} = 5 counted files. */
    write_file("main.py", "x = 1\n", 0);
    make_dir("static");
    write_file("static/a.css", NULL, 1000);
    write_file("static/b.css", NULL, 2000);
    make_dir(".git"); /* skipped, with everything in it */
    write_file(".git/big", NULL, 20 << 20);
    write_file("main.py~", NULL, 20 << 20);
    make_dir("pkg");
    make_dir("pkg/__pycache__");
    write_file("pkg/__pycache__/m.cpython-311.pyc", NULL, 20 << 20);
    app_file_limits_t lim = {5, 0, 0};
    CHECK(config_check_files(cfg, &lim, NULL, NULL, err, sizeof err) == 0);
    CHECK(config_check_files(cfg, NULL, NULL, NULL, err, sizeof err) == 0);

    lim.max_files = 4;
    CHECK(config_check_files(cfg, &lim, NULL, NULL, err, sizeof err) < 0);
    snprintf(expect, sizeof expect, "%s: 5 files, the limit is 4", tmp_root);
    CHECK_STR(err, expect);

    app_file_limits_t one_file = {0, 1500, 0};
    CHECK(config_check_files(cfg, &one_file, NULL, NULL, err, sizeof err) < 0);
    snprintf(expect, sizeof expect, "%s/static/b.css: 2000 bytes, the limit for one file is 1500",
             tmp_root);
    CHECK_STR(err, expect);

    app_file_limits_t total = {0, 0, 3000};
    CHECK(config_check_files(cfg, &total, NULL, NULL, err, sizeof err) < 0);
    snprintf(expect, sizeof expect, "%s: total ", tmp_root);
    CHECK(strncmp(err, expect, strlen(expect)) == 0 && strstr(err, "the limit is 3000 bytes"));

    write_file("static/big.bin", NULL, 12582912);
    CHECK(config_check_files(cfg, NULL, NULL, NULL, err, sizeof err) < 0);
    snprintf(expect, sizeof expect,
             "%s/static/big.bin: 12582912 bytes, the limit for one file is 10485760", tmp_root);
    CHECK_STR(err, expect);

    app_file_limits_t mb = {0, 20 << 20, 11 << 20};
    CHECK(config_check_files(cfg, &mb, NULL, NULL, err, sizeof err) < 0);
    snprintf(expect, sizeof expect, "%s: total 13 MB, the limit is 11 MB", tmp_root);
    CHECK_STR(err, expect);

    /* A symlinked folder is not followed; a symlinked file counts. */
    char link_path[512], target[512];
    snprintf(link_path, sizeof link_path, "%s/static/loop", tmp_root);
    snprintf(target, sizeof target, "%s", tmp_root);
    CHECK(symlink(target, link_path) == 0);
    snprintf(link_path, sizeof link_path, "%s/alias.py", tmp_root);
    CHECK(symlink("main.py", link_path) == 0);
    snprintf(link_path, sizeof link_path, "%s/dangling", tmp_root);
    CHECK(symlink("nowhere", link_path) == 0);
    app_file_limits_t count7 = {6, 20 << 20, 0};
    CHECK(config_check_files(cfg, &count7, NULL, NULL, err, sizeof err) < 0);
    snprintf(expect, sizeof expect, "%s: 7 files, the limit is 6", tmp_root);
    CHECK_STR(err, expect);
    config_free(cfg);

    /* The bytecode the server writes itself (bytecode.py) never counts,
     * even when the app's skip_files replaces the default that skips it:
     * otherwise a server's own .pyc files could refuse the app on its
     * next start. */
    write_file("app.yaml", HEAD "skip_files: ^static/.*\n" MAIN_HANDLER, 0);
    cfg = load_dir();
    CHECK(cfg != NULL);
    app_file_limits_t no_cache = {6, 20 << 20,
                                  0}; /* app.yaml, app.yml, main.py, main.py~, .git/big, alias.py */
    CHECK(cfg && config_check_files(cfg, &no_cache, NULL, NULL, err, sizeof err) == 0);
    if (cfg && err[0])
        fprintf(stderr, "  config_check_files: %s\n", err);
    config_free(cfg);
    remove_tree(tmp_root);
}

/* config_check_files's outside_link: what it was told, "rel>target;" each. */
static int note_link(void *ctx, const char *rel, const char *target)
{
    char *out = ctx;
    size_t used = strlen(out);
    snprintf(out + used, 1024 - used, "%s>%s;", rel, target);
    return 0;
}

/* Like note_link, but follows each link (--follow_symlinks). */
static int follow_link(void *ctx, const char *rel, const char *target)
{
    note_link(ctx, rel, target);
    return 1;
}

/* App Engine's upload sent static handlers' files apart from the code and
 * limited each kind to 1000: a file one serves counts as static, and as
 * code too only when the handler is application_readable. */
static void test_static_files_count_apart(void)
{
    if (make_tmp_root("/tmp/gaelic-test-static-count-XXXXXX") < 0)
        return;
    write_file("app.yaml",
               HEAD "handlers:\n"
                    "- url: /pub\n  static_dir: ./pub/\n"
                    "- url: /img/(.*)\n  static_files: img/\\1\n  upload: img/.*\\.png\n"
                    "- url: /data\n  static_dir: data\n  application_readable: true\n"
                    "- url: /.*\n  script: main.app\n",
               0);
    write_file("main.py", "x = 1\n", 0);
    make_dir("pub");
    make_dir("pub/sub");
    write_file("pub/a.css", "a", 0);
    write_file("pub/sub/b.css", "b", 0);
    make_dir("img");
    write_file("img/c.png", "c", 0);
    write_file("img/notes.txt", "n", 0); /* no upload match: the app's */
    make_dir("data");
    write_file("data/d.json", "d", 0);
    write_file("pubx.py", "p", 0); /* beside pub/, not in it */
    app_config_t *cfg = load_dir();
    CHECK(cfg != NULL);
    if (!cfg) {
        fprintf(stderr, "  config_load: %s\n", err);
        remove_tree(tmp_root);
        return;
    }
    /* Code: app.yaml, main.py, img/notes.txt, data/d.json, pubx.py = 5;
     * static: pub/a.css, pub/sub/b.css, img/c.png, data/d.json = 4. */
    app_file_limits_t five = {5, 0, 0};
    CHECK(config_check_files(cfg, &five, NULL, NULL, err, sizeof err) == 0);
    char expect[600];
    app_file_limits_t four = {4, 0, 0};
    CHECK(config_check_files(cfg, &four, NULL, NULL, err, sizeof err) < 0);
    snprintf(expect, sizeof expect, "%s: 5 files, the limit is 4", tmp_root);
    CHECK_STR(err, expect);
    write_file("pub/e.css", "e", 0);
    write_file("pub/sub/f.css", "f", 0);
    CHECK(config_check_files(cfg, &five, NULL, NULL, err, sizeof err) < 0);
    snprintf(expect, sizeof expect, "%s: 6 static files, the limit is 5", tmp_root);
    CHECK_STR(err, expect);
    config_free(cfg);
    remove_tree(tmp_root);
}

/* A folder that a followed link leads to is the app's too: its files count
 * against the limits, as App Engine's upload sent them; links inside it
 * are not followed again. Not followed, it counts for nothing. */
static void test_followed_links_count(void)
{
    char outside[] = "/tmp/gaelic-test-followed-XXXXXX";
    if (!mkdtemp(outside))
        return;
    if (make_tmp_root("/tmp/gaelic-test-follow-XXXXXX") < 0) {
        rmdir(outside);
        return;
    }
    write_file("app.yaml", HEAD MAIN_HANDLER, 0);
    write_file("main.py", "x = 1\n", 0);
    char path[600];
    static const char *const names[] = {"a.py", "b.py", "c.py"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", outside, names[i]);
        FILE *f = fopen(path, "w");
        if (f) {
            fputs("0123456789", f);
            fclose(f);
        }
    }
    snprintf(path, sizeof path, "%s/again", outside); /* a loop: not followed again */
    CHECK(symlink(outside, path) == 0);
    snprintf(path, sizeof path, "%s/lib", tmp_root);
    CHECK(symlink(outside, path) == 0);
    app_config_t *cfg = load_dir();
    char told[1024] = "";
    app_file_limits_t four = {4, 1000, 100000};
    CHECK(cfg && config_check_files(cfg, &four, note_link, told, err, sizeof err) == 0);
    told[0] = '\0';
    CHECK(cfg && config_check_files(cfg, &four, follow_link, told, err, sizeof err) < 0);
    CHECK(strstr(err, "5 files, the limit is 4") != NULL);
    if (!strstr(err, "5 files, the limit is 4"))
        fprintf(stderr, "  followed link's files: %s\n", err);
    char want[1400];
    snprintf(want, sizeof want, "lib>%s;", outside);
    CHECK(strcmp(told, want) == 0);
    app_file_limits_t small_file = {100, 9, 100000};
    CHECK(cfg && config_check_files(cfg, &small_file, follow_link, told, err, sizeof err) < 0);
    CHECK(strstr(err, "/lib/") && strstr(err, "10 bytes, the limit for one file is 9"));
    if (!(strstr(err, "/lib/") && strstr(err, "10 bytes, the limit for one file is 9")))
        fprintf(stderr, "  followed link's file size: %s\n", err);
    config_free(cfg);
    remove_tree(tmp_root);
    unlink(path);
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", outside, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/again", outside);
    unlink(path);
    rmdir(outside);
}

static void test_outside_links(void)
{
    char outside[] = "/tmp/gaelic-test-outside-XXXXXX";
    if (!mkdtemp(outside))
        return;
    if (make_tmp_root("/tmp/gaelic-test-links-XXXXXX") < 0) {
        rmdir(outside);
        return;
    }
    write_file("app.yaml", HEAD "skip_files: ^hidden.*\n" MAIN_HANDLER, 0);
    write_file("main.py", "x = 1\n", 0);
    make_dir("pkg");
    char path[600], target[600];
    snprintf(target, sizeof target, "%s/f.py", outside);
    FILE *f = fopen(target, "w");
    if (f)
        fclose(f);
    /* Reported: a folder and a file outside, by absolute and relative link. */
    snprintf(path, sizeof path, "%s/pkg/lib", tmp_root);
    CHECK(symlink(outside, path) == 0);
    snprintf(path, sizeof path, "%s/ext.py", tmp_root);
    snprintf(target, sizeof target, "..%s/f.py", outside + 4); /* from /tmp/x: ../y/f.py */
    CHECK(symlink(target, path) == 0);
    /* Not: a link inside the app, a dangling one, one skip_files drops. */
    snprintf(path, sizeof path, "%s/alias.py", tmp_root);
    CHECK(symlink("main.py", path) == 0);
    snprintf(path, sizeof path, "%s/dangling", tmp_root);
    CHECK(symlink("/nowhere/at/all", path) == 0);
    snprintf(path, sizeof path, "%s/hidden_lib", tmp_root);
    CHECK(symlink(outside, path) == 0);
    app_config_t *cfg = load_dir();
    char told[1024] = "";
    CHECK(cfg && config_check_files(cfg, NULL, note_link, told, err, sizeof err) == 0);
    char want1[1400], want2[1400];
    snprintf(want1, sizeof want1, "ext.py>%s/f.py;pkg/lib>%s;", outside, outside);
    snprintf(want2, sizeof want2, "pkg/lib>%s;ext.py>%s/f.py;", outside, outside);
    CHECK(strcmp(told, want1) == 0 || strcmp(told, want2) == 0);
    if (strcmp(told, want1) && strcmp(told, want2))
        fprintf(stderr, "  outside links told: %s\n", told);
    config_free(cfg);
    remove_tree(tmp_root);
    snprintf(target, sizeof target, "%s/f.py", outside);
    unlink(target);
    rmdir(outside);
}

/* Loading tmp_root must fail with exactly "<tmp_root>/<rest>". */
static void expect_dir_err_at(int line, const char *rest)
{
    char want[1200];
    snprintf(want, sizeof want, "%s/%s", tmp_root, rest);
    expect_failed_at(line, load_dir(), want);
}
#define EXPECT_DIR_ERR(rest) expect_dir_err_at(__LINE__, rest)

static void test_includes(void)
{
    if (make_tmp_root("/tmp/gaelic-test-include-XXXXXX") < 0)
        return;
    make_dir("lib");
    make_dir("lib/admin");
    make_dir("lib/sub");
    /* A file, a folder with include.yaml, nested includes relative to the
     * including file, then to the app folder; a cycle back to lib/a.yaml. */
    write_file("app.yaml",
               HEAD "env_variables:\n  A: app\n  B: app\n"
                    "includes:\n- lib/a.yaml\n- lib/admin\n"
                    "handlers:\n- url: /own\n  script: main.app\n",
               0);
    write_file("lib/a.yaml",
               "handlers:\n- url: /a\n  script: a.app\n"
               "- url: /a-tail\n  script: a.tail\n  position: tail\n"
               "env_variables:\n  A: from-a\n  C: from-a\n"
               "skip_files: ^private/.*$\n"
               "includes: [sub/b.yaml]\n",
               0);
    write_file("lib/sub/b.yaml",
               "handlers:\n- url: /b\n  script: b.app\n  position: head\n"
               "includes: [lib/a.yaml, ../a.yaml]\n"
               "builtins:\n- remote_api: on\n"
               "admin_console:\n  pages:\n  - name: B\n    url: /b\n",
               0);
    write_file("lib/admin/include.yaml",
               "handlers:\n- url: /admin/.*\n  script: admin.app\n"
               "  login: admin\n"
               "env_variables:\n  C: from-admin\n",
               0);
    app_config_t *cfg = load_dir();
    CHECK(cfg != NULL);
    if (!cfg)
        fprintf(stderr, "  includes: %s\n", err);
    if (cfg && cfg->n_handlers == 5) {
        /* Included handlers first in the order read, app.yaml's, then tails. */
        CHECK_STR(cfg->handlers[0].url, "/a");
        CHECK_STR(cfg->handlers[1].url, "/b");
        CHECK_STR(cfg->handlers[2].url, "/admin/.*");
        CHECK(cfg->handlers[2].login == LOGIN_ADMIN);
        CHECK_STR(cfg->handlers[3].url, "/own");
        CHECK_STR(cfg->handlers[4].url, "/a-tail");
        CHECK(cfg->handlers[0].line == 2 && cfg->handlers[3].line == 11);
    } else {
        CHECK(cfg && cfg->n_handlers == 5);
    }
    if (cfg && cfg->n_env == 3) {
        /* Included values win, the later include over the earlier. */
        CHECK_STR(cfg->env[0].key, "A");
        CHECK_STR(cfg->env[0].value, "from-a");
        CHECK_STR(cfg->env[1].value, "app");
        CHECK_STR(cfg->env[2].key, "C");
        CHECK_STR(cfg->env[2].value, "from-admin");
    } else {
        CHECK(cfg && cfg->n_env == 3);
    }
    if (cfg) {
        CHECK(config_is_skipped(cfg, "private/key.pem"));
        CHECK(config_is_skipped(cfg, "x.py~")); /* app.yaml's default still applies */
        CHECK(!config_is_skipped(cfg, "main.py"));
    }
    config_free(cfg);

    /* Errors name the included file, its line and the reason. */
    write_file("lib/admin/include.yaml",
               "handlers:\n- url: /admin\n  script: admin.app\n"
               "runtime: python27\n",
               0);
    EXPECT_DIR_ERR("lib/admin/include.yaml:4: unknown key 'runtime' in an included file");
    write_file("lib/admin/include.yaml", "handlers:\n- url: /admin\n  script: admin/x\n", 0);
    EXPECT_DIR_ERR("lib/admin/include.yaml:3: script 'admin/x' is neither a WSGI object path "
                   "(module.app) nor a .py file path");
    /* App Engine took position only in script handlers (URLMap's
     * ALLOWED_FIELDS). */
    write_file("lib/admin/include.yaml",
               "handlers:\n- url: /s\n  static_dir: s\n  position: tail\n", 0);
    EXPECT_DIR_ERR("lib/admin/include.yaml:4: 'position' is only allowed in script handlers");
    write_file("lib/admin/include.yaml", "env_variables:\n  'A B': x\n", 0);
    EXPECT_DIR_ERR("lib/admin/include.yaml:2: env_variables: 'A B' is not a valid variable name "
                   "(letters, digits and '_', not starting with a digit)");
    write_file("lib/admin/include.yaml", "handlers: [\n", 0);
    app_config_t *bad = load_dir();
    CHECK(bad == NULL && strstr(err, "lib/admin/include.yaml:"));
    config_free(bad);
    write_file("lib/admin/include.yaml", "builtins:\n- mapreduce: on\n", 0);
    EXPECT_DIR_ERR("lib/admin/include.yaml:2: builtins: 'mapreduce' is not available in the "
                   "python27 runtime");
    write_file("lib/admin/include.yaml", "handlers:\n- url: /.*\n  script: auto\n", 0);
    EXPECT_DIR_ERR("lib/admin/include.yaml:2: script 'auto' needs a python3 runtime, not "
                   "'python27'");
    /* A CGI handler in an included file of a threadsafe app: its script line. */
    write_file("lib/admin/include.yaml",
               "handlers:\n- url: /admin/w\n  script: admin.app\n- url: /admin/.*\n"
               "  script: admin/cgi.py\n",
               0);
    EXPECT_DIR_ERR("lib/admin/include.yaml:5: script 'admin/cgi.py' is a CGI script, which "
                   "'threadsafe: true' does not allow (use a WSGI object path, module.app, or "
                   "'threadsafe: false')");
    /* An empty included file adds nothing. */
    write_file("lib/admin/include.yaml", "# nothing yet\n", 0);
    cfg = load_dir();
    CHECK(cfg && cfg->n_handlers == 4);
    config_free(cfg);

    /* A missing include is an error at the including file's line. */
    write_file("lib/sub/b.yaml", "\n\nincludes:\n- nowhere.yaml\n", 0);
    EXPECT_DIR_ERR("lib/sub/b.yaml:4: includes: 'nowhere.yaml' not found (a YAML file, or a "
                   "folder with include.yaml, beside this file or in the app folder)");
    /* Nothing outside the app folder, by path or by symlink. */
    write_file("lib/sub/b.yaml", "includes: [../../../etc/hostname]\n", 0);
    EXPECT_DIR_ERR("lib/sub/b.yaml:1: includes: '../../../etc/hostname' is outside the app "
                   "folder");
    char link_path[512];
    snprintf(link_path, sizeof link_path, "%s/lib/out.yaml", tmp_root);
    CHECK(symlink("/etc/hostname", link_path) == 0);
    write_file("lib/sub/b.yaml", "includes: [lib/out.yaml]\n", 0);
    EXPECT_DIR_ERR("lib/sub/b.yaml:1: includes: 'lib/out.yaml' is outside the app folder");
    /* A folder without include.yaml is not an include. */
    write_file("lib/sub/b.yaml", "includes: [lib/sub]\n", 0);
    cfg = load_dir();
    CHECK(cfg == NULL && strstr(err, "lib/sub/b.yaml:1: includes: 'lib/sub' not found"));
    config_free(cfg);

    /* Only included handlers: app.yaml may have none of its own. */
    write_file("lib/sub/b.yaml", "", 0);
    write_file("app.yaml", HEAD "includes: [lib/a.yaml]\n", 0);
    cfg = load_dir();
    CHECK(cfg && cfg->n_handlers == 2);
    config_free(cfg);
    write_file("app.yaml", HEAD "includes: [lib/sub/b.yaml]\nhandlers: []\n", 0);
    EXPECT_DIR_ERR("app.yaml:5: no handlers");

    /* The 100-handler limit counts included handlers too. */
    char *many = malloc(100 * 48 + 64);
    if (many) {
        size_t n = (size_t)sprintf(many, "handlers:\n");
        for (int i = 0; i < 99; i++)
            n += (size_t)sprintf(many + n, "- url: /h%d\n  script: m.app\n", i);
        write_file("lib/sub/b.yaml", many, 0);
        free(many);
    }
    write_file("app.yaml", HEAD "includes: [lib/sub/b.yaml]\n" MAIN_HANDLER, 0);
    cfg = load_dir();
    CHECK(cfg && cfg->n_handlers == 100);
    config_free(cfg);
    write_file("app.yaml",
               HEAD "includes: [lib/sub/b.yaml]\nhandlers:\n- url: /x\n  script: "
                    "x.app\n- url: /y\n  script: y.app\n",
               0);
    EXPECT_DIR_ERR("lib/sub/b.yaml:198: too many handlers (101 with app.yaml's and the included "
                   "files'), the limit is 100");
    remove_tree(tmp_root);
}

/* The app's manual_scaling instances after loading tmp_root; -1: refused. */
static int manual_instances_at(int line)
{
    app_config_t *cfg = load_dir();
    int n = cfg ? cfg->manual_scaling_instances : -1;
    if (!cfg)
        fprintf(stderr, "  (line %d) unexpected error: %s\n", line, err);
    config_free(cfg);
    return n;
}
#define MANUAL_INSTANCES() manual_instances_at(__LINE__)

/* App Engine merged included manual_scaling: the larger instances won. */
static void test_included_manual_scaling(void)
{
    if (make_tmp_root("/tmp/gaelic-test-include-XXXXXX") < 0)
        return;
    make_dir("lib");
    write_file("lib/b.yaml", "handlers:\n- url: /b\n  script: b.app\n", 0);
    write_file("app.yaml", HEAD "includes: [lib/a.yaml, lib/b.yaml]\n" MAIN_HANDLER, 0);
    write_file("lib/a.yaml", "manual_scaling:\n  instances: 4\n", 0);
    CHECK(MANUAL_INSTANCES() == 4); /* only the include sets it */
    write_file("app.yaml",
               HEAD
               "manual_scaling:\n  instances: 2\nincludes: [lib/a.yaml, lib/b.yaml]\n" MAIN_HANDLER,
               0);
    CHECK(MANUAL_INSTANCES() == 4); /* the include's is larger */
    write_file("lib/a.yaml", "manual_scaling:\n  instances: 1\n", 0);
    CHECK(MANUAL_INSTANCES() == 2); /* app.yaml's is larger */
    write_file("lib/b.yaml", "manual_scaling:\n  instances: 7\n", 0);
    CHECK(MANUAL_INSTANCES() == 7); /* the larger of two includes and app.yaml */
    write_file("lib/b.yaml", "handlers:\n- url: /b\n  script: b.app\n", 0);
    write_file("lib/a.yaml", "\nmanual_scaling:\n  instances: 0\n", 0);
    EXPECT_DIR_ERR("lib/a.yaml:3: instances: '0' is not valid: use a whole number from 1");
    write_file("lib/a.yaml", "manual_scaling: {}\n", 0);
    EXPECT_DIR_ERR("lib/a.yaml:1: manual_scaling has no 'instances'");
    remove_tree(tmp_root);
}

/* python3 runtimes (App Engine's second generation): handlers are optional
 * and a request no handler takes goes to the app's entrypoint, main:app
 * unless `entrypoint:` names another WSGI app (gunicorn's module:app). */
static void test_python3_entrypoint(void)
{
    app_config_t *cfg = LOAD_OK("runtime: python311\n");
    CHECK(cfg && cfg->n_handlers == 1);
    if (cfg && cfg->n_handlers == 1) {
        CHECK_STR(cfg->handlers[0].url, "/.*");
        CHECK(cfg->handlers[0].kind == HANDLER_SCRIPT && cfg->handlers[0].re != NULL);
        CHECK_STR(cfg->handlers[0].script, "main.app");
        CHECK(cfg->handlers[0].script_is_cgi == 0);
    }
    config_free(cfg);
    cfg = LOAD_OK("runtime: python39\nentrypoint: gunicorn -b :$PORT mysite.wsgi:application\n"
                  "handlers:\n- url: /static\n  static_dir: static\n- url: /api/.*\n"
                  "  script: auto\n");
    CHECK(cfg && cfg->n_handlers == 3);
    if (cfg && cfg->n_handlers == 3) {
        CHECK_STR(cfg->handlers[1].script, "mysite.wsgi.application");
        CHECK_STR(cfg->handlers[2].url, "/.*");
        CHECK_STR(cfg->handlers[2].script, "mysite.wsgi.application");
    }
    config_free(cfg);
    /* An entrypoint without module:app keeps the runtime's default. */
    cfg = LOAD_OK("runtime: python312\nentrypoint: python main.py\nhandlers: []\n");
    CHECK(cfg && cfg->n_handlers == 1 && strcmp(cfg->handlers[0].script, "main.app") == 0);
    CHECK(cfg && !cfg->entrypoint_names_app && cfg->entrypoint_line == 2);
    config_free(cfg);
    /* gunicorn's application factory, quoted for the shell or not. */
    cfg = LOAD_OK("runtime: python312\nentrypoint: gunicorn -b :$PORT \"app:create_app()\"\n");
    CHECK(cfg && cfg->entrypoint_names_app && !strcmp(cfg->python3_app, "app.create_app()"));
    config_free(cfg);
    cfg = LOAD_OK("runtime: python312\nentrypoint: gunicorn 'pkg.wsgi:make()' -w 2\n");
    CHECK(cfg && !strcmp(cfg->python3_app, "pkg.wsgi.make()"));
    config_free(cfg);
    cfg = LOAD_OK("runtime: python312\nentrypoint: gunicorn \"main:make(1)\"\n");
    CHECK(cfg && !cfg->entrypoint_names_app && !strcmp(cfg->python3_app, "main.app"));
    config_free(cfg);
    /* gunicorn serves its first positional argument, an APP_MODULE after
     * "--" too; what follows it in the shell's line is not the app. */
    static const char *const bare_module_entrypoints[] = {
        "gunicorn -b :$PORT mysite.wsgi 2>&1",
        "gunicorn -b :$PORT mysite.wsgi && echo stopped",
        "gunicorn -b :$PORT -- mysite.wsgi",
        "gunicorn --preload -- mysite.wsgi",
    };
    for (size_t i = 0; i < sizeof bare_module_entrypoints / sizeof *bare_module_entrypoints; i++) {
        char yaml[200];
        snprintf(yaml, sizeof yaml, "runtime: python312\nentrypoint: %s\n",
                 bare_module_entrypoints[i]);
        cfg = LOAD_OK(yaml);
        CHECK(cfg && cfg->entrypoint_names_app &&
              !strcmp(cfg->python3_app, "mysite.wsgi.application"));
        if (cfg && strcmp(cfg->python3_app, "mysite.wsgi.application"))
            fprintf(stderr, "  %s: %s\n", bare_module_entrypoints[i], cfg->python3_app);
        config_free(cfg);
    }
    /* python27 kept App Engine's first-generation rule. */
    EXPECT_ERR("runtime: python27\nthreadsafe: true\nentrypoint: gunicorn main:app\n",
               "app.yaml:1: no handlers");
}

/* env_variables values are what App Engine set: PyYAML's YAML 1.1 value of
 * a plain scalar, as Python's str() writes it. */
static void test_env_variable_values(void)
{
    app_config_t *cfg = LOAD_OK(HEAD "env_variables:\n  T: true\n  F: off\n  Y: Yes\n"
                                     "  O: 007\n  H: 0x1F\n  U: 1_000\n  S: '1:30'\n  X: 1:30\n"
                                     "  N:\n  Q: 'true'\n  P: +5\n  E: 08\n  R: 1.10\n"
                                     "  G: 3.\n  B: 0b101\n  Z: -0\n  L: 1.5e+3\n  K: 1e3\n"
                                     "  V: 12345678901234567890\n  W: 1e16\n  M: .5\n"
                                     "  I: 1.0e+400\n  J: -2.5e+999\n" MAIN_HANDLER);
    static const char *const want[][2] = {{"T", "True"},
                                          {"F", "False"},
                                          {"Y", "True"},
                                          {"O", "7"},
                                          {"H", "31"},
                                          {"U", "1000"},
                                          {"S", "1:30"},
                                          {"X", "90"},
                                          {"N", "None"},
                                          {"Q", "true"},
                                          {"P", "5"},
                                          {"E", "08"},
                                          {"R", "1.1"},
                                          {"G", "3.0"},
                                          {"B", "5"},
                                          {"Z", "0"},
                                          {"L", "1500.0"},
                                          {"K", "1e3"},
                                          {"V", "12345678901234567890"},
                                          {"W", "1e16"},
                                          {"M", "0.5"},
                                          {"I", "inf"},
                                          {"J", "-inf"}};
    size_t n = sizeof want / sizeof *want;
    CHECK(cfg && cfg->n_env == n);
    for (size_t i = 0; cfg && i < n && i < cfg->n_env; i++) {
        CHECK_STR(cfg->env[i].key, want[i][0]);
        CHECK_STR(cfg->env[i].value, want[i][1]);
    }
    config_free(cfg);
}

/* Values App Engine accepted that real apps use. */
static void test_app_engine_acceptances(void)
{
    /* Cloud Endpoints Frameworks apps name their service. */
    CHECK(accepts(HEAD "endpoints_api_service:\n  name: echo.endpoints.p.cloud.goog\n"
                       "  rollout_strategy: managed\n" MAIN_HANDLER));
    CHECK(accepts(HEAD "endpoints_api_service:\n  name: echo.endpoints.p.cloud.goog\n"
                       "  config_id: 2017-01-01r0\n" MAIN_HANDLER));
    EXPECT_ERR(HEAD "endpoints_api_service:\n  name: e.cloud.goog\n" MAIN_HANDLER,
               "app.yaml:5: endpoints_api_service: config_id is needed unless rollout_strategy "
               "is managed");
    EXPECT_ERR(HEAD "endpoints_api_service:\n  name: e.cloud.goog\n  rollout_strategy: managed\n"
                    "  config_id: x\n" MAIN_HANDLER,
               "app.yaml:7: endpoints_api_service: config_id is not allowed with "
               "rollout_strategy managed");
    EXPECT_ERR(HEAD "endpoints_api_service:\n  rollout_strategy: managed\n" MAIN_HANDLER,
               "app.yaml:5: endpoints_api_service has no 'name'");
    /* Managed VMs apps' settings. */
    CHECK(accepts(HEAD "vm: true\nvm_settings:\n  machine_type: n1-standard-1\n" MAIN_HANDLER));
    /* max_instances 0 turns the limit off. */
    CHECK(accepts(HEAD "automatic_scaling:\n  max_instances: 0\n" MAIN_HANDLER));
    /* Content-Security-Policy values up to 10240 bytes. */
    char csp[10300], yaml[10600];
    memset(csp, 'a', 10240);
    csp[10240] = '\0';
    snprintf(yaml, sizeof yaml,
             HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n"
                  "    Content-Security-Policy: %s\n",
             csp);
    CHECK(accepts(yaml));
    if (!accepts(yaml))
        fprintf(stderr, "  %s\n", err);
    csp[10240] = 'a';
    csp[10241] = '\0';
    snprintf(yaml, sizeof yaml,
             HEAD "handlers:\n- url: /s\n  static_dir: s\n  http_headers:\n"
                  "    X-WebKit-CSP: %s\n",
             csp);
    CHECK(!accepts(yaml));
    CHECK(strcmp(err, "app.yaml:8: http_headers: 'X-WebKit-CSP' value has 10241 bytes, the "
                      "limit is 10240") == 0);
}

/* App Engine's validation.Optional took an empty value (None) as no value,
 * so a key left empty (its items all commented out, say) was not given. */
static void test_empty_optional_keys(void)
{
    app_config_t *cfg = LOAD_OK("application:\nversion:\n" HEAD "default_expiration:\n"
                                "env_variables:\nlibraries:\nerror_handlers:\nbuiltins:\n"
                                "inbound_services:\nincludes:\nmodule:\ninstance_class:\n"
                                "automatic_scaling:\nadmin_console:\nvm:\nbeta_settings:\n"
                                "auto_id_policy:\n" MAIN_HANDLER);
    if (cfg) {
        CHECK(cfg->application == NULL && cfg->version == NULL && cfg->instance_class == NULL);
        CHECK(cfg->default_expiration == -1 && cfg->n_env == 0 && cfg->n_libraries == 0);
        CHECK(cfg->n_handlers == 1 && !cfg->warmup);
    }
    config_free(cfg);
    /* api_version empty is the default; the 2.5 runtime needs no threadsafe. */
    cfg = LOAD_OK("runtime: python\napi_version:\nthreadsafe:\n" MAIN_HANDLER);
    CHECK(cfg && strcmp(cfg->api_version, "1") == 0 && cfg->threadsafe == 0);
    config_free(cfg);
    /* Only given keys count as two names of one thing or two scalings. */
    cfg = LOAD_OK("application:\nproject: guestbook\nmodule:\nservice: api\n" HEAD
                  "automatic_scaling:\nmanual_scaling:\n  instances: 2\n" MAIN_HANDLER);
    CHECK(cfg && strcmp(cfg->application, "guestbook") == 0);
    CHECK(cfg && cfg->manual_scaling_instances == 2);
    config_free(cfg);
    /* Within a handler, an error handler and the scaling settings too. */
    CHECK(accepts(HEAD "basic_scaling:\n  max_instances: 2\n  idle_timeout:\n" MAIN_HANDLER));
    cfg = LOAD_OK(HEAD "handlers:\n- url: /s\n  static_dir: s\n  mime_type:\n  expiration:\n"
                       "  http_headers:\n  application_readable:\n  upload:\n"
                       "- url: /.*\n  script: main.app\n  position:\n"
                       "  redirect_http_response_code:\n"
                       "error_handlers:\n- file: e.html\n  error_code:\n  mime_type:\n"
                       "automatic_scaling:\n  min_idle_instances:\n  max_pending_latency:\n");
    if (cfg && cfg->n_handlers == 2) {
        const handler_t *h = &cfg->handlers[0];
        CHECK(h->kind == HANDLER_STATIC_DIR && h->mime_type == NULL && h->expiration == -1);
        CHECK(h->http_headers == NULL && h->upload == NULL && !h->application_readable);
        CHECK(cfg->handlers[1].redirect_code == 0 && !cfg->handlers[1].position_tail);
        CHECK_STR(cfg->error_handlers[0].error_code, "default");
        CHECK(cfg->error_handlers[0].mime_type == NULL);
    }
    config_free(cfg);
    /* A quoted '' is a value, and runtime is still needed. */
    EXPECT_ERR("version: ''\n" HEAD MAIN_HANDLER,
               "app.yaml:1: version: '' is not valid: use up to 63 lowercase letters, digits and "
               "'-', not first or last");
    EXPECT_ERR("runtime:\n" MAIN_HANDLER, "app.yaml:1: runtime: expected a string, got an empty "
                                          "value");
    /* App Engine needed handlers from app.yaml or its includes: an empty
     * `handlers:` beside an include that has them; an included file's
     * empty keys. */
    if (make_tmp_root("/tmp/gaelic-test-include-XXXXXX") < 0)
        return;
    write_file("app.yaml", HEAD "handlers:\nincludes:\n- inc.yaml\n", 0);
    write_file("inc.yaml",
               "handlers:\n- url: /.*\n  script: main.app\nbuiltins:\nincludes:\n"
               "env_variables:\nmanual_scaling:\nadmin_console:\nvm:\n",
               0);
    cfg = load_dir();
    CHECK(cfg && cfg->n_handlers == 1 && cfg->manual_scaling_instances == 0);
    if (!cfg)
        fprintf(stderr, "  included: %s\n", err);
    config_free(cfg);
    remove_tree(tmp_root);
}

int main(void)
{
    test_full_app();
    test_defaults();
    test_unused_keys();
    test_threadsafe();
    test_runtime();
    test_application_and_version();
    test_durations();
    test_unknown_keys();
    test_accepted_keys();
    test_checked_unused_keys();
    test_pending_latencies();
    test_duplicates();
    test_yaml_errors();
    test_yaml_tabs();
    test_yaml_tags();
    test_yaml_limits();
    test_instance_argument_limits();
    test_no_handlers();
    test_max_handlers();
    test_handler_kinds();
    test_urls();
    test_scripts();
    test_cgi_threadsafe();
    test_script_auto();
    test_group_refs();
    test_static_paths();
    test_env_variables();
    test_libraries_and_error_handlers();
    test_skip_files();
    test_static_only_files();
    test_error_paths_and_lines();
    test_app_engine_refusals();
    test_config_load_files();
    test_static_files_count_apart();
    test_outside_links();
    test_followed_links_count();
    test_includes();
    test_included_manual_scaling();
    test_python3_entrypoint();
    test_env_variable_values();
    test_app_engine_acceptances();
    test_empty_optional_keys();
    UNIT_DONE();
}
