/* Every API service the master offers, in one registry (DESIGN.md
 * "services"). A new service (logservice, memcache, ...) is one more
 * api_registry_add here, with its own file for its handlers. */
#ifndef GAELIC_API_SERVICES_H
#define GAELIC_API_SERVICES_H

#include "api_service.h"

/* test_service: also the hidden `gaelic_test` service (api_test.h), for
 * the integration tests only. NULL when memory runs out. */
api_registry_t *api_services_new(int test_service);

#endif
