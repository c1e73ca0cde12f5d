#include "app_hidden.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skip_files.h"

/* The app folder as given and resolved; NULL until app_hidden_set_dir.
 * Written once in the zygote, only read after. */
static char *app_dir_given, *app_dir_real;

int app_hidden_set_dir(const char *app_dir)
{
    char real[PATH_MAX];
    if (!realpath(app_dir, real))
        return -1;
    free(app_dir_given);
    free(app_dir_real);
    app_dir_given = strdup(app_dir);
    app_dir_real = strdup(real);
    return app_dir_given && app_dir_real ? 0 : -1;
}

int app_hidden_plain_path(const char *path)
{
    if (strstr(path, "/./") || strstr(path, "/../") || strstr(path, "//"))
        return 0;
    size_t len = strlen(path);
    return !((len >= 2 && !strcmp(path + len - 2, "/.")) ||
             (len >= 3 && !strcmp(path + len - 3, "/..")));
}

/* 1 when path is dir or lies under it, by its text alone. */
static int lexically_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* rel ('/'-separated, relative to the app folder) is in a __pycache__
 * folder: 1 with the source CPython caches there in out (DIR/__pycache__/
 * NAME.TAG[.opt-N].pyc is DIR/NAME.py), 0 when it is no such file. */
static int pycache_source(const char *rel, char *out, size_t size)
{
    const char *cache = strstr(rel, "__pycache__/");
    for (const char *next; (next = strstr(cache + 1, "/__pycache__/")) != NULL;)
        cache = next + 1;
    const char *name = cache + 12;
    size_t len = strlen(name);
    if (strchr(name, '/') || len < 4 || strcmp(name + len - 4, ".pyc") != 0)
        return 0;
    len -= 4;
    const char *dot = memrchr(name, '.', len); /* .opt-N, or the tag */
    if (dot && !strncmp(dot, ".opt-", 5))
        dot = memrchr(name, '.', (size_t)(dot - name));
    if (!dot || dot == name)
        return 0;
    size_t dir_len = (size_t)(cache - rel);
    return snprintf(out, size, "%.*s%.*s.py", (int)dir_len, rel, (int)(dot - name), name) <
           (int)size;
}

/* Relative paths are taken from the working folder, the app's: an os.open
 * with a dir_fd has no folder to be relative to (audit_hook.c refuses
 * folder descriptors). Paths plainly
 * outside the app folder are let through by their text, so the standard
 * library's imports pay no realpath, but for those under /proc: the
 * process's own links to its working folder and its root (/proc/self/cwd,
 * /proc/self/root) lead into the app folder too. A path with ".", ".." or
 * an empty part ("//APP/static/x", "/./APP/...") is resolved: its text
 * need not start with the app folder's to name a file in it. */
const char *app_hidden_reason(const char *path)
{
    char real[PATH_MAX];
    if (!app_dir_real || !path ||
        (path[0] == '/' && app_hidden_plain_path(path) && !lexically_under(path, app_dir_given) &&
         !lexically_under(path, app_dir_real) && !lexically_under(path, "/proc")) ||
        !realpath(path, real) || !lexically_under(real, app_dir_real) ||
        real[strlen(app_dir_real)] != '/')
        return NULL;
    const char *rel = real + strlen(app_dir_real) + 1;
    /* Bytecode caches are the runtime's, written by the zygote: the
     * default skip_files leaves __pycache__ out of the app only so that it
     * is never served or counted. A cached module is hidden as its
     * source is, though: its code holds what the source says. */
    char source[PATH_MAX];
    if (!strncmp(rel, "__pycache__/", 12) || strstr(rel, "/__pycache__/")) {
        if (!pycache_source(rel, source, sizeof source))
            return NULL;
        rel = source;
    }
    switch (app_file_kind(rel, strlen(rel))) {
    case APP_FILE_SKIPPED:
        return "app.yaml's skip_files leaves this file out of the app";
    case APP_FILE_STATIC_ONLY:
        return "a static file: app.yaml's static handlers serve it, and only "
               "application_readable: true lets the app read it too";
    default:
        return NULL;
    }
}
