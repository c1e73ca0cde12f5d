/* What config.c shares with config_include.c (app.yaml's `includes:`):
 * the value rules both files' tables use. Not for other modules. */
#ifndef GAELIC_CONFIG_INTERNAL_H
#define GAELIC_CONFIG_INTERNAL_H

#include "config.h"
#include "yaml_tree.h"

#define MAX_HANDLERS 100 /* App Engine's limit on url maps, includes counted */

/* yt_apply_fn's for an included file's table: handlers (where `position`
 * is allowed), env_variables, skip_files, builtins, manual_scaling,
 * admin_console. The target is an app_config_t. */
int config_apply_included_handlers(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list,
                                   void *target);
int config_apply_env(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *map, void *target);
int config_apply_skip_files(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, void *target);
int config_apply_builtins(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list, void *target);
int config_apply_manual_scaling(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *map,
                                void *target);
int config_apply_admin_console(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *map,
                               void *target);

/* Checks `builtins:` names that depend on the runtime (after the table). */
int config_check_builtins_runtime(yt_doc_t *d, const yaml_node_t *list, const char *runtime);

/* Refuses a CGI handler (handlers[0..n), loaded from `list` in d) when cfg
 * is a threadsafe python27 app, naming the handler's script line. */
int config_check_cgi_threadsafe(yt_doc_t *d, const yaml_node_t *list, const handler_t *handlers,
                                size_t n, const app_config_t *cfg);

/* `script: auto` becomes cfg->python3_app (python3 runtimes only) in
 * handlers[0..n). */
int config_resolve_auto_scripts(yt_doc_t *d, handler_t *handlers, size_t n,
                                const app_config_t *cfg);

void config_free_handler(handler_t *h);

/* A python3 app's gunicorn entrypoint's `--chdir` and `--pythonpath`
 * (config_import_path.c): sets cfg->import_path and cfg->gunicorn_chdir,
 * refusing a folder that is not inside the app (at: entrypoint's value). */
int config_set_import_path(yt_doc_t *d, const yaml_node_t *at, const char *entrypoint,
                           app_config_t *cfg);

/* dir/name (no doubled '/'), malloc'd; NULL when out of memory. */
char *config_join_path(const char *dir, const char *name);

/* A table row for an optional key App Engine apps carry that gaelic
 * type-checks and otherwise ignores; empty, it is not given (App Engine's
 * validation.Optional took None as no value). */
#define CONFIG_ACCEPTED(name, type)                                                                \
    {                                                                                              \
        name, type, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, NULL                                   \
    }

/* includes: (config_include.c). config_check_include_list is the table's
 * check of the list itself; config_resolve_includes reads the files the
 * document `d` (app.yaml, whose root is `root`) names and merges them into
 * cfg as App Engine did: included handlers before app.yaml's own (after
 * them with `position: tail`), included env_variables over app.yaml's,
 * skip_files joined, the largest manual_scaling instances. cfg->skip_files must already hold
 * app.yaml's. */
int config_check_include_list(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list,
                              void *target);
int config_resolve_includes(yt_doc_t *d, const yaml_node_t *root, app_config_t *cfg);

#endif
