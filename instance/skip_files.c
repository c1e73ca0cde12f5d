#include "skip_files.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skip_match.h"

typedef struct {
    pcre2_code *re;
    pcre2_match_data *md;
} pattern_t;

/* Guards the patterns' shared match data: the audit hook matches under the
 * GIL, SQLite's VFSes (sqlite_guard.h) without it. */
static pthread_mutex_t match_lock = PTHREAD_MUTEX_INITIALIZER;
static pattern_t skipped;
static pattern_t *static_only; /* one per static handler */
static size_t n_static_only;

/* Compiles pattern into p (replacing what it held). Returns 0, or -1 with
 * the reason, prefixed by what, in err. */
static int pattern_set(pattern_t *p, const char *what, const char *pattern, uint32_t anchoring,
                       char *err, size_t err_size)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, anchoring, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", code);
        snprintf(err, err_size, "%s: %s (at offset %zu)", what, (const char *)msg, (size_t)off);
        return -1;
    }
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) {
        pcre2_code_free(re);
        snprintf(err, err_size, "%s: out of memory", what);
        return -1;
    }
    pcre2_match_data_free(p->md);
    pcre2_code_free(p->re);
    p->re = re;
    p->md = md;
    return 0;
}

int skip_files_set(const char *pattern, char *err, size_t err_size)
{
    return pattern_set(&skipped, "skip_files", pattern, SKIP_FILES_ANCHORING, err, err_size);
}

static int skip_files_match(const char *relpath, size_t len)
{
    return skipped.re ? skip_match(skipped.re, skipped.md, relpath, len) : 0;
}

int static_only_set(const char *patterns, char *err, size_t err_size)
{
    size_t n = 1;
    for (const char *p = patterns; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    pattern_t *set = calloc(n, sizeof *set);
    char *line = malloc(strlen(patterns) + 1);
    int rc = set && line ? 0 : -1;
    if (rc < 0)
        snprintf(err, err_size, "static handlers' files: out of memory");
    const char *p = patterns;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        size_t len = strcspn(p, "\n");
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (p[len] == '\n');
        /* As the master matches upload regexes: the whole path. */
        rc = pattern_set(&set[i], "static handlers' files", line,
                         PCRE2_ANCHORED | PCRE2_ENDANCHORED, err, err_size);
    }
    free(line);
    if (rc < 0) {
        for (size_t i = 0; set && i < n; i++) {
            pcre2_match_data_free(set[i].md);
            pcre2_code_free(set[i].re);
        }
        free(set);
        return -1;
    }
    for (size_t i = 0; i < n_static_only; i++) {
        pcre2_match_data_free(static_only[i].md);
        pcre2_code_free(static_only[i].re);
    }
    free(static_only);
    static_only = set;
    n_static_only = n;
    return 0;
}

static int static_only_match(const char *relpath, size_t len)
{
    for (size_t i = 0; i < n_static_only; i++) {
        int rc =
            pcre2_match(static_only[i].re, (PCRE2_SPTR)relpath, len, 0, 0, static_only[i].md, NULL);
        if (rc != PCRE2_ERROR_NOMATCH)
            return rc < 0 ? -1 : 1;
    }
    return 0;
}

int app_file_kind(const char *relpath, size_t len)
{
    pthread_mutex_lock(&match_lock);
    int kind = skip_files_match(relpath, len);
    if (kind != 0)
        kind = kind < 0 ? -1 : APP_FILE_SKIPPED;
    else if ((kind = static_only_match(relpath, len)) != 0)
        kind = kind < 0 ? -1 : APP_FILE_STATIC_ONLY;
    pthread_mutex_unlock(&match_lock);
    return kind;
}
