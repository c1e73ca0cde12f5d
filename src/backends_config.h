/* backends.yaml (BK1, BK9): the backends of an app, loaded once into
 * immutable structs through the same validation table machinery as
 * app.yaml. Every string is owned by the backends_config_t. */
#ifndef GAELIC_BACKENDS_CONFIG_H
#define GAELIC_BACKENDS_CONFIG_H

#include <stddef.h>

typedef enum { BACKEND_B1 = 0, BACKEND_B2, BACKEND_B4, BACKEND_B4_1G, BACKEND_B8 } backend_class_t;

typedef struct {
    const char *name; /* "B1" ... as written in backends.yaml */
    int memory_mb;
    int cpu_mhz;
    int cents_per_hour; /* BK10 */
} backend_class_info_t;

const backend_class_info_t *backend_class_info(backend_class_t c);

typedef enum { TIER_FREE = 0, TIER_PAID } backend_tier_t;

typedef struct {
    char *name;
    int line; /* of the entry in backends.yaml */
    backend_class_t cls;
    int instances;               /* configured count (dynamic: the most) */
    int max_concurrent_requests; /* per instance */
    int dynamic, public_, failfast;
    char *start; /* handler script for /_ah/start, or NULL: app.yaml's handlers */
} backend_t;

typedef struct {
    char *path; /* absolute path of backends.yaml, NULL when the app has none */
    backend_t *backends;
    size_t n_backends;
} backends_config_t;

/* BK9: the most instances one backend may have on the tier. */
int backend_tier_max_instances(backend_tier_t tier);

#define BACKEND_DEFAULT_INSTANCES 1
#define BACKEND_DEFAULT_MAX_CONCURRENT 10
#define BACKEND_MAX_CONCURRENT_LIMIT 500

/* Loads APPDIR/backends.yaml (or backends.yml) and checks BK9's limits for
 * the tier. An app without the file gets an empty config. Returns 0, or -1
 * with "FILE:LINE: reason" in err. */
int backends_config_load(const char *app_dir, backend_tier_t tier, backends_config_t **out,
                         char *err, size_t errlen);
/* The same from text in memory; path names it in messages. */
int backends_config_load_string(const char *yaml, size_t len, const char *path, backend_tier_t tier,
                                backends_config_t **out, char *err, size_t errlen);

const backend_t *backends_config_find(const backends_config_t *cfg, const char *name, size_t len);

void backends_config_free(backends_config_t *cfg);

#endif
