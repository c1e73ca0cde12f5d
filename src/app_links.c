#include "app_links.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_rules.h"
#include "log.h"

/* Each link is named in the log up to this many times. */
#define REPORTED_MAX 10

/* 1 when path is base or inside it (the audit hook's own test). */
static int is_within(const char *path, const char *base)
{
    return audit_path_within(path, &base, 1);
}

static int in_targets(const app_links_t *l, const char *path)
{
    return audit_path_within(path, (const char *const *)l->targets, l->n_targets);
}

int app_links_within(const app_links_t *l, const char *path)
{
    return is_within(path, l->root) || in_targets(l, path);
}

void app_links_for_instances(const app_links_t *l, const char *const *readable,
                             const char *out[APP_LINKS_MAX + 1])
{
    size_t n = 0;
    for (size_t i = 0; i < l->n_targets; i++) {
        int read_anyway = 0;
        for (size_t j = 0; readable[j] && !read_anyway; j++)
            read_anyway = is_within(l->targets[i], readable[j]);
        if (!read_anyway)
            out[n++] = l->targets[i];
    }
    out[n] = NULL;
}

static void fail(app_links_t *l, const char *rel, const char *target, const char *why)
{
    if (l->failed)
        return;
    l->failed = 1;
    snprintf(l->err, sizeof l->err, "%s/%s -> %s: %s", l->root, rel, target, why);
}

/* Adds target, or keeps the one it is inside; one inside it gives way. */
static void add_target(app_links_t *l, const char *rel, const char *target)
{
    if (in_targets(l, target))
        return;
    size_t kept = 0;
    for (size_t i = 0; i < l->n_targets; i++) {
        if (is_within(l->targets[i], target))
            free(l->targets[i]);
        else
            l->targets[kept++] = l->targets[i];
    }
    l->n_targets = kept;
    if (l->n_targets == APP_LINKS_MAX) {
        char why[128];
        snprintf(why, sizeof why,
                 "--follow_symlinks takes links to at most %d places outside the app folder",
                 APP_LINKS_MAX);
        fail(l, rel, target, why);
        return;
    }
    char *copy = strdup(target);
    if (!copy) {
        fail(l, rel, target, "out of memory");
        return;
    }
    l->targets[l->n_targets++] = copy;
}

/* Folds path ("/a/./b/../c") into out without looking at the disk; 0, or
 * -1 when it does not fit. */
static int fold_path(const char *path, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        const char *end = p;
        while (*end && *end != '/')
            end++;
        size_t len = (size_t)(end - p);
        if (len == 0 || (len == 1 && p[0] == '.')) {
            /* nothing */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (n > 0 && out[--n] != '/')
                ;
        } else {
            if (n + 1 + len + 1 > size)
                return -1;
            out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p = end;
    }
    if (n == 0)
        out[n++] = '/';
    out[n] = '\0';
    return 0;
}

/* 1 when the link at root/rel names target itself, with no other link on
 * the way: an instance's tree holds target at its real path only, so a
 * link naming it through another (/tmp/x/alias -> real, a symlinked
 * /home) would lead nowhere there. */
static int names_target(const app_links_t *l, const char *rel, const char *target)
{
    char link[PATH_MAX], text[PATH_MAX], joined[2 * PATH_MAX], folded[PATH_MAX];
    if (snprintf(link, sizeof link, "%s/%s", l->root, rel) >= (int)sizeof link)
        return 0;
    ssize_t len = readlink(link, text, sizeof text - 1);
    if (len <= 0)
        return 0;
    text[len] = '\0';
    if (text[0] == '/')
        snprintf(joined, sizeof joined, "%s", text);
    else
        snprintf(joined, sizeof joined, "%.*s/%s", (int)(strrchr(link, '/') - link), link, text);
    return fold_path(joined, folded, sizeof folded) == 0 && strcmp(folded, target) == 0;
}

int app_links_found(void *ctx, const char *rel, const char *target)
{
    app_links_t *l = ctx;
    l->n_links++;
    if (!l->follow) {
        if (l->n_links <= REPORTED_MAX)
            log_warn("%s/%s -> %s is outside the app folder: instances cannot read it (App "
                     "Engine's upload followed such links; serve with --follow_symlinks to do "
                     "the same)",
                     l->root, rel, target);
        return 0;
    }
    /* Its tree would hold the app's own folder, or everything. */
    if (is_within(l->root, target)) {
        fail(l, rel, target, "a link to a folder that holds the app cannot be followed");
        return 0;
    }
    /* The kernel's views of processes and devices (another process's
     * environment, a raw disk) are no app files. */
    static const char *const kernel_trees[] = {"/proc", "/sys", "/dev", "/run"};
    for (size_t i = 0; i < sizeof kernel_trees / sizeof *kernel_trees; i++)
        if (is_within(target, kernel_trees[i])) {
            fail(l, rel, target, "a link into /proc, /sys, /dev or /run cannot be followed");
            return 0;
        }
    struct stat st;
    if (stat(target, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
        fail(l, rel, target, "only links to files and folders can be followed");
        return 0;
    }
    if (!names_target(l, rel, target)) {
        fail(l, rel, target,
             "the link reaches this through another link; --follow_symlinks follows links "
             "that name their target's real path (make it point there)");
        return 0;
    }
    add_target(l, rel, target);
    return !l->failed;
}

void app_links_finish(app_links_t *l)
{
    if (!l->follow && l->n_links > REPORTED_MAX)
        log_warn("%zu more links in %s lead outside it", l->n_links - REPORTED_MAX, l->root);
}

void app_links_free(app_links_t *l)
{
    for (size_t i = 0; i < l->n_targets; i++)
        free(l->targets[i]);
    l->n_targets = 0;
}
