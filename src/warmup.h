/* GET /_ah/warmup (inbound_services: warmup): the first request of an
 * instance the default version adds while others serve (pool.h
 * start_hook), so that the app loads its code and caches before live
 * traffic reaches it. It goes to app.yaml's handlers as a user's request
 * would (login: and secure: aside: the runtime sends it), with the normal
 * deadline, and has a request log; whatever it answers, the instance then
 * serves (only losing the instance fails its start). */
#ifndef GAELIC_WARMUP_H
#define GAELIC_WARMUP_H

#include "pool.h"

/* pool_opts_t.start_hook of the default version; ctx: the server_t. */
void warmup_send(void *ctx, pool_t *pool, int key);

#endif
