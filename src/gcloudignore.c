#include "gcloudignore.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

/* Includes nest at most this deep, so a cycle ends. */
#define MAX_INCLUDE_DEPTH 8
#define MAX_REGEX_BYTES (64L * 1024)

typedef struct {
    char *re; /* the rule's regex, matched from the start of a path */
    int negated;
} rule_t;

typedef struct {
    const char *app_root;
    rule_t *rules;
    size_t n, cap;
    char *err;
    size_t errlen;
} rules_t;

/* name: the file, relative to the app folder (NULL: gcloud's default);
 * line 0: the whole file. */
static int fail(rules_t *r, const char *name, int line, const char *why)
{
    if (name && line)
        snprintf(r->err, r->errlen, "%s/%s:%d: %s", r->app_root, name, line, why);
    else if (name)
        snprintf(r->err, r->errlen, "%s/%s: %s", r->app_root, name, why);
    else
        snprintf(r->err, r->errlen, "gcloud's default .gcloudignore: %s", why);
    return -1;
}

static int append_literal(buf_t *re, char c)
{
    if (strchr("\\^$.|?*+()[]{}", c) && buf_append(re, "\\", 1) < 0)
        return -1;
    return buf_append(re, &c, 1);
}

/* A [...] class at p (p[0] == '['), up to end: its length, or 0 when it
 * does not close (the '[' is then a literal, as git takes it). */
static size_t class_len(const char *p, const char *end)
{
    const char *q = p + 1;
    if (q < end && (*q == '!' || *q == '^'))
        q++;
    if (q < end && *q == ']')
        q++;
    for (; q < end; q++) {
        if (*q == '\\' && q + 1 < end)
            q++;
        else if (*q == ']')
            return (size_t)(q - p) + 1;
    }
    return 0;
}

static int append_class(buf_t *re, const char *p, size_t len)
{
    int rc = buf_append(re, "[", 1);
    size_t i = 1;
    if (p[i] == '!' || p[i] == '^') {
        rc = rc ? rc : buf_append(re, "^", 1);
        i++;
    }
    for (; rc == 0 && i < len - 1; i++) {
        if (p[i] == '\\' && i + 1 < len - 1)
            i++;
        /* '-' keeps its range meaning; anything else is itself. */
        if (p[i] != '-' && strchr("\\[]^", p[i]))
            rc = buf_append(re, "\\", 1);
        rc = rc ? rc : buf_append(re, &p[i], 1);
    }
    return rc ? rc : buf_append(re, "]", 1);
}

/* The regex of one .gitignore pattern (p, len: no "!", trailing spaces
 * gone). A pattern with a '/' but at its end is relative to the top
 * folder, else it matches a name at any depth. A trailing '/' meant
 * folders only; skip_files regexes see a folder's path as a file's, so
 * here it matches a file of that name too: matching the folder itself is
 * what keeps a "!" rule from taking a file back out of it, as in git. */
static int translate(buf_t *re, const char *p, size_t len)
{
    if (len > 0 && p[len - 1] == '/')
        len--;
    int anchored = memchr(p, '/', len) != NULL;
    if (anchored && p[0] == '/') {
        p++;
        len--;
    }
    int rc = anchored ? 0 : buf_append_str(re, "(?:.*/)?");
    const char *end = p + len;
    for (const char *q = p; rc == 0 && q < end;) {
        int at_start = q == p || q[-1] == '/';
        if (at_start && end - q >= 3 && !memcmp(q, "**/", 3)) {
            rc = buf_append_str(re, "(?:.*/)?");
            q += 3;
        } else if (end - q == 3 && !memcmp(q, "/**", 3)) {
            rc = buf_append_str(re, "/.*");
            q += 3;
        } else if (*q == '*') {
            rc = buf_append_str(re, "[^/]*");
            while (q < end && *q == '*')
                q++;
        } else if (*q == '?') {
            rc = buf_append_str(re, "[^/]");
            q++;
        } else if (*q == '[' && class_len(q, end)) {
            size_t n = class_len(q, end);
            rc = append_class(re, q, n);
            q += n;
        } else if (*q == '\\' && q + 1 < end) {
            rc = append_literal(re, q[1]);
            q += 2;
        } else {
            rc = append_literal(re, *q);
            q++;
        }
    }
    return rc ? rc : buf_append_str(re, "(?:/|$)");
}

static int add_rule(rules_t *r, const char *p, size_t len, int negated)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        rule_t *grown = realloc(r->rules, cap * sizeof *grown);
        if (!grown)
            return -1;
        r->rules = grown;
        r->cap = cap;
    }
    buf_t re = BUF_INIT;
    if (translate(&re, p, len) < 0 || buf_append(&re, "", 1) < 0) {
        buf_free(&re);
        return -1;
    }
    r->rules[r->n].re = strdup(buf_ptr(&re));
    buf_free(&re);
    if (!r->rules[r->n].re)
        return -1;
    r->rules[r->n++].negated = negated;
    return 0;
}

/* The file at rel (in the app folder) into *text, as config files are
 * read; -1 with the reason (without the path) in why. */
static int read_file(const char *app_root, const char *rel, char **text, size_t *len, char *why,
                     size_t whylen)
{
    char path[PATH_MAX], err[PATH_MAX + 256];
    if (snprintf(path, sizeof path, "%s/%s", app_root, rel) >= (int)sizeof path) {
        snprintf(why, whylen, "%s", strerror(ENAMETOOLONG));
        return -1;
    }
    if (config_read_file(path, text, len, err, sizeof err) < 0) {
        snprintf(why, whylen, "%s", err + strlen(path) + 2); /* "PATH: reason" */
        return -1;
    }
    return 0;
}

static int add_text(rules_t *r, const char *name, const char *text, size_t len, int depth);

static int add_include(rules_t *r, const char *name, int line, const char *rel, int depth)
{
    char why[300];
    if (!rel[0] || rel[0] == '/' || config_has_dotdot_component(rel)) {
        snprintf(why, sizeof why, "#!include:%.200s: name a file inside the app folder", rel);
        return fail(r, name, line, why);
    }
    if (depth >= MAX_INCLUDE_DEPTH)
        return 0;
    char *text;
    size_t len;
    char reason[200];
    if (read_file(r->app_root, rel, &text, &len, reason, sizeof reason) < 0) {
        snprintf(why, sizeof why, "#!include:%.150s: %.100s", rel, reason);
        return fail(r, name, line, why);
    }
    int rc = add_text(r, rel, text, len, depth + 1);
    free(text);
    return rc;
}

static int add_text(rules_t *r, const char *name, const char *text, size_t len, int depth)
{
    static const char INCLUDE[] = "#!include:";
    const char *end = text + len;
    int line = 0;
    for (const char *p = text; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        line++;
        if (eol > p && eol[-1] == '\r')
            eol--;
        size_t n = (size_t)(eol - p);
        if (n >= sizeof INCLUDE - 1 && !memcmp(p, INCLUDE, sizeof INCLUDE - 1)) {
            char rel[1024];
            snprintf(rel, sizeof rel, "%.*s", (int)(n - (sizeof INCLUDE - 1)),
                     p + sizeof INCLUDE - 1);
            if (add_include(r, name, line, rel, depth) < 0)
                return -1;
        } else if (n > 0 && p[0] != '#') {
            /* Trailing spaces go unless a backslash escapes the last. */
            while (n > 0 && p[n - 1] == ' ' && !(n > 1 && p[n - 2] == '\\'))
                n--;
            int negated = p[0] == '!';
            const char *pat = p + negated;
            size_t plen = n - (size_t)negated;
            if (plen > 0 && !(plen == 1 && pat[0] == '/') && add_rule(r, pat, plen, negated) < 0)
                return fail(r, name, line, "out of memory");
        }
        p = next;
    }
    return 0;
}

/* The last rule a path matches decides: it is left out when some kept-out
 * rule matches and no "!" rule after it does. */
static int combine(const rules_t *r, buf_t *re)
{
    int rc = buf_append_str(re, "(?:");
    int any = 0;
    for (size_t i = 0; rc == 0 && i < r->n; i++) {
        if (r->rules[i].negated)
            continue;
        rc = buf_printf(re, "%s(?=%s)", any++ ? "|" : "", r->rules[i].re);
        for (size_t j = i + 1; rc == 0 && j < r->n; j++)
            if (r->rules[j].negated)
                rc = buf_printf(re, "(?!%s)", r->rules[j].re);
    }
    /* No rule leaves anything out: a regex that never matches. */
    if (rc == 0 && !any)
        rc = buf_append_str(re, "(?!)");
    rc = rc ? rc : buf_append_str(re, ")");
    return rc ? rc : buf_append(re, "", 1);
}

int gcloudignore_regex(const char *app_root, const char *name, const char *text, size_t len,
                       buf_t *re, char *err, size_t errlen)
{
    rules_t r = {.app_root = app_root, .err = err, .errlen = errlen};
    int rc = add_text(&r, name, text, len, 0);
    if (rc == 0 && combine(&r, re) < 0)
        rc = fail(&r, name, 0, "out of memory");
    /* The regex goes to the instances on their command line. */
    if (rc == 0 && re->len > MAX_REGEX_BYTES)
        rc = fail(&r, name, 0, "too many rules (their regex would be over 64 KiB)");
    for (size_t i = 0; i < r.n; i++)
        free(r.rules[i].re);
    free(r.rules);
    return rc;
}

int gcloudignore_app_regex(const char *app_root, buf_t *re, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/.gcloudignore", app_root);
    if (access(path, F_OK) == 0) {
        char *text, reason[200];
        size_t len;
        if (read_file(app_root, ".gcloudignore", &text, &len, reason, sizeof reason) < 0) {
            snprintf(err, errlen, "%s: %s", path, reason);
            return -1;
        }
        int rc = gcloudignore_regex(app_root, ".gcloudignore", text, len, re, err, errlen);
        free(text);
        return rc;
    }
    snprintf(path, sizeof path, "%s/.gitignore", app_root);
    const char *dflt = access(path, F_OK) == 0 ? GCLOUDIGNORE_DEFAULT GCLOUDIGNORE_INCLUDE_GITIGNORE
                                               : GCLOUDIGNORE_DEFAULT;
    return gcloudignore_regex(app_root, NULL, dflt, strlen(dflt), re, err, errlen);
}
