#include "module_instances.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* The count in s[0..len): plain decimal in 1..max; -1 when it is none. */
static long count(const char *s, size_t len, int max)
{
    if (len == 0 || len > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= max ? v : -1;
}

int module_instances_for(const char *value, const char *service, int max, int *n, char *err,
                         size_t errlen)
{
    if (!strchr(value, ':')) {
        long v = count(value, strlen(value), max);
        if (v < 0)
            goto bad;
        *n = (int)v;
        return 1;
    }
    int found = 0;
    for (const char *p = value;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (!colon || colon == p)
            goto bad;
        long v = count(colon + 1, len - (size_t)(colon + 1 - p), max);
        if (v < 0)
            goto bad;
        /* As dev_appserver, the last entry for a service counts. */
        if (service && (size_t)(colon - p) == strlen(service) &&
            !strncmp(p, service, (size_t)(colon - p))) {
            *n = (int)v;
            found = 1;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return found;
bad:
    snprintf(err, errlen,
             "invalid value '%s' (a whole number from 1 to %d, or SERVICE:N[,SERVICE:N...])", value,
             max);
    return -1;
}
