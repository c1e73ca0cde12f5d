#include "threadsafe_override.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The boolean in s[0..len): 1 or 0; -1 when it is none. */
static int boolean(const char *s, size_t len)
{
    static const char *const words[] = {"true", "yes", "1", "false", "no", "0"};
    for (int k = 0; k < 6; k++)
        if (strlen(words[k]) == len && strncasecmp(s, words[k], len) == 0)
            return k < 3;
    return -1;
}

/* The service an entry's name s[0..len) means, blanks around it aside (as
 * dev_appserver stripped them); "" is the default one. */
static void service_name(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t'))
        (*s)++, (*len)--;
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
    if (*len == 0) {
        *s = "default";
        *len = strlen(*s);
    }
}

/* 1 when the entries before `end` in value name service s[0..len). */
static int named_before(const char *value, const char *end, const char *s, size_t len)
{
    for (const char *p = value; p < end;) {
        const char *colon = strchr(p, ':'), *comma = strchr(p, ',');
        size_t n = (size_t)(colon - p);
        service_name(&p, &n);
        if (n == len && !strncmp(p, s, len))
            return 1;
        p = comma + 1;
    }
    return 0;
}

int threadsafe_override_for(const char *value, const char *service, int *threadsafe, char *err,
                            size_t errlen)
{
    if (!strchr(value, ':')) {
        int v = boolean(value, strlen(value));
        if (v < 0)
            goto bad;
        *threadsafe = v;
        return 1;
    }
    int found = 0;
    for (const char *p = value;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (!colon || memchr(colon + 1, ':', len - (size_t)(colon + 1 - p)))
            goto bad;
        int v = boolean(colon + 1, len - (size_t)(colon + 1 - p));
        if (v < 0)
            goto bad;
        const char *name = p;
        size_t name_len = (size_t)(colon - p);
        service_name(&name, &name_len);
        if (named_before(value, p, name, name_len)) {
            snprintf(err, errlen, "invalid value '%s' (service %.*s is named twice)", value,
                     (int)name_len, name);
            return -1;
        }
        if (service && name_len == strlen(service) && !strncmp(name, service, name_len)) {
            *threadsafe = v;
            found = 1;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return found;
bad:
    snprintf(err, errlen,
             "invalid value '%s' (true or false, also yes/no or 1/0, in any case; or "
             "SERVICE:BOOL[,SERVICE:BOOL...])",
             value);
    return -1;
}
