/* Every API service the master offers, in one registry (DESIGN.md
 * "services"). A new service (logservice, memcache, ...) is one more
 * api_registry_add here, with its own file for its handlers and whatever
 * it needs of the server (its log store, app id, ...) as its ctx. */
#ifndef GAELIC_API_SERVICES_H
#define GAELIC_API_SERVICES_H

#include "api_service.h"

struct server;

/* The services for srv (its --api_test_service also adds the hidden
 * gaelic_test service of api_test.h). NULL when memory runs out. */
api_registry_t *api_services_new(struct server *srv);

#endif
