/* app.yaml's regular expressions (url, upload, skip_files) are Python's,
 * as App Engine compiled them with `re`; gaelic compiles them with PCRE2.
 * The two read the same text differently in one place that app.yaml
 * patterns meet: Python takes `{,N}` as `{0,N}` and `{,}` as `{0,}`, while
 * PCRE2 10.42 (Debian 12's) takes them as literal text. */
#ifndef GAELIC_PYTHON_REGEX_H
#define GAELIC_PYTHON_REGEX_H

#include <stddef.h>
#include <stdint.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

/* The Python pattern re as PCRE2 reads it the way Python did: `{,` of a
 * quantifier outside a character class becomes `{0,`. malloc'd; NULL
 * when out of memory. */
char *python_regex_for_pcre2(const char *re);

/* Compiles the Python pattern re with PCRE2 options. On success, text (if
 * not NULL) gets what was compiled (malloc'd). NULL on failure, with
 * PCRE2's message in why and where in re's translation in *offset, or
 * "out of memory" and SIZE_MAX. */
pcre2_code *python_regex_compile(const char *re, uint32_t options, char **text, char *why,
                                 size_t whylen, size_t *offset);

#endif
