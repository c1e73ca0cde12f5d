#include "backends_cmd.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app_identity.h"
#include "cli_args.h"
#include "config.h"
#include "control.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fputs("usage: gaelic backends APPDIR VERB [BACKEND [INSTANCE]] [options]\n"
          "\n"
          "Controls the backends (backends.yaml) of the app in APPDIR on its running\n"
          "gaelic serve. Verbs:\n"
          "  list               each backend: class, instances running/configured, state,\n"
          "                     options, uptime, instance-hours and cost so far\n"
          "  start BACKEND      state START: resident instances start now, dynamic ones\n"
          "                     with the first request\n"
          "  stop BACKEND       state STOP: instances shut down, requests get 404\n"
          "  configure BACKEND  apply instances, public and failfast from backends.yaml\n"
          "                     without restarting instances\n"
          "  update [BACKEND]   backends.yaml and the code as they are now: new instances\n"
          "                     start, the old ones shut down once the new ones serve;\n"
          "                     waits for that (every backend without a name)\n"
          "  rollback BACKEND   discard an unfinished or failed update\n"
          "  shutdown BACKEND N shut instance N down (a resident one starts again)\n"
          "  delete BACKEND     its requests go to the default version (update brings it\n"
          "                     back)\n"
          "States, deletions and configure survive server restarts.\n"
          "\n"
          "options (--name VALUE or --name=VALUE, before or after the verb):\n"
          "  --storage_path DIR   the storage folder the server was started with\n"
          "  --application ID     the app id the server was started with (also -A ID)\n"
          "  -h, --help           show this help\n"
          "\n"
          "exit status: 0 done, 1 the server refused (message on stderr), 2 usage error or\n"
          "no server running.\n",
          f);
}

/* How long `update` waits for new instances to pass their start requests
 * before it leaves the update running and returns. */
#define UPDATE_WAIT_MS (10 * 60 * 1000)
#define UPDATE_POLL_MS 200

/* The backends an update command updated, from its output lines
 * "backend NAME: update started|done" (update() in backends.c). */
typedef struct {
    char **names;
    size_t n;
} updated_t;

static int is_updated(const updated_t *u, const char *name)
{
    for (size_t i = 0; i < u->n; i++)
        if (!strcmp(u->names[i], name))
            return 1;
    return 0;
}

static void updated_free(updated_t *u)
{
    for (size_t i = 0; i < u->n; i++)
        free(u->names[i]);
    free(u->names);
}

/* -1 when memory runs out. */
static int updated_parse(updated_t *u, const char *text)
{
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *colon = memchr(line, ':', len);
        size_t rest = colon ? (size_t)(line + len - colon) : 0;
        int named = len > 8 && !strncmp(line, "backend ", 8) && colon > line + 8;
        if (named && ((rest == 16 && !strncmp(colon, ": update started", 16)) ||
                      (rest == 13 && !strncmp(colon, ": update done", 13)))) {
            char **more = realloc(u->names, (u->n + 1) * sizeof *more);
            if (!more)
                return -1;
            u->names = more;
            if (!(u->names[u->n] = strndup(line + 8, (size_t)(colon - line - 8))))
                return -1;
            u->n++;
        }
        line = end ? end + 1 : NULL;
    }
    return 0;
}

/* One poll of the server's update states. Returns 1 while an update of
 * one of `only` still runs, 0 when all ended well, -1 when one failed
 * (said on stderr), or control_call's error code + 1. Others' states,
 * such as an earlier failure of a backend this update left as it was,
 * are not this update's. */
static int update_states(const char *dir, const char *app_id, const updated_t *only)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        perror("gaelic backends");
        return 2;
    }
    char *req[3] = {"backends", (char *)app_id, "status"};
    int rc = control_call(dir, 3, req, NULL, f, stderr);
    fclose(f);
    int result = rc ? rc + 1 : 0;
    for (char *line = text, *next; !rc && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *state = strchr(line, '\t');
        if (!state)
            continue;
        *state++ = '\0';
        char *reason = strchr(state, '\t');
        if (reason)
            *reason++ = '\0';
        if (!is_updated(only, line))
            continue;
        if (!strcmp(state, "updating") && result == 0)
            result = 1;
        if (!strcmp(state, "rolled-back")) {
            fprintf(stderr, "gaelic backends: the update of %s was rolled back\n", line);
            result = -1;
        }
        if (!strcmp(state, "failed")) {
            fprintf(stderr,
                    "gaelic backends: update of %s failed: %s; the old instances keep serving "
                    "(gaelic backends APPDIR rollback %s discards it)\n",
                    line, reason ? reason : "", line);
            result = -1;
        }
    }
    free(text);
    return result;
}

/* update: waits until the new instances serve (exit 0) or the update
 * failed (exit 1). */
static int wait_for_update(const char *dir, const char *app_id, const updated_t *only)
{
    for (int waited = 0; waited < UPDATE_WAIT_MS; waited += UPDATE_POLL_MS) {
        int r = update_states(dir, app_id, only);
        if (r == 0)
            return 0;
        if (r < 0)
            return 1;
        if (r > 1)
            return r - 1;
        struct timespec ts = {0, UPDATE_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "gaelic backends: new instances are still starting; the update goes on "
                    "(see gaelic backends APPDIR list)\n");
    return 1;
}

/* The verbs the server answers (control_command in serve.c). */
static int is_verb(const char *word)
{
    static const char *const verbs[] = {"list",   "start",    "stop",     "configure",
                                        "update", "rollback", "shutdown", "delete"};
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
        if (!strcmp(word, verbs[i]))
            return 1;
    return 0;
}

static int is_shutdown(const char *verb)
{
    return verb && !strcmp(verb, "shutdown");
}

int backends_main(int argc, char **argv)
{
    const char *words[4] = {NULL, NULL, NULL, NULL}; /* APPDIR VERB BACKEND [INSTANCE] */
    int n_words = 0;
    const char *storage = NULL, *application = NULL;
    cli_arg_t arg;
    cli_kind_t kind;
    static const char *const options[] = {"storage_path", "application", NULL};
    for (int i = 1;
         (kind = cli_next(argc, argv, &i, "backends", NULL, options, &arg)) != CLI_END;) {
        if (kind == CLI_ERROR)
            return EXIT_USAGE;
        if (kind == CLI_HELP) {
            usage(stdout);
            return 0;
        }
        if (kind == CLI_POSITIONAL) {
            if (n_words == 4 || (n_words == 3 && !is_shutdown(words[1]))) {
                fprintf(stderr, "gaelic backends: unexpected argument '%s'\n", arg.value);
                return EXIT_USAGE;
            }
            words[n_words++] = arg.value;
        } else if (cli_is(&arg, "storage_path")) {
            storage = arg.value;
        } else {
            application = arg.value;
        }
    }
    /* As gaelic serve checks it: another id names no server it ran. */
    if (application && !cli_application_ok("backends", application))
        return EXIT_USAGE;
    if (n_words < 2) {
        fprintf(stderr, "gaelic backends: missing %s\n", n_words ? "VERB" : "APPDIR and VERB");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!is_verb(words[1])) {
        fprintf(stderr,
                "gaelic backends: unknown verb '%s' (list, start, stop, configure, update, "
                "rollback, shutdown or delete)\n",
                words[1]);
        return EXIT_USAGE;
    }
    int needs_name = strcmp(words[1], "list") != 0;
    int optional_name = !strcmp(words[1], "update");
    if (is_shutdown(words[1]) && n_words != 4) {
        fprintf(stderr, "gaelic backends: shutdown needs a BACKEND and an INSTANCE number\n");
        return EXIT_USAGE;
    }
    if (!optional_name && !is_shutdown(words[1]) && needs_name != (n_words == 3)) {
        fprintf(stderr,
                needs_name ? "gaelic backends: %s needs a BACKEND name\n"
                           : "gaelic backends: %s takes no BACKEND name\n",
                words[1]);
        return EXIT_USAGE;
    }
    char err[1024], app_id[128], dir[PATH_MAX];
    app_config_t *cfg;
    if (config_load(words[0], &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "gaelic: %s\n", err);
        return EXIT_USAGE;
    }
    app_identity_id(cfg, application, app_id, sizeof app_id);
    config_free(cfg);
    if (app_identity_storage(app_id, storage, dir, sizeof dir) < 0) {
        fprintf(stderr, "gaelic backends: the storage path is too long\n");
        return EXIT_USAGE;
    }
    /* The app id goes along: --storage_path names a folder, which the
     * server of another app may use. */
    char *req[5] = {"backends", app_id, (char *)words[1], (char *)words[2], (char *)words[3]};
    static const char *const names[5] = {NULL, NULL, NULL, "BACKEND name", "INSTANCE number"};
    if (!optional_name)
        return control_call(dir, n_words + 1, req, names, stdout, stderr);
    /* update: its output names the backends whose update to wait for. */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        perror("gaelic backends");
        return 1;
    }
    int rc = control_call(dir, n_words + 1, req, names, f, stderr);
    fclose(f);
    fputs(text ? text : "", stdout);
    fflush(stdout);
    updated_t updated = {NULL, 0};
    if (rc == 0 && updated_parse(&updated, text ? text : "") < 0) {
        perror("gaelic backends");
        rc = 1;
    }
    free(text);
    if (rc == 0 && updated.n > 0)
        rc = wait_for_update(dir, app_id, &updated);
    updated_free(&updated);
    return rc;
}
