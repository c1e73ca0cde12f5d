#include "python_regex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Python's quantifier without a lower bound at p (just after '{'): ','
 * then digits and '}'. */
static int lower_bound_missing(const char *p)
{
    if (*p != ',')
        return 0;
    p++;
    p += strspn(p, "0123456789");
    return *p == '}';
}

char *python_regex_for_pcre2(const char *re)
{
    size_t len = strlen(re), missing = 0;
    /* Each '{' may take a '0': at most one more byte for each. */
    for (const char *p = re; (p = strchr(p, '{')) != NULL; p++)
        missing++;
    char *out = malloc(len + missing + 1), *o = out;
    if (!out)
        return NULL;
    int in_class = 0;
    for (const char *p = re; *p; p++) {
        *o++ = *p;
        if (*p == '\\' && p[1]) { /* an escaped character is itself */
            *o++ = *++p;
            continue;
        }
        if (in_class) {
            in_class = *p != ']';
            continue;
        }
        if (*p == '[') {
            /* A ']' first in the class (after a '^') is one of its members. */
            in_class = 1;
            if (p[1] == '^')
                *o++ = *++p;
            if (p[1] == ']')
                *o++ = *++p;
        } else if (*p == '{' && lower_bound_missing(p + 1)) {
            *o++ = '0';
        }
    }
    *o = '\0';
    return out;
}

pcre2_code *python_regex_compile(const char *re, uint32_t options, char **text, char *why,
                                 size_t whylen, size_t *offset)
{
    char *pcre2_text = python_regex_for_pcre2(re);
    if (!pcre2_text) {
        snprintf(why, whylen, "out of memory");
        *offset = SIZE_MAX;
        return NULL;
    }
    int code = 0;
    PCRE2_SIZE off = 0;
    pcre2_code *c =
        pcre2_compile((PCRE2_SPTR)pcre2_text, PCRE2_ZERO_TERMINATED, options, &code, &off, NULL);
    if (c && text)
        *text = pcre2_text;
    else
        free(pcre2_text);
    if (!c) {
        if (pcre2_get_error_message(code, (PCRE2_UCHAR *)why, whylen) < 0)
            snprintf(why, whylen, "error %d", code);
        *offset = (size_t)off;
    }
    return c;
}
