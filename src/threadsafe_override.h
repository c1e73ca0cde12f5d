#ifndef GAELIC_THREADSAFE_OVERRIDE_H
#define GAELIC_THREADSAFE_OVERRIDE_H

#include <stddef.h>

/* dev_appserver's --threadsafe_override: a boolean for every service, or
 * SERVICE:BOOL[,SERVICE:BOOL...] for some (per_service_option.h: an empty
 * SERVICE is "default", one named twice is refused). BOOL is what
 * dev_appserver's boolean flags took: true, yes, 1, false, no or 0, in any
 * case.
 *
 * service NULL: checks the syntax only. Else *threadsafe is the value for
 * that service (or for all). Returns 1 when the value gives one, 0 when it
 * names other services only, -1 (err set) when it is malformed. */
int threadsafe_override_for(const char *value, const char *service, int *threadsafe, char *err,
                            size_t errlen);

#endif
