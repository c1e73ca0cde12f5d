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

/* The same for the master's static_only_files regexes, one a line
 * (config.h). */
int static_only_set(const char *patterns, char *err, size_t err_size);

typedef enum { APP_FILE_CODE = 0, APP_FILE_SKIPPED, APP_FILE_STATIC_ONLY } app_file_kind_t;

/* Whether relpath ('/'-separated, relative to the app folder) is one of
 * the app's code files, and if not, why: skip_files matched it or one of
 * the folders it is in, or the static_only_files regex matched it whole.
 * -1 on a matching error. Thread-safe: a lock of its own guards the
 * shared match data, since SQLite asks without the GIL. */
int app_file_kind(const char *relpath, size_t len);

#endif
