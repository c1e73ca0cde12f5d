#include "backends_config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "instance_class.h"
#include "yaml_tree.h"

/* BK1 classes and BK10 prices. */
static const backend_class_info_t CLASSES[] = {
    [BACKEND_B1] = {"B1", 128, 600, 5},    [BACKEND_B2] = {"B2", 256, 1200, 10},
    [BACKEND_B4] = {"B4", 512, 2400, 20},  [BACKEND_B4_1G] = {"B4_1G", 1024, 2400, 30},
    [BACKEND_B8] = {"B8", 1024, 4800, 40},
};

/* BK9, per tier: backends per app, instances per backend, total configured
 * memory (0: no limit). */
static const struct {
    const char *name;
    int max_backends, max_instances;
    long max_memory_mb;
} TIERS[] = {
    [TIER_FREE] = {"free", 5, 20, 10240},
    [TIER_PAID] = {"paid", 20, 200, 0},
};

int backend_tier_max_instances(backend_tier_t tier)
{
    return TIERS[tier].max_instances;
}

const backend_class_info_t *backend_class_info(backend_class_t c)
{
    return &CLASSES[c];
}

/* ---- fields --------------------------------------------------------------- */

/* Lowercase letters, digits and hyphens; not all digits (that would read as
 * an instance number in a host name) and no "-dot-" (the other address
 * form's separator). */
static int check_name(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s)
{
    (void)f;
    char q[120];
    size_t len = strlen(s);
    int digits_only = 1;
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return yt_fail(d, v,
                           "backend name '%s' may contain only lowercase letters, digits and "
                           "hyphens",
                           yt_quote(q, sizeof q, s, len));
        if (*p < '0' || *p > '9')
            digits_only = 0;
    }
    if (len == 0 || len > 100)
        return yt_fail(d, v, "backend name must be 1 to 100 characters long");
    if (s[0] == '-' || s[len - 1] == '-')
        return yt_fail(d, v, "backend name '%s' may not start or end with a hyphen", s);
    if (digits_only)
        return yt_fail(d, v,
                       "backend name '%s' may not be only digits (it would read as an "
                       "instance number in host names)",
                       s);
    if (strstr(s, "-dot-"))
        return yt_fail(d, v, "backend name '%s' may not contain '-dot-'", s);
    return 0;
}

static int check_start(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s)
{
    (void)f;
    char q[120];
    /* app.yaml's \1..\9 come from a handler's url; start has none. */
    if (strchr(s, '\\'))
        return yt_fail(d, v, "start '%s' has a '\\': there is no url whose groups it could use",
                       yt_quote(q, sizeof q, s, strlen(s)));
    if (config_script_kind(s) == SCRIPT_INVALID)
        return yt_fail(d, v,
                       "start '%s' is neither a WSGI object path (module.app) nor a .py "
                       "file path",
                       yt_quote(q, sizeof q, s, strlen(s)));
    return 0;
}

/* A whole number as App Engine's int field read it: a plain scalar is
 * PyYAML's int (`010` is 8, `0x10` 16, `1_000` 1000), a quoted one
 * Python's int() of the text. */
static int parse_count(yt_doc_t *d, const yaml_node_t *v, const char *what, long min, long max,
                       int *out)
{
    char *s = yt_text(v) ? yt_python_str(v) : NULL;
    char *end;
    errno = 0;
    long n = s ? strtol(s, &end, 10) : 0;
    int ok = s && !errno && end != s && *end == '\0' && n >= min && n <= max;
    free(s);
    char got[96];
    if (!ok)
        return yt_fail(d, v, "%s must be a whole number from %ld to %ld, got %s", what, min, max,
                       yt_describe(v, got, sizeof got));
    *out = (int)n;
    return 0;
}

static int apply_instances(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, void *target)
{
    (void)f;
    return parse_count(d, v, "instances", 1, INT_MAX, &((backend_t *)target)->instances);
}

static int apply_max_concurrent(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                                void *target)
{
    (void)f;
    return parse_count(d, v, "max_concurrent_requests", 1, BACKEND_MAX_CONCURRENT_LIMIT,
                       &((backend_t *)target)->max_concurrent_requests);
}

/* B1..B8; App Engine's pattern took the letter in either case (b4 is B4). */
static int apply_class(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, void *target)
{
    const char *name = instance_class_name(yt_text(v));
    for (int c = BACKEND_B1; name && c <= BACKEND_B8; c++)
        if (!strcmp(CLASSES[c].name, name)) {
            ((backend_t *)target)->cls = (backend_class_t)c;
            return 0;
        }
    char got[96];
    return yt_fail(d, v, "%s: expected B1, B2, B4, B4_1G or B8, got %s", f->name,
                   yt_describe(v, got, sizeof got));
}

/* "dynamic, public": a comma list, each item one option with spaces around
 * it, as App Engine's backendinfo split it. Anything else in an item
 * ("public dynamic", a tab, nothing between two commas) is no option. */
static int apply_options(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, void *target)
{
    (void)f;
    backend_t *b = target;
    const char *s = yt_text(v);
    if (!*s)
        return 0;
    for (const char *p = s;; p++) {
        const char *item = p;
        while (*p && *p != ',')
            p++;
        const char *word = item, *end = p;
        while (word < end && *word == ' ')
            word++;
        while (end > word && end[-1] == ' ')
            end--;
        size_t n = (size_t)(end - word);
        int *flag = n == 7 && !strncmp(word, "dynamic", 7)    ? &b->dynamic
                    : n == 6 && !strncmp(word, "public", 6)   ? &b->public_
                    : n == 8 && !strncmp(word, "failfast", 8) ? &b->failfast
                                                              : NULL;
        char q[80];
        if (!flag)
            return yt_fail(d, v,
                           "unknown backend option '%s' (options are a comma list of dynamic, "
                           "public, failfast)",
                           yt_quote(q, sizeof q, word, n));
        if (*flag)
            return yt_fail(d, v, "backend option '%.*s' is given twice", (int)n, word);
        *flag = 1;
        if (!*p)
            return 0;
    }
}

/* The values backendinfo's `state` took. */
static const char *const STATES[] = {"START", "STOP", "DISABLED", NULL};

/* As in backendinfo, an optional key left empty is not given, and `state`
 * is checked only: the START/STOP state is the backends commands'. */
static const yt_field_t BACKEND_FIELDS[] = {
    {"name", YT_STRING, YT_REQUIRED, NULL, offsetof(backend_t, name), check_name, NULL},
    {"class", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_class},
    {"instances", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_instances},
    {"max_concurrent_requests", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL,
     apply_max_concurrent},
    {"options", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_options},
    {"start", YT_STRING, YT_NULL_ABSENT, NULL, offsetof(backend_t, start), check_start, NULL},
    {"state", YT_ENUM, YT_NULL_ABSENT, STATES, YT_NOWHERE, NULL, NULL},
};

/* ---- the document --------------------------------------------------------- */

typedef struct {
    backends_config_t *cfg;
    backend_tier_t tier;
} load_ctx_t;

static int apply_backends(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list, void *target)
{
    (void)f;
    load_ctx_t *ctx = target;
    backends_config_t *cfg = ctx->cfg;
    size_t n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
    if (n > (size_t)TIERS[ctx->tier].max_backends)
        return yt_fail(d, list, "%zu backends; the %s tier allows at most %d per app (--tier)", n,
                       TIERS[ctx->tier].name, TIERS[ctx->tier].max_backends);
    if (n == 0)
        return 0;
    cfg->backends = calloc(n, sizeof *cfg->backends);
    if (!cfg->backends)
        return yt_fail(d, NULL, "out of memory");
    long memory_mb = 0;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yt_node(d, list->data.sequence.items.start[i]);
        backend_t *b = &cfg->backends[i];
        cfg->n_backends = i + 1;
        b->cls = BACKEND_B2;
        b->instances = BACKEND_DEFAULT_INSTANCES;
        b->max_concurrent_requests = BACKEND_DEFAULT_MAX_CONCURRENT;
        b->line = yt_line(item);
        if (yt_map_apply(d, item, BACKEND_FIELDS, sizeof BACKEND_FIELDS / sizeof *BACKEND_FIELDS, b,
                         "backend", NULL) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->backends[j].name, b->name) == 0)
                return yt_fail(d, item, "backend '%s' is listed twice (first on line %d)", b->name,
                               cfg->backends[j].line);
        if (b->instances > TIERS[ctx->tier].max_instances)
            return yt_fail(
                d, item, "backend '%s': %d instances; the %s tier allows at most %d (--tier)",
                b->name, b->instances, TIERS[ctx->tier].name, TIERS[ctx->tier].max_instances);
        memory_mb += (long)b->instances * CLASSES[b->cls].memory_mb;
    }
    long max_mb = TIERS[ctx->tier].max_memory_mb;
    if (max_mb && memory_mb > max_mb)
        return yt_fail(d, list,
                       "the backends configure %ld MB of memory in all; the %s tier allows %ld "
                       "MB (--tier)",
                       memory_mb, TIERS[ctx->tier].name, max_mb);
    return 0;
}

static const yt_field_t TOP_FIELDS[] = {
    /* backendinfo took an empty `backends:` (each entry commented out, say)
     * as no backends. */
    {"backends", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_backends},
};

int backends_config_load_string(const char *yaml, size_t len, const char *path, backend_tier_t tier,
                                backends_config_t **out, char *err, size_t errlen)
{
    *out = NULL;
    backends_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    yt_doc_t d;
    int rc = yt_load(&d, yaml, len, path, err, errlen);
    yaml_node_t *root = rc == 0 ? yt_root(&d) : NULL;
    load_ctx_t ctx = {cfg, tier};
    if (rc == 0 && root)
        rc = yt_map_apply(&d, root, TOP_FIELDS, 1, &ctx, NULL, NULL);
    yt_free(&d);
    if (rc < 0) {
        backends_config_free(cfg);
        return -1;
    }
    *out = cfg;
    return 0;
}

int backends_config_load(const char *app_dir, backend_tier_t tier, backends_config_t **out,
                         char *err, size_t errlen)
{
    static const char *const names[] = {"backends.yaml", "backends.yml"};
    char path[PATH_MAX];
    struct stat st;
    size_t i;
    for (i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", app_dir, names[i]);
        if (stat(path, &st) == 0)
            break;
    }
    if (i == 2) {
        *out = calloc(1, sizeof **out);
        if (!*out) {
            snprintf(err, errlen, "%s: out of memory", app_dir);
            return -1;
        }
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    if (config_read_file(path, &text, &len, err, errlen) < 0)
        return -1;
    int rc = backends_config_load_string(text ? text : "", len, path, tier, out, err, errlen);
    free(text);
    if (rc == 0 && !((*out)->path = realpath(path, NULL))) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        backends_config_free(*out);
        *out = NULL;
        return -1;
    }
    return rc;
}

const backend_t *backends_config_find(const backends_config_t *cfg, const char *name, size_t len)
{
    for (size_t i = 0; i < cfg->n_backends; i++)
        if (strlen(cfg->backends[i].name) == len && !memcmp(cfg->backends[i].name, name, len))
            return &cfg->backends[i];
    return NULL;
}

void backends_config_free(backends_config_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_backends; i++) {
        free(cfg->backends[i].name);
        free(cfg->backends[i].start);
    }
    free(cfg->backends);
    free(cfg->path);
    free(cfg);
}
