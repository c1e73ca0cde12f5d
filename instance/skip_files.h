/* app.yaml skip_files in the instance: which of the app's files imports and
 * CGI scripts must not see (python/google/appengine/runtime/skip_files.py).
 * PCRE2, as the master matches the same regex for static files. */
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

#endif
