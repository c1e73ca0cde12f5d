/* app.yaml skip_files matching, shared by the master (static files, error
 * pages and the app's file count: config.c) and the instances (imports and
 * CGI scripts: instance/skip_files.c), so that both leave out the same
 * files. */
#ifndef GAELIC_SKIP_MATCH_H
#define GAELIC_SKIP_MATCH_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>
#include <stddef.h>

/* App Engine matched skip_files with re.match: anchored at the start only,
 * so "^tests/" leaves out tests/t.py. */
#define SKIP_FILES_ANCHORING PCRE2_ANCHORED

/* 1 when re matches the '/'-separated path relative to the app folder, or
 * one of the folders on the way to it: App Engine's upload matched each
 * folder's path too (without a trailing '/') and left out all of a folder
 * that matched. 0 when nothing matches, -1 on a matching error. */
static inline int skip_match(const pcre2_code *re, pcre2_match_data *md, const char *relpath,
                             size_t len)
{
    for (size_t i = 0; i <= len; i++) {
        if (i < len && (relpath[i] != '/' || i == 0))
            continue;
        int rc = pcre2_match(re, (PCRE2_SPTR)relpath, i, 0, 0, md, NULL);
        if (rc != PCRE2_ERROR_NOMATCH)
            return rc < 0 ? -1 : 1;
    }
    return 0;
}

#endif
