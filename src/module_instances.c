#include "module_instances.h"

#include <ctype.h>
#include <stdio.h>

#include "per_service_option.h"

/* A count: plain decimal in 1..*max, blanks around it aside (as Python's
 * int() read dev_appserver's); -1 when it is none. */
static int count(const char *s, size_t len, const void *max)
{
    per_service_trim(&s, &len);
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
    char usage[96];
    snprintf(usage, sizeof usage, "a whole number from 1 to %d, or SERVICE:N[,SERVICE:N...]", max);
    return per_service_option(value, service, count, &max, n, usage, err, errlen);
}
