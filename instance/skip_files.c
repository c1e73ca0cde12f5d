#include "skip_files.h"

#include <stdio.h>

#include "skip_match.h"

typedef struct {
    pcre2_code *re;
    pcre2_match_data *md;
} pattern_t;

static pattern_t skipped, static_only;

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

int static_only_set(const char *pattern, char *err, size_t err_size)
{
    /* As the master matches upload regexes: the whole path. */
    return pattern_set(&static_only, "static handlers' files", pattern,
                       PCRE2_ANCHORED | PCRE2_ENDANCHORED, err, err_size);
}

static int static_only_match(const char *relpath, size_t len)
{
    if (!static_only.re)
        return 0;
    int rc = pcre2_match(static_only.re, (PCRE2_SPTR)relpath, len, 0, 0, static_only.md, NULL);
    return rc == PCRE2_ERROR_NOMATCH ? 0 : rc < 0 ? -1 : 1;
}

int app_file_kind(const char *relpath, size_t len)
{
    int rc = skip_files_match(relpath, len);
    if (rc != 0)
        return rc < 0 ? -1 : APP_FILE_SKIPPED;
    rc = static_only_match(relpath, len);
    return rc < 0 ? -1 : rc ? APP_FILE_STATIC_ONLY : APP_FILE_CODE;
}
