#include "yaml_tree.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- messages ---------------------------------------------------------- */

static int vfail(yt_doc_t *d, int line, const char *fmt, va_list ap)
{
    if (!d->err || d->errlen == 0)
        return -1;
    const char *path = d->path ? d->path : "(yaml)";
    int n = line > 0 ? snprintf(d->err, d->errlen, "%s:%d: ", path, line)
                     : snprintf(d->err, d->errlen, "%s: ", path);
    if (n >= 0 && (size_t)n < d->errlen)
        vsnprintf(d->err + n, d->errlen - (size_t)n, fmt, ap);
    return -1;
}

int yt_fail_line(yt_doc_t *d, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(d, line, fmt, ap);
    va_end(ap);
    return -1;
}

int yt_fail(yt_doc_t *d, const yaml_node_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(d, at ? yt_line(at) : 0, fmt, ap);
    va_end(ap);
    return -1;
}

const char *yt_quote(char *out, size_t outlen, const char *s, size_t len)
{
    enum { MAX_SHOWN = 60 };
    if (outlen == 0)
        return out;
    size_t shown = len;
    int cut = 0;
    if (shown > MAX_SHOWN) {
        shown = MAX_SHOWN;
        /* Do not split a UTF-8 sequence. */
        while (shown > 0 && ((unsigned char)s[shown] & 0xC0) == 0x80)
            shown--;
        cut = 1;
    }
    size_t o = 0;
    for (size_t i = 0; i < shown && o + 1 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
    }
    for (int i = 0; cut && i < 3 && o + 1 < outlen; i++)
        out[o++] = '.';
    out[o] = '\0';
    return out;
}

const char *yt_describe(const yaml_node_t *n, char *buf, size_t buflen)
{
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    if (yt_is_null(n))
        return "an empty value";
    char q[80];
    yt_quote(q, sizeof q, (const char *)n->data.scalar.value, n->data.scalar.length);
    snprintf(buf, buflen, "'%s'", q);
    return buf;
}

/* ---- loading ----------------------------------------------------------- */

yaml_node_t *yt_root(yt_doc_t *d)
{
    return d->loaded ? yaml_document_get_root_node(&d->doc) : NULL;
}

yaml_node_t *yt_node(yt_doc_t *d, int index)
{
    return yaml_document_get_node(&d->doc, index);
}

int yt_line(const yaml_node_t *n)
{
    size_t line = n->start_mark.line + 1;
    return line > INT32_MAX ? INT32_MAX : (int)line;
}

/* libyaml's reader reports a byte offset, not a line. */
static int line_of_offset(const char *text, size_t len, size_t offset)
{
    int line = 1;
    for (size_t i = 0; i < offset && i < len && line < INT32_MAX; i++) {
        if (text[i] == '\n' || (text[i] == '\r' && (i + 1 >= len || text[i + 1] != '\n')))
            line++;
    }
    return line;
}

static int parser_fail(yt_doc_t *d, const yaml_parser_t *p, const char *text, size_t len)
{
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_MEMORY_ERROR)
        return yt_fail(d, NULL, "out of memory");
    if (p->error == YAML_READER_ERROR) {
        int line = line_of_offset(text, len, p->problem_offset);
        if (p->problem_value != -1)
            return yt_fail_line(d, line, "%s (0x%02X)", problem, (unsigned)p->problem_value);
        return yt_fail_line(d, line, "%s", problem);
    }
    size_t line = p->problem_mark.line + 1;
    int l = line > INT32_MAX ? INT32_MAX : (int)line;
    if (p->context)
        return yt_fail_line(d, l, "%s (%s on line %zu)", problem, p->context,
                            p->context_mark.line + 1);
    return yt_fail_line(d, l, "%s", problem);
}

typedef struct {
    const unsigned char *s;
    size_t len;
    size_t order;
    int line;
} key_ref_t;

static int key_ref_cmp(const void *pa, const void *pb)
{
    const key_ref_t *a = pa, *b = pb;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    int c = memcmp(a->s, b->s, a->len);
    if (c)
        return c;
    return a->order < b->order ? -1 : a->order > b->order;
}

static int same_key(const key_ref_t *a, const key_ref_t *b)
{
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

/* Reports the earliest second occurrence of a key in one mapping. */
static int check_mapping_keys(yt_doc_t *d, const yaml_node_t *map)
{
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (n < 2)
        return 0;
    key_ref_t *keys = malloc(n * sizeof *keys);
    if (!keys)
        return yt_fail(d, NULL, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *key = yt_node(d, map->data.mapping.pairs.start[i].key);
        if (!key || key->type != YAML_SCALAR_NODE)
            continue;
        keys[k++] = (key_ref_t){key->data.scalar.value, key->data.scalar.length, i, yt_line(key)};
    }
    qsort(keys, k, sizeof *keys, key_ref_cmp);
    const key_ref_t *dup = NULL, *first = NULL;
    for (size_t i = 1, group = 0; i < k; i++) {
        if (!same_key(&keys[group], &keys[i])) {
            group = i;
            continue;
        }
        if (i == group + 1 && (!dup || keys[i].order < dup->order)) {
            dup = &keys[i];
            first = &keys[group];
        }
    }
    int rc = 0;
    if (dup) {
        char q[80];
        yt_quote(q, sizeof q, (const char *)dup->s, dup->len);
        rc = yt_fail_line(d, dup->line, "duplicate key '%s' (first on line %d)", q, first->line);
    }
    free(keys);
    return rc;
}

static int check_duplicate_keys(yt_doc_t *d)
{
    for (yaml_node_t *n = d->doc.nodes.start; n < d->doc.nodes.top; n++) {
        if (n->type == YAML_MAPPING_NODE && check_mapping_keys(d, n) < 0)
            return -1;
    }
    return 0;
}

/* A second document after the first one is refused: app.yaml is one. */
static int check_single_document(yt_doc_t *d, yaml_parser_t *p, const char *text, size_t len)
{
    yaml_document_t extra;
    if (!yaml_parser_load(p, &extra))
        return parser_fail(d, p, text, len);
    yaml_node_t *root = yaml_document_get_root_node(&extra);
    int line = root ? yt_line(root) : 0;
    yaml_document_delete(&extra);
    if (root)
        return yt_fail_line(d, line, "a second YAML document; the file must hold only one");
    return 0;
}

/* A parser over text; only UTF-8 is accepted (libyaml would otherwise
 * guess UTF-16 too). */
static int start_parser(yt_doc_t *d, yaml_parser_t *p, const char *text, size_t len)
{
    if (!yaml_parser_initialize(p))
        return yt_fail(d, NULL, "out of memory");
    yaml_parser_set_input_string(p, (const unsigned char *)text, len);
    yaml_parser_set_encoding(p, YAML_UTF8_ENCODING);
    return 0;
}

/* YAML's explicit tags, as App Engine's YAML builder took them: it built
 * a tagged value with PyYAML's constructor for that tag. `!!str 007` stays
 * "007" and `!!str true` "true" (the plain scalars are 7 and True), so a
 * !!str scalar is taken as written. `!!int 010` is 8, `!!bool "yes"` True,
 * as the plain scalars would be: a !!int, !!float, !!bool or !!null scalar
 * whose text is such a value is taken as that plain scalar. !!map and
 * !!seq go on their own kind of node. Any other tag is refused: PyYAML's
 * constructors gave each a meaning of its own (base64 for !!binary, dates
 * for !!timestamp), or had none ('!', an application's `!name`). */
#define YAML_ORG_TAG "tag:yaml.org,2002:"

static int parse_bool(const char *s, int *out);
static int python_int(const char *sign, const char *s, char *out, size_t outlen);
static int is_yaml_float(const char *s);
static int is_null_text(const char *s);

typedef struct {
    size_t ordinal;            /* among the node events (mark_tagged) */
    yaml_scalar_style_t style; /* what the scalar is taken as */
} tagged_t;

typedef struct {
    tagged_t *items; /* the first document's tagged scalars */
    size_t n, cap;
} tagged_list_t;

static int tag_fail(yt_doc_t *d, int line, const char *tag, const char *why)
{
    char shown[80];
    size_t prefix = strlen(YAML_ORG_TAG);
    int standard = strncmp(tag, YAML_ORG_TAG, prefix) == 0;
    const char *rest = standard ? tag + prefix : tag;
    yt_quote(shown, sizeof shown, rest, strlen(rest));
    return yt_fail_line(d, line, "the tag '%s%s' is not supported here: %s", standard ? "!!" : "",
                        shown, why);
}

/* 1 when value, with the sign PyYAML allows, is a value of the scalar type
 * (int, float, bool or null) as a plain scalar would be. */
static int is_plain_value_of(const char *type, const char *value)
{
    int b;
    if (!strcmp(type, "bool"))
        return parse_bool(value, &b) == 0;
    if (!strcmp(type, "null"))
        return is_null_text(value);
    const char *body = value[0] == '-' || value[0] == '+' ? value + 1 : value;
    if (!strcmp(type, "float"))
        return is_yaml_float(body);
    if (strcmp(type, "int") != 0 || strlen(value) > 64)
        return 0;
    char out[96];
    return python_int(value, body, out, sizeof out) == 0;
}

/* Checks the tag of one node event; a tagged scalar of the first document
 * is noted by its ordinal among the node events. */
static int check_tag(yt_doc_t *d, const yaml_event_t *ev, int line, size_t ordinal,
                     int first_document, tagged_list_t *tagged)
{
    const yaml_char_t *tag = ev->type == YAML_SCALAR_EVENT           ? ev->data.scalar.tag
                             : ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.tag
                                                                     : ev->data.mapping_start.tag;
    if (!tag)
        return 0;
    const char *t = (const char *)tag;
    size_t prefix = strlen(YAML_ORG_TAG);
    const char *type = strncmp(t, YAML_ORG_TAG, prefix) == 0 ? t + prefix : "";
    if (ev->type == YAML_SEQUENCE_START_EVENT)
        return !strcmp(type, "seq") ? 0 : tag_fail(d, line, t, "a list takes only !!seq");
    if (ev->type == YAML_MAPPING_START_EVENT)
        return !strcmp(type, "map") ? 0 : tag_fail(d, line, t, "a mapping takes only !!map");
    yaml_scalar_style_t style = YAML_SINGLE_QUOTED_SCALAR_STYLE;
    if (strcmp(type, "str") != 0) {
        if (strcmp(type, "int") && strcmp(type, "float") && strcmp(type, "bool") &&
            strcmp(type, "null"))
            return tag_fail(d, line, t, "a value takes !!str, !!int, !!float, !!bool or !!null");
        if (!is_plain_value_of(type, (const char *)ev->data.scalar.value))
            return tag_fail(d, line, t, "the value is not one of its type");
        style = YAML_PLAIN_SCALAR_STYLE;
    }
    if (!first_document)
        return 0;
    if (tagged->n == tagged->cap) {
        size_t cap = tagged->cap ? tagged->cap * 2 : 16;
        tagged_t *grown = realloc(tagged->items, cap * sizeof *grown);
        if (!grown)
            return yt_fail(d, NULL, "out of memory");
        tagged->items = grown;
        tagged->cap = cap;
    }
    tagged->items[tagged->n++] = (tagged_t){ordinal, style};
    return 0;
}

/* A first pass over the events, before the document is built: libyaml
 * spends time quadratic in the flow nesting depth (its scanner revisits
 * every open level for each token), so a 10 MB file of '[' would take
 * hours; the depth is bounded. Anchors and aliases are refused, as App
 * Engine's YAML builder refused them (BuilderHandler: anchors and
 * references not supported), which also keeps libyaml's alias lookup (a
 * search of all anchors per alias) away. Tags are checked (check_tag).
 * Syntax errors are left to the second pass. */
static int check_limits(yt_doc_t *d, const char *text, size_t len, tagged_list_t *tagged)
{
    yaml_parser_t p;
    if (start_parser(d, &p, text, len) < 0)
        return -1;
    size_t depth = 0, ordinal = 0;
    int rc = 0, done = 0, documents_ended = 0;
    while (rc == 0 && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev))
            break;
        int line = (int)(ev.start_mark.line < INT32_MAX ? ev.start_mark.line + 1 : INT32_MAX);
        const yaml_char_t *anchor = NULL;
        switch (ev.type) {
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            anchor = ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                                          : ev.data.mapping_start.anchor;
            if (++depth > YT_MAX_DEPTH)
                rc = yt_fail_line(d, line, "nested deeper than %d levels", YT_MAX_DEPTH);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        case YAML_SCALAR_EVENT:
            anchor = ev.data.scalar.anchor;
            break;
        case YAML_ALIAS_EVENT:
            rc = yt_fail_line(d, line,
                              "aliases (*name) are not allowed, as App Engine did not allow them");
            break;
        case YAML_DOCUMENT_END_EVENT:
            documents_ended++;
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        if (rc == 0 && anchor)
            rc = yt_fail_line(d, line,
                              "anchors (&name) are not allowed, as App Engine did not allow them");
        if (rc == 0 && (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_SEQUENCE_START_EVENT ||
                        ev.type == YAML_MAPPING_START_EVENT))
            rc = check_tag(d, &ev, line, ordinal++, documents_ended == 0, tagged);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return rc;
}

/* Each tagged scalar takes the style its tag means (check_tag): quoted,
 * which yt_is_null and yt_python_str take as written, or plain. libyaml's
 * loader makes one node per scalar, sequence and mapping event, in event
 * order (aliases, which make none, are refused before), so an ordinal is a
 * node index. */
static void mark_tagged(yt_doc_t *d, const tagged_list_t *tagged)
{
    size_t n_nodes = (size_t)(d->doc.nodes.top - d->doc.nodes.start);
    for (size_t i = 0; i < tagged->n; i++) {
        if (tagged->items[i].ordinal >= n_nodes)
            continue;
        yaml_node_t *node = &d->doc.nodes.start[tagged->items[i].ordinal];
        if (node->type == YAML_SCALAR_NODE)
            node->data.scalar.style = tagged->items[i].style;
    }
}

/* The length of the line break at s (libyaml's: CR LF, CR, LF and UTF-8
 * NEL, LS, PS), or 0. */
static size_t line_break_len(const unsigned char *s, size_t left)
{
    if (s[0] == '\r')
        return left > 1 && s[1] == '\n' ? 2 : 1;
    if (s[0] == '\n')
        return 1;
    if (left > 1 && s[0] == 0xC2 && s[1] == 0x85)
        return 2;
    if (left > 2 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9))
        return 3;
    return 0;
}

/* The next scalar token of p: where it starts for check_tabs (a block
 * scalar on the line after its '|' or '>' header, whose comment is no part
 * of it) and ends; 0 when there is none. */
static int next_scalar(yaml_parser_t *p, yaml_mark_t *start, yaml_mark_t *end, int *plain)
{
    for (;;) {
        yaml_token_t tok;
        if (!yaml_parser_scan(p, &tok))
            return 0;
        yaml_token_type_t type = tok.type;
        if (type == YAML_SCALAR_TOKEN) {
            yaml_scalar_style_t style = tok.data.scalar.style;
            *start = tok.start_mark;
            *end = tok.end_mark;
            *plain = style == YAML_PLAIN_SCALAR_STYLE;
            if (style == YAML_LITERAL_SCALAR_STYLE || style == YAML_FOLDED_SCALAR_STYLE) {
                start->line++;
                start->column = 0;
            }
        }
        yaml_token_delete(&tok);
        if (type == YAML_SCALAR_TOKEN)
            return 1;
        if (type == YAML_STREAM_END_TOKEN)
            return 0;
    }
}

static int mark_before(size_t line, size_t column, const yaml_mark_t *m)
{
    return line < m->line || (line == m->line && column < m->column);
}

/* App Engine read YAML with PyYAML's Python scanner, which took a tab only
 * inside a quoted or block scalar or a comment ("found character '\t' that
 * cannot start any token"); libyaml also takes one after a key's ':', at
 * the end of a value, before a comment and inside a plain scalar. Called
 * once libyaml has accepted the text; walks it beside libyaml's scalar
 * tokens, in libyaml's lines and columns (characters, not bytes). */
static int check_tabs(yt_doc_t *d, const char *text, size_t len)
{
    if (!memchr(text, '\t', len))
        return 0;
    yaml_parser_t p;
    if (start_parser(d, &p, text, len) < 0)
        return -1;
    yaml_mark_t start, end;
    int plain = 0, have = next_scalar(&p, &start, &end, &plain), rc = 0;
    size_t line = 0, column = 0;
    int comment = 0; /* a comment runs to the end of this line */
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len && rc == 0;) {
        size_t br = line_break_len(s + i, len - i);
        if (br) {
            i += br;
            line++;
            column = 0;
            comment = 0;
            continue;
        }
        if (s[i] == '#' || s[i] == '\t') {
            while (have && !mark_before(line, column, &end))
                have = next_scalar(&p, &start, &end, &plain);
            int in_scalar = have && !mark_before(line, column, &start);
            if (s[i] == '#' && !in_scalar)
                comment = 1;
            else if (s[i] == '\t' && !comment && !(in_scalar && !plain))
                rc = yt_fail_line(d, line < INT32_MAX ? (int)line + 1 : INT32_MAX,
                                  "a tab character outside a quoted or block scalar or a comment "
                                  "(App Engine's YAML parser refused it there; use spaces)");
        }
        /* One column per character: UTF-8 continuation bytes add none. */
        for (i++; i < len && (s[i] & 0xC0) == 0x80; i++)
            ;
        column++;
    }
    yaml_parser_delete(&p);
    return rc;
}

int yt_load(yt_doc_t *d, const char *text, size_t len, const char *path, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->path = path;
    d->err = err;
    d->errlen = errlen;
    if (err && errlen)
        err[0] = '\0';

    /* With the encoding forced (start_parser) libyaml no longer skips a BOM itself. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    tagged_list_t tagged = {NULL, 0, 0};
    yaml_parser_t p;
    int rc = -1;
    if (check_limits(d, text, len, &tagged) < 0) {
        free(tagged.items);
        return -1;
    }
    if (start_parser(d, &p, text, len) < 0) {
        free(tagged.items);
        return -1;
    }
    if (!yaml_parser_load(&p, &d->doc)) {
        parser_fail(d, &p, text, len); /* libyaml frees a half-built doc */
        goto out;
    }
    d->loaded = 1;
    mark_tagged(d, &tagged);
    if (yt_root(d) && check_single_document(d, &p, text, len) < 0)
        goto out;
    if (check_tabs(d, text, len) < 0)
        goto out;
    rc = check_duplicate_keys(d);
out:
    yaml_parser_delete(&p);
    free(tagged.items);
    return rc;
}

void yt_free(yt_doc_t *d)
{
    if (d->loaded)
        yaml_document_delete(&d->doc);
    d->loaded = 0;
}

/* ---- scalars ----------------------------------------------------------- */

static int is_null_text(const char *s)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++) {
        if (strcmp(s, nulls[i]) == 0)
            return 1;
    }
    return 0;
}

int yt_is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = (const char *)n->data.scalar.value;
    return strlen(v) == n->data.scalar.length && is_null_text(v);
}

const char *yt_text(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || yt_is_null(n))
        return NULL;
    const char *v = (const char *)n->data.scalar.value;
    if (memchr(v, '\0', n->data.scalar.length)) /* "\0" escapes in quoted scalars */
        return NULL;
    return v;
}

/* PyYAML's (YAML 1.1) boolean words. */
static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* ---- PyYAML's plain scalars as Python's str() -------------------------- */

/* s without '_' (YAML 1.1 digit separators), malloc'd. */
static char *without_underscores(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    for (; *s; s++)
        if (*s != '_')
            *o++ = *s;
    *o = '\0';
    return out;
}

static int all_in(const char *s, const char *set)
{
    return *s && strspn(s, set) == strlen(s);
}

/* YAML 1.1 sexagesimal digits after the first: ":[0-5]?[0-9]" groups. */
static int sexagesimal_tail(const char *s)
{
    while (*s == ':') {
        s++;
        if (!isdigit((unsigned char)s[0]))
            return 0;
        if (isdigit((unsigned char)s[1])) {
            if (s[0] > '5')
                return 0;
            s++;
        }
        s++;
    }
    return *s == '\0';
}

/* PyYAML's int forms (after the sign, '_' kept): 0b.., 0x.., 0 octal,
 * decimal, base 60. Writes the decimal value into out (>= 24 bytes, or
 * strlen(s) + 2 for plain decimal); 0, or -1 when s is not a YAML int. */
static int python_int(const char *sign, const char *s, char *out, size_t outlen)
{
    unsigned long long v = 0;
    int base = 0;
    const char *digits = s;
    if (!strncmp(s, "0b", 2) && all_in(s + 2, "01_"))
        base = 2, digits = s + 2;
    else if (!strncmp(s, "0x", 2) && all_in(s + 2, "0123456789abcdefABCDEF_"))
        base = 16, digits = s + 2;
    else if (s[0] == '0' && all_in(s + 1, "01234567_"))
        base = 8, digits = s + 1;
    else if (!strcmp(s, "0") || (s[0] >= '1' && s[0] <= '9' && all_in(s, "0123456789_"))) {
        /* Any length, as Python's ints: only the separators go. */
        char *plain = without_underscores(s);
        if (!plain)
            return -1;
        const char *p = plain;
        while (p[0] == '0' && p[1])
            p++;
        snprintf(out, outlen, "%s%s", *sign == '-' && strcmp(p, "0") ? "-" : "", p);
        free(plain);
        return 0;
    } else if (s[0] >= '1' && s[0] <= '9') {
        size_t head = strspn(s, "0123456789_");
        /* 18 characters keep the sum inside 64 bits */
        if (s[head] != ':' || !sexagesimal_tail(s + head) || strlen(s) > 18)
            return -1;
        base = 60;
    } else {
        return -1;
    }
    for (const char *p = digits; *p; p++) {
        unsigned d;
        if (*p == '_')
            continue;
        if (base == 60) {
            if (*p == ':') {
                v *= 60;
                continue;
            }
            /* one base-60 digit is the decimal number up to the next ':' */
            unsigned long long part = 0;
            for (; isdigit((unsigned char)*p) || *p == '_'; p++)
                if (*p != '_')
                    part = part * 10 + (unsigned)(*p - '0');
            p--;
            v += part;
            continue;
        }
        d = isdigit((unsigned char)*p) ? (unsigned)(*p - '0')
                                       : (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
        if (v > (ULLONG_MAX - d) / (unsigned)base)
            return -1; /* past 64 bits: left as written */
        v = v * (unsigned)base + d;
    }
    snprintf(out, outlen, "%s%llu", *sign == '-' && v ? "-" : "", v);
    return 0;
}

/* PyYAML's float forms (after the sign): 1.5, 1., .5, 1.5e+3, base 60 with
 * a '.', .inf, .nan. */
static int is_yaml_float(const char *s)
{
    if (!strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF") || !strcmp(s, ".nan") ||
        !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))
        return 1;
    const char *p = s;
    if (isdigit((unsigned char)*p)) {
        p += strspn(p, "0123456789_");
        if (*p == ':') {
            const char *dot = strchr(p, '.');
            if (!dot)
                return 0;
            char tail[64];
            size_t n = (size_t)(dot - p);
            if (n >= sizeof tail)
                return 0;
            memcpy(tail, p, n);
            tail[n] = '\0';
            return sexagesimal_tail(tail) && strspn(dot + 1, "0123456789_") == strlen(dot + 1);
        }
    } else if (*p != '.' || !isdigit((unsigned char)p[1])) {
        return 0; /* ".5" needs a digit after the '.'; "-.5" is no float */
    }
    if (*p != '.')
        return 0;
    p++;
    p += strspn(p, "0123456789_");
    if (*p == 'e' || *p == 'E') {
        if ((p[1] != '+' && p[1] != '-') || !isdigit((unsigned char)p[2]))
            return 0;
        p += 2;
        p += strspn(p, "0123456789");
    }
    return *p == '\0';
}

/* Python 3's repr of a finite double: the shortest digits that read back
 * the same, fixed notation for exponents -4..15, else d.ddde+XX. */
static void python_float_repr(double v, char *out, size_t outlen)
{
    char e[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    const char *sign = e[0] == '-' ? "-" : "";
    const char *m = e[0] == '-' ? e + 1 : e;
    char digits[24];
    size_t nd = 0;
    for (; *m && *m != 'e' && nd + 1 < sizeof digits; m++)
        if (isdigit((unsigned char)*m))
            digits[nd++] = *m;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    int exp = *m == 'e' ? atoi(m + 1) : 0;
    if (exp < -4 || exp >= 16) {
        snprintf(out, outlen, "%s%c%s%se%c%02d", sign, digits[0], nd > 1 ? "." : "", digits + 1,
                 exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        snprintf(out, outlen, "%s0.%.*s%s", sign, -exp - 1, "0000", digits);
    } else if ((size_t)exp + 1 >= nd) {
        snprintf(out, outlen, "%s%s%.*s.0", sign, digits, (int)((size_t)exp + 1 - nd),
                 "000000000000000");
    } else {
        snprintf(out, outlen, "%s%.*s.%s", sign, exp + 1, digits, digits + exp + 1);
    }
}

static char *python_float(const char *sign, const char *s)
{
    char out[64];
    char *plain = without_underscores(s);
    if (!plain)
        return NULL;
    char lower[64];
    snprintf(lower, sizeof lower, "%s", plain);
    for (char *c = lower; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (!strcmp(lower, ".inf")) {
        snprintf(out, sizeof out, "%sinf", *sign == '-' ? "-" : "");
    } else if (!strcmp(lower, ".nan")) {
        snprintf(out, sizeof out, "nan");
    } else {
        double v = 0;
        if (strchr(plain, ':')) { /* base 60: each ':' part is a digit */
            for (char *part = strtok(plain, ":"); part; part = strtok(NULL, ":"))
                v = v * 60 + strtod(part, NULL);
        } else {
            v = strtod(plain, NULL);
        }
        /* Past the largest double the value is infinite, as Python's
         * float() has it ("1.0e+400" is inf); repr's digits are for
         * finite values. */
        if (isinf(v))
            snprintf(out, sizeof out, "%sinf", *sign == '-' ? "-" : "");
        else
            python_float_repr(*sign == '-' ? -v : v, out, sizeof out);
    }
    free(plain);
    return strdup(out);
}

char *yt_python_str(const yaml_node_t *n)
{
    if (yt_is_null(n))
        return strdup("None");
    const char *text = (const char *)n->data.scalar.value;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return strdup(text);
    int b;
    if (parse_bool(text, &b) == 0)
        return strdup(b ? "True" : "False");
    const char *sign = text[0] == '-' || text[0] == '+' ? text : "";
    const char *body = *sign ? text + 1 : text;
    if (is_yaml_float(body) && !(*sign && body[0] == '.' && strcmp(body, ".inf") &&
                                 strcmp(body, ".Inf") && strcmp(body, ".INF")))
        return python_float(sign, body);
    size_t outlen = strlen(text) + 24;
    char *out = malloc(outlen);
    if (out && python_int(sign, body, out, outlen) == 0)
        return out;
    free(out);
    return strdup(text);
}

/* A boolean field's value as App Engine's validation took it: a YAML
 * boolean, or a YAML int converted as Python's bool() does (0 false, any
 * other true: `threadsafe: 1`). A string is refused, though bool() would
 * have made any non-empty one true ("n", a quoted "false"). 0, or -1. */
static int yaml_bool(const yaml_node_t *v, const char *text, int *out)
{
    /* Quoted (or !!str) is a string whatever it reads: "false" too. */
    if (v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return -1;
    if (parse_bool(text, out) == 0)
        return 0;
    const char *sign = text[0] == '-' || text[0] == '+' ? text : "";
    char value[64];
    if (strlen(text) > 40 || python_int(sign, *sign ? text + 1 : text, value, sizeof value) < 0)
        return -1;
    *out = strcmp(value, "0") != 0;
    return 0;
}

static long duration_unit(char c)
{
    switch (c) {
    case 'd':
    case 'D':
        return 86400;
    case 'h':
    case 'H':
        return 3600;
    case 'm':
    case 'M':
        return 60;
    case 's':
    case 'S':
        return 1;
    default:
        return 0;
    }
}

/* App Engine's expiration pattern: terms of digits and an optional unit,
 * separated by white space ("1h 30m"; "1h30m" did not match it). */
int yt_parse_duration(const char *s, long *out)
{
    long total = 0;
    int terms = 0, too_long = 0;
    while (isspace((unsigned char)*s))
        s++;
    while (*s) {
        if (!isdigit((unsigned char)*s))
            return -1;
        long n = 0;
        for (; isdigit((unsigned char)*s); s++) {
            if (n <= INT32_MAX)
                n = n * 10 + (*s - '0');
        }
        long unit = duration_unit(*s);
        if (unit)
            s++;
        else
            unit = 1;
        if (*s && !isspace((unsigned char)*s))
            return -1;
        if (n > INT32_MAX || n > (INT32_MAX - total) / unit)
            too_long = 1;
        else
            total += n * unit;
        terms++;
        while (isspace((unsigned char)*s))
            s++;
    }
    if (terms == 0)
        return -1;
    if (too_long)
        return -2;
    *out = total;
    return 0;
}

size_t yt_edit_distance(const char *a, const char *b)
{
    enum { MAX_LEN = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAX_LEN || lb > MAX_LEN)
        return (size_t)-1;
    size_t prev[MAX_LEN + 1], cur[MAX_LEN + 1];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t subst = prev[j - 1] +
                           (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = subst < del ? (subst < ins ? subst : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

/* ---- mappings and the validation table ---------------------------------- */

static yaml_node_pair_t *map_pair(yt_doc_t *d, const yaml_node_t *map, const char *name)
{
    if (map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *key = yt_node(d, p->key);
        const char *text = key ? yt_text(key) : NULL;
        if (text && strcmp(text, name) == 0)
            return p;
    }
    return NULL;
}

yaml_node_t *yt_map_key(yt_doc_t *d, const yaml_node_t *map, const char *name)
{
    yaml_node_pair_t *p = map_pair(d, map, name);
    return p ? yt_node(d, p->key) : NULL;
}

yaml_node_t *yt_map_value(yt_doc_t *d, const yaml_node_t *map, const char *name)
{
    yaml_node_pair_t *p = map_pair(d, map, name);
    return p ? yt_node(d, p->value) : NULL;
}

static yaml_node_pair_t *given_pair(yt_doc_t *d, const yaml_node_t *map, const char *name)
{
    yaml_node_pair_t *p = map_pair(d, map, name);
    return p && !yt_is_null(yt_node(d, p->value)) ? p : NULL;
}

yaml_node_t *yt_map_given_key(yt_doc_t *d, const yaml_node_t *map, const char *name)
{
    yaml_node_pair_t *p = given_pair(d, map, name);
    return p ? yt_node(d, p->key) : NULL;
}

yaml_node_t *yt_map_given_value(yt_doc_t *d, const yaml_node_t *map, const char *name)
{
    yaml_node_pair_t *p = given_pair(d, map, name);
    return p ? yt_node(d, p->value) : NULL;
}

static int type_fail(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *expected)
{
    char got[96];
    return yt_fail(d, v, "%s: expected %s, got %s", f->name, expected,
                   yt_describe(v, got, sizeof got));
}

static int enum_fail(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v)
{
    char list[256] = "";
    size_t n = 0;
    while (f->allowed[n])
        n++;
    for (size_t i = 0; i < n; i++) {
        const char *sep = i == 0 ? "" : (i + 1 == n ? " or " : ", ");
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", sep, f->allowed[i]);
    }
    return type_fail(d, f, v, list);
}

static int find_allowed(const char *const *allowed, const char *s)
{
    for (int i = 0; allowed[i]; i++) {
        if (strcmp(allowed[i], s) == 0)
            return i;
    }
    return -1;
}

static void *slot(void *target, size_t offset)
{
    return (char *)target + offset;
}

static int store_string(yt_doc_t *d, const yt_field_t *f, const char *text, void *target)
{
    char **dst = slot(target, f->offset);
    char *copy = strdup(text);
    if (!copy)
        return yt_fail(d, NULL, "out of memory");
    free(*dst);
    *dst = copy;
    return 0;
}

/* A YT_PYTHON_STR field's value: checked and stored (or applied) as
 * yt_python_str gives it. */
static int apply_python_str(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, void *target)
{
    char *text = yt_python_str(v);
    if (!text)
        return yt_fail(d, NULL, "out of memory");
    int rc = f->check ? f->check(d, f, v, text) : 0;
    if (rc == 0 && f->apply)
        rc = f->apply(d, f, v, target);
    else if (rc == 0 && f->offset != YT_NOWHERE)
        rc = store_string(d, f, text, target);
    free(text);
    return rc;
}

/* Type-checks one scalar field and stores it unless the field is custom. */
static int apply_scalar(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, void *target)
{
    const char *text = yt_text(v);
    int b = 0, idx = 0, dur = 0;
    long secs = 0;
    switch (f->type) {
    case YT_STRING:
        if (!text)
            return type_fail(d, f, v, "a string");
        if (f->flags & YT_PYTHON_STR)
            return apply_python_str(d, f, v, target);
        break;
    case YT_BOOL:
        if (!text || yaml_bool(v, text, &b) < 0)
            return type_fail(d, f, v, "a boolean");
        break;
    case YT_DURATION:
        dur = text ? yt_parse_duration(text, &secs) : -1;
        if (dur == -2) {
            char q[80];
            yt_quote(q, sizeof q, text, strlen(text));
            return yt_fail(d, v, "%s: '%s' is too long (at most %d seconds, about 68 years)",
                           f->name, q, INT32_MAX);
        }
        if (dur < 0)
            return type_fail(d, f, v,
                             "a duration like '1d 6h', '30m' or '10s' (terms separated by spaces)");
        break;
    case YT_ENUM:
        if (!text || (idx = find_allowed(f->allowed, text)) < 0)
            return enum_fail(d, f, v);
        break;
    default:
        return -1;
    }
    if (f->check && f->check(d, f, v, text) < 0)
        return -1;
    if (f->apply)
        return f->apply(d, f, v, target);
    if (f->offset == YT_NOWHERE)
        return 0;
    switch (f->type) {
    case YT_STRING:
        return store_string(d, f, text, target);
    case YT_BOOL:
        *(int *)slot(target, f->offset) = b;
        return 0;
    case YT_DURATION:
        *(long *)slot(target, f->offset) = secs;
        return 0;
    default: /* YT_ENUM */
        *(int *)slot(target, f->offset) = idx;
        return 0;
    }
}

static int apply_field(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, void *target)
{
    switch (f->type) {
    case YT_LIST:
        if (v->type != YAML_SEQUENCE_NODE)
            return type_fail(d, f, v, "a list");
        break;
    case YT_MAP:
        if (v->type != YAML_MAPPING_NODE)
            return type_fail(d, f, v, "a mapping");
        break;
    case YT_STRING_OR_LIST:
        if (v->type != YAML_SEQUENCE_NODE && !yt_text(v))
            return type_fail(d, f, v, "a string or a list");
        break;
    default:
        return apply_scalar(d, f, v, target);
    }
    return f->apply ? f->apply(d, f, v, target) : 0;
}

static const char *closest_name(const char *key, const yt_field_t *fields, size_t n)
{
    size_t best = (size_t)-1, limit = strlen(key) / 3;
    if (limit < 1)
        limit = 1;
    if (limit > 3)
        limit = 3;
    const char *name = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t dist = yt_edit_distance(key, fields[i].name);
        if (dist <= limit && dist < best) {
            best = dist;
            name = fields[i].name;
        }
    }
    return name;
}

static int unknown_key(yt_doc_t *d, const yaml_node_t *key, const char *name,
                       const yt_field_t *fields, size_t n, const char *what)
{
    char q[80], hint[96] = "";
    const char *near = closest_name(name, fields, n);
    if (near)
        snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
    yt_quote(q, sizeof q, name, strlen(name));
    return yt_fail(d, key, "unknown key '%s'%s%s%s", q, what ? " in " : "", what ? what : "", hint);
}

int yt_map_apply(yt_doc_t *d, const yaml_node_t *map, const yt_field_t *fields, size_t n_fields,
                 void *target, const char *what, uint64_t *seen)
{
    char got[96];
    if (n_fields > YT_MAX_FIELDS)
        return yt_fail(d, map, "internal error: validation table too large");
    if (map->type != YAML_MAPPING_NODE)
        return yt_fail(d, map, "%s must be a mapping, got %s", what ? what : "the top level",
                       yt_describe(map, got, sizeof got));
    uint64_t bits = 0;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *key = yt_node(d, p->key), *value = yt_node(d, p->value);
        if (!key || !value)
            return yt_fail(d, map, "internal error: dangling YAML node");
        const char *name = yt_text(key);
        if (!name || key->type != YAML_SCALAR_NODE)
            return yt_fail(d, key, "expected a key name, got %s",
                           yt_describe(key, got, sizeof got));
        size_t i = 0;
        while (i < n_fields && strcmp(fields[i].name, name) != 0)
            i++;
        if (i == n_fields)
            return unknown_key(d, key, name, fields, n_fields, what);
        if ((fields[i].flags & YT_NULL_ABSENT) && yt_is_null(value))
            continue;
        bits |= (uint64_t)1 << i;
        if (apply_field(d, &fields[i], value, target) < 0)
            return -1;
    }
    for (size_t i = 0; i < n_fields; i++) {
        if (!(fields[i].flags & YT_REQUIRED) || (bits & ((uint64_t)1 << i)))
            continue;
        if (what)
            return yt_fail(d, map, "%s has no '%s'", what, fields[i].name);
        return yt_fail(d, map, "missing required key '%s'", fields[i].name);
    }
    if (seen)
        *seen = bits;
    return 0;
}
