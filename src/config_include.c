/* app.yaml's `includes:` (RT1), as App Engine's SDK resolved them
 * (appinfo_includes): each listed path names a YAML file, or a folder with
 * an include.yaml, found beside the including file or else in the app
 * folder. An included file holds only the keys App Engine allowed there
 * (INCLUDE_FIELDS), checked with the same rules as app.yaml's, and may
 * include further files. Each file is read once, as App Engine did, so a
 * cycle simply ends. Included files must lie inside the app folder. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "config_internal.h"

/* App Engine had no limit; this one bounds the work and the recursion. */
#define MAX_INCLUDED_FILES 100

/* App Engine's AppInclude keys; the ones gaelic does not use are checked
 * as in app.yaml and ignored. As there, all but skip_files were Optional:
 * an empty one is not given. */
static const yt_field_t INCLUDE_FIELDS[] = {
    {"builtins", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, config_apply_builtins},
    {"includes", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, config_check_include_list},
    {"handlers", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, config_apply_included_handlers},
    {"env_variables", YT_MAP, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, config_apply_env},
    {"skip_files", YT_STRING_OR_LIST, 0, NULL, YT_NOWHERE, NULL, config_apply_skip_files},
    {"manual_scaling", YT_MAP, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, config_apply_manual_scaling},
    {"admin_console", YT_MAP, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, config_apply_admin_console},
    CONFIG_ACCEPTED("vm", YT_BOOL),
    CONFIG_ACCEPTED("vm_settings", YT_MAP),
    CONFIG_ACCEPTED("beta_settings", YT_MAP),
    CONFIG_ACCEPTED("build_env_variables", YT_MAP),
};
#define N_INCLUDE_FIELDS (sizeof INCLUDE_FIELDS / sizeof *INCLUDE_FIELDS)

typedef struct {
    app_config_t *cfg;
    char *root;               /* the app folder's real path; NULL: finds nothing */
    const char *shown_prefix; /* the app folder as messages name it, with '/' */
    handler_t *head, *tail;   /* included handlers, in the order read */
    size_t n_head, n_tail;
    char *read[MAX_INCLUDED_FILES]; /* real paths of the files read */
    size_t n_read;
} includes_t;

int config_check_include_list(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list,
                              void *target)
{
    (void)f;
    (void)target;
    char got[96];
    for (yaml_node_item_t *i = list->data.sequence.items.start; i < list->data.sequence.items.top;
         i++) {
        const yaml_node_t *item = yt_node(d, *i);
        const char *path = yt_text(item);
        if (!path || !path[0])
            return yt_fail(d, item, "includes: expected a file path, got %s",
                           yt_describe(item, got, sizeof got));
        if (path[0] == '/')
            return yt_fail(d, item, "includes: %s must be relative to the app folder",
                           yt_describe(item, got, sizeof got));
    }
    return 0;
}

static int inside(const char *real, const char *root)
{
    size_t len = strlen(root);
    return strncmp(real, root, len) == 0 && real[len] == '/';
}

/* The real path of dir/name when it is a file, or a folder holding an
 * include.yaml (App Engine's rule); NULL when neither. *outside is set when
 * it is one but lies outside the app folder. */
static char *try_path(const char *dir, const char *name, const char *root, int *outside)
{
    char *joined = config_join_path(dir, name);
    char *real = joined ? realpath(joined, NULL) : NULL;
    free(joined);
    struct stat st;
    if (real && stat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
        char *in_dir = config_join_path(real, "include.yaml");
        free(real);
        real = in_dir ? realpath(in_dir, NULL) : NULL;
        free(in_dir);
    }
    if (!real || stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
        free(real);
        return NULL;
    }
    if (!inside(real, root)) {
        *outside = 1;
        free(real);
        return NULL;
    }
    return real;
}

static int resolve(yt_doc_t *d, const yaml_node_t *item, const char *dir, const char *root,
                   char **real)
{
    const char *name = yt_text(item);
    int outside = 0;
    *real = root ? try_path(dir, name, root, &outside) : NULL;
    if (!*real && !outside && root && strcmp(dir, root) != 0)
        *real = try_path(root, name, root, &outside);
    if (*real)
        return 0;
    char q[80];
    yt_quote(q, sizeof q, name, strlen(name));
    if (outside)
        return yt_fail(d, item, "includes: '%s' is outside the app folder", q);
    return yt_fail(d, item,
                   "includes: '%s' not found (a YAML file, or a folder with include.yaml, "
                   "beside this file or in the app folder)",
                   q);
}

static int add_handlers(yt_doc_t *d, const yaml_node_t *root, includes_t *inc, app_config_t *part)
{
    size_t before = inc->cfg->n_handlers + inc->n_head + inc->n_tail;
    if (before + part->n_handlers > MAX_HANDLERS) {
        const yaml_node_t *list = yt_map_value(d, root, "handlers");
        size_t first_over = before >= MAX_HANDLERS ? 0 : MAX_HANDLERS - before;
        return yt_fail(d, yt_node(d, list->data.sequence.items.start[first_over]),
                       "too many handlers (%zu with app.yaml's and the included files'), the "
                       "limit is %d",
                       before + part->n_handlers, MAX_HANDLERS);
    }
    for (size_t i = 0; i < part->n_handlers; i++) {
        handler_t **list = part->handlers[i].position_tail ? &inc->tail : &inc->head;
        size_t *n = part->handlers[i].position_tail ? &inc->n_tail : &inc->n_head;
        handler_t *grown = realloc(*list, (*n + 1) * sizeof **list);
        if (!grown)
            return yt_fail(d, NULL, "out of memory");
        *list = grown;
        grown[(*n)++] = part->handlers[i];
        memset(&part->handlers[i], 0, sizeof part->handlers[i]); /* moved */
    }
    return 0;
}

/* An included file's env_variables win over what came before (App Engine's
 * EnvironmentVariables.Merge), app.yaml's own included. */
static int merge_env(yt_doc_t *d, app_config_t *cfg, const app_config_t *part)
{
    for (size_t i = 0; i < part->n_env; i++)
        if (config_env_set(cfg, part->env[i].key, part->env[i].value) < 0)
            return yt_fail(d, NULL, "out of memory");
    return 0;
}

/* A file is skipped when any file's skip_files matches (App Engine joined
 * them with '|'). */
static int merge_skip_files(yt_doc_t *d, app_config_t *cfg, const app_config_t *part)
{
    if (!part->skip_files)
        return 0;
    buf_t b = BUF_INIT;
    if (buf_printf(&b, "%s|%s", cfg->skip_files, part->skip_files) < 0) {
        buf_free(&b);
        return yt_fail(d, NULL, "out of memory");
    }
    free(cfg->skip_files);
    cfg->skip_files = buf_ptr(&b);
    return 0;
}

static int include_list(yt_doc_t *d, const yaml_node_t *list, const char *dir, includes_t *inc);

/* Checks one loaded included file and merges what it holds into inc. */
static int merge_file(yt_doc_t *d, includes_t *inc, const char *dir)
{
    const yaml_node_t *root = yt_root(d);
    if (!root || yt_is_null(root))
        return 0; /* App Engine only warned about an empty file */
    app_config_t *part = calloc(1, sizeof *part);
    if (!part)
        return yt_fail(d, NULL, "out of memory");
    app_config_t *cfg = inc->cfg;
    int rc =
        yt_map_apply(d, root, INCLUDE_FIELDS, N_INCLUDE_FIELDS, part, "an included file", NULL);
    if (rc == 0)
        rc =
            config_check_builtins_runtime(d, yt_map_given_value(d, root, "builtins"), cfg->runtime);
    if (rc == 0)
        rc = config_resolve_auto_scripts(d, part->handlers, part->n_handlers, cfg);
    if (rc == 0 && part->n_handlers)
        rc = config_check_cgi_threadsafe(d, yt_map_given_value(d, root, "handlers"), part->handlers,
                                         part->n_handlers, cfg);
    if (rc == 0)
        rc = add_handlers(d, root, inc, part);
    if (rc == 0)
        rc = merge_env(d, cfg, part);
    if (rc == 0)
        rc = merge_skip_files(d, cfg, part);
    /* App Engine's AppInclude.MergeManualScaling: the larger instances. */
    if (rc == 0 && part->manual_scaling_instances > cfg->manual_scaling_instances)
        cfg->manual_scaling_instances = part->manual_scaling_instances;
    config_free(part);
    /* Its own includes come after it, as App Engine read them. */
    const yaml_node_t *more = yt_map_given_value(d, root, "includes");
    if (rc == 0 && more)
        rc = include_list(d, more, dir, inc);
    return rc;
}

/* Reads the file `item` (in document d, whose file is in dir) names. */
static int include_one(yt_doc_t *d, const yaml_node_t *item, const char *dir, includes_t *inc)
{
    char *real = NULL;
    if (resolve(d, item, dir, inc->root, &real) < 0)
        return -1;
    for (size_t i = 0; i < inc->n_read; i++) {
        if (strcmp(inc->read[i], real) == 0) {
            free(real);
            return 0;
        }
    }
    if (inc->n_read == MAX_INCLUDED_FILES) {
        free(real);
        return yt_fail(d, item, "includes: more than %d included files", MAX_INCLUDED_FILES);
    }
    inc->read[inc->n_read++] = real;

    char why[PATH_MAX + 64];
    char *text = NULL, *shown = NULL, *real_dir = strdup(real);
    size_t len = 0;
    if (!real_dir)
        return yt_fail(d, NULL, "out of memory");
    *strrchr(real_dir, '/') = '\0';
    int rc = -1;
    buf_t b = BUF_INIT;
    if (buf_printf(&b, "%s%s", inc->shown_prefix, real + strlen(inc->root) + 1) < 0) {
        yt_fail(d, NULL, "out of memory");
        goto out;
    }
    shown = buf_ptr(&b);
    if (config_read_file(real, &text, &len, why, sizeof why) < 0) {
        yt_fail(d, item, "includes: %s", why);
        goto out;
    }
    yt_doc_t sub;
    rc = yt_load(&sub, text ? text : "", len, shown, d->err, d->errlen);
    if (rc == 0)
        rc = merge_file(&sub, inc, real_dir);
    yt_free(&sub);
out:
    free(text);
    free(shown);
    free(real_dir);
    return rc;
}

static int include_list(yt_doc_t *d, const yaml_node_t *list, const char *dir, includes_t *inc)
{
    for (yaml_node_item_t *i = list->data.sequence.items.start; i < list->data.sequence.items.top;
         i++) {
        if (include_one(d, yt_node(d, *i), dir, inc) < 0)
            return -1;
    }
    return 0;
}

/* Included handlers first (App Engine's default position, head), then
 * app.yaml's, then the included ones with `position: tail`. */
static int assemble_handlers(yt_doc_t *d, includes_t *inc)
{
    app_config_t *cfg = inc->cfg;
    size_t n = inc->n_head + cfg->n_handlers + inc->n_tail;
    if (n == cfg->n_handlers)
        return 0;
    handler_t *all = calloc(n, sizeof *all);
    if (!all)
        return yt_fail(d, NULL, "out of memory");
    handler_t *p = all;
    /* memcpy from NULL is undefined even for 0 bytes. */
    if (inc->n_head)
        memcpy(p, inc->head, inc->n_head * sizeof *p);
    p += inc->n_head;
    if (cfg->n_handlers)
        memcpy(p, cfg->handlers, cfg->n_handlers * sizeof *p);
    p += cfg->n_handlers;
    if (inc->n_tail)
        memcpy(p, inc->tail, inc->n_tail * sizeof *p);
    free(cfg->handlers);
    cfg->handlers = all;
    cfg->n_handlers = n;
    inc->n_head = inc->n_tail = 0; /* moved */
    return 0;
}

int config_resolve_includes(yt_doc_t *d, const yaml_node_t *root, app_config_t *cfg)
{
    const yaml_node_t *list = yt_map_given_value(d, root, "includes");
    if (!list)
        return 0;
    includes_t *inc = calloc(1, sizeof *inc);
    if (!inc)
        return yt_fail(d, NULL, "out of memory");
    inc->cfg = cfg;
    /* Messages name an included file the way app.yaml's path was given. */
    const char *slash = d->path ? strrchr(d->path, '/') : NULL;
    char *prefix = strndup(d->path ? d->path : "", slash ? (size_t)(slash - d->path) + 1 : 0);
    int rc = -1;
    if (!prefix) {
        yt_fail(d, NULL, "out of memory");
        goto out;
    }
    inc->shown_prefix = prefix;
    inc->root = realpath(cfg->root, NULL); /* config_load's is real already */
    rc = include_list(d, list, inc->root ? inc->root : cfg->root, inc);
    if (rc == 0)
        rc = assemble_handlers(d, inc);
out:
    for (size_t i = 0; i < inc->n_head; i++)
        config_free_handler(&inc->head[i]);
    for (size_t i = 0; i < inc->n_tail; i++)
        config_free_handler(&inc->tail[i]);
    free(inc->head);
    free(inc->tail);
    for (size_t i = 0; i < inc->n_read; i++)
        free(inc->read[i]);
    free(inc->root);
    free(inc);
    free(prefix);
    return rc;
}
