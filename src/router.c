/* Request path -> app.yaml handler (RT1). Runs on the master's event loop
 * for every request: the only allocation is the returned target string. */
#include "router.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A url pattern with catastrophic backtracking must not stall the master:
 * past this many steps the match fails and the request gets an error. */
#define ROUTER_MATCH_LIMIT 1000000u
#define MIN_OVECTOR_PAIRS 16u

/* Reused across calls; per thread so the router stays reentrant. */
static __thread pcre2_match_data *tls_match_data;
static __thread uint32_t tls_match_pairs;
static __thread pcre2_match_context *tls_match_context;

static pcre2_match_data *match_data_for(uint32_t pairs)
{
    if (tls_match_data && tls_match_pairs >= pairs)
        return tls_match_data;
    if (pairs < MIN_OVECTOR_PAIRS)
        pairs = MIN_OVECTOR_PAIRS;
    pcre2_match_data_free(tls_match_data);
    tls_match_data = pcre2_match_data_create(pairs, NULL);
    tls_match_pairs = tls_match_data ? pairs : 0;
    return tls_match_data;
}

static pcre2_match_context *match_context(void)
{
    if (!tls_match_context) {
        tls_match_context = pcre2_match_context_create(NULL);
        if (tls_match_context)
            pcre2_set_match_limit(tls_match_context, ROUTER_MATCH_LIMIT);
    }
    return tls_match_context;
}

typedef struct {
    const char *subject;
    const PCRE2_SIZE *ovector;
    uint32_t n_set; /* groups 0..n_set-1 may be set; later ones are not */
} match_t;

/* Group g's text, or an empty slice when the group did not take part. */
static size_t group_text(const match_t *m, uint32_t g, const char **text)
{
    *text = "";
    if (g >= m->n_set || m->ovector[2 * g] == PCRE2_UNSET)
        return 0;
    *text = m->subject + m->ovector[2 * g];
    return m->ovector[2 * g + 1] - m->ovector[2 * g];
}

/* Copies tmpl into out (when not NULL) with \1..\9 replaced by the groups;
 * returns the length. config.c guarantees every backslash starts \1..\9. */
static size_t expand(const char *tmpl, const match_t *m, char *out)
{
    size_t n = 0;
    for (const char *p = tmpl; *p; p++) {
        if (p[0] == '\\' && p[1] >= '1' && p[1] <= '9') {
            const char *text;
            size_t len = group_text(m, (uint32_t)(p[1] - '0'), &text);
            if (out)
                memcpy(out + n, text, len);
            n += len;
            p++;
            continue;
        }
        if (out)
            out[n] = *p;
        n++;
    }
    return n;
}

static char *substitute(const char *tmpl, const match_t *m)
{
    size_t len = expand(tmpl, m, NULL);
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    expand(tmpl, m, out);
    out[len] = '\0';
    return out;
}

/* static_dir + "/" + what the url's trailing (.*) captured (config.c
 * compiles static_dir urls as "(?:url)/(.*)", so it is the last group). */
static char *static_dir_target(const handler_t *h, const match_t *m, uint32_t last_group)
{
    const char *rest;
    size_t rest_len = group_text(m, last_group, &rest);
    size_t dir_len = strlen(h->static_dir);
    int slash = dir_len > 0 && h->static_dir[dir_len - 1] != '/';
    char *out = malloc(dir_len + (size_t)slash + rest_len + 1);
    if (!out)
        return NULL;
    memcpy(out, h->static_dir, dir_len);
    if (slash)
        out[dir_len] = '/';
    memcpy(out + dir_len + (size_t)slash, rest, rest_len);
    out[dir_len + (size_t)slash + rest_len] = '\0';
    return out;
}

#define PYTHON_LIB_PREFIX "$PYTHON_LIB/"

static int names_python_lib(const char *script)
{
    return strncmp(script, PYTHON_LIB_PREFIX, sizeof PYTHON_LIB_PREFIX - 1) == 0;
}

/* A CGI script path that begins "$PYTHON_LIB/" is run from the runtime's
 * own library (runtime/cgi.py). Only app.yaml may say so: when the prefix
 * came from the url (script: \1.py and a request for
 * /$PYTHON_LIB/webapp2.py), a client would choose a library file to run,
 * so the path stays one in the app folder, as any group's text is. */
static char *script_target(const handler_t *h, const match_t *m)
{
    char *target = substitute(h->script, m);
    if (!target || !h->script_is_cgi || names_python_lib(h->script) || !names_python_lib(target))
        return target;
    size_t len = strlen(target);
    char *in_app = malloc(len + 3);
    if (in_app) {
        memcpy(in_app, "./", 2);
        memcpy(in_app + 2, target, len + 1);
    }
    free(target);
    return in_app;
}

static char *build_target(const handler_t *h, const match_t *m, uint32_t groups)
{
    switch (h->kind) {
    case HANDLER_STATIC_DIR:
        return static_dir_target(h, m, groups);
    case HANDLER_STATIC_FILES:
        return substitute(h->static_files, m);
    default:
        return script_target(h, m);
    }
}

int router_match(const app_config_t *cfg, const char *path, size_t len, route_t *r)
{
    return router_match_from(cfg, path, len, 0, r);
}

int router_match_from(const app_config_t *cfg, const char *path, size_t len, size_t from,
                      route_t *r)
{
    memset(r, 0, sizeof *r);
    r->file_fd = -1;
    pcre2_match_context *mctx = match_context();
    if (!mctx)
        return -1;
    for (size_t i = from; i < cfg->n_handlers; i++) {
        const handler_t *h = &cfg->handlers[i];
        if (!h->re)
            continue;
        uint32_t groups = 0;
        pcre2_pattern_info(h->re, PCRE2_INFO_CAPTURECOUNT, &groups);
        pcre2_match_data *md = match_data_for(groups + 1);
        if (!md)
            return -1;
        /* Anchored at both ends at compile time: a whole-path match. */
        int rc = pcre2_match(h->re, (PCRE2_SPTR)path, len, 0, 0, md, mctx);
        if (rc == PCRE2_ERROR_NOMATCH)
            continue;
        if (rc < 0)
            return -1;
        match_t m = {path, pcre2_get_ovector_pointer(md), (uint32_t)rc};
        char *target = build_target(h, &m, groups);
        if (!target)
            return -1;
        r->handler = h;
        r->index = i;
        r->target = target;
        return 1;
    }
    return 0;
}

const char *route_url_map_entry(const route_t *r)
{
    return r->handler->kind == HANDLER_SCRIPT && r->handler->script_is_auto ? "auto" : r->target;
}

void route_free(route_t *r)
{
    if (!r)
        return;
    free(r->target);
    r->target = NULL;
    if (r->file_fd >= 0)
        close(r->file_fd);
    r->file_fd = -1;
}

size_t router_normalize_path(char *path, size_t len)
{
    size_t o = 1, kept = 0; /* path[0..o) is '/' and the kept segments */
    for (size_t i = 1; i <= len;) {
        size_t end = i;
        while (end < len && path[end] != '/')
            end++;
        size_t n = end - i;
        if (n == 2 && path[i] == '.' && path[i + 1] == '.') {
            if (kept) {
                while (o > 1 && path[o - 1] != '/')
                    o--;
                if (--kept)
                    o--; /* the '/' before it, unless that is the leading one */
            }
        } else if (!(n == 1 && path[i] == '.')) {
            if (kept++)
                path[o++] = '/';
            memmove(path + o, path + i, n); /* o <= i: the output never outruns the input */
            o += n;
        }
        i = end + 1;
    }
    return o;
}
