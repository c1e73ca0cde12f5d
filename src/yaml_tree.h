/* A loaded YAML document plus a table-driven validator for its mappings.
 * Shared by the app.yaml loader (config.c) and any other YAML config file.
 * Every error is written as "PATH:LINE: reason" into the caller's buffer. */
#ifndef GAELIC_YAML_TREE_H
#define GAELIC_YAML_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

typedef struct {
    yaml_document_t doc;
    int loaded;       /* doc must be deleted */
    const char *path; /* borrowed: names the file in messages */
    char *err;        /* borrowed: the caller's message buffer */
    size_t errlen;
} yt_doc_t;

/* Bound of what yt_load accepts: real config files nest a few levels. */
#define YT_MAX_DEPTH 64

/* Parses exactly one UTF-8 document and refuses duplicate mapping keys,
 * anchors and aliases, and tabs outside quoted and block scalars and
 * comments (App Engine's loader, PyYAML's Python one, refused all four).
 * An empty stream loads fine and has no root. Returns 0 or -1 (message in
 * err); yt_free is safe to call either way. */
int yt_load(yt_doc_t *d, const char *text, size_t len, const char *path, char *err, size_t errlen);
void yt_free(yt_doc_t *d);

yaml_node_t *yt_root(yt_doc_t *d);
yaml_node_t *yt_node(yt_doc_t *d, int index);
int yt_line(const yaml_node_t *n); /* 1-based */

/* Writes "PATH:LINE: reason" (LINE of `at`, or "PATH: reason" when at is
 * NULL) and returns -1, so callers can `return yt_fail(...)`. */
int yt_fail(yt_doc_t *d, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int yt_fail_line(yt_doc_t *d, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Printable, truncated copy of a scalar for messages ("got 'xyz'"). */
const char *yt_quote(char *out, size_t outlen, const char *s, size_t len);

/* Plain scalars "", "~", "null", "Null", "NULL" mean no value (YAML 1.1). */
int yt_is_null(const yaml_node_t *n);
/* The scalar as text when it is a non-null scalar without NUL bytes, else
 * NULL. The pointer lives as long as the document. */
const char *yt_text(const yaml_node_t *n);

/* The scalar n (not a list or mapping) as App Engine's SDK turned a value
 * into a string: PyYAML's YAML 1.1 value of a plain scalar, written as
 * Python's str() writes it ("True", "None", "7" for 007, "90" for 1:30,
 * "1.1" for 1.10); a quoted scalar as written. malloc'd; NULL when out of
 * memory. */
char *yt_python_str(const yaml_node_t *n);

/* Value kinds a table field can require. */
typedef enum {
    YT_STRING,         /* any non-null scalar (numbers become their text) */
    YT_BOOL,           /* YAML 1.1 booleans (true/false/yes/no/on/off ...), or a YAML
                        * int as Python's bool() takes it */
    YT_DURATION,       /* App Engine "1d 2h 3m 4s"; a bare number is seconds */
    YT_ENUM,           /* one of `allowed` */
    YT_LIST,           /* sequence */
    YT_MAP,            /* mapping */
    YT_STRING_OR_LIST, /* a scalar or a sequence */
} yt_type_t;

#define YT_REQUIRED 1u
#define YT_NULL_ABSENT 2u /* an empty value (null) counts as no value at all */
/* YT_STRING: the text checked and stored is yt_python_str's (what App
 * Engine's Regex validators matched: `version: 01` is "1") */
#define YT_PYTHON_STR 4u
#define YT_NOWHERE ((size_t)-1) /* offset of a field that is only checked */

typedef struct yt_field yt_field_t;

/* Custom conversion of an already type-checked value into target. */
typedef int (*yt_apply_fn)(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *value,
                           void *target);
/* Extra check of a scalar's text before it is stored. */
typedef int (*yt_check_fn)(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *value,
                           const char *text);

/* One row of a validation table. Without `apply`, the value is stored at
 * `offset` in the target struct: YT_STRING as a malloc'd char *, YT_BOOL and
 * YT_ENUM (index into allowed) as int, YT_DURATION as long seconds. With
 * offset YT_NOWHERE and no apply, the key is accepted, type-checked and
 * ignored. */
struct yt_field {
    const char *name;
    yt_type_t type;
    unsigned flags;
    const char *const *allowed; /* YT_ENUM: NULL-terminated */
    size_t offset;
    yt_check_fn check;
    yt_apply_fn apply;
};

#define YT_MAX_FIELDS 64

/* Validates `map` against the table and fills target. `what` names the
 * mapping in messages ("handler"), NULL for the top level. *seen (optional)
 * gets bit i set for each field i present. */
int yt_map_apply(yt_doc_t *d, const yaml_node_t *map, const yt_field_t *fields, size_t n_fields,
                 void *target, const char *what, uint64_t *seen);

/* The key node / value node of `name` in a mapping, or NULL. */
yaml_node_t *yt_map_key(yt_doc_t *d, const yaml_node_t *map, const char *name);
yaml_node_t *yt_map_value(yt_doc_t *d, const yaml_node_t *map, const char *name);
/* The same when `name` has a value: present and not null (a YT_NULL_ABSENT
 * field's empty value is no value), else NULL. */
yaml_node_t *yt_map_given_key(yt_doc_t *d, const yaml_node_t *map, const char *name);
yaml_node_t *yt_map_given_value(yt_doc_t *d, const yaml_node_t *map, const char *name);

/* "a mapping", "a list", "an empty value" or the quoted scalar, for
 * "expected X, got Y" messages. */
const char *yt_describe(const yaml_node_t *n, char *buf, size_t buflen);

/* Parses an App Engine duration ("4d 5h", "30m", "10s", "90"). Returns 0,
 * -1 when malformed, or -2 when well formed but over INT32_MAX seconds. */
int yt_parse_duration(const char *s, long *out);

/* Edit distance (case-insensitive), for "did you mean" suggestions. */
size_t yt_edit_distance(const char *a, const char *b);

#endif
