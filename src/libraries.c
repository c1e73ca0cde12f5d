#include "libraries.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* App Engine's python27 libraries (the SDK's appinfo list). enum and futures
 * are Python 3's own enum and concurrent.futures. The last ones have no
 * Debian package usable in an instance (grpcio and protobuf would need
 * Debian's `google` namespace beside the runtime's): accepted as App Engine
 * accepted them, their modules importable only from the app's own files. */
static const library_info_t table[] = {
    {"click", "python3-click", "click"},
    {"django", "python3-django", "django asgiref sqlparse pytz"},
    {"crcmod", "python3-crcmod", "crcmod"},
    {"enum", NULL, ""},
    {"flask", "python3-flask", "flask werkzeug jinja2 markupsafe itsdangerous click blinker"},
    {"futures", NULL, ""},
    {"itsdangerous", "python3-itsdangerous", "itsdangerous"},
    {"jinja2", "python3-jinja2", "jinja2 markupsafe"},
    {"lxml", "python3-lxml", "lxml"},
    {"markupsafe", "python3-markupsafe", "markupsafe"},
    {"MySQLdb", "python3-mysqldb", "MySQLdb"},
    {"mysqlclient", "python3-mysqldb", "MySQLdb"},
    {"numpy", "python3-numpy", "numpy"},
    {"PIL", "python3-pil", "PIL"},
    {"psycopg2", "python3-psycopg2", "psycopg2"},
    {"pytz", "python3-tz", "pytz"},
    {"setuptools", "python3-setuptools", "setuptools pkg_resources _distutils_hack"},
    {"six", "python3-six", "six"},
    {"ssl", NULL, ""},
    {"ujson", "python3-ujson", "ujson"},
    {"webob", "python3-webob", "webob"},
    {"werkzeug", "python3-werkzeug", "werkzeug markupsafe"},
    {"yaml", "python3-yaml", "yaml _yaml"},
    {"clearsilver", NULL, NULL},
    {"endpoints", NULL, NULL},
    {"grpcio", NULL, NULL},
    {"protobuf", NULL, NULL},
    {"protorpc", NULL, NULL},
    {"PyAMF", NULL, NULL},
    /* Debian's PyCryptodome is named Cryptodome, not Crypto, and loads its
     * C code through ctypes, which instances refuse (SB5). */
    {"pycrypto", NULL, NULL},
    {"webapp2", NULL, ""}, /* gaelic's own: python/webapp2.py */
};

#define N_TABLE (sizeof table / sizeof *table)

/* First-generation apps could import these without listing them: the SDK
 * enabled each library that had a default version (protorpc too, which
 * gaelic does not provide; webapp2 is on the runtime's path). Used when Debian's package is
 * there; a listing of its own still names a missing one. */
static const char *const enabled_by_default[] = {"pytz", "six", "webob", "werkzeug", "yaml"};

/* The first runtime (`runtime: python`, Python 2.5), whose apps could list
 * no libraries, carried Django for every app beside WebOb and PyYAML. */
static const char *const python25_builtin[] = {"django"};

const library_info_t *library_find(const char *name)
{
    for (size_t i = 0; i < N_TABLE; i++)
        if (!strcmp(table[i].name, name))
            return &table[i];
    return NULL;
}

void library_known_names(char *out, size_t n)
{
    size_t len = 0;
    if (n)
        out[0] = '\0';
    for (size_t i = 0; i < N_TABLE && len < n; i++) {
        int w = snprintf(out + len, n - len, "%s%s", i ? ", " : "", table[i].name);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

/* The library's own module is in dist_dir: a package folder, a .py or an
 * extension module (ujson.cpython-311-x86_64-linux-gnu.so). */
static int installed(const library_info_t *lib, const char *dist_dir)
{
    char first[64], path[4096];
    size_t k = strcspn(lib->modules, " ");
    if (k == 0)
        return 1;
    if (k >= sizeof first)
        return 0;
    memcpy(first, lib->modules, k);
    first[k] = '\0';
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dist_dir, first);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return 1;
    snprintf(path, sizeof path, "%s/%s.py", dist_dir, first);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return 1;
    DIR *d = opendir(dist_dir);
    if (!d)
        return 0;
    int found = 0;
    for (struct dirent *e; !found && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        found = n > k + 4 && !strncmp(e->d_name, first, k) && e->d_name[k] == '.' &&
                !strcmp(e->d_name + n - 3, ".so");
    }
    closedir(d);
    return found;
}

/* Appends word to the comma-separated list unless it is there already. */
static int add_module(char *list, size_t n, const char *word, size_t wlen)
{
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, ",");
        if (k == wlen && !memcmp(p, word, wlen))
            return 0;
        p += k;
        if (*p == ',')
            p++;
    }
    size_t len = strlen(list);
    if (len + (len ? 1 : 0) + wlen + 1 > n)
        return -1;
    if (len)
        list[len++] = ',';
    memcpy(list + len, word, wlen);
    list[len + wlen] = '\0';
    return 0;
}

/* Appends each of the space-separated words to the list. */
static int add_modules(char *list, size_t n, const char *words)
{
    for (const char *p = words; *p;) {
        size_t k = strcspn(p, " ");
        if (k && add_module(list, n, p, k) < 0)
            return -1;
        p += k;
        while (*p == ' ')
            p++;
    }
    return 0;
}

/* Adds the modules of each named library whose Debian package is installed
 * (a missing one is no error: the app did not ask for it). */
static int add_installed(const char *const *names, size_t n_names, const char *dist_dir,
                         char *modules, size_t n)
{
    for (size_t i = 0; i < n_names; i++) {
        const library_info_t *lib = library_find(names[i]);
        if (installed(lib, dist_dir) && add_modules(modules, n, lib->modules) < 0)
            return -1;
    }
    return 0;
}

int libraries_resolve(const app_config_t *cfg, const char *dist_dir, char *modules, size_t n,
                      char *err, size_t errlen)
{
    if (n)
        modules[0] = '\0';
    for (size_t i = 0; i < cfg->n_libraries; i++) {
        const library_t *l = &cfg->libraries[i];
        const library_info_t *lib = library_find(l->name);
        if (!lib) {
            char known[512];
            library_known_names(known, sizeof known);
            snprintf(err, errlen, "%s:%d: unknown library '%s' (known: %s)", cfg->path, l->line,
                     l->name, known);
            return -1;
        }
        if (!lib->modules)
            continue; /* not provided: serve.c says so at start */
        if (lib->package && !installed(lib, dist_dir)) {
            snprintf(err, errlen,
                     "%s:%d: library '%s' needs the Debian package %s: apt-get install %s",
                     cfg->path, l->line, l->name, lib->package, lib->package);
            return -1;
        }
        if (add_modules(modules, n, lib->modules) < 0) {
            snprintf(err, errlen, "%s:%d: too many libraries", cfg->path, l->line);
            return -1;
        }
    }
    if (config_is_python3(cfg->runtime))
        return 0; /* the second generation had no built-in libraries */
    if (add_installed(enabled_by_default, sizeof enabled_by_default / sizeof *enabled_by_default,
                      dist_dir, modules, n) < 0 ||
        (strcmp(cfg->runtime, "python") == 0 &&
         add_installed(python25_builtin, sizeof python25_builtin / sizeof *python25_builtin,
                       dist_dir, modules, n) < 0)) {
        snprintf(err, errlen, "%s: too many libraries", cfg->path);
        return -1;
    }
    return 0;
}

/* PyPI's names of known libraries where they are not the library's. */
static const struct {
    const char *pypi; /* normalized: lower case, '-' for runs of -_. */
    const char *library;
} PYPI_NAMES[] = {
    {"pyyaml", "yaml"},
    {"pillow", "PIL"},
    {"psycopg2-binary", "psycopg2"},
    {"mysql-python", "MySQLdb"},
};

/* What App Engine's runtime ran the app with, which gaelic replaces: its
 * server and the bundled services' package (google.appengine is gaelic's). */
static const char *const RUNTIME_OWN[] = {"gunicorn", "appengine-python-standard", "pip", "wheel"};

static int is_separator(char c)
{
    return c == '-' || c == '_' || c == '.';
}

/* The requirement's project name at line, normalized as PyPI compares
 * names (PEP 503); "" when the line names none (a comment, an option). */
static void requirement_name(const char *line, char *out, size_t n)
{
    size_t k = 0;
    while (*line == ' ' || *line == '\t')
        line++;
    /* A name starts with a letter or digit: "-r file" and "-e url" are pip's
     * options. */
    for (const char *p = isalnum((unsigned char)*line) ? line : "";
         k + 1 < n && (isalnum((unsigned char)*p) || is_separator(*p)); p++) {
        if (is_separator(*p)) {
            if (k && out[k - 1] != '-')
                out[k++] = '-';
        } else {
            out[k++] = (char)tolower((unsigned char)*p);
        }
    }
    out[k] = '\0';
}

static const library_info_t *library_of_requirement(const char *name)
{
    for (size_t i = 0; i < sizeof PYPI_NAMES / sizeof *PYPI_NAMES; i++)
        if (!strcmp(PYPI_NAMES[i].pypi, name))
            return library_find(PYPI_NAMES[i].library);
    for (size_t i = 0; i < N_TABLE; i++)
        if (!strcasecmp(table[i].name, name))
            return &table[i];
    return NULL;
}

static void add_skipped(char *skipped, size_t n, const char *name, const char *package)
{
    size_t len = strlen(skipped);
    if (len < n)
        snprintf(skipped + len, n - len, "%s%s%s%s%s", len ? ", " : "", name,
                 package ? " (apt-get install " : "", package ? package : "", package ? ")" : "");
}

int libraries_requirements(const char *app_root, const char *dist_dir, char *modules, size_t n,
                           char *skipped, size_t skipped_n, char *err, size_t errlen)
{
    if (skipped_n)
        skipped[0] = '\0';
    char path[4096];
    snprintf(path, sizeof path, "%s/requirements.txt", app_root);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    for (int lines = 0; rc == 0 && lines < 10000 && getline(&line, &cap, f) >= 0; lines++) {
        char name[128];
        requirement_name(line, name, sizeof name);
        int own = 0;
        for (size_t i = 0; i < sizeof RUNTIME_OWN / sizeof *RUNTIME_OWN; i++)
            own |= !strcmp(RUNTIME_OWN[i], name);
        if (!name[0] || own)
            continue;
        const library_info_t *lib = library_of_requirement(name);
        if (!lib || !lib->modules)
            add_skipped(skipped, skipped_n, name, NULL);
        else if (lib->package && !installed(lib, dist_dir))
            add_skipped(skipped, skipped_n, name, lib->package);
        else if (add_modules(modules, n, lib->modules) < 0) {
            snprintf(err, errlen, "%s: too many libraries", path);
            rc = -1;
        }
    }
    free(line);
    fclose(f);
    return rc;
}
