#include "module_instances.h"

#include <ctype.h>
#include <stdio.h>

#include "per_service_option.h"

/* A count: plain decimal in 1..*max, blanks around it aside (as Python's
 * int() read dev_appserver's); -1 when it is none. */
static int count(const char *s, size_t len, const void *max)
{
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len > 9)
        return -1;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= *(const int *)max ? (int)v : -1;
}

int module_instances_for(const char *value, const char *service, int max, int *n, char *err,
                         size_t errlen)
{
    const char *twice;
    size_t twice_len;
    int rc = per_service_option(value, service, count, &max, n, &twice, &twice_len);
    if (rc == -2)
        snprintf(err, errlen, "invalid value '%s' (service %.*s is named twice)", value,
                 (int)twice_len, twice);
    else if (rc < 0)
        snprintf(err, errlen,
                 "invalid value '%s' (a whole number from 1 to %d, or SERVICE:N[,SERVICE:N...])",
                 value, max);
    return rc < 0 ? -1 : rc;
}
