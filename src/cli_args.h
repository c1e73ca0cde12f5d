/* Command-line words of a gaelic command, the same way for every command:
 * positional arguments and options mix in any order; options are
 * `--name VALUE` or `--name=VALUE` (a value not empty, and one starting
 * with '-' only in the second form, or a negative number), or for the
 * flags a command lists, `--name` (on), `--name=BOOL` or `--name BOOL`, as
 * dev_appserver's boolean options; given twice, the last counts, as in
 * dev_appserver. -h/--help asks for help, and -A ID is --application ID
 * (dev_appserver's spelling) for the commands that take --application. */
#ifndef GAELIC_CLI_ARGS_H
#define GAELIC_CLI_ARGS_H

#include <stddef.h>

typedef enum { CLI_END = 0, CLI_HELP, CLI_POSITIONAL, CLI_FLAG, CLI_OPTION, CLI_ERROR } cli_kind_t;

typedef struct {
    const char *name; /* option name without "--" (not NUL-terminated) */
    size_t name_len;
    const char *value; /* CLI_OPTION: its value; CLI_POSITIONAL: the word */
    int on;            /* CLI_FLAG: 1 or 0 */
} cli_arg_t;

/* Reads the word at *i (starting at 1) and advances *i past it and its
 * value. flags and options: NULL-terminated names of the command's options
 * that are booleans and that take a value. CLI_ERROR after printing why: an
 * option not in either list, a flag given another value than a boolean, an
 * option without one
 * (the next word an option itself) or with an empty one, or a single-dash
 * word such as -p. */
cli_kind_t cli_next(int argc, char **argv, int *i, const char *cmd, const char *const *flags,
                    const char *const *options, cli_arg_t *out);

/* 1 when id (--application, -A) is an app id as app.yaml's application
 * must be; else 0 after saying so as command cmd: another id names no app
 * gaelic serve ran. */
int cli_application_ok(const char *cmd, const char *id);

/* A boolean as dev_appserver read one: 1 for true, yes or 1, 0 for false,
 * no or 0 (in any case), -1 for anything else. */
int cli_bool(const char *s, size_t len);

/* 1 when the option's name is `name`. */
int cli_is(const cli_arg_t *a, const char *name);

/* 1 when the len bytes at s are a plain decimal number: digits, and with
 * `fraction` a point and an exponent too. strtol and strtod would also
 * take leading blanks, a sign, and (strtod) hexadecimal, inf and nan. */
int cli_plain_number(const char *s, size_t len, int fraction);

#endif
