#ifndef GAELIC_PER_SERVICE_OPTION_H
#define GAELIC_PER_SERVICE_OPTION_H

#include <stddef.h>

/* dev_appserver's per-service flags (--max_module_instances,
 * --threadsafe_override): one VALUE for every service, or
 * SERVICE:VALUE[,SERVICE:VALUE...] for some, blanks around a SERVICE
 * ignored and an empty one meaning "default"; a service named twice is
 * refused, as dev_appserver refused it.
 *
 * parse(s, len, ctx) reads one VALUE: a number from 0, or -1 when it is
 * none. service NULL: checks the syntax only. Returns 1 when value gives
 * one for service (or for all; *out is set), 0 when it names other
 * services only, -1 when it is malformed (a VALUE parse refuses, an entry
 * without one ':', a service named twice); then err (when not NULL) says
 * so, `usage` describing what the flag takes. */
typedef int (*per_service_parse_t)(const char *s, size_t len, const void *ctx);

int per_service_option(const char *value, const char *service, per_service_parse_t parse,
                       const void *ctx, int *out, const char *usage, char *err, size_t errlen);

/* Leaves out the blanks (spaces, tabs) around s[0..*len). */
void per_service_trim(const char **s, size_t *len);

#endif
