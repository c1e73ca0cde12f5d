/* Symlinks in the app folder that lead outside it. App Engine's upload
 * followed them: what they pointed to was uploaded as part of the app.
 * Instances here read only their own file tree, so without
 * --follow_symlinks each such link is reported at start (the app's import
 * or open through it would fail without saying why); with it, each
 * target becomes readable to instances (read-only, noexec) and to the
 * master's static file handlers. */
#ifndef GAELIC_APP_LINKS_H
#define GAELIC_APP_LINKS_H

#include <stddef.h>

#include "sandbox_linked.h"

/* Distinct targets instances can be given (each is a mount and a
 * Landlock rule of their tree). */
#define APP_LINKS_MAX SANDBOX_LINKED_MAX

typedef struct {
    int follow;       /* --follow_symlinks */
    const char *root; /* the app folder (real path) */
    /* With follow: the real paths instances may read, none inside
     * another. Owned. */
    char *targets[APP_LINKS_MAX];
    size_t n_targets;
    size_t n_links; /* links seen leading outside */
    int failed;     /* with follow: a link that cannot be followed (err) */
    char err[768];
} app_links_t;

/* config_check_files's outside_link (ctx: an app_links_t): records or
 * reports the link at rel (relative to root) to target; 1 when it is
 * followed (instances will read target). */
int app_links_found(void *ctx, const char *rel, const char *target);

/* After the walk: without follow, one line summing up the links past those
 * reported one by one. */
void app_links_finish(app_links_t *l);

/* 1 when path (absolute, real) is in the app folder, or is a target or
 * inside one. */
int app_links_within(const app_links_t *l, const char *path);

/* The targets to bind into instances' trees, into out (NULL-terminated):
 * those not in readable (NULL-terminated: what instances read anyway, such
 * as /usr), which keep their own mount (bound again noexec, /usr's C
 * extensions would no longer load). */
void app_links_for_instances(const app_links_t *l, const char *const *readable,
                             const char *out[APP_LINKS_MAX + 1]);

void app_links_free(app_links_t *l);

#endif
