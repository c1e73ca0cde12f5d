/* The `logservice` API service (LG1; API-MESSAGES.md section 4):
 * - Read: request logs and their app lines (log_read.h), run on the log
 *   writer's thread (log_store_task) so that the event loop never waits on
 *   SQLite, and after every record queued before it (read-your-writes);
 *   at most LOG_READ_SHARES at once, from the start of one's answer until
 *   it has left the master, the others waiting in turn
 *   (log_read_budget.h);
 * - Flush: stores the app lines a FlushRequest carries for the calling
 *   request, and makes that request's log visible while it still runs (its
 *   row written unfinished, through api_caller_t.flush);
 * - SetStatus and Usage: CAPABILITY_DISABLED, as in the SDK's dev server.
 * Errors: LogServiceError INVALID_REQUEST for a bad request,
 * STORAGE_ERROR when the database fails or too many Reads wait. */
#ifndef GAELIC_API_LOGSERVICE_H
#define GAELIC_API_LOGSERVICE_H

#include "api_service.h"

struct server;

/* Adds the service to reg; handlers use srv's log store and app id. 0 or -1. */
int api_logservice_register(api_registry_t *reg, struct server *srv);

#endif
