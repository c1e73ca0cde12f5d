/* The app's files that are not the app's code in the instance: what
 * app.yaml's skip_files leaves out, and the files static handlers serve
 * unless application_readable (App Engine uploaded neither with the code).
 * Imports and CGI scripts do not see them
 * (python/google/appengine/runtime/skip_files.py), nor does open()
 * (audit_hook.c). PCRE2, as the master matches the same regexes. */
#ifndef GAELIC_SKIP_FILES_H
#define GAELIC_SKIP_FILES_H

#include <stddef.h>

/* Compiles pattern (the master's combined skip_files regex). Returns 0, or
 * -1 with the reason in err. */
int skip_files_set(const char *pattern, char *err, size_t err_size);

/* 1 when the '/'-separated path relative to the app folder, or one of the
 * folders it is in, is skipped, 0
 * when not (or when no pattern is set), -1 on a matching error. Callers
 * hold the GIL, which guards the shared match data. */
int skip_files_match(const char *relpath, size_t len);

/* The same for the master's static_only_files regex (config.h), which
 * matches whole paths of files. */
int static_only_set(const char *pattern, char *err, size_t err_size);
int static_only_match(const char *relpath, size_t len);

#endif
