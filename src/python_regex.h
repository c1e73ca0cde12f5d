/* app.yaml's regular expressions (url, upload, skip_files) are Python's,
 * as App Engine compiled them with `re`; gaelic compiles them with PCRE2.
 * The two read the same text differently in one place that app.yaml
 * patterns meet: Python takes `{,N}` as `{0,N}` and `{,}` as `{0,}`, while
 * PCRE2 10.42 (Debian 12's) takes them as literal text. */
#ifndef GAELIC_PYTHON_REGEX_H
#define GAELIC_PYTHON_REGEX_H

/* The Python pattern re as PCRE2 reads it the way Python did: `{,` of a
 * quantifier outside a character class becomes `{0,`. malloc'd; NULL
 * when out of memory. */
char *python_regex_for_pcre2(const char *re);

#endif
