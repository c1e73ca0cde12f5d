/* The `system` API service (API-MESSAGES.md section 3): GetSystemStats
 * answers the calling instance's CPU and memory figures (API1, API2, API6)
 * from instance_stats.h; StartBackgroundRequest starts a background request
 * on it (background_request.h): BACKEND_REQUIRED on the default version,
 * LIMIT_REACHED when its background threads and background requests
 * number IPC_BACKGROUND_MAX already. */
#ifndef GAELIC_API_SYSTEM_H
#define GAELIC_API_SYSTEM_H

#include "api_service.h"

/* SystemServiceError.ErrorCode */
enum {
    SYSTEM_OK = 0,
    SYSTEM_INTERNAL_ERROR = 1,
    SYSTEM_BACKEND_REQUIRED = 2,
    SYSTEM_LIMIT_REACHED = 3
};

/* Adds the service to reg. 0 or -1. */
int api_system_register(api_registry_t *reg);

#endif
