/* App Engine `libraries:` (RT1): which Debian package provides each library
 * and which top-level modules it makes importable from Debian's
 * dist-packages. gaelic cannot install other versions: any version is
 * accepted and Debian's is used. */
#ifndef GAELIC_LIBRARIES_H
#define GAELIC_LIBRARIES_H

#include <stddef.h>

#include "config.h"

#define DIST_PACKAGES "/usr/lib/python3/dist-packages"

typedef struct {
    const char *name;    /* as in app.yaml */
    const char *package; /* Debian package; NULL: part of the stdlib */
    const char *modules; /* top-level modules, space-separated, the library's
                            own first, then its dependencies'; NULL: an
                            App Engine library gaelic does not provide */
} library_info_t;

/* The table entry for an app.yaml library name, or NULL. */
const library_info_t *library_find(const char *name);

/* "a, b, c": every known name, for error messages. */
void library_known_names(char *out, size_t n);

/* Checks cfg->libraries against the table and dist_dir (DIST_PACKAGES
 * outside tests). On success returns 0 with the allowed top-level modules,
 * comma-separated and without duplicates, in modules (empty when none). On
 * failure returns -1 and writes "FILE:LINE: reason" into err. */
int libraries_resolve(const app_config_t *cfg, const char *dist_dir, char *modules, size_t n,
                      char *err, size_t errlen);

/* python3 apps listed their dependencies in requirements.txt, which App
 * Engine's build pip-installed. For the one in app_root (none: nothing to
 * do), adds to modules (as above) the modules of each requirement that is
 * a known library whose Debian package is installed, and lists in skipped
 * ("a, b (apt-get install python3-b)", empty when none) the others but
 * the runtime's own (gunicorn, appengine-python-standard). 0, or -1 with
 * err when the file cannot be read or modules is full. */
int libraries_requirements(const char *app_root, const char *dist_dir, char *modules, size_t n,
                           char *skipped, size_t skipped_n, char *err, size_t errlen);

#endif
