#include "skip_files.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>

static pcre2_code *skip_re;
static pcre2_match_data *skip_md;

int skip_files_set(const char *pattern, char *err, size_t err_size)
{
    int code;
    PCRE2_SIZE off;
    /* Anchored at the start only, as the master's config_is_skipped
     * (App Engine matched skip_files with re.match). */
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_ANCHORED,
                                   &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", code);
        snprintf(err, err_size, "skip_files: %s (at offset %zu)", (const char *)msg, (size_t)off);
        return -1;
    }
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) {
        pcre2_code_free(re);
        snprintf(err, err_size, "skip_files: out of memory");
        return -1;
    }
    pcre2_match_data_free(skip_md);
    pcre2_code_free(skip_re);
    skip_re = re;
    skip_md = md;
    return 0;
}

int skip_files_match(const char *relpath, size_t len)
{
    if (!skip_re)
        return 0;
    /* The folders on the way first: App Engine's upload matched each
     * folder's path too (without a trailing '/') and left out all of a
     * folder that matched. */
    for (size_t i = 0; i <= len; i++) {
        if (i < len && (relpath[i] != '/' || i == 0))
            continue;
        int rc = pcre2_match(skip_re, (PCRE2_SPTR)relpath, i, 0, 0, skip_md, NULL);
        if (rc != PCRE2_ERROR_NOMATCH)
            return rc < 0 ? -1 : 1;
    }
    return 0;
}
