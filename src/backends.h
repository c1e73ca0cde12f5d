/* The running backends (BK2-BK5, BK10): one instance pool each, their
 * start requests, their START/STOP state and their instance-hours. The
 * configuration comes from backends_config.h; requests reach a backend
 * through host_route.h. Everything runs in the master's event loop. */
#ifndef GAELIC_BACKENDS_H
#define GAELIC_BACKENDS_H

#include <stdint.h>

#include "backends_config.h"
#include "buf.h"
#include "pool.h"

typedef struct server server_t;
typedef struct backends backends_t;
typedef struct backend_rt backend_rt_t;

/* Starts a pool per backend (resident ones start their instances), with
 * the default version's pool options as the base. cfg stays owned by the
 * caller and must outlive the backends. NULL when one cannot start. */
backends_t *backends_start(server_t *srv, const backends_config_t *cfg, const pool_opts_t *base);

/* The running backend for a configured one; NULL when deleted. */
backend_rt_t *backends_get(backends_t *all, const backend_t *cfg);
pool_t *backend_pool(const backend_rt_t *b);
const char *backend_name(const backend_rt_t *b);
/* CURRENT_VERSION_ID of the instances that serve it: NAME.MINOR of its
 * current deployment (its code as of the server's start or its last
 * update). App Engine ran each backend as a version named after it, and
 * its request logs are under that name (logservice.fetch(version_ids=
 * ["worker"])). */
const char *backend_version_id(const backend_rt_t *b);
/* Of the instances that serve now: an update's values once it is done. */
int backend_is_public(const backend_rt_t *b);
int backend_instances(const backend_rt_t *b);

/* Text for `gaelic backends list`. */
void backends_list(backends_t *all, buf_t *out);

/* The control socket's `backends ...` commands; see control.h. */
int backends_command(void *ctx, int argc, char **argv, buf_t *out, char *err, size_t errlen);

/* --automatic_restart: pool_restart_instances for every backend's
 * instances (an update's too). Returns how many. */
int backends_restart_instances(backends_t *all);

/* Server stop and the event loop's housekeeping, as for the default pool. */
void backends_shutdown(backends_t *all);
/* Kills every instance at once (the end of the server's stop), answering
 * what they still run. */
void backends_kill_all(backends_t *all);
int backends_busy(const backends_t *all);
void backends_flush(backends_t *all);
void backends_reap(backends_t *all);
void backends_free(backends_t *all);

#endif
