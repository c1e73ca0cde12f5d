/* Background requests (API-MESSAGES.md section 3): what
 * system.StartBackgroundRequest starts on a backend instance. The master
 * sends the instance `GET /_ah/background` with X-AppEngine-BackgroundRequest
 * set to the request id it answered; the runtime runs it on a thread of its
 * own (never one of the request workers) and hands it the callable the app
 * enqueued under that id (google.appengine.runtime.background). It counts
 * against the instance's background-thread limit while it runs (pool.h),
 * and has its own request log. */
#ifndef GAELIC_BACKGROUND_REQUEST_H
#define GAELIC_BACKGROUND_REQUEST_H

#include "pool.h"

struct server;

/* Sends the background request `id` to instance `index` of backend
 * `backend` (version_id: its instances' CURRENT_VERSION_ID; log_name:
 * "backend NAME", for log lines). 0, or -1 when it could not be sent
 * (nothing is left behind). */
int background_request_send(const struct server *srv, pool_t *pool, const char *backend,
                            const char *version_id, const char *log_name, int index,
                            const char *id);

/* The environ of a background thread's own GET /_ah/background on
 * instance `index` (BG3), whose request log has id log_id: the IPC
 * (key, value) pairs are appended to env, *n_env of them. 0, or -1 when
 * memory runs out. */
int background_thread_env(const struct server *srv, const char *backend, const char *version_id,
                          int index, const char *log_id, buf_t *env, uint32_t *n_env);

#endif
