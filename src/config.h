/* app.yaml, loaded once into immutable structs (RT1, RT10).
 * Every string is owned by the app_config_t and freed by config_free. */
#ifndef GAELIC_CONFIG_H
#define GAELIC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef enum { LOGIN_OPTIONAL = 0, LOGIN_REQUIRED, LOGIN_ADMIN } login_t;
typedef enum { SECURE_OPTIONAL = 0, SECURE_NEVER, SECURE_ALWAYS } secure_t;
typedef enum { AUTH_FAIL_REDIRECT = 0, AUTH_FAIL_UNAUTHORIZED } auth_fail_t;
typedef enum { HANDLER_SCRIPT = 0, HANDLER_STATIC_DIR, HANDLER_STATIC_FILES } handler_kind_t;

typedef struct {
    int line;  /* line of the handler's `url:` in app.yaml */
    char *url; /* regular expression as written */
    void *re;  /* compiled, anchored pcre2_code* (owned) */
    handler_kind_t kind;
    char *script;       /* HANDLER_SCRIPT: may contain \1..\9 */
    int script_is_cgi;  /* script names a file (path/file.py), not a WSGI path */
    int script_is_auto; /* python3's `script: auto` or catch-all: script is the entrypoint's */
    char *static_dir;   /* HANDLER_STATIC_DIR */
    char *static_files; /* HANDLER_STATIC_FILES: may contain \1..\9 */
    char *upload;       /* HANDLER_STATIC_FILES: regex of the files it may serve */
    void *upload_re;    /* compiled upload (owned) or NULL */
    char *mime_type;    /* NULL: guess from the extension */
    long expiration;    /* seconds; -1: use default_expiration */
    /* Static handlers: their http_headers as "Name: value\r\n" lines, in
     * app.yaml's order, or NULL. */
    char *http_headers;
    login_t login;
    secure_t secure;
    int redirect_code; /* redirect_http_response_code for secure:, 0 when not given */
    auth_fail_t auth_fail_action;
    int position_tail;        /* an included handler with `position: tail` (after app.yaml's) */
    int application_readable; /* static handlers: the app may open and import its files too */
    /* static handlers: without the file a request names, the handlers
     * after it are tried, as dev_appserver did */
    int require_matching_file;
} handler_t;

typedef struct {
    char *name;
    char *version;
    int line; /* of its name */
} library_t;

typedef struct {
    char *error_code; /* "default", "over_quota", "dos_api_denial", "timeout" */
    char *file;
    char *mime_type;
    int line;      /* of its error_code, or of the item without one */
    int file_line; /* of its file, which errors about the file name */
} error_handler_t;

typedef struct {
    char *key;
    char *value;
} env_var_t;

/* skip_files and static_only_files each go to the instances as one
 * command-line argument, which Linux limits to 128 KiB with its NUL
 * (MAX_ARG_STRLEN): longer ones are refused at load, where the spawn would
 * otherwise fail with E2BIG on the first request. */
#define CONFIG_MAX_INSTANCE_ARG ((size_t)128 * 1024 - 1)

typedef struct {
    char *path;        /* absolute path of app.yaml */
    char *root;        /* absolute path of the app folder */
    char *application; /* NULL when app.yaml has none */
    char *version;     /* NULL when app.yaml has none */
    /* service: (or module:, its earlier name); NULL: the default one */
    char *service;
    char *runtime;
    char *api_version;
    char *instance_class; /* NULL: the default (F1); checked, see instance_class.h */
    /* python3 runtimes: the WSGI app `script: auto` and requests no handler
     * takes go to (main.app, or entrypoint's gunicorn-style module:app) */
    char *python3_app;
    /* python3 runtimes: app.yaml's entrypoint (NULL: none) and its line;
     * entrypoint_names_app: python3_app is the module:app it names */
    char *entrypoint;
    int entrypoint_line;
    int entrypoint_names_app;
    /* python3 runtimes: the folders the entrypoint's gunicorn `--chdir` and
     * `--pythonpath` put before the app folder on sys.path, real paths one
     * a line, in sys.path order (NULL: none); gunicorn_chdir: its --chdir,
     * as written, when that is not the app folder itself (NULL: none) */
    char *import_path;
    char *gunicorn_chdir;
    /* The keys given that gaelic checks but cannot honour on one machine
     * (scaling, VPC, service account, build), ", "-separated; NULL: none */
    char *unused_keys;
    /* threadsafe: python3 apps without the key are, unless
     * max_concurrent_requests is 1 */
    int threadsafe;
    /* automatic_scaling's, per instance; 0: not given */
    int max_concurrent_requests;
    long default_expiration; /* seconds; -1: none */
    /* automatic_scaling.min_pending_latency in ms; -1: automatic */
    int min_pending_latency_ms;
    /* automatic_scaling.max_pending_latency in ms; -1: automatic */
    int max_pending_latency_ms;
    /* automatic_scaling.min_instances (0: not given) and max_instances (0:
     * not given, or 0, App Engine's "no limit") */
    int min_instances;
    int max_instances;
    /* automatic_scaling.min_idle_instances; 0: not given, or "automatic" */
    int min_idle_instances;
    /* automatic_scaling.max_idle_instances; -1: not given, or "automatic" */
    int max_idle_instances;
    /* manual_scaling.instances, includes merged (the largest wins); 0: no
     * manual_scaling. Checked and kept; gaelic does not scale by it. */
    int manual_scaling_instances;
    /* inbound_services lists warmup: instances added beside serving ones
     * get GET /_ah/warmup first (warmup.h). */
    int warmup;
    handler_t *handlers;
    size_t n_handlers;
    char *skip_files;    /* one combined regex ("^(?:a)$|^(?:b)$") */
    void *skip_files_re; /* compiled (owned) */
    /* The files static handlers serve that the app itself may not read (no
     * application_readable): one regex a line, each over paths relative to
     * root, matched whole; NULL when there are none. App Engine uploaded
     * them apart from the app's code, so the app could neither open nor
     * import them. */
    char *static_only_files;
    env_var_t *env;
    size_t n_env;
    library_t *libraries;
    size_t n_libraries;
    error_handler_t *error_handlers;
    size_t n_error_handlers;
} app_config_t;

/* A default-version request's deadline unless --deadline says (RT7): 60 s,
 * and for python3 apps the 10 minutes of App Engine's second generation
 * (automatic scaling). */
uint64_t config_default_deadline_ms(const app_config_t *cfg);

/* Loads and validates APPDIR/app.yaml (or app.yml); app_dir may also be the
 * path of that file, of any name (its folder is the app's). On success returns 0 and
 * *out. On failure returns -1 and writes "FILE:LINE: reason" (or
 * "FILE: reason" when no line applies) into err. */
int config_load(const char *app_dir, app_config_t **out, char *err, size_t errlen);

/* The service app.yaml names, "default" when it names none. */
const char *config_service(const app_config_t *cfg);

/* 1 when runtime (as app.yaml's runtime: takes it) is one of App Engine's
 * second generation: python3, python3NN. */
int config_is_python3(const char *runtime);

/* 1 when s is an app id as app.yaml's application: takes it (App Engine's
 * [partition~][domain:]id, lowercase letters, digits and '-'). */
int config_application_valid(const char *s);

/* 1 when name is a variable name app.yaml's env_variables takes (App
 * Engine's rule: letters, digits and '_', not starting with a digit). */
int config_env_name_valid(const char *name);

/* Sets the env_variables entry key to value (copies of both), replacing
 * one of that name: a later source wins (an included file's, --env_var).
 * 0, or -1 when out of memory (cfg unchanged). */
int config_env_set(app_config_t *cfg, const char *key, const char *value);

/* Same, from a YAML text already in memory; `path` names it in errors and
 * `app_dir` becomes root. Used by tests and the fuzzer. */
int config_load_string(const char *yaml, size_t len, const char *path, const char *app_dir,
                       app_config_t **out, char *err, size_t errlen);

/* RT10 app file limits: counts the files under root that skip_files does not
 * exclude, the app's and its static handlers' apart, as App Engine's upload
 * counted them (symlinked files count as their target; a symlinked folder is
 * walked only when outside_link follows it, and links inside it are not
 * followed further).
 * Returns 0 or -1 with a message naming the limit and the file. A NULL lim,
 * or a field <= 0, means that limit's default. */
typedef struct {
    long max_files;       /* of each kind; default 1000 */
    long max_file_bytes;  /* default 10 MB */
    long max_total_bytes; /* default 150 MB */
} app_file_limits_t;
/* Told each symlink under root, not excluded by skip_files, whose target
 * exists outside root: its path relative to root and the target's real
 * path (App Engine's upload followed such links; see app_links.h). Returns
 * 1 when instances will read what the link leads to: a folder is then
 * walked and its files count, as the upload counted them. */
typedef int (*config_link_fn)(void *ctx, const char *rel, const char *target);
int config_check_files(const app_config_t *cfg, const app_file_limits_t *lim,
                       config_link_fn outside_link, void *ctx, char *err, size_t errlen);

/* 1 when path (relative to root, '/'-separated) or a folder it is in is excluded by
 * skip_files, or when the regex could not be matched on it. */
int config_is_skipped(const app_config_t *cfg, const char *relpath);

void config_free(app_config_t *cfg);

/* What a handler script names: a WSGI object path ("main.app"), a CGI file
 * ("dir/file.py"), or neither. Shared with backends.yaml's start:. */
typedef enum { SCRIPT_INVALID = 0, SCRIPT_WSGI, SCRIPT_CGI } script_kind_t;
script_kind_t config_script_kind(const char *s);

/* 1 when the relative path s has a ".." component. */
int config_has_dotdot_component(const char *s);

/* Reads a whole config file (at most 10 MB) into a malloc'd *text. */
int config_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen);

#endif
