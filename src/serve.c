/* `gaelic serve`: options, start-up checks, the listening socket, signals
 * and the graceful stop. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api_http.h"
#include "api_services.h"
#include "api_ticket.h"
#include "app_identity.h"
#include "backends.h"
#include "cgroup_mover.h"
#include "child_output.h"
#include "cli_args.h"
#include "conn.h"
#include "control.h"
#include "cpu_cap.h"
#include "gunicorn_args.h"
#include "gzip_worker.h"
#include "instance_class.h"
#include "ipc.h"
#include "libraries.h"
#include "log.h"
#include "module_instances.h"
#include "sandbox_landlock.h"
#include "sandbox_startup.h"
#include "server.h"
#include "static.h"
#include "tcp_listen.h"
#include "thread_cap.h"
#include "thread_jobs.h"
#include "threadsafe_override.h"
#include "warmup.h"

#define EXIT_USAGE 2
#define EXIT_RUNTIME 1

typedef enum { OPT_STR, OPT_INT, OPT_SIZE, OPT_SECONDS } opt_kind_t;

typedef struct {
    const char *name;
    opt_kind_t kind;
    size_t offset; /* into serve_opts_t */
    const char *arg;
    const char *help;
    double min, max; /* the values allowed (not OPT_STR), stated when one is refused */
} opt_def_t;

#define OFF(f) offsetof(serve_opts_t, f)
/* Bounds of the counts and times without a limit of their own. A time
 * must be at least 1 ms: 0 ms means none at all to a timer's user. */
#define COUNT_MAX 1000000
#define SECONDS_MIN 0.001
#define SECONDS_MAX 31536000

static const opt_def_t options[] = {
    {"host", OPT_STR, OFF(host), "H", "address to listen on (default 127.0.0.1)", 0, 0},
    {"port", OPT_INT, OFF(port), "P", "port to listen on (default 8080; 0 picks a free port)", 0,
     65535},
    {"api_port", OPT_INT, OFF(api_port), "P",
     "port of the HTTP API server (POST /rpc_http) on loopback (default 0: a free port)", 0, 65535},
    {"admin_host", OPT_STR, OFF(admin_host), "H",
     "taken for dev_appserver's command lines; gaelic has no admin console (gaelic logs "
     "and gaelic backends do its work)",
     0, 0},
    {"admin_port", OPT_INT, OFF(admin_port), "P",
     "taken for dev_appserver's command lines; gaelic has no admin console (gaelic logs "
     "and gaelic backends do its work)",
     0, 65535},
    {"watcher_ignore_re", OPT_STR, OFF(watcher_ignore_re), "RE",
     "with --automatic_restart: changes to paths (relative to the app, a folder's ending in "
     "'/') where this Python regex is found are ignored, as dev_appserver's",
     0, 0},
    {"application", OPT_STR, OFF(application), "ID",
     "application id, also -A ID as dev_appserver took it (default: app.yaml's application, "
     "else the folder name, lowercased, '-' for other characters)",
     0, 0},
    {"storage_path", OPT_STR, OFF(storage_path), "DIR",
     "where logs and data are kept (default: $XDG_CACHE_HOME/gaelic/APP_ID, else "
     "~/.cache/gaelic/APP_ID)",
     0, 0},
    {"logs_path", OPT_STR, OFF(logs_path), "FILE",
     "the request log database (default: STORAGE_PATH/" LOG_STORE_FILE ")", 0, 0},
    {"logs_max_requests", OPT_INT, OFF(logs_max_requests), "N",
     "request logs kept; older ones and their app lines are deleted (default 100000)", 1,
     COUNT_MAX},
    {"logs_max_bytes", OPT_SIZE, OFF(logs_max_bytes), "N",
     "size the log database may use; past it the oldest app log lines are deleted, then the "
     "oldest request logs (default "
     "1073741824, at least 1048576)",
     1048576, 1e15},
    {"max_instances", OPT_INT, OFF(max_instances), "N",
     "most instances of the default version (default 4; a lower automatic_scaling "
     "max_instances in app.yaml holds)",
     1, COUNT_MAX},
    {"max_module_instances", OPT_STR, OFF(max_module_instances), "N",
     "dev_appserver's name for --max_instances; also SERVICE:N[,SERVICE:N...], of which "
     "app.yaml's service's counts",
     0, 0},
    {"threadsafe_override", OPT_STR, OFF(threadsafe_override), "BOOL",
     "dev_appserver's: overrides app.yaml's threadsafe (false: one request at a time per "
     "instance; true, false, yes, no, 1 or 0); also SERVICE:BOOL[,SERVICE:BOOL...], of which "
     "app.yaml's service's entry and each backend's own count",
     0, 0},
    {"threads", OPT_INT, OFF(threads), "N",
     "concurrent requests per default-version instance when threadsafe: true (default 8, "
     "at most 1024); backends take max_concurrent_requests from backends.yaml",
     1, IPC_MAX_INSTANCE_THREADS},
    {"max_concurrent_requests", OPT_INT, OFF(max_concurrent), "N",
     "most dynamic requests to the default version running at once (default 30)", 1, COUNT_MAX},
    {"max_pending_requests", OPT_INT, OFF(max_pending), "N",
     "requests that may wait for an instance; more get 503 (default 100)", 1, COUNT_MAX},
    {"max_pending_latency", OPT_SECONDS, OFF(max_pending_ms), "S",
     "seconds a request may wait for an instance before 503 (default 10)", SECONDS_MIN,
     SECONDS_MAX},
    {"instance_idle_timeout", OPT_SECONDS, OFF(idle_timeout_ms), "S",
     "idle instances are stopped after this many seconds (default 900)", SECONDS_MIN, SECONDS_MAX},
    {"max_request_bytes", OPT_SIZE, OFF(max_request_bytes), "N",
     "largest request body; larger gets 413 (default 10485760, at most 33554432)", 1,
     IPC_MAX_BODY_LIMIT},
    {"max_held_request_bytes", OPT_SIZE, OFF(max_held_request_bytes), "N",
     "request bodies (and heads past 16 KiB, tables of many header fields) the server holds at "
     "once, over all "
     "connections; a request that would pass it gets 503 (default 1073741824)",
     1, (double)((size_t)1 << 40)},
    {"max_held_response_bytes", OPT_SIZE, OFF(max_held_response_bytes), "N",
     "answers the server holds at once for clients still reading them, over all connections; "
     "while they pass it, dynamic requests get 503 (default 1073741824)",
     1, (double)((size_t)1 << 40)},
    {"max_response_bytes", OPT_SIZE, OFF(max_response_bytes), "N",
     "largest response body; larger becomes 500 (default 10485760, at most 33554432)", 1,
     IPC_MAX_BODY_LIMIT},
    {"max_response_header_bytes", OPT_SIZE, OFF(max_response_header_bytes), "N",
     "largest response status line plus headers from the app; larger becomes 500 "
     "(default 65536, at most 1048576)",
     1, IPC_MAX_HEAD_LIMIT},
    {"max_header_bytes", OPT_SIZE, OFF(max_header_bytes), "N",
     "largest request line plus headers; larger gets 431 (default 65536, at most 1048576)", 1,
     IPC_MAX_HEAD_LIMIT},
    {"max_url_bytes", OPT_SIZE, OFF(max_url_bytes), "N",
     "longest request URL; longer gets 414 (default 8192, at most 1048576)", 1, IPC_MAX_HEAD_LIMIT},
    {"max_app_files", OPT_INT, OFF(max_app_files), "N",
     "most files in the app, and most files of its static handlers, those skip_files excludes "
     "aside; more refuse the start (default 1000)",
     1, COUNT_MAX},
    {"max_app_file_bytes", OPT_SIZE, OFF(max_app_file_bytes), "N",
     "largest app file; a larger one refuses the start (default 10485760)", 1, 1e15},
    {"max_app_bytes", OPT_SIZE, OFF(max_app_bytes), "N",
     "the app's files together; more refuse the start (default 157286400)", 1, 1e15},
    {"header_timeout", OPT_SECONDS, OFF(header_timeout_ms), "S",
     "seconds allowed to send a whole request head (default 10)", SECONDS_MIN, SECONDS_MAX},
    {"body_timeout", OPT_SECONDS, OFF(body_timeout_ms), "S",
     "seconds a request body or a response may stall or fall behind 1 KiB/s (default 30)",
     SECONDS_MIN, SECONDS_MAX},
    {"keepalive_timeout", OPT_SECONDS, OFF(keepalive_timeout_ms), "S",
     "idle keep-alive connections are closed after this (default 60)", SECONDS_MIN, SECONDS_MAX},
    {"shutdown_timeout", OPT_SECONDS, OFF(shutdown_timeout_ms), "S",
     "seconds running requests get to finish when the server or an instance shuts down "
     "(default 30)",
     SECONDS_MIN, SECONDS_MAX},
    {"deadline", OPT_SECONDS, OFF(deadline_ms), "S",
     "seconds a request may run before DeadlineExceededError (default 60; 600 for python3 "
     "apps, as App Engine's second generation)",
     SECONDS_MIN, SECONDS_MAX},
    {"deadline_grace", OPT_SECONDS, OFF(deadline_grace_ms), "S",
     "seconds it then has to answer before its instance is killed (default 0.9: App "
     "Engine's second deadline was under a second)",
     SECONDS_MIN, SECONDS_MAX},
    {"max_connections", OPT_INT, OFF(max_connections), "N",
     "most open client connections (default 10000); the API port may have as many", 1, COUNT_MAX},
    {"trusted_proxy", OPT_STR, OFF(trusted_proxy), "ADDRS",
     "front proxies (comma-separated IPs) trusted for X-Forwarded-Proto and -For "
     "(default none)",
     0, 0},
    {"hostname", OPT_STR, OFF(hostname), "NAME",
     "host name under which backends answer: [N.]backend.NAME (default localhost)", 0, 0},
    {"tier", OPT_STR, OFF(tier), "TIER",
     "free or paid: the backend limits of that App Engine tier (default free)", 0, 0},
    {"sandbox", OPT_STR, OFF(sandbox), "MODE",
     "strict (needs seccomp; default), dev (runs with the layers there are) or off", 0, 0},
    {"instance_memory", OPT_SIZE, OFF(instance_memory), "N",
     "address-space limit of each instance in bytes (default 1073741824, at most 4294967296)", 1,
     4294967296.0},
    {"instance_max_threads", OPT_INT, OFF(instance_max_threads), "N",
     "threads the app may start in each instance, besides the runtime's own (default 500; "
     "where cgroups allow)",
     1, COUNT_MAX},
    {"cpu_cap", OPT_STR, OFF(cpu_cap), "MODE",
     "auto (default: cap where cgroups allow, else only account), on (refuse to start "
     "without the cap) or off: cap each instance's CPU to its class clock",
     0, 0},
};

/* Disarms the audit hook so that tests can check the kernel layers alone.
 * Not in --help; it weakens nothing the kernel enforces, and the server
 * says so loudly at every start. */
#define TEST_DISARM_AUDIT "sandbox_test_disarm_audit"
/* dev_appserver's flag against its check for a newer SDK at start:
 * gaelic checks for nothing, so command lines written for dev_appserver
 * (scripts, Dockerfiles) that pass it must still start. */
#define SKIP_SDK_UPDATE_CHECK "skip_sdk_update_check"
/* dev_appserver's guard against DNS rebinding (host_addresses_server),
 * off by default here: gaelic also serves behind proxies under any name. */
#define ENABLE_HOST_CHECKING "enable_host_checking"
/* dev_appserver's restart of instances when the app's files change
 * (file_watch.h); off by default here: gaelic also serves in production,
 * and a backend takes new code by `gaelic backends update` (BK6). */
#define AUTOMATIC_RESTART "automatic_restart"
/* Offers the gaelic_test API service (api_test.h) to the app: for tests. */
#define API_TEST_SERVICE "api_test_service"

static void serve_usage(FILE *f)
{
    fputs("usage: gaelic serve APPDIR [options]\n"
          "\n"
          "Serves the App Engine app in APPDIR (the folder with app.yaml, or that\n"
          "app.yaml file itself, as dev_appserver took it) and prints the URL it\n"
          "serves on, then the URL of its HTTP API server (the App Engine\n"
          "SDK's /rpc_http protocol, for calls carrying a running request's\n"
          "X-AppEngine-Api-Ticket). SIGINT/SIGTERM/SIGHUP stop it gracefully; a second\n"
          "one stops it at once.\n"
          "\n"
          "options (--name VALUE or --name=VALUE):\n",
          f);
    for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s %s", options[i].name, options[i].arg);
        fprintf(f, "  %-34s %s\n", left, options[i].help);
    }
    fputs("  --log_level LEVEL                  console lines: debug (every app line too), info\n"
          "                                     (default; the app's from warning up),\n"
          "                                     warning, error or critical (the app's\n"
          "                                     critical lines; the server's errors always)\n"
          "  --env_var KEY=VALUE                an environment variable for the app, as in\n"
          "                                     app.yaml's env_variables, whose entry of that\n"
          "                                     name it overrides; repeat it for more\n"
          "  --follow_symlinks                  let instances read what the app's symlinks\n"
          "                                     outside its folder lead to, as App Engine's\n"
          "                                     upload did (only for apps you trust)\n"
          "  --enable_host_checking             answer 400 to a request whose Host is not an\n"
          "                                     IP address, localhost, --hostname, --host or a\n"
          "                                     name under them, as dev_appserver did against DNS\n"
          "                                     rebinding (default off: gaelic also serves\n"
          "                                     behind proxies under other names)\n"
          "  --automatic_restart                restart the instances that imported the app\n"
          "                                     when its files change (those skip_files\n"
          "                                     leaves), as dev_appserver did (default off)\n"
          "  --skip_sdk_update_check            taken for dev_appserver's command lines; gaelic\n"
          "                                     checks for no updates\n"
          "  -h, --help                         show this help\n"
          "\n"
          "The options without a value above take one as dev_appserver's booleans\n"
          "did: --NAME=BOOL or --NAME BOOL, BOOL being true, false, yes, no, 1 or 0.\n"
          "\n"
          "gaelic speaks plain HTTP. For app.yaml's secure: a request counts as HTTPS\n"
          "only when it comes from a --trusted_proxy address with the last\n"
          "X-Forwarded-Proto value \"https\"; that header is ignored from anyone else.\n"
          "From such an address, REMOTE_ADDR is the last X-Forwarded-For address.\n"
          "\n"
          "exit status: 0 after a clean stop, 2 for a usage or app.yaml error, 1 when the\n"
          "server cannot run (for example, the port is in use).\n",
          f);
}

static void set_defaults(serve_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->admin_port = -1;
    o->max_instances = 4;
    o->threads = 8;
    o->max_concurrent = 30;
    o->max_pending = 100;
    o->max_pending_ms = 10000;
    o->idle_timeout_ms = 900000;
    o->header_timeout_ms = 10000;
    o->body_timeout_ms = 30000;
    o->keepalive_timeout_ms = 60000;
    o->shutdown_timeout_ms = 30000;
    o->deadline_ms = 0; /* not given: config_default_deadline_ms */
    o->deadline_grace_ms = 900;
    o->max_request_bytes = 10485760;
    o->max_held_request_bytes = (size_t)1 << 30;
    o->max_held_response_bytes = (size_t)1 << 30;
    o->max_response_bytes = IPC_DEFAULT_MAX_RESPONSE_BODY;
    o->max_response_header_bytes = IPC_DEFAULT_MAX_RESPONSE_HEAD;
    o->max_header_bytes = 65536;
    o->max_url_bytes = 8192;
    o->max_app_files = 1000;
    o->max_app_file_bytes = 10L << 20;
    o->max_app_bytes = 150L << 20;
    o->max_connections = 10000;
    o->logs_max_requests = 100000;
    o->logs_max_bytes = (size_t)1 << 30;
    o->sandbox = "strict";
    o->hostname = "localhost";
    o->tier = "free";
    o->instance_memory = SANDBOX_DEFAULT_MEMORY;
    o->instance_max_threads = 500;
    o->cpu_cap = "auto";
}

static int set_option(serve_opts_t *o, const opt_def_t *d, const char *v)
{
    char *end;
    void *field = (char *)o + d->offset;
    /* Plain decimal only: "0x10" was 16 s. */
    if (d->kind != OPT_STR && !cli_plain_number(v, strlen(v), d->kind == OPT_SECONDS))
        goto bad;
    errno = 0;
    switch (d->kind) {
    case OPT_STR: /* cli_next refuses an empty value */
        *(const char **)field = v;
        return 0;
    case OPT_INT: {
        long n = strtol(v, &end, 10);
        if (errno || *end || end == v || n < d->min || n > d->max)
            break;
        *(int *)field = (int)n;
        return 0;
    }
    case OPT_SIZE: {
        unsigned long long n = strtoull(v, &end, 10);
        if (errno || *end || end == v || n < d->min || n > d->max)
            break;
        *(size_t *)field = (size_t)n;
        return 0;
    }
    case OPT_SECONDS: {
        double s = strtod(v, &end);
        if (errno || *end || end == v || !(s >= d->min) || s > d->max)
            break;
        *(uint64_t *)field = (uint64_t)(s * 1000.0 + 0.5);
        return 0;
    }
    }
bad:
    fprintf(stderr, "gaelic serve: --%s: invalid value '%s' (%s %.15g to %.15g)\n", d->name, v,
            d->kind == OPT_SECONDS ? "seconds, a number from"
            : d->kind == OPT_SIZE  ? "bytes, a whole number from"
                                   : "a whole number from",
            d->min, d->max);
    return -1;
}

/* --hostname: a DNS name (labels of letters, digits and '-', 1 to 63
 * bytes, dot-separated, 253 bytes at most), as backends' Host headers
 * (N.backend.HOSTNAME) and the instances' GAELIC_BACKENDS description,
 * split at blanks, carry it. */
static int hostname_valid(const char *s)
{
    size_t n = strlen(s), label = 0;
    if (n > 253)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (label == 0 || label > 63)
                return 0;
            label = 0;
        } else if (isalnum((unsigned char)s[i]) || s[i] == '-') {
            label++;
        } else {
            return 0;
        }
    }
    return 1;
}

/* After d's value is set: --max_instances and dev_appserver's
 * --max_module_instances set the same count, the last given counting. A
 * SERVICE:N list waits for app.yaml, which names the service. */
static int set_max_instances(serve_opts_t *o, const opt_def_t *d)
{
    if (d->offset == OFF(max_instances)) {
        o->max_module_instances = NULL;
        return 0;
    }
    if (d->offset != OFF(max_module_instances))
        return 0;
    char err[256];
    int n;
    if (module_instances_for(o->max_module_instances, NULL, COUNT_MAX, &n, err, sizeof err) < 0) {
        fprintf(stderr, "gaelic serve: --max_module_instances: %s\n", err);
        return -1;
    }
    if (!strchr(o->max_module_instances, ':')) {
        o->max_instances = n;
        o->max_module_instances = NULL;
    }
    return 0;
}

/* --env_var KEY=VALUE: kept for after app.yaml is read, when KEY is a
 * name app.yaml's env_variables would take. o->env_vars has room for one
 * per command-line word. */
static int add_env_var(serve_opts_t *o, int argc, const char *v)
{
    const char *eq = strchr(v, '=');
    char *name = eq ? strndup(v, (size_t)(eq - v)) : NULL;
    int ok = name && config_env_name_valid(name);
    free(name);
    if (!ok) {
        fprintf(stderr,
                "gaelic serve: --env_var: invalid value '%s' (KEY=VALUE, KEY a name as in "
                "app.yaml's env_variables: letters, digits and '_', not starting with a digit)\n",
                v);
        return -1;
    }
    if (!o->env_vars && !(o->env_vars = calloc((size_t)argc, sizeof *o->env_vars))) {
        fprintf(stderr, "gaelic serve: out of memory\n");
        return -1;
    }
    o->env_vars[o->n_env_vars++] = v;
    return 0;
}

/* 0 ok, 1 help printed, -1 usage error (printed). */
static int parse_args(int argc, char **argv, serve_opts_t *o)
{
    static const char *const flags[] = {"follow_symlinks",
                                        ENABLE_HOST_CHECKING,
                                        AUTOMATIC_RESTART,
                                        SKIP_SDK_UPDATE_CHECK,
                                        TEST_DISARM_AUDIT,
                                        API_TEST_SERVICE,
                                        NULL};
    enum { n_options = sizeof options / sizeof *options };
    const char *names[n_options + 3]; /* the table's, log_level, env_var, NULL */
    for (size_t k = 0; k < n_options; k++)
        names[k] = options[k].name;
    names[n_options] = "log_level";
    names[n_options + 1] = "env_var";
    names[n_options + 2] = NULL;
    cli_arg_t arg;
    cli_kind_t kind;
    for (int i = 1; (kind = cli_next(argc, argv, &i, "serve", flags, names, &arg)) != CLI_END;) {
        if (kind == CLI_ERROR)
            return -1;
        if (kind == CLI_HELP) {
            serve_usage(stdout);
            return 1;
        }
        if (kind == CLI_POSITIONAL) {
            if (o->app_dir) {
                fprintf(stderr, "gaelic serve: unexpected argument '%s'\n", arg.value);
                return -1;
            }
            o->app_dir = arg.value;
            continue;
        }
        if (kind == CLI_FLAG) {
            if (cli_is(&arg, "follow_symlinks"))
                o->follow_symlinks = arg.on;
            else if (cli_is(&arg, ENABLE_HOST_CHECKING))
                o->host_checking = arg.on;
            else if (cli_is(&arg, AUTOMATIC_RESTART))
                o->automatic_restart = arg.on;
            else if (cli_is(&arg, SKIP_SDK_UPDATE_CHECK))
                continue; /* there is none to skip */
            else if (cli_is(&arg, API_TEST_SERVICE))
                o->api_test_service = arg.on;
            else
                o->test_disarm_audit = arg.on;
            continue;
        }
        if (cli_is(&arg, "log_level")) {
            int lv = log_level_parse(arg.value);
            if (lv < 0) {
                fprintf(stderr,
                        "gaelic serve: --log_level: invalid value '%s' (debug, info, warning, "
                        "error or critical)\n",
                        arg.value);
                return -1;
            }
            log_min_level = lv;
            continue;
        }
        if (cli_is(&arg, "env_var")) {
            if (add_env_var(o, argc, arg.value) < 0)
                return -1;
            continue;
        }
        const opt_def_t *d = options; /* cli_next knows the name is in the table */
        while (!cli_is(&arg, d->name))
            d++;
        if (set_option(o, d, arg.value) < 0)
            return -1;
        if (set_max_instances(o, d) < 0)
            return -1;
    }
    if (strcmp(o->cpu_cap, "off") && strcmp(o->cpu_cap, "auto") && strcmp(o->cpu_cap, "on")) {
        fprintf(stderr, "gaelic serve: --cpu_cap: invalid value '%s' (off, auto or on)\n",
                o->cpu_cap);
        return -1;
    }
    char err[256];
    int threadsafe;
    if (o->threadsafe_override &&
        threadsafe_override_for(o->threadsafe_override, NULL, &threadsafe, err, sizeof err) < 0) {
        fprintf(stderr, "gaelic serve: --threadsafe_override: %s\n", err);
        return -1;
    }
    if (o->watcher_ignore_re && file_watch_regex_ok(o->watcher_ignore_re, err, sizeof err) < 0) {
        fprintf(stderr, "gaelic serve: --watcher_ignore_re: %s\n", err);
        return -1;
    }
    /* As app.yaml's application: (and dev_appserver's -A) took it. */
    if (o->application && !cli_application_ok("serve", o->application))
        return -1;
    /* Else a body between the two always got 503, "try again", which can
     * never succeed. */
    if (o->max_held_request_bytes < o->max_request_bytes) {
        fprintf(stderr,
                "gaelic serve: --max_held_request_bytes (%zu) is below --max_request_bytes "
                "(%zu): a request body of the largest size allowed could never be held\n",
                o->max_held_request_bytes, o->max_request_bytes);
        return -1;
    }
    if (!hostname_valid(o->hostname)) {
        fprintf(stderr,
                "gaelic serve: --hostname: invalid value '%s' (a host name: letters, digits, '-' "
                "and dots)\n",
                o->hostname);
        return -1;
    }
    if (strcmp(o->tier, "free") && strcmp(o->tier, "paid")) {
        fprintf(stderr, "gaelic serve: --tier: invalid value '%s' (free or paid)\n", o->tier);
        return -1;
    }
    sandbox_mode_t mode;
    if (sandbox_mode_parse(o->sandbox, &mode) < 0) {
        fprintf(stderr, "gaelic serve: --sandbox: invalid value '%s' (strict, dev or off)\n",
                o->sandbox);
        return -1;
    }
    if (!o->app_dir) {
        fprintf(stderr, "gaelic serve: missing APPDIR\n");
        serve_usage(stderr);
        return -1;
    }
    return 0;
}

/* --cpu_cap: auto falls back to accounting only, on refuses to start. */
static int open_cpu_cap(const char *mode, cpu_cap_t **cap)
{
    *cap = NULL;
    if (!strcmp(mode, "off"))
        return 0;
    char why[1024];
    *cap = cpu_cap_open(why, sizeof why);
    if (*cap) {
        log_info("cpu cap: each instance is limited to its class clock on this %d MHz host (%s); "
                 "megacycles count at %d MHz",
                 cpu_cap_host_mhz(*cap), cpu_cap_where(*cap), cpu_cap_host_mhz(*cap));
        return 0;
    }
    if (!strcmp(mode, "on")) {
        log_error("cpu cap: not possible here (%s)", why);
        return -1;
    }
    log_warn("cpu cap: not possible here (%s); CPU is only accounted", why);
    return 0;
}

/* The thread cap is a sandbox layer: off with --sandbox off, and where
 * cgroups do not allow it a warning says what is missing. */
static void open_thread_cap(const serve_opts_t *o, thread_cap_t **cap)
{
    *cap = NULL;
    if (!strcmp(o->sandbox, "off"))
        return;
    char why[1024];
    *cap = thread_cap_open(why, sizeof why);
    if (*cap)
        log_info("thread cap: an app may start %d threads in each instance, all instances "
                 "together %ld tasks (%s)",
                 o->instance_max_threads, thread_cap_total(*cap), thread_cap_where(*cap));
    else
        log_warn("thread cap: not possible here (%s); an app's threads are limited only by "
                 "--instance_memory",
                 why);
}

/* ---------- socket and signals ---------- */

static void server_stop_step(loop_t *loop, loop_timer_t *t);

static void begin_stop(server_t *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = 1;
    log_info("stopping: finishing running requests (up to %llu s)",
             (unsigned long long)(srv->o.shutdown_timeout_ms / 1000));
    if (srv->listen_w.fd >= 0) {
        loop_del(&srv->loop, &srv->listen_w);
        close(srv->listen_w.fd);
        srv->listen_w.fd = -1;
    }
    loop_timer_stop(&srv->loop, &srv->accept_timer);
    conn_stop_all(srv);
    /* BK4: server exit shuts backend instances down like a backend stop,
     * so their running requests see is_shutting_down() and the hook for
     * the whole grace period. (The default version's instances keep
     * taking the queued requests until the grace ends.) */
    backends_shutdown(srv->backends);
    srv->stop_deadline_ms = srv->loop.now_ms + srv->o.shutdown_timeout_ms;
    srv->stop_timer.cb = server_stop_step;
    loop_timer_start(&srv->loop, &srv->stop_timer, 0);
}

/* Polls until the connections are done, then lets instances exit (briefly)
 * and stops the loop. */
static void server_stop_step(loop_t *loop, loop_timer_t *t)
{
    server_t *srv = (server_t *)loop;
    (void)t;
    static uint64_t pool_deadline;
    if (srv->stopping == 1) {
        /* Backend instances shut down since begin_stop: their shutdown
         * hooks (/_ah/stop) have the grace period too. */
        if ((conn_busy_count(srv) > 0 || backends_busy(srv->backends)) &&
            loop->now_ms < srv->stop_deadline_ms) {
            loop_timer_start(loop, &srv->stop_timer, 20);
            return;
        }
        if (conn_busy_count(srv) > 0)
            log_warn("stopping: %d requests still running after the grace period",
                     conn_busy_count(srv));
        srv->stopping = 2;
        pool_shutdown(srv->pool);
        backends_shutdown(srv->backends);
        pool_deadline = loop->now_ms + 2000;
    }
    if ((pool_busy(srv->pool) || backends_busy(srv->backends)) && loop->now_ms < pool_deadline) {
        loop_timer_start(loop, &srv->stop_timer, 20);
        return;
    }
    if (srv->stopping == 2) {
        /* Instances that did not stop (a request stuck in C code takes no
         * shutdown notice) are killed while the loop still runs, so that
         * their requests get their 500 instead of a connection closed
         * unanswered; then the connections have a moment to send it. */
        srv->stopping = 3;
        pool_kill_all(srv->pool);
        backends_kill_all(srv->backends);
        pool_deadline = loop->now_ms + 1000;
    }
    if (conn_busy_count(srv) > 0 && loop->now_ms < pool_deadline) {
        loop_timer_start(loop, &srv->stop_timer, 20);
        return;
    }
    loop->stop = 1;
}

static void on_signal(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)events;
    server_t *srv = (server_t *)loop;
    struct signalfd_siginfo si;
    while (read(w->fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP) {
            if (srv->stopping) {
                log_warn("second signal: stopping now");
                loop->stop = 1;
            } else {
                begin_stop(srv);
            }
        }
    }
}

static void accept_resume(loop_t *loop, loop_timer_t *t);

/* A connection waits in listen_fd's accept queue. */
static int client_waiting(int listen_fd)
{
    struct pollfd p = {.fd = listen_fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* The client port and the API server's: the API port keeps accepting
 * while the server stops, for the requests that still run. */
static void on_accept(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)events;
    server_t *srv = (server_t *)loop;
    int api = w == &srv->api_listen_w;
    if (srv->stopping && !api)
        return;
    for (;;) {
        /* At the limit, a waiting client takes the place of an idle
         * connection: otherwise a few silent sockets would lock everyone
         * out until --keepalive_timeout. The API port has a limit of its
         * own and never evicts. */
        if (api ? srv->n_api_conns >= srv->o.max_connections
                : srv->n_conns >= srv->o.max_connections &&
                      (!client_waiting(w->fd) || !conn_evict_idle(srv)))
            break;
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(w->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (srv->accept_paused)
                log_info("accept: accepting new connections again");
            srv->accept_paused = 0;
            conn_open(srv, fd, (struct sockaddr *)&ss, api);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (errno == EAGAIN)
            return;
        /* Said once per episode: the retry every 100 ms would otherwise
         * write 20 lines a second for as long as it lasts. */
        if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) &&
            !srv->accept_paused) {
            srv->accept_paused = 1;
            log_warn("accept: %s; retrying every 100 ms (see --max_connections and ulimit -n)",
                     strerror(errno));
        }
        break;
    }
    /* Edge-triggered: come back later for what is still pending. */
    srv->accept_timer.cb = accept_resume;
    loop_timer_start(loop, &srv->accept_timer, 100);
}

static void accept_resume(loop_t *loop, loop_timer_t *t)
{
    server_t *srv = (server_t *)loop;
    (void)t;
    if (srv->listen_w.fd >= 0)
        on_accept(loop, &srv->listen_w, EPOLLIN);
    if (srv->api_listen_w.fd >= 0)
        on_accept(loop, &srv->api_listen_w, EPOLLIN);
}

/* Files the master keeps besides its client connections: the API port's,
 * instance channels, the log database, static files being sent. */
#define FDS_BESIDE_CONNECTIONS 1024

/* ulimit -n is often 1024 over a far higher hard limit, below the default
 * --max_connections: accept would fail first, and the rule that makes an
 * idle connection give way to a new client would never apply (silent
 * sockets would lock everyone out until --header_timeout). So the soft
 * limit is raised as far as --max_connections needs, up to the hard one. */
static void raise_fd_limit(int max_connections)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) < 0)
        return;
    rlim_t want = (rlim_t)max_connections + FDS_BESIDE_CONNECTIONS;
    if (r.rlim_max != RLIM_INFINITY && want > r.rlim_max) {
        log_warn("ulimit -n allows %llu open files, fewer than --max_connections (%d) needs: "
                 "past them new clients wait until a connection closes",
                 (unsigned long long)r.rlim_max, max_connections);
        want = r.rlim_max;
    }
    if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur < want) {
        r.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &r) < 0)
            log_warn("cannot raise ulimit -n to %llu: %s", (unsigned long long)want,
                     strerror(errno));
    }
}

/* 1 when addr (numeric) is the IPv4 or IPv6 wildcard address. */
static int is_wildcard(const char *addr)
{
    struct in_addr a4;
    struct in6_addr a6;
    return (inet_pton(AF_INET, addr, &a4) == 1 && a4.s_addr == htonl(INADDR_ANY)) ||
           (inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6));
}

static int open_listener(server_t *srv)
{
    char err[512];
    int ipv6;
    int fd = tcp_listen(srv->o.host, srv->o.port, srv->listen_host, sizeof srv->listen_host,
                        &srv->listen_port, &ipv6, err, sizeof err);
    if (fd < 0) {
        /* Named as the API server's is: which of the two ports failed. */
        log_error("--host, --port: %s", err);
        return -1;
    }
    if (ipv6)
        snprintf(srv->hostport, sizeof srv->hostport, "[%s]:%d", srv->listen_host,
                 srv->listen_port);
    else
        snprintf(srv->hostport, sizeof srv->hostport, "%s:%d", srv->listen_host, srv->listen_port);
    srv->listen_wildcard = is_wildcard(srv->listen_host);
    srv->listen_w.fd = fd;
    srv->listen_w.cb = on_accept;
    return loop_add(&srv->loop, &srv->listen_w, EPOLLIN);
}

static int open_signals(server_t *srv)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    /* A closed terminal (SIGHUP) stops gracefully too, rather than killing
     * the master in the middle of running requests. */
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    srv->signal_w.fd = fd;
    srv->signal_w.cb = on_signal;
    return loop_add(&srv->loop, &srv->signal_w, EPOLLIN);
}

static void after_batch(loop_t *loop)
{
    server_t *srv = (server_t *)loop;
    pool_flush(srv->pool);
    backends_flush(srv->backends);
    conn_reap(srv);
    pool_reap(srv->pool);
    backends_reap(srv->backends);
    /* Under load, request lines leave in 16 KiB writes; the timer below
     * sends the rest within LOG_FLUSH_MS. */
    if (log_pending() >= 16384)
        log_flush();
}

#define LOG_FLUSH_MS 100

static void log_flush_tick(loop_t *loop, loop_timer_t *t)
{
    log_flush();
    loop_timer_start(loop, t, LOG_FLUSH_MS);
}

/* ---------- start-up ---------- */

/* The folder this binary is in: gaelic-instance sits beside it. */
static int find_bin_dir(char *out, size_t n)
{
    ssize_t len = readlink("/proc/self/exe", out, n - 1);
    if (len <= 0)
        return -1;
    out[len] = '\0';
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
    return 0;
}

static int find_python_dir(const char *bin_dir, char *out, size_t n)
{
    const char *env = getenv("GAELIC_PYTHON_DIR");
    if (env) {
        snprintf(out, n, "%s", env);
    } else if (snprintf(out, n, "%s/../python", bin_dir) >= (int)n) {
        return -1;
    }
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(out, real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
        return -1;
    snprintf(out, n, "%s", real);
    return 0;
}

static void app_identity(server_t *srv)
{
    const app_config_t *cfg = srv->cfg;
    app_identity_id(cfg, srv->o.application, srv->app_id, sizeof srv->app_id);
    /* CURRENT_VERSION_ID is major.minor; the minor number identifies this
     * deployment, as App Engine's did. */
    snprintf(srv->version_id, sizeof srv->version_id, "%s.%lld", cfg->version ? cfg->version : "1",
             (long long)time(NULL));
}

static void logs_done(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)loop;
    (void)events;
    server_t *srv = (server_t *)((char *)w - offsetof(server_t, logs_w));
    log_store_complete(srv->logs);
}

/* The request log database: --logs_path, else in the storage folder. */
static void logs_db_path(const server_t *srv, char *out, size_t size)
{
    if (srv->o.logs_path)
        snprintf(out, size, "%s", srv->o.logs_path);
    else
        snprintf(out, size, "%s/%s", srv->storage_dir, LOG_STORE_FILE);
}

/* --automatic_restart: the app's files changed (file_watch.h). */
static void app_files_changed(void *ctx, const char *first, unsigned long count, const char *config)
{
    server_t *srv = ctx;
    if (srv->stopping)
        return;
    if (config)
        log_warn("%s changed: gaelic serve reads it at start only; restart it for the change "
                 "to apply",
                 config);
    if (config && count == 1)
        return;
    int n = pool_restart_instances(srv->pool) + backends_restart_instances(srv->backends);
    char more[48] = "";
    if (count > 1)
        snprintf(more, sizeof more, " and %lu more change%s", count - 1, count > 2 ? "s" : "");
    log_info("app files changed (%s%s): %d instance%s that imported the app shut%s down; the "
             "next import it anew (--automatic_restart)",
             first, more, n, n == 1 ? "" : "s", n == 1 ? "s" : "");
}

/* A path under the app root, relative to it; NULL for one elsewhere. */
static const char *in_app(const server_t *srv, const char *path)
{
    size_t n = strlen(srv->cfg->root);
    return path && strncmp(path, srv->cfg->root, n) == 0 && path[n] == '/' ? path + n + 1 : NULL;
}

static void watch_app_files(server_t *srv)
{
    char err[256], logs[PATH_MAX + 16], wal[PATH_MAX + 24], shm[PATH_MAX + 24],
        journal[PATH_MAX + 24];
    logs_db_path(srv, logs, sizeof logs);
    snprintf(wal, sizeof wal, "%s-wal", logs);
    snprintf(shm, sizeof shm, "%s-shm", logs);
    snprintf(journal, sizeof journal, "%s-journal", logs);
    const char *ignored[] = {srv->storage_dir, logs, wal, shm, journal, NULL};
    const char *config[3] = {NULL, NULL, NULL}, *rel;
    size_t k = 0;
    if ((rel = in_app(srv, srv->cfg->path)))
        config[k++] = rel;
    if ((rel = in_app(srv, srv->backends_cfg->path)))
        config[k++] = rel;
    file_watch_opts_t fo = {srv->cfg,          config, ignored, srv->o.watcher_ignore_re,
                            app_files_changed, srv};
    srv->watch = file_watch_open(&srv->loop, &fo, err, sizeof err);
    if (!srv->watch)
        log_warn("--automatic_restart: cannot watch the app's files (%s); instances are not "
                 "restarted when they change",
                 err);
    else
        log_info("--automatic_restart: watching %zu folders of the app; instances restart when "
                 "its files change",
                 file_watch_folders(srv->watch));
}

/* The storage folder (logs, backend states, the control socket) and the
 * log database in it (or --logs_path). */
static int open_storage(server_t *srv)
{
    char path[PATH_MAX + 16], err[PATH_MAX + 256];
    if (app_identity_storage(srv->app_id, srv->o.storage_path, srv->storage_dir,
                             sizeof srv->storage_dir) < 0) {
        log_error("the storage path is too long");
        return -1;
    }
    logs_db_path(srv, path, sizeof path);
    srv->logs = log_store_open(path, srv->o.logs_max_requests, (int64_t)srv->o.logs_max_bytes, err,
                               sizeof err);
    if (!srv->logs) {
        log_error("request logs: %s", err);
        return -1;
    }
    log_info("request logs: %s", path);
    /* The Logs API's reads run on the log writer's thread and come back
     * through this fd. */
    srv->logs_w.fd = log_store_event_fd(srv->logs);
    srv->logs_w.cb = logs_done;
    if (loop_add(&srv->loop, &srv->logs_w, EPOLLIN) < 0) {
        log_error("request logs: epoll: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* app.yaml's automatic_scaling max_instances lowers --max_instances (both
 * are limits: the lower one holds). */
static void app_max_instances(server_t *srv)
{
    int yaml_max = srv->cfg->max_instances;
    if (!yaml_max || yaml_max >= srv->o.max_instances)
        return;
    log_info("%s: automatic_scaling max_instances %d: at most %d instance%s (--max_instances %d)",
             srv->cfg->path, yaml_max, yaml_max, yaml_max == 1 ? "" : "s", srv->o.max_instances);
    srv->o.max_instances = yaml_max;
}

/* app.yaml's automatic_scaling key (min_instances, min_idle_instances)
 * of value n, within --max_instances. */
static int kept_instances(const server_t *srv, const char *key, int n)
{
    if (n > srv->o.max_instances) {
        log_warn("%s: automatic_scaling %s %d is more than --max_instances %d: %d instances are "
                 "kept running",
                 srv->cfg->path, key, n, srv->o.max_instances, srv->o.max_instances);
        n = srv->o.max_instances;
    }
    if (n)
        log_info("%s: automatic_scaling %s %d: instances start with the server and are kept "
                 "running",
                 srv->cfg->path, key, n);
    return n;
}

/* app.yaml's automatic_scaling max_idle_instances (pool_opts_t), said at
 * start since it shuts instances down long before the idle timeout. */
static int note_max_idle_instances(const server_t *srv)
{
    int n = srv->cfg->max_idle_instances;
    if (n >= 0)
        log_info("%s: automatic_scaling max_idle_instances %d: instances beyond %d that have "
                 "had no request for a quarter of --instance_idle_timeout (at most a minute) "
                 "stop then",
                 srv->cfg->path, n, n);
    return n;
}

/* --env_var: into app.yaml's env_variables, which every request's environ
 * carries (server_app_env), the default version's and the backends'. The
 * command line wins over app.yaml, and a later --env_var over an earlier. */
static int add_env_vars_to_config(app_config_t *cfg, const serve_opts_t *o)
{
    for (size_t i = 0; i < o->n_env_vars; i++) {
        const char *v = o->env_vars[i], *eq = strchr(v, '='); /* add_env_var checked it */
        char *key = strndup(v, (size_t)(eq - v));
        int rc = key ? config_env_set(cfg, key, eq + 1) : -1;
        free(key);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int server_threadsafe(const server_t *srv, const char *service)
{
    int threadsafe = srv->cfg->threadsafe;
    /* parse_args checked the value: this finds an entry or none. */
    if (srv->o.threadsafe_override)
        threadsafe_override_for(srv->o.threadsafe_override, service, &threadsafe, NULL, 0);
    return threadsafe;
}

/* Says what --threadsafe_override does to the default version, or that it
 * names no service of this app (as dev_appserver warned of an unknown
 * module). */
static void note_threadsafe_override(const server_t *srv)
{
    const char *v = srv->o.threadsafe_override, *service = config_service(srv->cfg);
    int threadsafe;
    if (!v)
        return;
    if (threadsafe_override_for(v, service, &threadsafe, NULL, 0) == 1) {
        if (threadsafe != srv->cfg->threadsafe)
            log_info("--threadsafe_override %s: threadsafe: %s instead of app.yaml's %s: %s", v,
                     threadsafe ? "true" : "false", threadsafe ? "false" : "true",
                     threadsafe ? "an instance serves several requests at once"
                                : "an instance serves one request at a time");
        return;
    }
    for (size_t i = 0; i < srv->backends_cfg->n_backends; i++)
        if (threadsafe_override_for(v, srv->backends_cfg->backends[i].name, &threadsafe, NULL, 0))
            return;
    log_warn("--threadsafe_override %s: no entry for this app's service, %s, or its backends; "
             "threadsafe stays as app.yaml has it (%s)",
             v, service, srv->cfg->threadsafe ? "true" : "false");
}

/* dev_appserver served an admin console at --admin_host:--admin_port;
 * command lines that give them must still start, and be told where its
 * pages' work is done here. */
static void note_admin_console(const server_t *srv)
{
    if (srv->o.admin_host || srv->o.admin_port >= 0)
        log_info("--admin_host/--admin_port: gaelic has no admin console; `gaelic logs` reads "
                 "the request logs, `gaelic backends` lists and controls backends, and each "
                 "request's log shows its instance");
}

/* automatic_scaling max_concurrent_requests bounds an instance that
 * serves several requests at once: one that serves one at a time
 * (threadsafe: false, perhaps by --threadsafe_override) leaves it unused. */
static void note_unused_max_concurrent_requests(const server_t *srv)
{
    const app_config_t *cfg = srv->cfg;
    if (!cfg->max_concurrent_requests || cfg->max_concurrent_requests == 1 ||
        server_threadsafe(srv, config_service(cfg)))
        return;
    log_info("%s: automatic_scaling max_concurrent_requests %d: not used: an instance serves one "
             "request at a time (threadsafe: false%s)",
             cfg->path, cfg->max_concurrent_requests,
             cfg->threadsafe ? " by --threadsafe_override" : "");
}

/* Requests one default-version instance serves at once: --threads when
 * threadsafe, but the app's automatic_scaling max_concurrent_requests (App
 * Engine's per-instance limit) when it gives one. */
static int instance_threads(const server_t *srv)
{
    const app_config_t *cfg = srv->cfg;
    if (!server_threadsafe(srv, config_service(cfg)))
        return 1;
    if (cfg->max_concurrent_requests)
        return cfg->max_concurrent_requests < IPC_MAX_INSTANCE_THREADS
                   ? cfg->max_concurrent_requests
                   : IPC_MAX_INSTANCE_THREADS;
    return srv->o.threads;
}

/* What a python3 app's entrypoint becomes here: gaelic serves the WSGI
 * app the command names in its own instances and never runs the command,
 * so the start says which app that is, and when the command names none
 * or serves ASGI, that requests will not reach what it ran. */
static void note_python3_app(const app_config_t *cfg)
{
    if (!cfg->python3_app)
        return;
    if (!cfg->entrypoint) {
        log_info("requests no handler takes go to %s, as App Engine's default entrypoint "
                 "(gunicorn main:app) served them",
                 cfg->python3_app);
        return;
    }
    char *script = cfg->entrypoint_names_app ? NULL : entrypoint_python_script(cfg->entrypoint);
    /* A script run as a program starts its own server, which an instance
     * cannot (SB2): say that it is imported instead. */
    if (script)
        log_warn("%s:%d: entrypoint names no module:app (as gunicorn's 'main:app'); requests "
                 "no handler takes go to %s. gaelic does not run %s: it imports the module "
                 "of %s, where `__name__ == '__main__'` is false, and a server started as it "
                 "is imported (app.run() outside that `if`) cannot listen here",
                 cfg->path, cfg->entrypoint_line, cfg->python3_app, script, cfg->python3_app);
    else if (!cfg->entrypoint_names_app)
        log_warn("%s:%d: entrypoint names no module:app (as gunicorn's 'main:app'); requests "
                 "no handler takes go to %s",
                 cfg->path, cfg->entrypoint_line, cfg->python3_app);
    else
        log_info("%s:%d: entrypoint: requests no handler takes go to %s, the app it names; "
                 "gaelic serves it in its own instances and does not run the command",
                 cfg->path, cfg->entrypoint_line, cfg->python3_app);
    if (strstr(cfg->entrypoint, "uvicorn") || strstr(cfg->entrypoint, "hypercorn") ||
        strstr(cfg->entrypoint, "daphne"))
        log_warn("%s:%d: entrypoint runs an ASGI server; gaelic calls %s as a WSGI app "
                 "(PEP 3333), which an ASGI app is not",
                 cfg->path, cfg->entrypoint_line, cfg->python3_app);
    /* gunicorn changed into --chdir's folder; instances stay in the app
     * folder (SB5), so only imports follow it. */
    if (cfg->gunicorn_chdir)
        log_warn("%s:%d: entrypoint: --chdir %s: the app imports from %s first, as under "
                 "gunicorn, but its working folder stays the app folder: a relative path "
                 "(open('data.json')) is read from there",
                 cfg->path, cfg->entrypoint_line, cfg->gunicorn_chdir, cfg->gunicorn_chdir);
    free(script);
}

/* What google.appengine.api.backends needs to build backend URLs (BK7):
 * "GAELIC_BACKENDS=HOSTNAME:PORT name=most ...", for the instances'
 * environment: each backend with the most instances the tier allows, not
 * its count now, which `backends configure` may raise while instances run
 * (and backends.db may hold another than backends.yaml's). backends.yaml's
 * limits keep it far below n bytes. */
static void describe_backends(const server_t *srv, char *out, size_t n)
{
    size_t len =
        (size_t)snprintf(out, n, "GAELIC_BACKENDS=%s:%d", srv->o.hostname, srv->listen_port);
    for (size_t i = 0; i < srv->backends_cfg->n_backends && len < n; i++) {
        const backend_t *b = &srv->backends_cfg->backends[i];
        len += (size_t)snprintf(out + len, n - len, " %s=%d", b->name,
                                backend_tier_max_instances(srv->tier));
    }
    if (len >= n)
        out[0] = '\0'; /* cannot happen within the limits; then no backends */
}

/* The HTTP API server, on the loopback address of --host's family. */
static int open_api_server(server_t *srv, const api_registry_t *api)
{
    char err[512];
    int ipv6;
    int fd =
        tcp_listen(strchr(srv->listen_host, ':') ? "::1" : "127.0.0.1", srv->o.api_port,
                   srv->api_host, sizeof srv->api_host, &srv->api_port, &ipv6, err, sizeof err);
    if (fd < 0) {
        log_error("API server (--api_port): %s", err);
        return -1;
    }
    srv->api_registry = api;
    srv->api_limits = srv->limits;
    srv->api_limits.max_body_bytes = API_HTTP_MAX_BODY;
    srv->api_listen_w.fd = fd;
    srv->api_listen_w.cb = on_accept;
    return loop_add(&srv->loop, &srv->api_listen_w, EPOLLIN);
}

/* Control socket commands: `backends APP_ID VERB ...`. */
static int control_command(void *ctx, int argc, char **argv, buf_t *out, char *err, size_t errlen)
{
    server_t *srv = ctx;
    if (argc >= 2 && !strcmp(argv[0], "backends")) {
        /* --storage_path names a folder, not an app: a command for another
         * app may reach this server. */
        if (strcmp(argv[1], srv->app_id) != 0) {
            snprintf(err, errlen,
                     "the server with storage folder %s serves app '%s', not '%s' (give the "
                     "--storage_path of %s's server, or --application %s for this one)",
                     srv->storage_dir, srv->app_id, argv[1], argv[1], srv->app_id);
            return -1;
        }
        argv[1] = argv[0];
        argc--;
        argv++;
        if (!srv->backends) {
            snprintf(err, errlen, "app %s has no backends.yaml", srv->app_id);
            return -1;
        }
        /* A stopping server shuts every backend down: a command that would
         * start instances or save a new state races that. Reading is fine. */
        if (srv->stopping && argc >= 2 && strcmp(argv[1], "list") != 0 &&
            strcmp(argv[1], "status") != 0) {
            snprintf(err, errlen,
                     "the server is stopping; %s takes effect only on a running server", argv[1]);
            return -1;
        }
        return backends_command(srv->backends, argc, argv, out, err, errlen);
    }
    snprintf(err, errlen, "unknown request '%s'", argc ? argv[0] : "");
    return -1;
}

int serve_main(int argc, char **argv)
{
    log_console_nonblocking();
    server_t *srv = calloc(1, sizeof *srv);
    if (!srv)
        return EXIT_RUNTIME;
    int rc = EXIT_RUNTIME;
    api_registry_t *api = NULL;
    cpu_cap_t *cap = NULL;
    thread_cap_t *thread_cap = NULL;
    cgroup_mover_t *mover = NULL;
    child_console_t *console = NULL;
    set_defaults(&srv->o);
    int pa = parse_args(argc, argv, &srv->o);
    if (pa != 0) {
        free(srv->o.env_vars);
        free(srv);
        return pa > 0 ? 0 : EXIT_USAGE;
    }
    srv->listen_w.fd = srv->api_listen_w.fd = srv->signal_w.fd = -1;

    char err[1024];
    if (trusted_proxies_parse(&srv->trusted_proxies, srv->o.trusted_proxy, err, sizeof err) < 0) {
        fprintf(stderr, "gaelic serve: --trusted_proxy: %s\n", err);
        free(srv->o.env_vars);
        free(srv);
        return EXIT_USAGE;
    }
    if (config_load(srv->o.app_dir, &srv->cfg, err, sizeof err) < 0) {
        fprintf(stderr, "gaelic: %s\n", err);
        free(srv->o.env_vars);
        free(srv);
        return EXIT_USAGE;
    }
    int env_rc = add_env_vars_to_config(srv->cfg, &srv->o);
    free(srv->o.env_vars);
    srv->o.env_vars = NULL;
    if (env_rc < 0) {
        fprintf(stderr, "gaelic serve: --env_var: out of memory\n");
        config_free(srv->cfg);
        free(srv);
        return EXIT_RUNTIME;
    }
    if (!srv->o.deadline_ms)
        srv->o.deadline_ms = config_default_deadline_ms(srv->cfg);
    if (srv->o.max_module_instances) {
        const char *service = config_service(srv->cfg);
        if (module_instances_for(srv->o.max_module_instances, service, COUNT_MAX,
                                 &srv->o.max_instances, err, sizeof err) == 0)
            log_warn("--max_module_instances %s: no entry for this app's service, %s; it has "
                     "--max_instances %d",
                     srv->o.max_module_instances, service, srv->o.max_instances);
    }
    app_max_instances(srv);
    srv->tier = strcmp(srv->o.tier, "paid") == 0 ? TIER_PAID : TIER_FREE;
    if (backends_config_load(srv->cfg->root, srv->tier, &srv->backends_cfg, err, sizeof err) < 0) {
        fprintf(stderr, "gaelic: %s\n", err);
        config_free(srv->cfg);
        free(srv);
        return EXIT_USAGE;
    }
    note_threadsafe_override(srv);
    note_admin_console(srv);
    note_unused_max_concurrent_requests(srv);
    /* Each backend is a version named after it (backend_version_id). */
    const char *version = srv->cfg->version;
    if (version && backends_config_find(srv->backends_cfg, version, strlen(version)))
        log_warn("backends.yaml: backend '%s' has the name of app.yaml's version: requests "
                 "for %s.HOSTNAME go to the backend, and both log under that name",
                 version, version);
    app_file_limits_t lim = {srv->o.max_app_files, (long)srv->o.max_app_file_bytes,
                             (long)srv->o.max_app_bytes};
    srv->links.follow = srv->o.follow_symlinks;
    srv->links.root = srv->cfg->root;
    if (config_check_files(srv->cfg, &lim, app_links_found, &srv->links, err, sizeof err) < 0 ||
        srv->links.failed) {
        fprintf(stderr, "gaelic: %s\n", srv->links.failed ? srv->links.err : err);
        backends_config_free(srv->backends_cfg);
        app_links_free(&srv->links);
        config_free(srv->cfg);
        free(srv);
        return EXIT_USAGE;
    }
    app_links_finish(&srv->links);
    static char lib_modules[2048];
    char skipped[1024] = "";
    if (libraries_resolve(srv->cfg, DIST_PACKAGES, lib_modules, sizeof lib_modules, err,
                          sizeof err) < 0 ||
        (srv->cfg->python3_app &&
         libraries_requirements(srv->cfg->root, DIST_PACKAGES, lib_modules, sizeof lib_modules,
                                skipped, sizeof skipped, err, sizeof err) < 0)) {
        fprintf(stderr, "gaelic: %s\n", err);
        backends_config_free(srv->backends_cfg);
        app_links_free(&srv->links);
        config_free(srv->cfg);
        free(srv);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < srv->cfg->n_libraries; i++) {
        const library_t *l = &srv->cfg->libraries[i];
        const library_info_t *lib = library_find(l->name);
        if (lib && !lib->modules)
            log_warn("%s:%d: library %s: gaelic does not provide it (no Debian package "
                     "usable in an instance); its modules import only if the app has them in "
                     "its own files, e.g. in lib/ with google.appengine.ext.vendor",
                     srv->cfg->path, l->line, l->name);
        else if (lib && lib->package && strcmp(l->version, "latest") != 0)
            log_info("library %s: app.yaml asks for version %s; Debian's %s is used", l->name,
                     l->version, lib->package);
    }
    if (skipped[0])
        log_warn("%s/requirements.txt: gaelic installs nothing; of its requirements only "
                 "Debian's packages of known libraries are importable, %s only from the app's "
                 "own files (lib/ with google.appengine.ext.vendor, say)",
                 srv->cfg->root, skipped);
    note_python3_app(srv->cfg);
    if (srv->cfg->unused_keys)
        log_info("%s: %s: accepted as App Engine took them, not used here: instances scale by "
                 "--max_instances (or a lower automatic_scaling max_instances), min_instances, "
                 "min_idle_instances, max_idle_instances and --instance_idle_timeout, on this "
                 "machine's network, without a service account or a build step",
                 srv->cfg->path, srv->cfg->unused_keys);
    app_identity(srv);
    if (static_init(srv->cfg->root, &srv->links) < 0) {
        fprintf(stderr, "gaelic: %s: %s\n", srv->cfg->root, strerror(errno));
        backends_config_free(srv->backends_cfg);
        app_links_free(&srv->links);
        config_free(srv->cfg);
        free(srv);
        return EXIT_USAGE;
    }
    if (error_pages_load(&srv->error_pages, srv->cfg, err, sizeof err) < 0) {
        fprintf(stderr, "gaelic: %s\n", err);
        static_close();
        backends_config_free(srv->backends_cfg);
        app_links_free(&srv->links);
        config_free(srv->cfg);
        free(srv);
        return EXIT_USAGE;
    }

    char bin_dir[PATH_MAX], exe[PATH_MAX + 32], python_dir[PATH_MAX];
    if (find_bin_dir(bin_dir, sizeof bin_dir) < 0) {
        log_error("cannot find my own binary: %s", strerror(errno));
        goto out;
    }
    snprintf(exe, sizeof exe, "%s/gaelic-instance", bin_dir);
    if (access(exe, X_OK) < 0) {
        log_error("cannot run the instance binary %s: %s (build it with make)", exe,
                  strerror(errno));
        goto out;
    }
    if (find_python_dir(bin_dir, python_dir, sizeof python_dir) < 0) {
        log_error("cannot find gaelic's Python package folder %s (set GAELIC_PYTHON_DIR)",
                  python_dir);
        goto out;
    }
    const char *readable[SANDBOX_READABLE_MAX], *linked[APP_LINKS_MAX + 1];
    sandbox_readable_paths(srv->cfg->root, python_dir, NULL, readable);
    app_links_for_instances(&srv->links, readable, linked);

    srv->limits.max_header_bytes = srv->o.max_header_bytes;
    srv->limits.max_url_bytes = srv->o.max_url_bytes;
    srv->limits.max_body_bytes = srv->o.max_request_bytes;
    srv->limits.held = &srv->requests_held;
    srv->limits.max_held = srv->o.max_held_request_bytes;
    if (loop_init(&srv->loop) < 0)
        goto out;
    srv->loop.after_batch = after_batch;
    srv->log_timer.cb = log_flush_tick;
    loop_timer_start(&srv->loop, &srv->log_timer, LOG_FLUSH_MS);
    if (open_signals(srv) < 0) {
        log_error("signals: %s", strerror(errno));
        goto out;
    }
    raise_fd_limit(srv->o.max_connections);
    if (open_listener(srv) < 0)
        goto out;

    api = api_services_new(srv);
    srv->tickets = api_tickets_new();
    if (!api || !srv->tickets) {
        log_error("out of memory for the API services");
        goto out;
    }
    if (open_api_server(srv, api) < 0)
        goto out;
    if (srv->o.api_test_service)
        log_warn("the gaelic_test API service is on (--api_test_service, for tests)");
    if (open_cpu_cap(srv->o.cpu_cap, &cap) < 0)
        goto out;
    open_thread_cap(&srv->o, &thread_cap);
    if ((cap || thread_cap) &&
        !(mover = cgroup_mover_start(&srv->loop, cap, thread_cap, err, sizeof err))) {
        /* Nothing could put instances under the caps: as if not possible
         * here (open_cpu_cap, open_thread_cap). */
        if (!strcmp(srv->o.cpu_cap, "on")) {
            log_error("cpu cap: cannot start the cgroup mover: %s", err);
            goto out;
        }
        log_warn("cannot start the cgroup mover (%s): neither CPU nor threads are capped", err);
        cpu_cap_close(cap);
        thread_cap_close(thread_cap);
        cap = NULL;
        thread_cap = NULL;
    }
    if (!(srv->gzip = gzip_worker_start(&srv->loop, err, sizeof err))) {
        log_error("cannot start the gzip threads: %s", err);
        goto out;
    }
    if (!(console = child_console_new(&srv->loop))) {
        log_error("out of memory for the children's console");
        goto out;
    }
    char backends_env[8192];
    describe_backends(srv, backends_env, sizeof backends_env);
    pool_opts_t po = {
        .app_root = srv->cfg->root,
        .backends_env = backends_env,
        .python_dir = python_dir,
        .library_modules = lib_modules,
        .skip_files = srv->cfg->skip_files,
        .static_only_files = srv->cfg->static_only_files,
        .import_path = srv->cfg->import_path,
        .linked = linked,
        .exe = exe,
        .max_instances = srv->o.max_instances,
        .min_instances = kept_instances(srv, "min_instances", srv->cfg->min_instances),
        .min_idle_instances =
            kept_instances(srv, "min_idle_instances", srv->cfg->min_idle_instances),
        .max_idle_instances = note_max_idle_instances(srv),
        .threads = instance_threads(srv),
        .max_concurrent = srv->o.max_concurrent,
        .max_pending = srv->o.max_pending,
        .max_pending_ms = srv->o.max_pending_ms,
        .min_pending_ms = srv->cfg->min_pending_latency_ms,
        .max_pending_start_ms = srv->cfg->max_pending_latency_ms,
        .idle_timeout_ms = srv->o.idle_timeout_ms,
        .stop_grace_ms = srv->o.shutdown_timeout_ms,
        .max_response_bytes = srv->o.max_response_bytes,
        .max_response_header_bytes = srv->o.max_response_header_bytes,
        .deadline_grace_ms = srv->o.deadline_grace_ms,
        .logs = NULL, /* opened below, while the zygote starts */
        .version_id = srv->version_id,
        .module_id = config_service(srv->cfg),
        /* The console shows the app's warnings; all of its lines with
         * --log_level debug. */
        .console_app_level = log_min_level <= LOG_DEBUG ? 0 : 2,
        .sandbox = srv->o.sandbox,
        .instance_memory = srv->o.instance_memory,
        .audit_hook = !srv->o.test_disarm_audit,
        .api = api,
        .tickets = srv->tickets,
        .api_host = srv->api_host,
        .api_port = srv->api_port,
        .gae_instance = srv->cfg->python3_app != NULL,
        .cpu_mhz = instance_class_mhz(srv->cfg->instance_class),
        .cpu_cap = cap,
        .mover = mover,
        .app_threads = srv->o.instance_max_threads,
        .console = console,
        .start_hook = srv->cfg->warmup ? warmup_send : NULL,
        .hook_ctx = srv,
    };
    /* The zygote (CPython and the runtime) is the longest step to the first
     * response, so it starts first and the master's own set-up (the sandbox
     * probe, the request log) runs beside it; a failure there stops it. */
    srv->pool = pool_new(&srv->loop, &po);
    if (!srv->pool || pool_start(srv->pool) < 0)
        goto out;
    sandbox_mode_t mode;
    sandbox_mode_parse(srv->o.sandbox, &mode); /* checked by parse_args */
    if (sandbox_startup_check(mode, srv->cfg->root, python_dir, linked, !srv->o.test_disarm_audit,
                              srv->o.instance_memory) < 0)
        goto out;
    if (open_storage(srv) < 0)
        goto out;
    po.logs = srv->logs;
    pool_set_logs(srv->pool, srv->logs);
    srv->control =
        control_open(&srv->loop, srv->storage_dir, control_command, srv, err, sizeof err);
    if (!srv->control) {
        log_error("%s", err);
        goto out;
    }
    if (log_store_end_stale_requests(srv->logs) < 0) {
        log_error("request logs: out of memory");
        goto out;
    }
    if (srv->backends_cfg->n_backends &&
        !(srv->backends = backends_start(srv, srv->backends_cfg, &po)))
        goto out;

    if (srv->o.automatic_restart)
        watch_app_files(srv);
    else if (srv->o.watcher_ignore_re)
        log_warn("--watcher_ignore_re: nothing is watched without --automatic_restart");

    printf("gaelic: serving app \"%s\" at http://%s/\n", srv->app_id, srv->hostport);
    printf(strchr(srv->api_host, ':') ? "gaelic: API server at http://[%s]:%d%s\n"
                                      : "gaelic: API server at http://%s:%d%s\n",
           srv->api_host, srv->api_port, API_HTTP_PATH);
    fflush(stdout);
    log_info("app \"%s\" version %s from %s (%s, %s)", srv->app_id, srv->version_id, srv->cfg->root,
             server_threadsafe(srv, config_service(srv->cfg)) ? "threadsafe"
                                                              : "one request at a time",
             srv->cfg->runtime ? srv->cfg->runtime : "python27");

    log_batching = 1;
    int loop_rc = loop_run(&srv->loop);
    log_batching = 0;
    log_flush();
    if (loop_rc < 0)
        log_error("event loop: %s", strerror(errno));
    else
        rc = 0;
    log_info("stopped");
out:
    conn_close_all(srv);
    conn_reap(srv);
    thread_jobs_stop(srv->gzip); /* every task was cancelled with its connection */
    /* The tickets go after the pools, which revoke them. */
    file_watch_close(srv->watch);
    backends_free(srv->backends);
    if (srv->pool)
        pool_free(srv->pool);
    api_tickets_free(srv->tickets);
    control_close(srv->control);
    api_registry_free(api);
    cgroup_mover_stop(mover); /* the pools' last removals, before the caps go */
    cpu_cap_close(cap);
    thread_cap_close(thread_cap);
    child_console_free(console); /* what the children said as they stopped */
    backends_config_free(srv->backends_cfg);
    log_store_close(srv->logs);
    if (srv->listen_w.fd >= 0)
        close(srv->listen_w.fd);
    if (srv->api_listen_w.fd >= 0)
        close(srv->api_listen_w.fd);
    if (srv->signal_w.fd >= 0)
        close(srv->signal_w.fd);
    loop_close(&srv->loop);
    static_close();
    error_pages_free(&srv->error_pages);
    app_links_free(&srv->links);
    config_free(srv->cfg);
    free(srv);
    return rc;
}
