/* gunicorn's command line, as far as naming the app goes. */
#include "gunicorn_args.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* gunicorn's options that take no value (gunicorn 20's store_true and
 * store_const ones, and Debian's --tolerate-dangerous-framing): every
 * other option takes the next argument as its value unless it is written
 * `--name=value` or `-xVALUE`. */
static const char *const flag_options[] = {
    "--reload",
    "--spew",
    "--check-config",
    "--print-config",
    "--preload",
    "--no-sendfile",
    "--reuse-port",
    "-D",
    "--daemon",
    "--initgroups",
    "--disable-redirect-access-to-syslog",
    "--capture-output",
    "--log-syslog",
    "-R",
    "--enable-stdio-inheritance",
    "--proxy-protocol",
    "--suppress-ragged-eofs",
    "--do-handshake-on-connect",
    "--strip-header-spaces",
    "--tolerate-dangerous-framing",
    "-v",
    "--version",
    "-h",
    "--help",
};

static int is_flag_option(const char *arg)
{
    for (size_t i = 0; i < sizeof flag_options / sizeof flag_options[0]; i++)
        if (strcmp(arg, flag_options[i]) == 0)
            return 1;
    return 0;
}

/* An option that carries its value in the same argument. */
static int has_own_value(const char *arg)
{
    if (arg[1] == '-')
        return strchr(arg, '=') != NULL;
    return arg[1] != '\0' && arg[2] != '\0';
}

/* A Python module path: identifiers joined by dots. */
static int is_module_path(const char *s)
{
    int at_start = 1;
    for (; *s; s++) {
        if (*s == '.') {
            if (at_start)
                return 0;
            at_start = 1;
        } else if (isalpha((unsigned char)*s) || *s == '_' ||
                   (!at_start && isdigit((unsigned char)*s))) {
            at_start = 0;
        } else {
            return 0;
        }
    }
    return !at_start;
}

/* The program an argument runs: what follows its last '/'. */
static int runs_gunicorn(const char *arg)
{
    const char *slash = strrchr(arg, '/');
    return strcmp(slash ? slash + 1 : arg, "gunicorn") == 0;
}

char *entrypoint_next_arg(char *command, char **save)
{
    char *arg = strtok_r(command, " \t\n", save);
    size_t len = arg ? strlen(arg) : 0;
    if (len >= 2 && (arg[0] == '"' || arg[0] == '\'') && arg[len - 1] == arg[0]) {
        arg[len - 1] = '\0';
        arg++;
    }
    return arg;
}

/* Walks gunicorn's arguments in command (a copy it writes into): sets
 * *app_module to its first positional argument (NULL: none) and, when
 * option is not NULL, *value to the value of its last `option VALUE` or
 * `option=VALUE` (NULL: not given), as argparse keeps the last. */
static void walk_gunicorn_args(char *command, const char *option, const char **app_module,
                               const char **value)
{
    int in_gunicorn = 0, takes_value = 0, options_ended = 0;
    int value_is_option = 0;
    size_t option_len = option ? strlen(option) : 0;
    char *save = NULL;
    *app_module = NULL;
    if (value)
        *value = NULL;
    for (char *arg = entrypoint_next_arg(command, &save); arg;
         arg = entrypoint_next_arg(NULL, &save)) {
        if (!in_gunicorn) {
            /* `gunicorn ...`, `exec gunicorn ...`, `python -m gunicorn ...` */
            in_gunicorn = runs_gunicorn(arg);
            continue;
        }
        if (takes_value) {
            takes_value = 0;
            if (value_is_option)
                *value = arg;
        } else if (!options_ended && strcmp(arg, "--") == 0) {
            options_ended = 1; /* argparse: only positional arguments follow */
        } else if (!options_ended && arg[0] == '-' && arg[1] != '\0') {
            takes_value = !is_flag_option(arg) && !has_own_value(arg);
            value_is_option = option && strncmp(arg, option, option_len) == 0 &&
                              (arg[option_len] == '\0' || arg[option_len] == '=');
            if (value_is_option && arg[option_len] == '=')
                *value = arg + option_len + 1;
        } else if (!*app_module) {
            /* gunicorn serves its first positional argument (app_uri =
             * args[0]); what follows it (a shell's "2>&1", "&& ...") is
             * not the app. */
            *app_module = arg;
        }
    }
}

char *gunicorn_bare_module_app(const char *command)
{
    char *copy = strdup(command);
    if (!copy)
        return NULL;
    const char *app_module;
    walk_gunicorn_args(copy, NULL, &app_module, NULL);
    char *app = NULL;
    if (app_module && is_module_path(app_module)) {
        static const char suffix[] = ".application";
        size_t n = strlen(app_module);
        app = malloc(n + sizeof suffix);
        if (app) {
            memcpy(app, app_module, n);
            memcpy(app + n, suffix, sizeof suffix);
        }
    }
    free(copy);
    return app;
}

int gunicorn_option(const char *command, const char *option, char **value)
{
    *value = NULL;
    char *copy = strdup(command);
    if (!copy)
        return -1;
    const char *app_module, *found;
    walk_gunicorn_args(copy, option, &app_module, &found);
    int rc = 0;
    if (found && !(*value = strdup(found)))
        rc = -1;
    free(copy);
    return rc;
}

/* python, python3, python3.11, /usr/bin/python3 ... */
static int runs_python(const char *arg)
{
    const char *slash = strrchr(arg, '/');
    const char *name = slash ? slash + 1 : arg;
    if (strncmp(name, "python", 6) != 0)
        return 0;
    for (name += 6; *name; name++)
        if (!isdigit((unsigned char)*name) && *name != '.')
            return 0;
    return 1;
}

char *entrypoint_python_script(const char *command)
{
    char *copy = strdup(command);
    if (!copy)
        return NULL;
    char *script = NULL, *save = NULL;
    int in_python = 0;
    for (char *arg = entrypoint_next_arg(copy, &save); arg && !script;
         arg = entrypoint_next_arg(NULL, &save)) {
        if (!in_python) {
            in_python = runs_python(arg);
        } else if (arg[0] == '-') {
            /* -m runs a module (gunicorn, say), -c a string: no script */
            if (arg[1] == 'm' || arg[1] == 'c')
                break;
        } else {
            size_t n = strlen(arg);
            if (n > 3 && strcmp(arg + n - 3, ".py") == 0)
                script = strdup(arg);
            break;
        }
    }
    free(copy);
    return script;
}
