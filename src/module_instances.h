#ifndef GAELIC_MODULE_INSTANCES_H
#define GAELIC_MODULE_INSTANCES_H

#include <stddef.h>

/* dev_appserver's --max_module_instances: a whole number for every
 * service, or SERVICE:N[,SERVICE:N...] for some (per_service_option.h: an
 * empty SERVICE is "default", one named twice is refused). gaelic serves
 * one service (app.yaml's), so only its entry counts.
 *
 * service NULL: checks the syntax only. Else *n is the number given for
 * that service (or for all). Returns 1 when the value gives one, 0 when
 * it names other services only, -1 (err set) when it is malformed or a
 * number is out of 1..max. */
int module_instances_for(const char *value, const char *service, int max, int *n, char *err,
                         size_t errlen);

#endif
