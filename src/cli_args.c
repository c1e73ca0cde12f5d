#include "cli_args.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"

int cli_is(const cli_arg_t *a, const char *name)
{
    return strlen(name) == a->name_len && strncmp(a->name, name, a->name_len) == 0;
}

/* The index of a's name in names, or -1. */
static int listed(const cli_arg_t *a, const char *const *names)
{
    for (int k = 0; names && names[k]; k++)
        if (cli_is(a, names[k]))
            return k;
    return -1;
}

/* A word that reads as an option: `--port`, -h, -A. A negative number
 * (`--port -1`) is a value, refused as such with its allowed range. */
static int option_word(const char *w)
{
    return w[0] == '-' && w[1] != '\0' && !isdigit((unsigned char)w[1]) && w[1] != '.';
}

cli_kind_t cli_next(int argc, char **argv, int *i, const char *cmd, const char *const *flags,
                    const char *const *options, cli_arg_t *out)
{
    memset(out, 0, sizeof *out);
    if (*i >= argc)
        return CLI_END;
    const char *a = argv[(*i)++];
    if (!strcmp(a, "-h") || !strcmp(a, "--help"))
        return CLI_HELP;
    const char *eq = NULL;
    if (!strcmp(a, "-A")) {
        /* dev_appserver's one short option: -A ID is --application ID. */
        out->name = "application";
        out->name_len = strlen(out->name);
    } else if (option_word(a) && a[1] != '-') {
        /* Not a folder: `-p 8080` would take -p for APPDIR, then 8080 for
         * a stray word. (A folder named so is ./-p.) A negative number is
         * a word, which its command refuses with the numbers it takes. */
        fprintf(stderr,
                "gaelic %s: unknown option '%s' (options are --name VALUE; see gaelic %s --help)\n",
                cmd, a, cmd);
        return CLI_ERROR;
    } else if (strncmp(a, "--", 2) != 0) {
        out->value = a;
        return CLI_POSITIONAL;
    } else {
        eq = strchr(a + 2, '=');
        out->name = a + 2;
        out->name_len = eq ? (size_t)(eq - out->name) : strlen(out->name);
        if (listed(out, flags) >= 0) {
            /* dev_appserver's boolean options: --NAME, --NAME=BOOL, or
             * --NAME BOOL (the next word taken only when it is one). */
            const char *word = eq ? eq + 1 : NULL;
            if (!word && *i < argc && cli_bool(argv[*i], strlen(argv[*i])) >= 0)
                word = argv[(*i)++];
            out->on = word ? cli_bool(word, strlen(word)) : 1;
            if (out->on >= 0)
                return CLI_FLAG;
            fprintf(stderr,
                    "gaelic %s: --%.*s: invalid value '%s' (none, or true, false, yes, no, 1 "
                    "or 0)\n",
                    cmd, (int)out->name_len, out->name, word);
            return CLI_ERROR;
        }
    }
    if (listed(out, options) < 0) {
        fprintf(stderr, "gaelic %s: unknown option '--%.*s' (see gaelic %s --help)\n", cmd,
                (int)out->name_len, out->name, cmd);
        return CLI_ERROR;
    }
    /* `--storage_path --port 9000` must not take "--port" for a folder. */
    if (eq) {
        out->value = eq + 1;
    } else if (*i < argc && !option_word(argv[*i])) {
        out->value = argv[(*i)++];
    } else {
        fprintf(stderr, "gaelic %s: --%.*s needs a value\n", cmd, (int)out->name_len, out->name);
        return CLI_ERROR;
    }
    if (!*out->value) {
        fprintf(stderr, "gaelic %s: --%.*s: the value is empty\n", cmd, (int)out->name_len,
                out->name);
        return CLI_ERROR;
    }
    return CLI_OPTION;
}

int cli_bool(const char *s, size_t len)
{
    static const char *const words[] = {"true", "yes", "1", "false", "no", "0"};
    for (int k = 0; k < 6; k++)
        if (strlen(words[k]) == len && strncasecmp(s, words[k], len) == 0)
            return k < 3;
    return -1;
}

int cli_plain_number(const char *s, size_t len, int fraction)
{
    if (len == 0 || !(isdigit((unsigned char)s[0]) || (fraction && s[0] == '.')))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)s[i]) && !(fraction && strchr(".eE+-", s[i])))
            return 0;
    return 1;
}

int cli_application_ok(const char *cmd, const char *id)
{
    if (config_application_valid(id))
        return 1;
    fprintf(stderr,
            "gaelic %s: --application: invalid value '%s' (lowercase letters, digits and '-', "
            "as app.yaml's application)\n",
            cmd, id);
    return 0;
}
