/* The app a gunicorn command line serves, read as gunicorn reads its
 * arguments: a python3 app's `entrypoint:` is such a command, which
 * gaelic does not run but whose WSGI app it serves. */
#ifndef GAELIC_GUNICORN_ARGS_H
#define GAELIC_GUNICORN_ARGS_H

/* The next argument of an entrypoint's command line, as strtok_r splits
 * it at blanks (command the first time, NULL after, *save between), less
 * the shell's quotes around it ('mysite.wsgi', "main:create_app()");
 * NULL after the last. Written into command. */
char *entrypoint_next_arg(char *command, char **save);

/* When command runs gunicorn and its APP_MODULE (the one argument that
 * is no option nor an option's value, the first if there are more) is a
 * bare dotted module name, as in
 * `gunicorn -b :$PORT mysite.wsgi`: that module's `application`, which
 * gunicorn serves when no `:name` follows the module, as "module.application"
 * (malloc'd). NULL otherwise (no gunicorn, no such argument, a `module:name`
 * one, which the caller reads itself, or out of memory). */
char *gunicorn_bare_module_app(const char *command);

/* When command runs gunicorn: *value is the value of its last long option
 * (`--chdir src`, `--chdir=src`), malloc'd, or NULL when it is not given.
 * Returns 0, or -1 out of memory. */
int gunicorn_option(const char *command, const char *option, char **value);

/* When command runs a Python script (`python3 main.py`, `python -u
 * app.py`): that script as written, malloc'd; NULL otherwise. */
char *entrypoint_python_script(const char *command);

#endif
