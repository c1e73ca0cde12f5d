/* Who an app is and where its data lives: shared by `gaelic serve` and
 * `gaelic logs`, which must agree on both. */
#ifndef GAELIC_APP_IDENTITY_H
#define GAELIC_APP_IDENTITY_H

#include <stddef.h>

#include "config.h"

/* The app id: override (--application), else app.yaml's application, else
 * the app folder's name made an app id ("My App_1" is "my-app-1"). */
void app_identity_id(const app_config_t *cfg, const char *override, char *out, size_t n);

/* The storage folder: override (--storage_path), else
 * $XDG_CACHE_HOME/gaelic/APP_ID (default ~/.cache). -1 when it does not fit. */
int app_identity_storage(const char *app_id, const char *override, char *out, size_t n);

#endif
