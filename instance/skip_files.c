#include "skip_files.h"

#include <stdio.h>

#include "skip_match.h"

static pcre2_code *skip_re;
static pcre2_match_data *skip_md;

int skip_files_set(const char *pattern, char *err, size_t err_size)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, SKIP_FILES_ANCHORING,
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
    return skip_re ? skip_match(skip_re, skip_md, relpath, len) : 0;
}
