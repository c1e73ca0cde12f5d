/* app.yaml libraries: the table lookups and resolve() (RT1). */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "libraries.h"
#include "unit.h"

static app_config_t *load(const char *libraries)
{
    char yaml[4096], err[512];
    snprintf(yaml, sizeof yaml,
             "runtime: python27\nthreadsafe: true\nlibraries:\n%s"
             "handlers:\n- url: /.*\n  script: main.app\n",
             libraries);
    app_config_t *cfg = NULL;
    if (config_load_string(yaml, strlen(yaml), "app.yaml", "/app", &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "config error: %s\n", err);
        unit_failed++;
    }
    return cfg;
}

static void test_find(void)
{
    const library_info_t *l = library_find("flask");
    CHECK(l != NULL);
    CHECK_STR(l ? l->package : NULL, "python3-flask");
    CHECK(l && strncmp(l->modules, "flask ", 6) == 0);
    CHECK(l && strstr(l->modules, "werkzeug") && strstr(l->modules, "jinja2"));
    l = library_find("yaml");
    CHECK_STR(l ? l->package : NULL, "python3-yaml");
    l = library_find("MySQLdb");
    CHECK_STR(l ? l->package : NULL, "python3-mysqldb");
    l = library_find("ssl");
    CHECK(l && l->package == NULL && l->modules[0] == '\0');
    l = library_find("pytz");
    CHECK_STR(l ? l->package : NULL, "python3-tz");
    l = library_find("mysqlclient");
    CHECK(l && !strcmp(l->modules, "MySQLdb"));
    l = library_find("futures"); /* Python 3's concurrent.futures */
    CHECK(l && l->package == NULL && l->modules[0] == '\0');
    l = library_find("webapp2"); /* the runtime's own */
    CHECK(l && l->package == NULL && l->modules[0] == '\0');
    l = library_find("pycrypto"); /* Debian's needs ctypes */
    CHECK(l && l->package == NULL && l->modules == NULL);
    CHECK(library_find("Flask") == NULL); /* names are case-sensitive */
    CHECK(library_find("nosuch") == NULL);
    CHECK(library_find("") == NULL);

    char known[512];
    library_known_names(known, sizeof known);
    CHECK(strstr(known, "flask") && strstr(known, "webob") && strstr(known, "django"));
    char tiny[8];
    library_known_names(tiny, sizeof tiny);
    CHECK(strlen(tiny) < sizeof tiny);
}

/* A fake dist-packages folder with flask's and django's modules, six.py
 * and ujson as an extension module. */
static void make_dist(char *dir)
{
    strcpy(dir, "/tmp/gaelic-libtest-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    char p[256];
    snprintf(p, sizeof p, "%s/flask", dir);
    CHECK(mkdir(p, 0700) == 0);
    snprintf(p, sizeof p, "%s/django", dir);
    CHECK(mkdir(p, 0700) == 0);
    snprintf(p, sizeof p, "%s/six.py", dir);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    snprintf(p, sizeof p, "%s/ujson.cpython-311-x86_64-linux-gnu.so", dir);
    f = fopen(p, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
}

static void remove_dist(const char *dir)
{
    char p[256];
    snprintf(p, sizeof p, "%s/flask", dir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/django", dir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/six.py", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/ujson.cpython-311-x86_64-linux-gnu.so", dir);
    unlink(p);
    rmdir(dir);
}

static void test_resolve(const char *dist)
{
    char mods[256], err[512];
    app_config_t *cfg = load("- name: flask\n  version: latest\n"
                             "- name: ssl\n  version: latest\n"
                             "- name: six\n  version: \"1.9.0\"\n");
    if (cfg) {
        CHECK(libraries_resolve(cfg, dist, mods, sizeof mods, err, sizeof err) == 0);
        CHECK_STR(mods, "flask,werkzeug,jinja2,markupsafe,itsdangerous,click,blinker,six");
        /* too small for the list */
        CHECK(libraries_resolve(cfg, dist, mods, 10, err, sizeof err) == -1);
        config_free(cfg);
    }

    cfg = load("- name: jinja2\n  version: latest\n");
    if (cfg) {
        CHECK(libraries_resolve(cfg, dist, mods, sizeof mods, err, sizeof err) == -1);
        CHECK_STR(err, "app.yaml:4: library 'jinja2' needs the Debian package python3-jinja2: "
                       "apt-get install python3-jinja2");
        config_free(cfg);
    }

    cfg = load("- name: ssl\n  version: latest\n- name: bogus\n  version: \"1.0\"\n");
    if (cfg) {
        CHECK(libraries_resolve(cfg, dist, mods, sizeof mods, err, sizeof err) == -1);
        CHECK(strncmp(err, "app.yaml:6: unknown library 'bogus' (known: ", 44) == 0);
        config_free(cfg);
    }

    /* The name's line, after its version. */
    cfg = load("- name: ssl\n  version: latest\n- version: \"1.0\"\n  name: bogus\n");
    if (cfg) {
        CHECK(libraries_resolve(cfg, dist, mods, sizeof mods, err, sizeof err) == -1);
        CHECK(strncmp(err, "app.yaml:7: unknown library 'bogus' (known: ", 44) == 0);
        config_free(cfg);
    }

    /* An extension module counts as installed. six follows: a python27 app
     * may import it unlisted, as App Engine enabled libraries that had a
     * default version (of those, only six is in this dist folder). */
    cfg = load("- name: ujson\n  version: latest\n");
    if (cfg) {
        CHECK(libraries_resolve(cfg, dist, mods, sizeof mods, err, sizeof err) == 0);
        CHECK_STR(mods, "ujson,six");
        config_free(cfg);
    }
    cfg = load("- name: crcmod\n  version: latest\n");
    if (cfg) {
        CHECK(libraries_resolve(cfg, dist, mods, sizeof mods, err, sizeof err) == -1);
        CHECK_STR(err, "app.yaml:4: library 'crcmod' needs the Debian package python3-crcmod: "
                       "apt-get install python3-crcmod");
        config_free(cfg);
    }

    /* webapp2 (the runtime's own) and App Engine libraries gaelic does not
     * provide are accepted, with no
     * modules from dist-packages. */
    cfg = load("- name: webapp2\n  version: \"2.5.2\"\n- name: six\n  version: latest\n"
               "- name: endpoints\n  version: \"1.0\"\n");
    if (cfg) {
        CHECK(libraries_resolve(cfg, dist, mods, sizeof mods, err, sizeof err) == 0);
        CHECK_STR(mods, "six");
        config_free(cfg);
    }

    cfg = load("  []\n");
    if (cfg) {
        CHECK(libraries_resolve(cfg, dist, mods, sizeof mods, err, sizeof err) == 0);
        CHECK_STR(mods, "six");
        config_free(cfg);
    }

    /* The Python 2.5 runtime carried Django for every app (python27 apps
     * list it: the "  []" case above has six alone). */
    const char *py25 = "runtime: python\nhandlers:\n- url: /.*\n  script: main.py\n";
    if (config_load_string(py25, strlen(py25), "app.yaml", "/app", &cfg, err, sizeof err) == 0) {
        CHECK(libraries_resolve(cfg, dist, mods, sizeof mods, err, sizeof err) == 0);
        CHECK_STR(mods, "six,django,asgiref,sqlparse,pytz");
        config_free(cfg);
    } else {
        fprintf(stderr, "config error: %s\n", err);
        unit_failed++;
    }

    /* The second generation had no built-in libraries. */
    const char *py3 = "runtime: python3\nhandlers:\n- url: /.*\n  script: auto\n";
    if (config_load_string(py3, strlen(py3), "app.yaml", "/app", &cfg, err, sizeof err) == 0) {
        CHECK(libraries_resolve(cfg, dist, mods, sizeof mods, err, sizeof err) == 0);
        CHECK_STR(mods, "");
        config_free(cfg);
    } else {
        fprintf(stderr, "config error: %s\n", err);
        unit_failed++;
    }
}

/* requirements.txt of a python3 app, in a folder of its own. */
static void test_requirements(const char *dist)
{
    char app[] = "/tmp/gaelic-reqtest-XXXXXX";
    CHECK(mkdtemp(app) != NULL);
    char mods[256] = "", skipped[256], err[512];
    CHECK(libraries_requirements(app, dist, mods, sizeof mods, skipped, sizeof skipped, err,
                                 sizeof err) == 0);
    CHECK_STR(mods, "");
    CHECK_STR(skipped, "");

    char path[256];
    snprintf(path, sizeof path, "%s/requirements.txt", app);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        /* PyPI's spellings, versions, extras, markers, pip's options and
         * comments; the runtime's own packages go unsaid. */
        fputs("# web\nFlask[async]==2.2.5\n  six >= 1.0 ; python_version > \"3\"\n"
              "-r more.txt\n--index-url https://example.com\ngunicorn==20.1.0\n"
              "appengine_python_standard>=1.0\nPyYAML==6.0\ngoogle-cloud-storage\n"
              "Django\nprotobuf\n\n",
              f);
        fclose(f);
    }
    CHECK(libraries_requirements(app, dist, mods, sizeof mods, skipped, sizeof skipped, err,
                                 sizeof err) == 0);
    CHECK_STR(mods, "flask,werkzeug,jinja2,markupsafe,itsdangerous,click,blinker,six,django,"
                    "asgiref,sqlparse,pytz");
    /* yaml is not in the fake dist-packages; protobuf is not provided. */
    CHECK_STR(skipped, "pyyaml (apt-get install python3-yaml), google-cloud-storage, protobuf");
    mods[0] = '\0'; /* too small for the list */
    CHECK(libraries_requirements(app, dist, mods, 10, skipped, sizeof skipped, err, sizeof err) ==
          -1);
    unlink(path);
    rmdir(app);
}

int main(void)
{
    char dist[64];
    test_find();
    make_dist(dist);
    test_resolve(dist);
    test_requirements(dist);
    remove_dist(dist);
    UNIT_DONE();
}
