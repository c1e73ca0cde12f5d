/* The folders a python3 app's gunicorn entrypoint puts first on sys.path:
 * `--chdir DIR` (gunicorn changes to it and puts it on sys.path) and
 * `--pythonpath A,B` (each made absolute against that folder). gaelic
 * runs no gunicorn, so these are what let `gunicorn --chdir src main:app`
 * import src/main.py here too. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_internal.h"
#include "gunicorn_args.h"

/* The real path of folder (relative to base, itself a real path), checked
 * to be a folder inside root: the instances see nothing outside it.
 * Malloc'd, or NULL after yt_fail. */
static char *inside_folder(yt_doc_t *d, const yaml_node_t *at, const char *root, const char *base,
                           const char *option, const char *given)
{
    /* App Engine's python3 runtimes ran the app from /workspace, which
     * the app's own folder is here. */
    static const char workspace[] = "/workspace";
    size_t wn = sizeof workspace - 1;
    const char *folder = given;
    if (strncmp(given, workspace, wn) == 0 && (given[wn] == '\0' || given[wn] == '/')) {
        base = root;
        folder = given[wn] ? given + wn + 1 : ".";
    } else if (given[0] == '/') {
        yt_fail(d, at,
                "entrypoint: %s %s: give the folder relative to the app folder, where gunicorn "
                "started (or under App Engine's /workspace, which is the app folder here)",
                option, given);
        return NULL;
    }
    char *joined = config_join_path(base, folder);
    if (!joined) {
        yt_fail(d, NULL, "out of memory");
        return NULL;
    }
    char real[PATH_MAX];
    struct stat st;
    int found = realpath(joined, real) && stat(real, &st) == 0 && S_ISDIR(st.st_mode);
    free(joined);
    size_t n = strlen(root);
    char *copy = NULL;
    if (!found)
        yt_fail(d, at, "entrypoint: %s %s: no such folder in the app", option, given);
    else if (strncmp(real, root, n) != 0 || (real[n] != '\0' && real[n] != '/'))
        yt_fail(d, at, "entrypoint: %s %s: outside the app folder", option, given);
    else if (!(copy = strdup(real)))
        yt_fail(d, NULL, "out of memory");
    return copy;
}

/* Folders in the order gunicorn inserts them at sys.path[0]. */
typedef struct {
    char **folder;
    size_t n;
} inserted_t;

static int insert(inserted_t *in, char *folder)
{
    char **grown = realloc(in->folder, (in->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    in->folder = grown;
    in->folder[in->n++] = folder;
    return 0;
}

/* sys.path's first entries as gunicorn leaves them, one a line: the last
 * inserted first, each once (gunicorn skips what sys.path holds), without
 * the app folder, which instances put on sys.path themselves. */
static char *as_sys_path(const inserted_t *in, const char *root)
{
    size_t size = 1;
    for (size_t i = 0; i < in->n; i++)
        size += strlen(in->folder[i]) + 1;
    char *out = malloc(size);
    if (!out)
        return NULL;
    size_t len = 0;
    for (size_t i = in->n; i-- > 0;) {
        const char *f = in->folder[i];
        int seen = strcmp(f, root) == 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(in->folder[j], f) == 0;
        if (seen)
            continue;
        if (len)
            out[len++] = '\n';
        memcpy(out + len, f, strlen(f));
        len += strlen(f);
    }
    out[len] = '\0';
    return out;
}

int config_set_import_path(yt_doc_t *d, const yaml_node_t *at, const char *entrypoint,
                           app_config_t *cfg)
{
    char *chdir_value = NULL, *pythonpath = NULL;
    if (gunicorn_option(entrypoint, "--chdir", &chdir_value) < 0 ||
        gunicorn_option(entrypoint, "--pythonpath", &pythonpath) < 0) {
        free(chdir_value);
        return yt_fail(d, NULL, "out of memory");
    }
    int rc = 0;
    inserted_t in = {0};
    const char *base = cfg->root;
    if (chdir_value) {
        char *folder = inside_folder(d, at, cfg->root, cfg->root, "--chdir", chdir_value);
        rc = !folder || insert(&in, folder) < 0 ? -1 : 0;
        if (rc == 0)
            base = folder;
        else if (folder)
            free(folder);
    }
    char *save = NULL;
    for (char *entry = pythonpath ? strtok_r(pythonpath, ",", &save) : NULL; rc == 0 && entry;
         entry = strtok_r(NULL, ",", &save)) {
        char *folder = inside_folder(d, at, cfg->root, base, "--pythonpath", entry);
        rc = !folder || insert(&in, folder) < 0 ? -1 : 0;
        if (rc < 0)
            free(folder);
    }
    if (rc == 0 && in.n) {
        cfg->import_path = as_sys_path(&in, cfg->root);
        if (!cfg->import_path)
            rc = yt_fail(d, NULL, "out of memory");
        else if (!*cfg->import_path) {
            free(cfg->import_path);
            cfg->import_path = NULL;
        }
    }
    /* The start says that the working folder stays the app folder. */
    if (rc == 0 && chdir_value && strcmp(base, cfg->root) != 0) {
        cfg->gunicorn_chdir = chdir_value;
        chdir_value = NULL;
    }
    for (size_t i = 0; i < in.n; i++)
        free(in.folder[i]);
    free(in.folder);
    free(chdir_value);
    free(pythonpath);
    return rc;
}
