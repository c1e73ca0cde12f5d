/* The files a python3 app leaves out, as gcloud's upload did: App Engine's
 * second generation had no skip_files, gcloud sent what the app's
 * .gcloudignore (.gitignore syntax plus "#!include:FILE") let through, or
 * without one what its default for Python apps did. */
#ifndef GAELIC_GCLOUDIGNORE_H
#define GAELIC_GCLOUDIGNORE_H

#include <stddef.h>

#include "buf.h"

/* gcloud's default .gcloudignore for Python apps; include_gitignore: the
 * line it added when the app had a .gitignore. */
#define GCLOUDIGNORE_DEFAULT ".gcloudignore\n.git\n.gitignore\n__pycache__/\n/setup.cfg\n"
#define GCLOUDIGNORE_INCLUDE_GITIGNORE "#!include:.gitignore\n"

/* Appends to re, NUL-terminated, one skip_files regex (matched as
 * skip_match.h does: anchored at the start, on each folder of a path and
 * on the path) that matches what the rules in text leave out: the last
 * rule a path matches decides, a "!" rule keeping it in. name: text's
 * file relative to app_root, for messages (NULL: gcloud's default).
 * "#!include:FILE" lines read FILE from app_root. 0, or -1 with a message
 * naming the file and line in err. */
int gcloudignore_regex(const char *app_root, const char *name, const char *text, size_t len,
                       buf_t *re, char *err, size_t errlen);

/* The same for the app folder: its .gcloudignore, else the default (and
 * its .gitignore's rules when it has one). */
int gcloudignore_app_regex(const char *app_root, buf_t *re, char *err, size_t errlen);

#endif
