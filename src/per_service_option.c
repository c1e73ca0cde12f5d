#include "per_service_option.h"

#include <stdio.h>
#include <string.h>

void per_service_trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t'))
        (*s)++, (*len)--;
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

/* The service an entry's name s[0..len) means. */
static void service_name(const char **s, size_t *len)
{
    per_service_trim(s, len);
    if (*len == 0) {
        *s = "default";
        *len = strlen(*s);
    }
}

/* 1 when the entries of value before `end` name service s[0..len) (they
 * were checked: each has its ':'). */
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

/* The entries of value, as per_service_option; -1 when malformed, -2 when
 * a service is named twice (*twice, *twice_len name it). */
static int entries(const char *value, const char *service, per_service_parse_t parse,
                   const void *ctx, int *out, const char **twice, size_t *twice_len)
{
    if (!strchr(value, ':')) {
        int v = parse(value, strlen(value), ctx);
        if (v < 0)
            return -1;
        *out = v;
        return 1;
    }
    int found = 0;
    for (const char *p = value;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (!colon || memchr(colon + 1, ':', len - (size_t)(colon + 1 - p)))
            return -1;
        const char *name = p;
        size_t name_len = (size_t)(colon - p);
        service_name(&name, &name_len);
        if (named_before(value, p, name, name_len)) {
            *twice = name;
            *twice_len = name_len;
            return -2;
        }
        int v = parse(colon + 1, len - (size_t)(colon + 1 - p), ctx);
        if (v < 0)
            return -1;
        if (service && name_len == strlen(service) && !strncmp(name, service, name_len)) {
            *out = v;
            found = 1;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return found;
}

int per_service_option(const char *value, const char *service, per_service_parse_t parse,
                       const void *ctx, int *out, const char *usage, char *err, size_t errlen)
{
    const char *twice;
    size_t twice_len;
    int rc = entries(value, service, parse, ctx, out, &twice, &twice_len);
    if (rc == -2 && err)
        snprintf(err, errlen, "invalid value '%s' (service %.*s is named twice)", value,
                 (int)twice_len, twice);
    else if (rc < 0 && err)
        snprintf(err, errlen, "invalid value '%s' (%s)", value, usage);
    return rc < 0 ? -1 : rc;
}
