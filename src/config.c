/* app.yaml loader (RT1) and app file limits (RT10).
 * The YAML tree is validated through the tables below (yaml_tree.h does the
 * generic part: types, unknown keys, duplicates, required keys); this file
 * holds App Engine's rules for each value. */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config_internal.h"
#include "gcloudignore.h"
#include "gunicorn_args.h"
#include "instance_class.h"
#include "python_regex.h"
#include "skip_match.h"
#include "yaml_tree.h"

/* App Engine knew a few dozen libraries, so a longer list cannot be valid;
 * the bound also keeps the duplicate check below cheap. */
#define MAX_LIBRARIES 100
#define MAX_APP_YAML_BYTES (10L << 20) /* same as one app file */
#define MAX_DIR_DEPTH 100
#define MIB (1024L * 1024L)

/* App Engine's default, plus __pycache__, which only holds caches. It
 * left .pyc and .pyo files out: an app ships sourceless .pyc modules
 * (RT5) by giving its own skip_files, as App Engine's documentation said. */
static const char DEFAULT_SKIP_FILES[] =
    "^(.*/)?((#.*#)|(.*~)|(.*\\.py[co])|(.*/RCS/.*)|(\\..*)|(__pycache__/.*))$";
_Static_assert(sizeof(login_t) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(secure_t) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(auth_fail_t) == sizeof(int), "enum fields are stored as int");

/* ---- regular expressions ---------------------------------------------- */

/* URL and upload regexes must match the whole subject, as App Engine's
 * did; skip_files only its start (skip_match.h). */
#define WHOLE_MATCH (PCRE2_ANCHORED | PCRE2_ENDANCHORED)

/* pattern is Python's (python_regex.h); messages quote it as written.
 * pcre2_text, if not NULL, gets the text compiled (malloc'd), for the
 * patterns instances compile again. */
static int compile_or_fail_as(yt_doc_t *d, const yaml_node_t *at, const char *field,
                              const char *pattern, uint32_t anchoring, pcre2_code **out,
                              char **pcre2_text)
{
    char msg[160];
    size_t off;
    *out = python_regex_compile(pattern, anchoring, pcre2_text, msg, sizeof msg, &off);
    if (*out) {
        (void)pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE); /* the interpreter is the fallback */
        return 0;
    }
    if (off == SIZE_MAX)
        return yt_fail(d, NULL, "%s", msg);
    char q[80];
    yt_quote(q, sizeof q, pattern, strlen(pattern));
    return yt_fail(d, at, "%s: '%s' is not a valid regular expression: %s (at offset %zu)", field,
                   q, msg, off);
}

static int compile_or_fail(yt_doc_t *d, const yaml_node_t *at, const char *field,
                           const char *pattern, pcre2_code **out)
{
    return compile_or_fail_as(d, at, field, pattern, WHOLE_MATCH, out, NULL);
}

static uint32_t capture_count(const pcre2_code *re)
{
    uint32_t n = 0;
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &n);
    return n;
}

/* Whole-string match of a fixed pattern, for value syntax checks. */
static int matches_whole(const char *pattern, const char *text)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_ANCHORED | PCRE2_ENDANCHORED, &code, &off, NULL);
    if (!re)
        return 0;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = md ? pcre2_match(re, (PCRE2_SPTR)text, strlen(text), 0, 0, md, NULL) : -1;
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

/* ---- checks of single values ------------------------------------------ */

static int bad_value(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *why)
{
    char got[96];
    return yt_fail(d, v, "%s: %s is not valid: %s", f->name, yt_describe(v, got, sizeof got), why);
}

/* As bad_value, for an id taken as yt_python_str gives it (s): a value
 * YAML reads as another (on, 010) is named with what it was read as. */
static int bad_id(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s,
                  const char *why)
{
    if (strcmp(s, yt_text(v)) == 0)
        return bad_value(d, f, v, why);
    char got[96], q[80];
    yt_quote(q, sizeof q, s, strlen(s));
    return yt_fail(d, v, "%s: %s (read by YAML as %s) is not valid: %s", f->name,
                   yt_describe(v, got, sizeof got), q, why);
}

int config_application_valid(const char *s)
{
    /* App Engine's APPLICATION_RE_STRING: [partition~][domain:]id */
    static const char re[] = "(?:[a-z\\d\\-]{1,100}\\~)?(?:(?!\\-)[a-z\\d\\-\\.]{1,100}:)?"
                             "(?!-)[a-z\\d\\-]{0,99}[a-z\\d]";
    return matches_whole(re, s);
}

static int check_application(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s)
{
    if (config_application_valid(s))
        return 0;
    return bad_id(d, f, v, s, "use lowercase letters, digits and '-'");
}

/* App Engine's MODULE_VERSION_ID_RE_STRING and its reserved names: "-dot-"
 * separates version from app in host names. The python27 SDK reserved
 * only the prefix "ah-builtin"; the later App Engine (its Admin API, which
 * every deployment went through) reserved all of "ah-" and the names
 * "default" and "latest", which name a service's serving version in URLs
 * and commands. The later rule wins (SPEC). */
static int check_version(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s)
{
    if (!matches_whole("(?!-)[a-z\\d\\-]{0,62}[a-z\\d]", s))
        return bad_id(d, f, v, s,
                      "use up to 63 lowercase letters, digits and '-', not first or last");
    if (strstr(s, "-dot-"))
        return bad_id(d, f, v, s, "it must not contain '-dot-'");
    if (strncmp(s, "ah-", 3) == 0)
        return bad_id(d, f, v, s, "the prefix 'ah-' is reserved");
    if (strcmp(s, "default") == 0 || strcmp(s, "latest") == 0)
        return bad_id(d, f, v, s, "'default' and 'latest' are reserved");
    return 0;
}

/* App Engine's MODULE_ID_RE_STRING, for module and service (its later
 * name): the service the app's requests and request logs say they are of. */
static int check_module(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s)
{
    if (matches_whole("(?!-)[a-z\\d\\-]{0,62}[a-z\\d]", s))
        return 0;
    return bad_id(d, f, v, s, "use up to 63 lowercase letters, digits and '-', not first or last");
}

static int check_runtime(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s)
{
    (void)f;
    if (matches_whole("python|python27|python3|python3\\d{1,2}", s))
        return 0;
    char q[80];
    yt_quote(q, sizeof q, s, strlen(s));
    return yt_fail(d, v, "runtime '%s' is not supported (python27, python3, python3NN)", q);
}

static int check_api_version(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s)
{
    if (matches_whole("[\\w.]{1,32}", s))
        return 0;
    return bad_value(d, f, v, "use up to 32 letters, digits, '_' and '.'");
}

/* App Engine's SOURCE_LANGUAGE_RE_STRING ("php-quercus" for a Java app
 * built from PHP); checked only. */
static int check_source_language(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                                 const char *s)
{
    if (matches_whole("[\\w.\\-]{1,32}", s))
        return 0;
    return bad_value(d, f, v, "use up to 32 letters, digits, '_', '.' and '-'");
}

static int check_instance_class(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                                const char *s)
{
    /* App Engine's pattern took the letter in either case. */
    if (instance_class_name(s))
        return 0;
    return bad_value(d, f, v, "use F1, F2, F4, F4_1G, B1, B2, B4, B4_1G or B8");
}

/* App Engine's url pattern (appinfo's _URL_REGEX, matched whole): "/..."
 * or "...." as written, or "(" and at least two more characters, not
 * ending with '$'; its '.' took no line feed. Patterns are anchored here
 * anyway, so a '^' or '$' only ever marked a misunderstanding. */
static int check_url(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s)
{
    size_t len = strlen(s);
    if (strchr(s, '\n'))
        return bad_value(d, f, v, "it has a line break");
    if (s[0] == '/' || s[0] == '.')
        return 0;
    if (s[0] == '^')
        return bad_value(d, f, v,
                         "url patterns are anchored already, so one may not start with '^'");
    if (s[0] != '(')
        return bad_value(d, f, v, "a url pattern starts with '/'");
    if (len < 3)
        return bad_value(d, f, v, "it is too short");
    if (s[len - 1] == '$')
        return bad_value(d, f, v,
                         "url patterns are anchored already, so one starting with '(' may not "
                         "end with '$'");
    return 0;
}

int config_has_dotdot_component(const char *s)
{
    for (const char *p = s; (p = strstr(p, "..")) != NULL; p += 2) {
        int starts = p == s || p[-1] == '/';
        int ends = p[2] == '\0' || p[2] == '/';
        if (starts && ends)
            return 1;
    }
    return 0;
}

static int check_relative_path(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                               const char *s)
{
    if (s[0] == '\0')
        return bad_value(d, f, v, "it is empty");
    if (s[0] == '/')
        return bad_value(d, f, v, "it must be relative to the app folder");
    if (config_has_dotdot_component(s))
        return bad_value(d, f, v, "it must not contain '..'");
    return 0;
}

static int check_not_empty(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s)
{
    return s[0] ? 0 : bad_value(d, f, v, "it is empty");
}

/* mime_type becomes a Content-Type header line as written: a CR or LF in it
 * would end the header and start another. */
static int check_mime_type(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s)
{
    if (check_not_empty(d, f, v, s) < 0)
        return -1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7F)
            return bad_value(d, f, v, "it has a control character");
    }
    return 0;
}

/* An upload regex is one line of cfg->static_only_files; App Engine's
 * took no empty one, nor a line break within ('.+'). */
static int check_upload(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s)
{
    if (strchr(s, '\n'))
        return bad_value(d, f, v, "it has a line break");
    return check_not_empty(d, f, v, s);
}

/* ---- handlers ------------------------------------------------------------ */

enum {
    HF_URL,
    HF_SCRIPT,
    HF_STATIC_DIR,
    HF_STATIC_FILES,
    HF_UPLOAD,
    HF_MIME_TYPE,
    HF_EXPIRATION,
    HF_LOGIN,
    HF_SECURE,
    HF_AUTH_FAIL_ACTION,
    HF_APPLICATION_READABLE,
    HF_HTTP_HEADERS,
    HF_REDIRECT_CODE,
    HF_POSITION,
    HF_REQUIRE_MATCHING_FILE,
    HF_COUNT
};

#define BIT(i) ((uint64_t)1 << (i))
/* Keys App Engine allows only in static_dir / static_files handlers. */
#define STATIC_ONLY                                                                                \
    (BIT(HF_UPLOAD) | BIT(HF_MIME_TYPE) | BIT(HF_EXPIRATION) | BIT(HF_APPLICATION_READABLE) |      \
     BIT(HF_HTTP_HEADERS) | BIT(HF_REQUIRE_MATCHING_FILE))

static const char *const LOGIN_VALUES[] = {"optional", "required", "admin", NULL};
static const char *const SECURE_VALUES[] = {"optional", "never", "always", "default", NULL};
static const char *const AUTH_FAIL_VALUES[] = {"redirect", "unauthorized", NULL};
static const char *const REDIRECT_CODES[] = {"301", "302", "303", "307", NULL};
static const char *const POSITIONS[] = {"head", "tail", NULL};

static int apply_http_headers(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *map,
                              void *target);

/* App Engine's 'secure: default' is 'optional' (its FixSecureDefaults). */
static int apply_secure(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, void *target)
{
    (void)d;
    (void)f;
    const char *text = yt_text(v);
    ((handler_t *)target)->secure = strcmp(text, "never") == 0    ? SECURE_NEVER
                                    : strcmp(text, "always") == 0 ? SECURE_ALWAYS
                                                                  : SECURE_OPTIONAL;
    return 0;
}

/* After the table's check: one of REDIRECT_CODES. */
static int apply_redirect_code(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, void *target)
{
    (void)d;
    (void)f;
    ((handler_t *)target)->redirect_code = atoi(yt_text(v));
    return 0;
}

/* App Engine's URLMap: the keys but url, login, secure and
 * auth_fail_action were Optional, so an empty one is not given. */
#define AT(field) offsetof(handler_t, field)
static const yt_field_t HANDLER_FIELDS[HF_COUNT] = {
    [HF_URL] = {"url", YT_STRING, YT_REQUIRED, NULL, AT(url), check_url, NULL},
    [HF_SCRIPT] = {"script", YT_STRING, YT_NULL_ABSENT, NULL, AT(script), check_not_empty, NULL},
    [HF_STATIC_DIR] = {"static_dir", YT_STRING, YT_NULL_ABSENT, NULL, AT(static_dir),
                       check_relative_path, NULL},
    [HF_STATIC_FILES] = {"static_files", YT_STRING, YT_NULL_ABSENT, NULL, AT(static_files),
                         check_relative_path, NULL},
    [HF_UPLOAD] = {"upload", YT_STRING, YT_NULL_ABSENT, NULL, AT(upload), check_upload, NULL},
    [HF_MIME_TYPE] = {"mime_type", YT_STRING, YT_NULL_ABSENT, NULL, AT(mime_type), check_mime_type,
                      NULL},
    [HF_EXPIRATION] = {"expiration", YT_DURATION, YT_NULL_ABSENT, NULL, AT(expiration), NULL, NULL},
    [HF_LOGIN] = {"login", YT_ENUM, 0, LOGIN_VALUES, AT(login), NULL, NULL},
    [HF_SECURE] = {"secure", YT_ENUM, 0, SECURE_VALUES, YT_NOWHERE, NULL, apply_secure},
    [HF_AUTH_FAIL_ACTION] = {"auth_fail_action", YT_ENUM, 0, AUTH_FAIL_VALUES, AT(auth_fail_action),
                             NULL, NULL},
    [HF_APPLICATION_READABLE] = {"application_readable", YT_BOOL, YT_NULL_ABSENT, NULL,
                                 AT(application_readable), NULL, NULL},
    [HF_HTTP_HEADERS] = {"http_headers", YT_MAP, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL,
                         apply_http_headers},
    [HF_REDIRECT_CODE] = {"redirect_http_response_code", YT_ENUM, YT_NULL_ABSENT, REDIRECT_CODES,
                          YT_NOWHERE, NULL, apply_redirect_code},
    [HF_POSITION] = {"position", YT_ENUM, YT_NULL_ABSENT, POSITIONS, AT(position_tail), NULL, NULL},
    [HF_REQUIRE_MATCHING_FILE] = {"require_matching_file", YT_BOOL, YT_NULL_ABSENT, NULL,
                                  AT(require_matching_file), NULL, NULL},
};
#undef AT

static int is_header_token(const char *s)
{
    static const char TCHAR_SYMBOLS[] = "!#$%&'*+-.^_`|~";
    if (!*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!(c < 0x80 && (isalnum(c) || (c && strchr(TCHAR_SYMBOLS, c)))))
            return 0;
    }
    return 1;
}

/* The limit App Engine put on "NAME: VALUE\r\n" of one http_headers item,
 * and the headers allowed longer values. */
#define MAX_HTTP_HEADER_LINE 500
static const struct {
    const char *name;
    size_t max_value;
} LONG_HTTP_HEADERS[] = {{"set-cookie", 4096},
                         {"set-cookie2", 4096},
                         {"location", 2047},
                         {"content-security-policy", 10240},
                         {"content-security-policy-report-only", 10240},
                         {"x-content-security-policy", 10240},
                         {"x-webkit-csp", 10240}};

static int in_list(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

/* One http_headers name, as App Engine's HttpHeadersDict checked it. */
static int check_http_header_name(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *key,
                                  const char *name, const char *q)
{
    static const char *const REQUEST_ONLY[] = {"accept",
                                               "accept-charset",
                                               "accept-encoding",
                                               "accept-language",
                                               "authorization",
                                               "expect",
                                               "from",
                                               "host",
                                               "if-match",
                                               "if-modified-since",
                                               "if-none-match",
                                               "if-range",
                                               "if-unmodified-since",
                                               "max-forwards",
                                               "proxy-authorization",
                                               "range",
                                               "referer",
                                               "te",
                                               "user-agent"};
    static const char *const HOP_BY_HOP[] = {
        "connection",          "keep-alive", "proxy-authenticate",
        "proxy-authorization", "te",         "trailer",
        "transfer-encoding",   "upgrade",    "proxy-connection"};
    static const char *const SERVER_OWNED[] = {"content-encoding", "content-length", "date",
                                               "server"};
#define N(a) (sizeof a / sizeof *a)
    if (!is_header_token(name))
        return yt_fail(d, key, "%s: '%s' is not a valid header name (RFC 9110 token characters)",
                       f->name, q);
    if (in_list(REQUEST_ONLY, N(REQUEST_ONLY), name))
        return yt_fail(d, key, "%s: '%s' is a request header, not a response header", f->name, q);
    if (strncasecmp(name, "x-appengine", 11) == 0)
        return yt_fail(d, key, "%s: '%s': names beginning with X-AppEngine are reserved", f->name,
                       q);
    if (in_list(HOP_BY_HOP, N(HOP_BY_HOP), name))
        return yt_fail(d, key, "%s: '%s' is a hop-by-hop header (RFC 9110 7.6.1)", f->name, q);
    if (in_list(SERVER_OWNED, N(SERVER_OWNED), name))
        return yt_fail(d, key, "%s: '%s' is set by the server and not allowed here", f->name, q);
#undef N
    return 0;
}

static int check_http_header_value(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *value,
                                   const char *name, const char *text, const char *q)
{
    size_t len = strlen(text);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c < 0x20 || *c > 0x7E) {
            char v[80];
            yt_quote(v, sizeof v, text, len);
            return yt_fail(d, value, "%s: %s: '%s' is not valid: header values are printable ASCII",
                           f->name, q, v);
        }
    }
    if (strlen(name) + len + 4 < MAX_HTTP_HEADER_LINE)
        return 0;
    for (size_t i = 0; i < sizeof LONG_HTTP_HEADERS / sizeof *LONG_HTTP_HEADERS; i++) {
        if (strcasecmp(name, LONG_HTTP_HEADERS[i].name) != 0)
            continue;
        if (len <= LONG_HTTP_HEADERS[i].max_value)
            return 0;
        return yt_fail(d, value, "%s: '%s' value has %zu bytes, the limit is %zu", f->name, q, len,
                       LONG_HTTP_HEADERS[i].max_value);
    }
    return yt_fail(d, value, "%s: '%s' is too long: name and value take %d bytes or more", f->name,
                   q, MAX_HTTP_HEADER_LINE);
}

/* App Engine's HttpHeadersDict.MAX_LEN: a handler's http_headers may
 * name at most this many headers (names differing only in case are one). */
#define MAX_HTTP_HEADERS 500

/* Whether `name` is one of the header names of pairs [start, end), in any
 * case. */
static int names_header(yt_doc_t *d, const yaml_node_pair_t *start, const yaml_node_pair_t *end,
                        const char *name)
{
    for (const yaml_node_pair_t *p = start; p < end; p++)
        if (strcasecmp(yt_text(yt_node(d, p->key)), name) == 0)
            return 1;
    return 0;
}

/* HttpHeadersDict refused a header beyond MAX_HTTP_HEADERS entries unless
 * its name, in any case, was there already. The first MAX_HTTP_HEADERS
 * entries hold every name the handler has (any later one repeats one of
 * them), so only they are searched. */
static int check_http_header_count(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *map,
                                   const yaml_node_pair_t *p, const char *q)
{
    const yaml_node_pair_t *first = map->data.mapping.pairs.start;
    if (p - first < MAX_HTTP_HEADERS ||
        names_header(d, first, first + MAX_HTTP_HEADERS, yt_text(yt_node(d, p->key))))
        return 0;
    return yt_fail(d, yt_node(d, p->key),
                   "%s: '%s' is one header too many: a handler has at most %d", f->name, q,
                   MAX_HTTP_HEADERS);
}

/* http_headers: checked, then kept as the header lines static responses
 * of the handler carry (static.c). */
static int apply_http_headers(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *map,
                              void *target)
{
    buf_t lines = BUF_INIT;
    char got[96], q[80];
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *key = yt_node(d, p->key), *value = yt_node(d, p->value);
        const char *name = yt_text(key), *text = yt_text(value);
        if (!name || !text) {
            buf_free(&lines); /* the lines of the headers before this one */
            return !name ? yt_fail(d, key, "%s: expected a name, got %s", f->name,
                                   yt_describe(key, got, sizeof got))
                         : yt_fail(d, value, "%s: expected a string value, got %s", f->name,
                                   yt_describe(value, got, sizeof got));
        }
        yt_quote(q, sizeof q, name, strlen(name));
        if (check_http_header_name(d, f, key, name, q) < 0 ||
            check_http_header_value(d, f, value, name, text, q) < 0 ||
            check_http_header_count(d, f, map, p, q) < 0) {
            buf_free(&lines);
            return -1;
        }
        if (buf_printf(&lines, "%s: %s\r\n", name, text) < 0) {
            buf_free(&lines);
            return yt_fail(d, NULL, "out of memory");
        }
    }
    handler_t *h = target;
    free(h->http_headers);
    h->http_headers = lines.len ? buf_ptr(&lines) : NULL;
    if (!lines.len)
        buf_free(&lines);
    return 0;
}

/* App Engine refused a Content-Type in http_headers beside a mime_type,
 * even the same one. */
static int check_one_content_type(yt_doc_t *d, const yaml_node_t *map, const handler_t *h)
{
    const yaml_node_t *headers = yt_map_given_value(d, map, "http_headers");
    if (!h->mime_type || !headers)
        return 0;
    for (yaml_node_pair_t *p = headers->data.mapping.pairs.start;
         p < headers->data.mapping.pairs.top; p++) {
        yaml_node_t *key = yt_node(d, p->key);
        const char *name = yt_text(key);
        if (name && strcasecmp(name, "content-type") == 0)
            return yt_fail(d, key, "http_headers: %s: the handler has a mime_type already", name);
    }
    return 0;
}

/* Checks \N references in script/static_files: 1..9, within the url's groups. */
static int check_group_refs(yt_doc_t *d, const yaml_node_t *at, const char *field, const char *s,
                            uint32_t groups)
{
    for (const char *p = s; (p = strchr(p, '\\')) != NULL; p += 2) {
        if (p[1] < '1' || p[1] > '9')
            return yt_fail(d, at, "%s: '\\' must be followed by a group number 1-9", field);
        uint32_t g = (uint32_t)(p[1] - '0');
        if (g > groups)
            return yt_fail(d, at, "%s: \\%u refers to a group the url does not have (it has %u)",
                           field, g, groups);
    }
    return 0;
}

static int is_ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* module.path.object, where a \N may stand for part of a name. */
static int is_wsgi_path(const char *s)
{
    int components = 0;
    const char *p = s;
    for (;;) {
        const char *start = p;
        for (;;) {
            if (*p == '\\' && p[1] >= '1' && p[1] <= '9')
                p += 2;
            else if (is_ident_char(*p) && !(p == start && *p >= '0' && *p <= '9'))
                p++;
            else
                break;
        }
        if (p == start)
            return 0;
        components++;
        if (*p == '\0')
            return components >= 2;
        if (*p != '.')
            return 0;
        p++;
    }
}

/* A relative file path ending in .py, e.g. "cgi/counter.py" or
 * "$PYTHON_LIB/google/appengine/ext/admin/__init__.py". */
static int is_cgi_path(const char *s)
{
    size_t len = strlen(s);
    if (len < 4 || strcmp(s + len - 3, ".py") != 0 || s[0] == '/' || config_has_dotdot_component(s))
        return 0;
    if (s[len - 4] == '/' || strstr(s, "//"))
        return 0;
    for (const char *p = s; *p; p++) {
        if (!is_ident_char(*p) && !strchr("./$-\\", *p))
            return 0;
    }
    return 1;
}

script_kind_t config_script_kind(const char *s)
{
    return is_cgi_path(s) ? SCRIPT_CGI : is_wsgi_path(s) ? SCRIPT_WSGI : SCRIPT_INVALID;
}

static int check_script(yt_doc_t *d, const yaml_node_t *at, handler_t *h, uint32_t groups)
{
    if (strcmp(h->script, "auto") == 0)
        return 0; /* python3's "the app's entrypoint"; resolved in finish_config */
    if (check_group_refs(d, at, "script", h->script, groups) < 0)
        return -1;
    if (is_cgi_path(h->script)) {
        h->script_is_cgi = 1;
        return 0;
    }
    if (is_wsgi_path(h->script))
        return 0;
    char q[80];
    yt_quote(q, sizeof q, h->script, strlen(h->script));
    size_t len = strlen(h->script);
    if (len > 3 && strcmp(h->script + len - 3, ".py") == 0) {
        /* A file name of other characters (caf\u00e9.py) is a .py path all
         * the same: say which character, not that it is no path. */
        for (const char *p = h->script; *p; p++) {
            if (is_ident_char(*p) || strchr("./$-\\", *p))
                continue;
            char c[16];
            size_t n = 1; /* the whole character: libyaml's scalars are UTF-8 */
            while (n < 4 && ((unsigned char)p[n] & 0xC0) == 0x80)
                n++;
            yt_quote(c, sizeof c, p, n);
            return yt_fail(d, at,
                           "script '%s': a CGI script's path may hold only ASCII letters, digits "
                           "and '_', '-', '.', '/', '$' (not '%s')",
                           q, c);
        }
    }
    return yt_fail(d, at,
                   "script '%s' is neither a WSGI object path (module.app) nor a .py file path", q);
}

/* static_dir's url is a prefix: "/css" serves /css/<anything> from the dir. */
static int compile_static_dir_url(yt_doc_t *d, const yaml_node_t *at, handler_t *h)
{
    size_t len = strlen(h->url);
    const char *slash = len && h->url[len - 1] == '/' ? "" : "/";
    buf_t b = BUF_INIT;
    if (buf_printf(&b, "(?:%s)%s(.*)", h->url, slash) < 0) {
        buf_free(&b);
        return yt_fail(d, NULL, "out of memory");
    }
    pcre2_code *re = NULL;
    int rc = compile_or_fail(d, at, "url", buf_ptr(&b), &re);
    buf_free(&b);
    h->re = re;
    return rc;
}

static int compile_url(yt_doc_t *d, const yaml_node_t *at, handler_t *h, uint32_t *groups)
{
    pcre2_code *re = NULL;
    /* The url alone first, so errors point into what the user wrote. */
    if (compile_or_fail(d, at, "url", h->url, &re) < 0)
        return -1;
    *groups = capture_count(re);
    if (h->kind != HANDLER_STATIC_DIR) {
        h->re = re;
        return 0;
    }
    pcre2_code_free(re);
    return compile_static_dir_url(d, at, h);
}

static int handler_kind(yt_doc_t *d, const yaml_node_t *map, handler_t *h, uint64_t seen)
{
    uint64_t kinds = seen & (BIT(HF_SCRIPT) | BIT(HF_STATIC_DIR) | BIT(HF_STATIC_FILES));
    char q[80];
    yt_quote(q, sizeof q, h->url, strlen(h->url));
    if (kinds == 0)
        return yt_fail(d, map, "handler for '%s' has no script, static_dir or static_files", q);
    if (kinds & (kinds - 1))
        return yt_fail(d, map,
                       "handler for '%s' has more than one of script, static_dir, static_files", q);
    h->kind = kinds == BIT(HF_SCRIPT)       ? HANDLER_SCRIPT
              : kinds == BIT(HF_STATIC_DIR) ? HANDLER_STATIC_DIR
                                            : HANDLER_STATIC_FILES;
    return 0;
}

static int check_keys_for_kind(yt_doc_t *d, const yaml_node_t *map, const handler_t *h,
                               uint64_t seen)
{
    for (int i = 0; i < HF_COUNT; i++) {
        if (!(seen & BIT(i)))
            continue;
        const char *name = HANDLER_FIELDS[i].name;
        if (h->kind == HANDLER_SCRIPT && (STATIC_ONLY & BIT(i)))
            return yt_fail(d, yt_map_key(d, map, name),
                           "'%s' is only allowed in static_dir and static_files handlers", name);
        if (h->kind == HANDLER_STATIC_DIR && i == HF_UPLOAD)
            return yt_fail(d, yt_map_key(d, map, name),
                           "'upload' is only allowed with static_files");
        /* App Engine's URLMap.ALLOWED_FIELDS gave position to script
         * handlers alone. */
        if (h->kind != HANDLER_SCRIPT && i == HF_POSITION)
            return yt_fail(d, yt_map_key(d, map, name),
                           "'position' is only allowed in script handlers");
    }
    if (h->kind == HANDLER_STATIC_FILES && !h->upload)
        return yt_fail(d, map, "handler with static_files '%s' has no 'upload'", h->static_files);
    return 0;
}

/* Cross-key rules of one handler, then its regexes. */
static int finish_handler(yt_doc_t *d, const yaml_node_t *map, handler_t *h, uint64_t seen)
{
    if (handler_kind(d, map, h, seen) < 0 || check_keys_for_kind(d, map, h, seen) < 0)
        return -1;
    uint32_t groups = 0;
    if (check_one_content_type(d, map, h) < 0 ||
        compile_url(d, yt_map_value(d, map, "url"), h, &groups) < 0)
        return -1;
    if (h->kind == HANDLER_SCRIPT)
        return check_script(d, yt_map_value(d, map, "script"), h, groups);
    if (h->kind == HANDLER_STATIC_FILES) {
        if (check_group_refs(d, yt_map_value(d, map, "static_files"), "static_files",
                             h->static_files, groups) < 0)
            return -1;
        pcre2_code *re = NULL;
        char *pcre2_text = NULL; /* instances compile it again, from static_only_files */
        int rc = compile_or_fail_as(d, yt_map_value(d, map, "upload"), "upload", h->upload,
                                    WHOLE_MATCH, &re, &pcre2_text);
        h->upload_re = re;
        if (rc == 0) {
            free(h->upload);
            h->upload = pcre2_text;
        }
        return rc;
    }
    return 0;
}

static int load_handler(yt_doc_t *d, const yaml_node_t *map, handler_t *h, int included)
{
    uint64_t seen = 0;
    if (yt_map_apply(d, map, HANDLER_FIELDS, HF_COUNT, h, "handler", &seen) < 0)
        return -1;
    /* App Engine: position places an included file's handler around
     * app.yaml's own, so app.yaml itself may not use it. */
    if (!included && (seen & BIT(HF_POSITION)))
        return yt_fail(d, yt_map_key(d, map, "position"),
                       "'position' is only allowed in the handlers of an included file");
    h->line = yt_line(yt_map_value(d, map, "url"));
    return finish_handler(d, map, h, seen);
}

static size_t list_len(const yaml_node_t *list)
{
    return (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
}

/* An empty list is refused later, when no included file adds handlers. */
static int load_handlers(yt_doc_t *d, const yaml_node_t *list, app_config_t *cfg, int included)
{
    size_t n = list_len(list);
    if (n == 0)
        return 0;
    if (n > MAX_HANDLERS)
        return yt_fail(d, yt_node(d, list->data.sequence.items.start[MAX_HANDLERS]),
                       "too many handlers (%zu), the limit is %d", n, MAX_HANDLERS);
    cfg->handlers = calloc(n, sizeof *cfg->handlers);
    if (!cfg->handlers)
        return yt_fail(d, NULL, "out of memory");
    cfg->n_handlers = n;
    for (size_t i = 0; i < n; i++)
        cfg->handlers[i].expiration = -1;
    for (size_t i = 0; i < n; i++) {
        if (load_handler(d, yt_node(d, list->data.sequence.items.start[i]), &cfg->handlers[i],
                         included) < 0)
            return -1;
    }
    return 0;
}

static int apply_handlers(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list, void *target)
{
    (void)f;
    return load_handlers(d, list, target, 0);
}

int config_apply_included_handlers(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list,
                                   void *target)
{
    (void)f;
    return load_handlers(d, list, target, 1);
}

/* App Engine ran a CGI script one request at a time per instance (its
 * sys.stdout is the response), so a threadsafe python27 app could not have
 * one (ThreadsafeWithCgiHandler). It checked the merged handlers; here each
 * file's are checked where its document is at hand, for the line. */
int config_check_cgi_threadsafe(yt_doc_t *d, const yaml_node_t *list, const handler_t *handlers,
                                size_t n, const app_config_t *cfg)
{
    if (!cfg->threadsafe || strcmp(cfg->runtime, "python27") != 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!handlers[i].script_is_cgi)
            continue;
        const yaml_node_t *item = yt_node(d, list->data.sequence.items.start[i]);
        char q[80];
        yt_quote(q, sizeof q, handlers[i].script, strlen(handlers[i].script));
        return yt_fail(d, yt_map_value(d, item, "script"),
                       "script '%s' is a CGI script, which 'threadsafe: true' does not allow "
                       "(use a WSGI object path, module.app, or 'threadsafe: false')",
                       q);
    }
    return 0;
}

/* ---- libraries, error_handlers, env_variables, skip_files --------------- */

static const yt_field_t LIBRARY_FIELDS[] = {
    {"name", YT_STRING, YT_REQUIRED, NULL, offsetof(library_t, name), check_not_empty, NULL},
    {"version", YT_STRING, YT_REQUIRED, NULL, offsetof(library_t, version), check_not_empty, NULL},
};

static int apply_libraries(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list, void *target)
{
    (void)f;
    app_config_t *cfg = target;
    size_t n = list_len(list);
    if (n == 0)
        return 0;
    if (n > MAX_LIBRARIES)
        return yt_fail(d, yt_node(d, list->data.sequence.items.start[MAX_LIBRARIES]),
                       "too many libraries (%zu), the limit is %d", n, MAX_LIBRARIES);
    cfg->libraries = calloc(n, sizeof *cfg->libraries);
    if (!cfg->libraries)
        return yt_fail(d, NULL, "out of memory");
    cfg->n_libraries = n;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yt_node(d, list->data.sequence.items.start[i]);
        library_t *lib = &cfg->libraries[i];
        if (yt_map_apply(d, item, LIBRARY_FIELDS, 2, lib, "library", NULL) < 0)
            return -1;
        /* What is said about a library is said of its name, whichever
         * key comes first. */
        const yaml_node_t *name = yt_map_value(d, item, "name");
        lib->line = yt_line(name);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->libraries[j].name, lib->name) == 0)
                return yt_fail(d, name, "library '%s' is listed twice (first on line %d)",
                               lib->name, cfg->libraries[j].line);
        }
    }
    return 0;
}

static const char *const ERROR_CODES[] = {"default", "over_quota", "dos_api_denial", "timeout",
                                          NULL};

static int apply_error_code(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, void *target)
{
    (void)f;
    error_handler_t *eh = target;
    char *copy = strdup(yt_text(v));
    if (!copy)
        return yt_fail(d, NULL, "out of memory");
    free(eh->error_code);
    eh->error_code = copy;
    return 0;
}

static const yt_field_t ERROR_HANDLER_FIELDS[] = {
    {"file", YT_STRING, YT_REQUIRED, NULL, offsetof(error_handler_t, file), check_relative_path,
     NULL},
    {"error_code", YT_ENUM, YT_NULL_ABSENT, ERROR_CODES, YT_NOWHERE, NULL, apply_error_code},
    {"mime_type", YT_STRING, YT_NULL_ABSENT, NULL, offsetof(error_handler_t, mime_type),
     check_mime_type, NULL},
};

static int apply_error_handlers(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list,
                                void *target)
{
    (void)f;
    app_config_t *cfg = target;
    size_t n = list_len(list);
    if (n == 0)
        return 0;
    cfg->error_handlers = calloc(n, sizeof *cfg->error_handlers);
    if (!cfg->error_handlers)
        return yt_fail(d, NULL, "out of memory");
    cfg->n_error_handlers = n;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *item = yt_node(d, list->data.sequence.items.start[i]);
        error_handler_t *eh = &cfg->error_handlers[i];
        if (yt_map_apply(d, item, ERROR_HANDLER_FIELDS, 3, eh, "error handler", NULL) < 0)
            return -1;
        const yaml_node_t *code = yt_map_given_value(d, item, "error_code");
        eh->line = yt_line(code ? code : item);
        eh->file_line = yt_line(yt_map_value(d, item, "file"));
        if (!eh->error_code && !(eh->error_code = strdup("default")))
            return yt_fail(d, NULL, "out of memory");
    }
    return 0;
}

int config_env_name_valid(const char *name)
{
    /* App Engine's EnvironmentVariables key rule. */
    return matches_whole("[a-zA-Z_][a-zA-Z0-9_]*", name);
}

int config_env_set(app_config_t *cfg, const char *key, const char *value)
{
    size_t i = 0;
    while (i < cfg->n_env && strcmp(cfg->env[i].key, key) != 0)
        i++;
    char *copy = strdup(value);
    if (!copy)
        return -1;
    if (i < cfg->n_env) {
        free(cfg->env[i].value);
        cfg->env[i].value = copy;
        return 0;
    }
    char *key_copy = strdup(key);
    env_var_t *grown = key_copy ? realloc(cfg->env, (cfg->n_env + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(key_copy);
        free(copy);
        return -1;
    }
    cfg->env = grown;
    cfg->env[cfg->n_env++] = (env_var_t){key_copy, copy};
    return 0;
}

static int set_env_var(yt_doc_t *d, env_var_t *var, const yaml_node_t *key,
                       const yaml_node_t *value)
{
    char got[96];
    const char *name = yt_text(key), *text = yt_text(value);
    if (!name || !config_env_name_valid(name))
        return yt_fail(d, key,
                       "env_variables: %s is not a valid variable name (letters, digits and '_', "
                       "not starting with a digit)",
                       yt_describe(key, got, sizeof got));
    /* App Engine's EnvironmentVariables took str() of the YAML value:
     * "true" became "True", an empty value "None". */
    if (!text && !yt_is_null(value))
        return yt_fail(d, value, "env_variables: %s: expected a string, got %s", name,
                       yt_describe(value, got, sizeof got));
    var->key = strdup(name);
    var->value = yt_python_str(value);
    if (!var->key || !var->value)
        return yt_fail(d, NULL, "out of memory");
    return 0;
}

int config_apply_env(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *map, void *target)
{
    (void)f;
    app_config_t *cfg = target;
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    if (n == 0)
        return 0;
    cfg->env = calloc(n, sizeof *cfg->env);
    if (!cfg->env)
        return yt_fail(d, NULL, "out of memory");
    cfg->n_env = n;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_pair_t *p = &map->data.mapping.pairs.start[i];
        if (set_env_var(d, &cfg->env[i], yt_node(d, p->key), yt_node(d, p->value)) < 0)
            return -1;
    }
    return 0;
}

/* text without its CR and LF bytes, malloc'd; NULL when out of memory. */
static char *without_line_breaks(const char *text)
{
    char *out = malloc(strlen(text) + 1), *o = out;
    if (!out)
        return NULL;
    for (; *text; text++)
        if (*text != '\r' && *text != '\n')
            *o++ = *text;
    *o = '\0';
    return out;
}

/* Appends one skip_files regex as "^(?:re)", checking it compiles alone
 * so that an error names the faulty item and its line. App Engine matched
 * skip_files with re.match: anchored at the start only, so "^tests/"
 * skips tests/t.py and ".*\.bak" skips x.bak2 too. It also removed every
 * line break from the regex first (RegexStr), so a `skip_files: |` block
 * spread over several lines is one pattern. */
static int add_skip_pattern(yt_doc_t *d, const yaml_node_t *item, buf_t *combined)
{
    char got[96];
    const char *text = yt_text(item);
    if (!text)
        return yt_fail(d, item, "skip_files: expected a regular expression, got %s",
                       yt_describe(item, got, sizeof got));
    char *re_text = without_line_breaks(text);
    if (!re_text)
        return yt_fail(d, NULL, "out of memory");
    pcre2_code *re = NULL;
    char *pcre2_text = NULL; /* instances compile the combined regex as it is */
    int rc =
        compile_or_fail_as(d, item, "skip_files", re_text, SKIP_FILES_ANCHORING, &re, &pcre2_text);
    pcre2_code_free(re);
    if (rc == 0 && buf_printf(combined, "%s^(?:%s)", combined->len ? "|" : "", pcre2_text) < 0)
        rc = yt_fail(d, NULL, "out of memory");
    free(pcre2_text);
    free(re_text);
    return rc;
}

int config_apply_skip_files(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, void *target)
{
    (void)f;
    app_config_t *cfg = target;
    buf_t combined = BUF_INIT;
    int rc = 0;
    if (v->type == YAML_SEQUENCE_NODE) {
        for (size_t i = 0; rc == 0 && i < list_len(v); i++)
            rc = add_skip_pattern(d, yt_node(d, v->data.sequence.items.start[i]), &combined);
    } else {
        rc = add_skip_pattern(d, v, &combined);
    }
    if (rc == 0 && combined.len == 0 && buf_append_str(&combined, "(?!)") < 0)
        rc = yt_fail(d, NULL, "out of memory"); /* an empty list skips nothing */
    if (rc == 0 && buf_append(&combined, "", 1) < 0)
        rc = yt_fail(d, NULL, "out of memory");
    if (rc == 0 && !(cfg->skip_files = strdup(buf_ptr(&combined))))
        rc = yt_fail(d, NULL, "out of memory");
    buf_free(&combined);
    return rc;
}

/* ---- automatic_scaling ---------------------------------------------------- */

/* App Engine's pending latency: digits and "ms", or digits with up to three
 * decimals and "s". Returns 0 with *ms set, or -1. */
static int parse_pending_latency(const char *t, int *ms)
{
    long whole = 0, frac = 0;
    int digits = 0, decimals = 0;
    for (; *t >= '0' && *t <= '9'; t++, digits++)
        if ((whole = whole * 10 + (*t - '0')) > 1000000)
            return -1;
    if (!digits)
        return -1;
    if (strcmp(t, "ms") == 0) {
        *ms = (int)whole;
        return 0;
    }
    if (*t == '.') {
        for (t++; *t >= '0' && *t <= '9'; t++)
            if (++decimals > 3)
                return -1;
            else
                frac = frac * 10 + (*t - '0');
        if (!decimals)
            return -1;
    }
    if (strcmp(t, "s") != 0)
        return -1;
    for (; decimals < 3; decimals++)
        frac *= 10;
    *ms = (int)(whole * 1000 + frac);
    return 0;
}

/* min_pending_latency and max_pending_latency: "automatic" (*ms stays -1),
 * or App Engine's 0.01s-15s as "30ms" or "0.5s". */
static int apply_pending_latency(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, int *ms)
{
    const char *text = yt_text(v);
    if (text && strcmp(text, "automatic") == 0)
        return 0;
    char got[96];
    if (!text || parse_pending_latency(text, ms) < 0 || *ms < 10 || *ms > 15000)
        return yt_fail(d, v,
                       "automatic_scaling: %s must be 'automatic' or between 10ms and 15s (like "
                       "'30ms' or '0.5s'), got %s",
                       f->name, yt_describe(v, got, sizeof got));
    return 0;
}

static int apply_min_pending_latency(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                                     void *target)
{
    return apply_pending_latency(d, f, v, &((app_config_t *)target)->min_pending_latency_ms);
}

static int apply_max_pending_latency(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                                     void *target)
{
    return apply_pending_latency(d, f, v, &((app_config_t *)target)->max_pending_latency_ms);
}

static int check_instance_count(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                                const char *s);

/* Kept for python3 apps, whose instances serve that many requests at once
 * (serve.c); checked only for the others. */
static int apply_max_concurrent_requests(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                                         void *target)
{
    app_config_t *cfg = target;
    const char *text = yt_text(v);
    if (check_instance_count(d, f, v, text) < 0)
        return -1;
    long n = strtol(text, NULL, 10);
    cfg->max_concurrent_requests = n > INT_MAX ? INT_MAX : (int)n;
    return 0;
}

/* The scaling keys gaelic does not use are still checked against App
 * Engine's syntax, so that a typo is not silently a default. */
static int check_scaling_value(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                               const char *s, const char *re, const char *why)
{
    return matches_whole(re, s) ? 0 : bad_value(d, f, v, why);
}

static int check_instance_count(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                                const char *s)
{
    return check_scaling_value(d, f, v, s, "[1-9]\\d{0,8}", "use a whole number from 1");
}

static int check_min_instances(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                               const char *s)
{
    return check_scaling_value(d, f, v, s, "\\d{1,9}", "use a whole number from 0");
}

/* After check_min_instances: 0 to 999999999, so it fits an int. */
static int apply_instance_bound(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, int *to)
{
    const char *text = yt_text(v);
    if (check_min_instances(d, f, v, text) < 0)
        return -1;
    *to = (int)strtol(text, NULL, 10);
    return 0;
}

static int apply_min_instances(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, void *target)
{
    return apply_instance_bound(d, f, v, &((app_config_t *)target)->min_instances);
}

static int apply_max_instances(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, void *target)
{
    return apply_instance_bound(d, f, v, &((app_config_t *)target)->max_instances);
}

static int check_idle_instances(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                                const char *s)
{
    return check_scaling_value(d, f, v, s, "\\d{1,9}|automatic",
                               "use a whole number or 'automatic'");
}

/* After check_idle_instances: 0 to 999999999, or "automatic" as
 * automatic_value. */
static int apply_idle_bound(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, int *to,
                            int automatic_value)
{
    const char *text = yt_text(v);
    if (check_idle_instances(d, f, v, text) < 0)
        return -1;
    *to = strcmp(text, "automatic") == 0 ? automatic_value : (int)strtol(text, NULL, 10);
    return 0;
}

/* "automatic" is none kept. */
static int apply_min_idle_instances(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                                    void *target)
{
    return apply_idle_bound(d, f, v, &((app_config_t *)target)->min_idle_instances, 0);
}

/* "automatic" is no bound but the idle timeout. */
static int apply_max_idle_instances(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                                    void *target)
{
    return apply_idle_bound(d, f, v, &((app_config_t *)target)->max_idle_instances, -1);
}

static int check_utilization(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s)
{
    return check_scaling_value(d, f, v, s, "0?\\.\\d{1,9}|1(\\.0{0,9})?",
                               "use a fraction like 0.6");
}

static int check_idle_timeout(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s)
{
    return check_scaling_value(d, f, v, s, "\\d{1,9}[sm]", "use a time like '10m' or '300s'");
}

static const yt_field_t AUTOMATIC_SCALING_FIELDS[] = {
    {"min_pending_latency", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL,
     apply_min_pending_latency},
    {"max_pending_latency", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL,
     apply_max_pending_latency},
    {"min_idle_instances", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL,
     apply_min_idle_instances},
    {"max_idle_instances", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL,
     apply_max_idle_instances},
    {"max_concurrent_requests", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL,
     apply_max_concurrent_requests},
    {"min_instances", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_min_instances},
    /* 0 turns the limit off (App Engine took any int here) */
    {"max_instances", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_max_instances},
    {"target_cpu_utilization", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE, check_utilization,
     NULL},
    {"target_throughput_utilization", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE,
     check_utilization, NULL},
};

static const yt_field_t BASIC_SCALING_FIELDS[] = {
    {"max_instances", YT_STRING, YT_REQUIRED, NULL, YT_NOWHERE, check_instance_count, NULL},
    {"idle_timeout", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE, check_idle_timeout, NULL},
};

/* After check_instance_count: 1 to 999999999, so it fits an int. */
static int apply_manual_instances(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v,
                                  void *target)
{
    (void)d;
    (void)f;
    app_config_t *cfg = target;
    cfg->manual_scaling_instances = (int)strtol(yt_text(v), NULL, 10);
    return 0;
}

static const yt_field_t MANUAL_SCALING_FIELDS[] = {
    {"instances", YT_STRING, YT_REQUIRED, NULL, YT_NOWHERE, check_instance_count,
     apply_manual_instances},
};

#define N_FIELDS(t) (sizeof(t) / sizeof *(t))

static int apply_automatic_scaling(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *map,
                                   void *target)
{
    app_config_t *cfg = target;
    if (yt_map_apply(d, map, AUTOMATIC_SCALING_FIELDS, N_FIELDS(AUTOMATIC_SCALING_FIELDS), target,
                     f->name, NULL) < 0)
        return -1;
    if (cfg->max_pending_latency_ms >= 0 &&
        cfg->min_pending_latency_ms > cfg->max_pending_latency_ms)
        return yt_fail(d, yt_map_given_value(d, map, "min_pending_latency"),
                       "automatic_scaling: min_pending_latency (%d ms) is more than "
                       "max_pending_latency (%d ms)",
                       cfg->min_pending_latency_ms, cfg->max_pending_latency_ms);
    if (cfg->max_idle_instances >= 0 && cfg->min_idle_instances > cfg->max_idle_instances)
        return yt_fail(d, yt_map_given_value(d, map, "min_idle_instances"),
                       "automatic_scaling: min_idle_instances (%d) is more than "
                       "max_idle_instances (%d)",
                       cfg->min_idle_instances, cfg->max_idle_instances);
    if (cfg->max_instances && cfg->min_instances > cfg->max_instances)
        return yt_fail(d, yt_map_given_value(d, map, "min_instances"),
                       "automatic_scaling: min_instances (%d) is more than max_instances (%d)",
                       cfg->min_instances, cfg->max_instances);
    return 0;
}

static int apply_basic_scaling(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *map,
                               void *target)
{
    return yt_map_apply(d, map, BASIC_SCALING_FIELDS, N_FIELDS(BASIC_SCALING_FIELDS), target,
                        f->name, NULL);
}

int config_apply_manual_scaling(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *map,
                                void *target)
{
    return yt_map_apply(d, map, MANUAL_SCALING_FIELDS, N_FIELDS(MANUAL_SCALING_FIELDS), target,
                        f->name, NULL);
}

/* App Engine runs a version with one kind of scaling. */
static int check_one_scaling(yt_doc_t *d, const yaml_node_t *root)
{
    static const char *const kinds[] = {"automatic_scaling", "basic_scaling", "manual_scaling"};
    const char *first = NULL;
    for (size_t i = 0; i < 3; i++) {
        const yaml_node_t *key = yt_map_given_key(d, root, kinds[i]);
        if (key && first)
            return yt_fail(d, key, "%s: a version has only one kind of scaling, and %s is given",
                           kinds[i], first);
        if (key)
            first = kinds[i];
    }
    return 0;
}

/* ---- endpoints_api_service -------------------------------------------------- */

static int check_no_space(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *v, const char *s)
{
    if (s[0] && !s[strcspn(s, " \t\r\n\f\v")])
        return 0;
    return bad_value(d, f, v, "it must be one word, without spaces");
}

static const char *const ROLLOUT_STRATEGIES[] = {"fixed", "managed", NULL};

static const yt_field_t ENDPOINTS_FIELDS[] = {
    {"name", YT_STRING, YT_REQUIRED, NULL, YT_NOWHERE, check_no_space, NULL},
    {"rollout_strategy", YT_ENUM, 0, ROLLOUT_STRATEGIES, YT_NOWHERE, NULL, NULL},
    {"config_id", YT_STRING, 0, NULL, YT_NOWHERE, check_no_space, NULL},
    {"trace_sampling", YT_BOOL, 0, NULL, YT_NOWHERE, NULL, NULL},
};

/* Cloud Endpoints Frameworks apps name their API service (checked only:
 * gaelic has no Endpoints proxy). A fixed rollout names its config_id, a
 * managed one may not, as App Engine's EndpointsApiService checked. */
static int apply_endpoints_api_service(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *map,
                                       void *target)
{
    if (yt_map_apply(d, map, ENDPOINTS_FIELDS, N_FIELDS(ENDPOINTS_FIELDS), target, f->name, NULL) <
        0)
        return -1;
    const yaml_node_t *strategy = yt_map_value(d, map, "rollout_strategy");
    const yaml_node_t *config_id = yt_map_key(d, map, "config_id");
    int managed = strategy && strcmp(yt_text(strategy), "managed") == 0;
    if (!managed && !config_id)
        return yt_fail(d, map, "%s: config_id is needed unless rollout_strategy is managed",
                       f->name);
    if (managed && config_id)
        return yt_fail(d, config_id, "%s: config_id is not allowed with rollout_strategy managed",
                       f->name);
    return 0;
}

/* ---- builtins ------------------------------------------------------------- */

/* The SDK's google/appengine/ext/builtins folders; the last two were not
 * available to python27 (nor, here, to python3). */
static const char *const BUILTIN_NAMES[] = {"admin_redirect",  "appstats",    "default",
                                            "deferred",        "django_wsgi", "remote_api",
                                            "datastore_admin", "mapreduce",   NULL};
#define N_PYTHON27_BUILTINS 6

/* App Engine's on/off words, plus the YAML booleans PyYAML turned into them. */
static const char *const BUILTIN_STATES[] = {
    "on",  "On",  "ON", "yes", "Yes", "YES", "y",     "true",  "True",  "TRUE", "t", "1", "off",
    "Off", "OFF", "no", "No",  "NO",  "n",   "false", "False", "FALSE", "f",    "0", NULL};

static int find_name(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* Each item is one `name: on|off` mapping; a name once per file. */
static int check_builtin(yt_doc_t *d, const yaml_node_t *list, size_t i)
{
    char got[96];
    const yaml_node_t *item = yt_node(d, list->data.sequence.items.start[i]);
    if (item->type != YAML_MAPPING_NODE ||
        item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1)
        return yt_fail(d, item, "builtins: each item is one 'name: on' or 'name: off', got %s",
                       yt_describe(item, got, sizeof got));
    const yaml_node_t *key = yt_node(d, item->data.mapping.pairs.start->key);
    const yaml_node_t *value = yt_node(d, item->data.mapping.pairs.start->value);
    const char *name = yt_text(key), *state = yt_text(value);
    if (!name || find_name(BUILTIN_NAMES, name) < 0)
        return yt_fail(d, key,
                       "builtins: %s is not a builtin (admin_redirect, appstats, default, "
                       "deferred, django_wsgi or remote_api)",
                       yt_describe(key, got, sizeof got));
    if (!yt_is_null(value) && (!state || find_name(BUILTIN_STATES, state) < 0))
        return yt_fail(d, value, "builtins: %s: expected on or off, got %s", name,
                       yt_describe(value, got, sizeof got));
    for (size_t j = 0; j < i; j++) {
        const yaml_node_t *prev = yt_node(d, list->data.sequence.items.start[j]);
        const char *other = yt_text(yt_node(d, prev->data.mapping.pairs.start->key));
        if (strcmp(other, name) == 0)
            return yt_fail(d, key, "builtins: '%s' is listed twice (first on line %d)", name,
                           yt_line(prev));
    }
    return 0;
}

int config_apply_builtins(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list, void *target)
{
    (void)f;
    (void)target;
    for (size_t i = 0; i < list_len(list); i++)
        if (check_builtin(d, list, i) < 0)
            return -1;
    return 0;
}

int config_check_builtins_runtime(yt_doc_t *d, const yaml_node_t *list, const char *runtime)
{
    if (!list || strcmp(runtime, "python") == 0)
        return 0;
    for (size_t i = 0; i < list_len(list); i++) {
        const yaml_node_t *item = yt_node(d, list->data.sequence.items.start[i]);
        const yaml_node_t *key = yt_node(d, item->data.mapping.pairs.start->key);
        if (find_name(BUILTIN_NAMES, yt_text(key)) >= N_PYTHON27_BUILTINS)
            return yt_fail(d, key, "builtins: '%s' is not available in the %s runtime",
                           yt_text(key), runtime);
    }
    return 0;
}

/* inbound_services: the services App Engine could send requests for;
 * gaelic sends warmup's. */
static int apply_inbound_services(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list,
                                  void *target)
{
    app_config_t *cfg = target;
    static const char *const SERVICES[] = {
        "mail",       "mail_bounce",      "xmpp_message", "xmpp_subscribe", "xmpp_presence",
        "xmpp_error", "channel_presence", "rest",         "warmup",         NULL};
    char got[96];
    for (size_t i = 0; i < list_len(list); i++) {
        const yaml_node_t *item = yt_node(d, list->data.sequence.items.start[i]);
        const char *name = yt_text(item);
        if (!name)
            return yt_fail(d, item, "%s: expected a service name, got %s", f->name,
                           yt_describe(item, got, sizeof got));
        if (find_name(SERVICES, name) < 0)
            return yt_fail(d, item,
                           "%s: %s is not one of mail, mail_bounce, xmpp_message, "
                           "xmpp_subscribe, xmpp_presence, xmpp_error, channel_presence, rest "
                           "or warmup",
                           f->name, yt_describe(item, got, sizeof got));
        if (!strcmp(name, "warmup"))
            cfg->warmup = 1;
    }
    return 0;
}

/* ---- keys App Engine checked that gaelic does not use ---------------------- */

/* Each item of `list` is a mapping of `fields` (checked only). */
static int check_list_of_maps(yt_doc_t *d, const yaml_node_t *list, const yt_field_t *fields,
                              size_t n_fields, const char *what)
{
    for (size_t i = 0; i < list_len(list); i++) {
        const yaml_node_t *item = yt_node(d, list->data.sequence.items.start[i]);
        if (yt_map_apply(d, item, fields, n_fields, NULL, what, NULL) < 0)
            return -1;
    }
    return 0;
}

/* Each item of `list` is a string, matching `pattern` (whole) when given;
 * `why` says what a valid one is. */
static int check_list_of_strings(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list,
                                 const char *pattern, const char *why)
{
    char got[96];
    for (size_t i = 0; i < list_len(list); i++) {
        const yaml_node_t *item = yt_node(d, list->data.sequence.items.start[i]);
        const char *text = yt_text(item);
        if (!text)
            return yt_fail(d, item, "%s: expected a string, got %s", f->name,
                           yt_describe(item, got, sizeof got));
        if (pattern && !matches_whole(pattern, text))
            return bad_value(d, f, item, why);
    }
    return 0;
}

/* admin_console: pages of the old Admin Console (AdminConsolePage: a url
 * pattern and a name, both required). */
static const yt_field_t ADMIN_PAGE_FIELDS[] = {
    {"name", YT_STRING, YT_REQUIRED, NULL, YT_NOWHERE, check_not_empty, NULL},
    {"url", YT_STRING, YT_REQUIRED, NULL, YT_NOWHERE, check_url, NULL},
};

static int apply_admin_pages(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list,
                             void *target)
{
    (void)f;
    (void)target;
    return check_list_of_maps(d, list, ADMIN_PAGE_FIELDS, N_FIELDS(ADMIN_PAGE_FIELDS),
                              "admin_console page");
}

static const yt_field_t ADMIN_CONSOLE_FIELDS[] = {
    {"pages", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_admin_pages},
};

int config_apply_admin_console(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *map,
                               void *target)
{
    (void)target;
    return yt_map_apply(d, map, ADMIN_CONSOLE_FIELDS, N_FIELDS(ADMIN_CONSOLE_FIELDS), NULL, f->name,
                        NULL);
}

/* api_config: the Endpoints (v1) handler, a url and a script with the
 * options of a handler (ApiConfigHandler). */
static const yt_field_t API_CONFIG_FIELDS[] = {
    {"url", YT_STRING, YT_REQUIRED, NULL, YT_NOWHERE, check_url, NULL},
    {"script", YT_STRING, YT_REQUIRED, NULL, YT_NOWHERE, check_not_empty, NULL},
    {"login", YT_ENUM, 0, LOGIN_VALUES, YT_NOWHERE, NULL, NULL},
    {"auth_fail_action", YT_ENUM, 0, AUTH_FAIL_VALUES, YT_NOWHERE, NULL, NULL},
    {"secure", YT_ENUM, 0, SECURE_VALUES, YT_NOWHERE, NULL, NULL},
};

static int apply_api_config(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *map, void *target)
{
    (void)target;
    return yt_map_apply(d, map, API_CONFIG_FIELDS, N_FIELDS(API_CONFIG_FIELDS), NULL, f->name,
                        NULL);
}

static int apply_derived_file_type(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list,
                                   void *target)
{
    (void)target;
    return check_list_of_strings(d, f, list, "java_precompiled|python_precompiled",
                                 "use java_precompiled or python_precompiled");
}

/* pagespeed: App Engine's PagespeedEntry, four lists with its patterns. */
static int apply_pagespeed_domains(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list,
                                   void *target)
{
    (void)target;
    return check_list_of_strings(d, f, list, "(https?://)?[-a-zA-Z0-9_.*]+(:\\d+)?",
                                 "use a domain pattern like www.example.com or "
                                 "https://*.example.com:8080");
}

static int apply_pagespeed_urls(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list,
                                void *target)
{
    (void)target;
    return check_list_of_strings(d, f, list, "https?://\\S{0,499}",
                                 "use http:// or https:// and up to 499 characters without "
                                 "spaces");
}

static int apply_pagespeed_rewriters(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *list,
                                     void *target)
{
    (void)target;
    return check_list_of_strings(d, f, list, "[a-zA-Z0-9_]+",
                                 "a rewriter name is letters, digits and '_'");
}

static const yt_field_t PAGESPEED_FIELDS[] = {
    {"domains_to_rewrite", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL,
     apply_pagespeed_domains},
    {"url_blacklist", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_pagespeed_urls},
    {"enabled_rewriters", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL,
     apply_pagespeed_rewriters},
    {"disabled_rewriters", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL,
     apply_pagespeed_rewriters},
};

static int apply_pagespeed(yt_doc_t *d, const yt_field_t *f, const yaml_node_t *map, void *target)
{
    (void)target;
    return yt_map_apply(d, map, PAGESPEED_FIELDS, N_FIELDS(PAGESPEED_FIELDS), NULL, f->name, NULL);
}

/* ---- the top level -------------------------------------------------------- */

static const char *const AUTO_ID_POLICIES[] = {"default", "legacy", NULL};
/* App Engine's ENV_RE_STRING; gaelic serves each as the standard
 * environment. */
static const char *const ENVIRONMENTS[] = {"standard", "flex", "flexible", "1", "2", NULL};

/* App Engine's AppInfoExternal: every key but runtime (checked apart) and
 * skip_files was validation.Optional, which took an empty value (None) as
 * no value: hence YT_NULL_ABSENT. Its Regex validators matched str() of
 * the YAML value, so the ids are YT_PYTHON_STR. */
#define AT(field) offsetof(app_config_t, field)
static const yt_field_t APP_FIELDS[] = {
    {"application", YT_STRING, YT_NULL_ABSENT | YT_PYTHON_STR, NULL, AT(application),
     check_application, NULL},
    /* The later SDK's alias of application (finish_config: not both). */
    {"project", YT_STRING, YT_NULL_ABSENT | YT_PYTHON_STR, NULL, AT(application), check_application,
     NULL},
    {"version", YT_STRING, YT_NULL_ABSENT | YT_PYTHON_STR, NULL, AT(version), check_version, NULL},
    {"runtime", YT_STRING, YT_REQUIRED, NULL, AT(runtime), check_runtime, NULL},
    {"api_version", YT_STRING, YT_NULL_ABSENT, NULL, AT(api_version), check_api_version, NULL},
    {"threadsafe", YT_BOOL, YT_NULL_ABSENT, NULL, AT(threadsafe), NULL, NULL},
    {"handlers", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_handlers},
    {"default_expiration", YT_DURATION, YT_NULL_ABSENT, NULL, AT(default_expiration), NULL, NULL},
    {"skip_files", YT_STRING_OR_LIST, 0, NULL, YT_NOWHERE, NULL, config_apply_skip_files},
    {"env_variables", YT_MAP, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, config_apply_env},
    {"libraries", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_libraries},
    {"error_handlers", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_error_handlers},
    /* Keys real App Engine apps carry: type-checked, otherwise ignored. */
    /* Checked; gaelic has no builtin handlers to add (README). */
    {"builtins", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, config_apply_builtins},
    /* Checked; of these requests gaelic sends warmup's. */
    {"inbound_services", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_inbound_services},
    {"instance_class", YT_STRING, YT_NULL_ABSENT, NULL, AT(instance_class), check_instance_class,
     NULL},
    {"automatic_scaling", YT_MAP, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_automatic_scaling},
    {"basic_scaling", YT_MAP, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_basic_scaling},
    {"manual_scaling", YT_MAP, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, config_apply_manual_scaling},
    {"module", YT_STRING, YT_NULL_ABSENT | YT_PYTHON_STR, NULL, AT(service), check_module, NULL},
    {"service", YT_STRING, YT_NULL_ABSENT | YT_PYTHON_STR, NULL, AT(service), check_module, NULL},
    {"includes", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, config_check_include_list},
    {"admin_console", YT_MAP, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, config_apply_admin_console},
    {"derived_file_type", YT_LIST, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_derived_file_type},
    {"api_config", YT_MAP, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_api_config},
    {"pagespeed", YT_MAP, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL, apply_pagespeed},
    CONFIG_ACCEPTED("vm", YT_BOOL),
    CONFIG_ACCEPTED("beta_settings", YT_MAP),
    CONFIG_ACCEPTED("vm_settings", YT_MAP),
    CONFIG_ACCEPTED("vm_health_check", YT_MAP),
    {"endpoints_api_service", YT_MAP, YT_NULL_ABSENT, NULL, YT_NOWHERE, NULL,
     apply_endpoints_api_service},
    {"env", YT_ENUM, YT_NULL_ABSENT, ENVIRONMENTS, YT_NOWHERE, NULL, NULL},
    CONFIG_ACCEPTED("entrypoint", YT_STRING),
    {"auto_id_policy", YT_ENUM, YT_NULL_ABSENT, AUTO_ID_POLICIES, YT_NOWHERE, NULL, NULL},
    CONFIG_ACCEPTED("app_engine_apis", YT_BOOL),
    /* The python27 SDK's keys of other runtimes' apps. */
    {"source_language", YT_STRING, YT_NULL_ABSENT, NULL, YT_NOWHERE, check_source_language, NULL},
    CONFIG_ACCEPTED("code_lock", YT_BOOL),
    CONFIG_ACCEPTED("service_account", YT_STRING),
    CONFIG_ACCEPTED("vpc_access_connector", YT_MAP),
    CONFIG_ACCEPTED("build_env_variables", YT_MAP),
    CONFIG_ACCEPTED("runtime_config", YT_MAP),
    CONFIG_ACCEPTED("health_check", YT_MAP),
    CONFIG_ACCEPTED("liveness_check", YT_MAP),
    CONFIG_ACCEPTED("readiness_check", YT_MAP),
    CONFIG_ACCEPTED("resources", YT_MAP),
    CONFIG_ACCEPTED("network", YT_MAP),
    /* RegexStr, as skip_files: not an Optional key. */
    {"nobuild_files", YT_STRING_OR_LIST, 0, NULL, YT_NOWHERE, NULL, NULL},
};
#undef AT
#define N_APP_FIELDS (sizeof APP_FIELDS / sizeof *APP_FIELDS)

const char *config_service(const app_config_t *cfg)
{
    return cfg->service ? cfg->service : "default";
}

int config_is_python3(const char *runtime)
{
    return strncmp(runtime, "python3", 7) == 0;
}

/* `script: auto` (python3 apps) means the app's entrypoint. */
int config_resolve_auto_scripts(yt_doc_t *d, handler_t *handlers, size_t n, const app_config_t *cfg)
{
    for (size_t i = 0; i < n; i++) {
        handler_t *h = &handlers[i];
        if (h->kind != HANDLER_SCRIPT || strcmp(h->script, "auto") != 0)
            continue;
        if (!cfg->python3_app)
            return yt_fail_line(d, h->line, "script 'auto' needs a python3 runtime, not '%s'",
                                cfg->runtime);
        char *main_app = strdup(cfg->python3_app);
        if (!main_app)
            return yt_fail(d, NULL, "out of memory");
        free(h->script);
        h->script = main_app;
        h->script_is_auto = 1;
    }
    return 0;
}

/* The WSGI app of a python3 app: App Engine's runtime ran `entrypoint:`
 * (gunicorn main:app when there is none); gaelic serves the module:app
 * such a command names, the last one, or the module.application of a
 * gunicorn APP_MODULE without ":name", else main:app. */
static int set_python3_app(yt_doc_t *d, const yaml_node_t *root, app_config_t *cfg)
{
    const yaml_node_t *node = yt_map_given_value(d, root, "entrypoint");
    const char *entrypoint = node ? yt_text(node) : NULL;
    char *app = NULL;
    if (entrypoint) {
        char *copy = strdup(entrypoint);
        if (!copy)
            return yt_fail(d, NULL, "out of memory");
        char *save = NULL;
        for (char *tok = entrypoint_next_arg(copy, &save); tok;
             tok = entrypoint_next_arg(NULL, &save)) {
            /* gunicorn's module:name, or module:factory() whose result
             * is the app (handlers.py calls it). */
            if (!matches_whole("[A-Za-z_]\\w*(?:\\.[A-Za-z_]\\w*)*:[A-Za-z_]\\w*(?:\\(\\))?", tok))
                continue;
            free(app);
            if (!(app = strdup(tok)))
                break;
            *strchr(app, ':') = '.';
        }
        free(copy);
        /* gunicorn's `module` alone serves module:application. */
        if (!app)
            app = gunicorn_bare_module_app(entrypoint);
    }
    cfg->entrypoint_names_app = app != NULL;
    if (!app && !(app = strdup("main.app")))
        return yt_fail(d, NULL, "out of memory");
    cfg->python3_app = app;
    if (entrypoint) {
        if (!(cfg->entrypoint = strdup(entrypoint)))
            return yt_fail(d, NULL, "out of memory");
        cfg->entrypoint_line = yt_line(node);
        if (config_set_import_path(d, node, entrypoint, cfg) < 0)
            return -1;
    }
    return 0;
}

/* Second-generation runtimes sent every request no handler took to the
 * app, so a python3 app.yaml needs no handlers; the catch-all comes last. */
static int add_python3_catch_all(yt_doc_t *d, const yaml_node_t *root, app_config_t *cfg)
{
    handler_t *grown = realloc(cfg->handlers, (cfg->n_handlers + 1) * sizeof *grown);
    if (!grown)
        return yt_fail(d, NULL, "out of memory");
    cfg->handlers = grown;
    handler_t *h = &cfg->handlers[cfg->n_handlers++];
    memset(h, 0, sizeof *h);
    h->kind = HANDLER_SCRIPT;
    h->script_is_auto = 1;
    h->expiration = -1;
    h->line = yt_line(yt_map_key(d, root, "runtime"));
    if (!(h->url = strdup("/.*")) || !(h->script = strdup(cfg->python3_app)))
        return yt_fail(d, NULL, "out of memory");
    pcre2_code *re = NULL;
    int rc = compile_or_fail(d, root, "url", h->url, &re);
    h->re = re;
    return rc;
}

/* Appends text to out as a regex that matches it literally, on one line:
 * a line break is written as \n, since static_only_files holds one regex
 * a line. */
static int append_literal(buf_t *out, const char *text, size_t len)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < len; i++) {
        if (text[i] == '\n') {
            rc = buf_append(out, "\\n", 2);
            continue;
        }
        if (strchr("\\^$.|?*+()[]{}", text[i]))
            rc = buf_append(out, "\\", 1);
        if (rc == 0)
            rc = buf_append(out, &text[i], 1);
    }
    return rc;
}

/* Appends a regex of every file below folder (relative to the app
 * folder) as the static handlers serve it: "." and empty components are
 * not there ("./pub/" is pub), and "." alone is the whole app. */
static int append_folder_files(buf_t *out, const char *folder)
{
    int rc = 0, any = 0;
    for (const char *p = folder; rc == 0 && *p;) {
        size_t len = strcspn(p, "/");
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            rc = any++ ? buf_append(out, "/", 1) : 0;
            rc = rc ? rc : append_literal(out, p, len);
        }
        p += len;
        p += *p == '/';
    }
    return rc ? rc : buf_append_str(out, any ? "/.*" : ".*");
}

/* cfg->static_only_files: each static handler's files (a static_dir's
 * tree, a static_files' upload regex) unless it is application_readable,
 * one regex a line. Apart, as App Engine matched each upload alone: in one
 * alternation two uploads' groups could clash (the same name at two
 * numbers, two names at one) though each is valid. Each upload was
 * compiled with its handler; a folder's regex is literal. */
static int build_static_only_files(yt_doc_t *d, app_config_t *cfg)
{
    buf_t re_text = BUF_INIT;
    int rc = 0, any = 0;
    for (size_t i = 0; rc == 0 && i < cfg->n_handlers; i++) {
        const handler_t *h = &cfg->handlers[i];
        if (h->kind == HANDLER_SCRIPT || h->application_readable)
            continue;
        rc = any++ ? buf_append_str(&re_text, "\n") : 0;
        if (rc == 0 && h->kind == HANDLER_STATIC_DIR) {
            rc = append_folder_files(&re_text, h->static_dir);
        } else if (rc == 0) {
            rc = buf_append_str(&re_text, h->upload);
        }
        /* Named by its url: an included handler's line is in another file. */
        if (rc == 0 && re_text.len > CONFIG_MAX_INSTANCE_ARG) {
            char q[80];
            yt_quote(q, sizeof q, h->url, strlen(h->url));
            buf_free(&re_text);
            return yt_fail(d, NULL,
                           "the static handlers' upload patterns and static_dir folders take "
                           "more than %zu bytes together, the most an instance is given; the "
                           "handler for '%s' goes past it",
                           CONFIG_MAX_INSTANCE_ARG, q);
        }
    }
    if (rc == 0 && any)
        rc = buf_append(&re_text, "", 1);
    if (rc == 0 && any && !(cfg->static_only_files = strdup(buf_ptr(&re_text))))
        rc = -1;
    buf_free(&re_text);
    return rc < 0 ? yt_fail(d, NULL, "out of memory") : 0;
}

uint64_t config_default_deadline_ms(const app_config_t *cfg)
{
    return cfg->python3_app ? 600000 : 60000;
}

/* App Engine's keys that gaelic accepts and cannot honour on one machine. */
static const char *const UNUSED_KEYS[] = {
    "automatic_scaling", "basic_scaling",       "manual_scaling", "vpc_access_connector",
    "service_account",   "build_env_variables", "runtime_config", NULL,
};

/* automatic_scaling's keys that are honoured: min_pending_latency and
 * max_pending_latency (pool.c), min_instances, max_instances,
 * min_idle_instances and max_idle_instances (serve.c, pool.c), and
 * max_concurrent_requests (serve.c, which says when an instance serving
 * one request at a time leaves it unused: --threadsafe_override decides
 * that). Appends ", "-separated those given. */
static int honoured_scaling_keys(yt_doc_t *d, const yaml_node_t *map, buf_t *out, int *n)
{
    static const char *const honoured[] = {
        "min_pending_latency", "max_pending_latency", "min_instances",          "max_instances",
        "min_idle_instances",  "max_idle_instances",  "max_concurrent_requests"};
    *n = 0;
    for (size_t k = 0; k < sizeof honoured / sizeof *honoured; k++) {
        if (!yt_map_given_value(d, map, honoured[k]))
            continue;
        if (buf_printf(out, "%s%s", (*n)++ ? ", " : "", honoured[k]) < 0)
            return -1;
    }
    return 0;
}

static int set_unused_keys(yt_doc_t *d, const yaml_node_t *root, app_config_t *cfg)
{
    buf_t names = BUF_INIT, honoured = BUF_INIT;
    int rc = 0;
    for (size_t i = 0; rc == 0 && UNUSED_KEYS[i]; i++) {
        const yaml_node_t *v = yt_map_given_value(d, root, UNUSED_KEYS[i]);
        if (!v)
            continue;
        int n = 0;
        honoured.len = 0;
        if (!strcmp(UNUSED_KEYS[i], "automatic_scaling") && v->type == YAML_MAPPING_NODE) {
            if ((rc = honoured_scaling_keys(d, v, &honoured, &n)) < 0)
                break;
            if (v->data.mapping.pairs.top - v->data.mapping.pairs.start == n)
                continue;
        }
        rc = n ? buf_printf(&names, "%s%s (but %.*s)", names.len ? ", " : "", UNUSED_KEYS[i],
                            (int)honoured.len, buf_ptr(&honoured))
               : buf_printf(&names, "%s%s", names.len ? ", " : "", UNUSED_KEYS[i]);
    }
    if (rc == 0 && names.len &&
        (buf_append(&names, "", 1) < 0 || !(cfg->unused_keys = strdup(buf_ptr(&names)))))
        rc = -1;
    buf_free(&names);
    buf_free(&honoured);
    return rc < 0 ? yt_fail(d, NULL, "out of memory") : 0;
}

/* python3 apps had no skip_files (App Engine's SDK refused it for them):
 * gcloud left out what the app's .gcloudignore, or its default, said. */
static int set_python3_skip_files(yt_doc_t *d, app_config_t *cfg)
{
    buf_t re = BUF_INIT;
    int rc = gcloudignore_app_regex(cfg->root, &re, d->err, d->errlen);
    if (rc == 0 && !(cfg->skip_files = strdup(buf_ptr(&re))))
        rc = yt_fail(d, NULL, "out of memory");
    buf_free(&re);
    return rc;
}

/* App Engine's instance classes go with the scaling: F1..F4_1G with
 * automatic scaling (the default, F1 without instance_class), B1..B8 with
 * basic or manual scaling (B2 without it); it refused the others. Checked
 * after includes, which may add manual_scaling. */
static int set_instance_class(yt_doc_t *d, const yaml_node_t *root, app_config_t *cfg)
{
    const char *scaling = yt_map_given_key(d, root, "basic_scaling") ? "basic_scaling"
                          : cfg->manual_scaling_instances            ? "manual_scaling"
                                                                     : NULL;
    if (!cfg->instance_class)
        return scaling && !(cfg->instance_class = strdup("B2")) ? yt_fail(d, NULL, "out of memory")
                                                                : 0;
    int backend_class = instance_class_name(cfg->instance_class)[0] == 'B';
    if (!scaling == !backend_class)
        return 0;
    return yt_fail(d, yt_map_value(d, root, "instance_class"),
                   "instance_class: %s is not for %s (use %s)", cfg->instance_class,
                   scaling ? scaling : "automatic scaling, the default",
                   scaling ? "B1, B2, B4, B4_1G or B8"
                           : "F1, F2, F4 or F4_1G, or basic_scaling or manual_scaling");
}

static int finish_config(yt_doc_t *d, const yaml_node_t *root, app_config_t *cfg)
{
    if (config_is_python3(cfg->runtime) && set_python3_app(d, root, cfg) < 0)
        return -1;
    /* App Engine refused a python27 app.yaml without it, or with it empty
     * (MissingThreadsafe); the error names the empty key's line. */
    if (strcmp(cfg->runtime, "python27") == 0 && !yt_map_given_key(d, root, "threadsafe")) {
        const yaml_node_t *empty = yt_map_key(d, root, "threadsafe");
        return yt_fail(d, empty ? empty : yt_map_key(d, root, "runtime"),
                       "runtime python27 needs 'threadsafe: true' or 'threadsafe: false'");
    }
    /* App Engine's RuntimeDoesNotSupportLibraries (python3 runtimes list
     * Debian's packages here: README). */
    if (strcmp(cfg->runtime, "python") == 0 && cfg->n_libraries)
        return yt_fail(d, yt_map_key(d, root, "libraries"),
                       "libraries: the python runtime (2.5) has none; use python27 or a python3 "
                       "runtime");
    /* python3 runtimes presumed every app threadsafe (they no longer read
     * the key); max_concurrent_requests: 1 is how an app says it is not. */
    if (cfg->python3_app && !yt_map_given_key(d, root, "threadsafe"))
        cfg->threadsafe = cfg->max_concurrent_requests != 1;
    if (check_one_scaling(d, root) < 0 || set_unused_keys(d, root, cfg) < 0)
        return -1;
    /* App Engine's MultipleProjectNames and ModuleAndServiceDefined; the
     * errors name the later key. */
    const yaml_node_t *application = yt_map_given_key(d, root, "application");
    const yaml_node_t *project = yt_map_given_key(d, root, "project");
    if (application && project) {
        const yaml_node_t *later = yt_line(application) > yt_line(project) ? application : project;
        return yt_fail(d, later, "%s: give 'application' or 'project' (its later name), not both",
                       yt_text(later));
    }
    const yaml_node_t *module = yt_map_given_key(d, root, "module");
    const yaml_node_t *service = yt_map_given_key(d, root, "service");
    if (module && service) {
        const yaml_node_t *later = yt_line(module) > yt_line(service) ? module : service;
        return yt_fail(d, later,
                       "%s: a version has 'module' or 'service' (its later name), not both",
                       yt_text(later));
    }
    if (config_check_builtins_runtime(d, yt_map_given_value(d, root, "builtins"), cfg->runtime) < 0)
        return -1;
    if (config_resolve_auto_scripts(d, cfg->handlers, cfg->n_handlers, cfg) < 0)
        return -1;
    /* app.yaml's own handlers; config_include.c checks each included file's. */
    if (config_check_cgi_threadsafe(d, yt_map_given_value(d, root, "handlers"), cfg->handlers,
                                    cfg->n_handlers, cfg) < 0)
        return -1;
    if (!cfg->api_version && !(cfg->api_version = strdup("1")))
        return yt_fail(d, NULL, "out of memory");
    if (!cfg->skip_files && cfg->python3_app && set_python3_skip_files(d, cfg) < 0)
        return -1;
    if (!cfg->skip_files && !(cfg->skip_files = strdup(DEFAULT_SKIP_FILES)))
        return yt_fail(d, NULL, "out of memory");
    if (config_resolve_includes(d, root, cfg) < 0 || set_instance_class(d, root, cfg) < 0)
        return -1;
    if (cfg->python3_app && add_python3_catch_all(d, root, cfg) < 0)
        return -1;
    if (cfg->n_handlers == 0) {
        const yaml_node_t *list = yt_map_value(d, root, "handlers");
        return yt_fail(d, list ? list : root, "no handlers");
    }
    if (strlen(cfg->skip_files) > CONFIG_MAX_INSTANCE_ARG)
        return yt_fail(d, yt_map_key(d, root, "skip_files"),
                       "skip_files: the regular expressions take more than %zu bytes together "
                       "(included files' counted), the most an instance is given",
                       CONFIG_MAX_INSTANCE_ARG);
    pcre2_code *re = NULL;
    int rc = compile_or_fail_as(d, yt_map_key(d, root, "skip_files"), "skip_files", cfg->skip_files,
                                SKIP_FILES_ANCHORING, &re, NULL);
    cfg->skip_files_re = re;
    return rc < 0 ? -1 : build_static_only_files(d, cfg);
}

static int fill_config(yt_doc_t *d, app_config_t *cfg)
{
    yaml_node_t *root = yt_root(d);
    if (!root || yt_is_null(root))
        return yt_fail_line(d, 1,
                            "the file is empty: it needs at least 'runtime:' (and, but for "
                            "python3 runtimes, 'handlers:')");
    if (yt_map_apply(d, root, APP_FIELDS, N_APP_FIELDS, cfg, NULL, NULL) < 0)
        return -1;
    return finish_config(d, root, cfg);
}

static int load_text(const char *text, size_t len, const char *path, const char *root,
                     app_config_t **out, char *err, size_t errlen)
{
    *out = NULL;
    app_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg || !(cfg->path = strdup(path)) || !(cfg->root = strdup(root))) {
        config_free(cfg);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    cfg->default_expiration = -1;
    cfg->min_pending_latency_ms = -1;
    cfg->max_pending_latency_ms = -1;
    cfg->max_idle_instances = -1;
    yt_doc_t d;
    int rc = yt_load(&d, text, len, path, err, errlen);
    if (rc == 0)
        rc = fill_config(&d, cfg);
    yt_free(&d);
    if (rc < 0) {
        config_free(cfg);
        return -1;
    }
    *out = cfg;
    return 0;
}

int config_load_string(const char *yaml, size_t len, const char *path, const char *app_dir,
                       app_config_t **out, char *err, size_t errlen)
{
    return load_text(yaml ? yaml : "", yaml ? len : 0, path ? path : "app.yaml",
                     app_dir ? app_dir : ".", out, err, errlen);
}

/* ---- config_load: the file ----------------------------------------------- */

char *config_join_path(const char *dir, const char *name)
{
    buf_t b = BUF_INIT;
    size_t len = strlen(dir);
    const char *sep = len && dir[len - 1] == '/' ? "" : "/";
    if (buf_printf(&b, "%s%s%s", dir, sep, name) < 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_ptr(&b); /* off is 0: the buffer's data */
}

int config_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    /* O_NONBLOCK: opening a FIFO named app.yaml must not wait for a writer
     * (it is refused below); a regular file's reads ignore the flag. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    buf_t b = BUF_INIT;
    char chunk[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > (size_t)MAX_APP_YAML_BYTES) {
            snprintf(err, errlen, "%s: larger than %ld bytes", path, MAX_APP_YAML_BYTES);
            rc = -1;
            break;
        }
        if (buf_append(&b, chunk, n) < 0) {
            snprintf(err, errlen, "%s: out of memory", path);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    fclose(f);
    if (rc < 0) {
        buf_free(&b);
        return -1;
    }
    *text = b.data;
    *len = b.len;
    return 0;
}

/* APPDIR/app.yaml, else APPDIR/app.yml; NULL (and err) when neither. */
static char *find_app_yaml(const char *app_dir, const char **name, char *err, size_t errlen)
{
    static const char *const names[] = {"app.yaml", "app.yml"};
    /* A folder that is missing or cannot be searched says so: "no
     * app.yaml" would send its user looking for a file that is there. */
    struct stat dir;
    if (stat(app_dir, &dir) < 0) {
        snprintf(err, errlen, "%s: %s", app_dir, strerror(errno));
        return NULL;
    }
    if (!S_ISDIR(dir.st_mode)) {
        snprintf(err, errlen, "%s: not a folder (APPDIR is the app's folder or its app.yaml)",
                 app_dir);
        return NULL;
    }
    for (size_t i = 0; i < 2; i++) {
        char *path = config_join_path(app_dir, names[i]);
        if (!path) {
            snprintf(err, errlen, "%s: out of memory", app_dir);
            return NULL;
        }
        /* lstat: a dangling or looping symlink is found here and its
         * error reported when it is read, not as "no app.yaml". */
        struct stat st;
        if (lstat(path, &st) == 0) {
            *name = names[i];
            return path;
        }
        if (errno != ENOENT) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            free(path);
            return NULL;
        }
        free(path);
    }
    snprintf(err, errlen, "%s: no app.yaml or app.yml", app_dir);
    return NULL;
}

/* A path to the app.yaml file itself, as dev_appserver took it
 * (`dev_appserver.py app.yaml`): its folder (a copy) and its file name
 * (within path); NULL when path is no regular file. */
static char *folder_of_file(const char *path, const char **name)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return NULL;
    const char *slash = strrchr(path, '/');
    *name = slash ? slash + 1 : path;
    if (!slash)
        return strdup(".");
    return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

int config_load(const char *app_dir, app_config_t **out, char *err, size_t errlen)
{
    *out = NULL;
    const char *name = NULL;
    char *path, *folder = folder_of_file(app_dir, &name);
    if (folder) {
        path = strdup(app_dir);
        app_dir = folder;
    } else {
        path = find_app_yaml(app_dir, &name, err, errlen);
    }
    if (!path) {
        if (folder)
            snprintf(err, errlen, "%s: out of memory", app_dir);
        free(folder);
        return -1;
    }
    char *text = NULL, *root = NULL, *abs_path = NULL;
    size_t len = 0;
    int rc = -1;
    if (config_read_file(path, &text, &len, err, errlen) < 0)
        goto out;
    if (!(root = realpath(app_dir, NULL))) {
        snprintf(err, errlen, "%s: %s", app_dir, strerror(errno));
        goto out;
    }
    if (!(abs_path = config_join_path(root, name))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    if (load_text(text ? text : "", len, path, root, out, err, errlen) < 0)
        goto out;
    /* Messages named the path as given; the struct keeps the absolute one. */
    free((*out)->path);
    (*out)->path = abs_path;
    abs_path = NULL;
    rc = 0;
out:
    free(abs_path);
    free(root);
    free(text);
    free(path);
    free(folder);
    return rc;
}

/* ---- skip_files and RT10 limits ------------------------------------------- */

int config_is_skipped(const app_config_t *cfg, const char *relpath)
{
    if (!cfg || !cfg->skip_files_re || !relpath)
        return 0;
    /* A path the regex cannot be matched on (PCRE2's match limit, no
     * memory) is left out, as the instances leave it out of the app's
     * reach (instance/skip_files.c): never served as if nothing matched. */
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md)
        return 1;
    int rc = skip_match(cfg->skip_files_re, md, relpath, strlen(relpath));
    pcre2_match_data_free(md);
    return rc != 0;
}

typedef struct {
    const app_config_t *cfg;
    config_link_fn outside_link;
    void *ctx;
    app_file_limits_t lim;
    long files;        /* uploaded as the app's code and resources */
    long static_files; /* uploaded as a static handler's files */
    long long bytes;
    int in_link; /* walking a folder a followed link leads to */
    char *err;
    size_t errlen;
    char rel[PATH_MAX]; /* path relative to root being visited */
} walk_t;

static int walk_fail_errno(walk_t *w, const char *rel)
{
    snprintf(w->err, w->errlen, "%s/%s: %s", w->cfg->root, rel, strerror(errno));
    return -1;
}

/* Whether a static handler serves the file at rel, a path relative to
 * the app folder: below its static_dir ("./pub/" is pub, "." the whole
 * app), or matched whole by its upload regex. */
static int static_handler_has(const handler_t *h, const char *rel)
{
    if (h->kind == HANDLER_STATIC_FILES) {
        pcre2_match_data *md = h->upload_re ? pcre2_match_data_create(1, NULL) : NULL;
        int rc = md ? pcre2_match(h->upload_re, (PCRE2_SPTR)rel, strlen(rel), 0, 0, md, NULL) : -1;
        pcre2_match_data_free(md);
        return rc >= 0;
    }
    if (h->kind != HANDLER_STATIC_DIR)
        return 0;
    const char *r = rel;
    for (const char *p = h->static_dir; *p;) {
        size_t len = strcspn(p, "/");
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            if (strncmp(r, p, len) != 0 || r[len] != '/')
                return 0;
            r += len + 1;
        }
        p += len;
        p += *p == '/';
    }
    return 1;
}

/* App Engine's upload sent a static handler's files apart from the code
 * (to both when the handler is application_readable: the app reads them
 * too) and limited each kind to 1000 files; the bytes count once. */
static int count_file(walk_t *w, long long size)
{
    int is_static = 0, is_code = 1;
    for (size_t i = 0; i < w->cfg->n_handlers; i++) {
        const handler_t *h = &w->cfg->handlers[i];
        if (static_handler_has(h, w->rel)) {
            is_static = 1;
            is_code = is_code && h->application_readable;
        }
    }
    w->files += is_code;
    w->static_files += is_static;
    w->bytes += size;
    if (size > w->lim.max_file_bytes) {
        snprintf(w->err, w->errlen, "%s/%s: %lld bytes, the limit for one file is %ld",
                 w->cfg->root, w->rel, size, w->lim.max_file_bytes);
        return -1;
    }
    return 0;
}

static int walk_dir(walk_t *w, int dirfd, size_t rel_len, int depth);

/* w->rel is a symlink to an existing file or folder: tells outside_link
 * when its target is not in the app folder and skip_files keeps it; 1 when
 * outside_link follows it. */
static int report_outside_link(walk_t *w, int is_dir)
{
    char path[PATH_MAX], target[PATH_MAX];
    if (!w->outside_link ||
        snprintf(path, sizeof path, "%s/%s", w->cfg->root, w->rel) >= (int)sizeof path ||
        !realpath(path, target))
        return 0;
    size_t n = strlen(w->cfg->root);
    if (strncmp(target, w->cfg->root, n) == 0 && (target[n] == '/' || target[n] == '\0'))
        return 0;
    /* skip_files names folders with a trailing '/'. */
    size_t len = strlen(w->rel);
    int skipped;
    if (is_dir && len + 1 < sizeof w->rel) {
        w->rel[len] = '/';
        w->rel[len + 1] = '\0';
        skipped = config_is_skipped(w->cfg, w->rel);
        w->rel[len] = '\0';
    } else {
        skipped = config_is_skipped(w->cfg, w->rel);
    }
    return !skipped && w->outside_link(w->ctx, w->rel, target);
}

/* One directory entry; w->rel already holds its relative path. */
static int walk_entry(walk_t *w, int dirfd, const char *name, size_t rel_len, int depth)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return walk_fail_errno(w, w->rel);
    int followed = 0;
    if (S_ISLNK(st.st_mode)) {
        /* Symlinked files count as their target; a symlinked folder is
         * walked when outside_link follows it (instances read it, and App
         * Engine's upload sent and counted its files), links inside it
         * are not followed again; dangling links count for nothing. */
        if (fstatat(dirfd, name, &st, 0) < 0)
            return 0;
        if (!w->in_link)
            followed = report_outside_link(w, S_ISDIR(st.st_mode));
        if (!S_ISREG(st.st_mode) && !(followed && S_ISDIR(st.st_mode)))
            return 0;
    }
    if (S_ISREG(st.st_mode))
        return config_is_skipped(w->cfg, w->rel) ? 0 : count_file(w, (long long)st.st_size);
    if (!S_ISDIR(st.st_mode))
        return 0;
    if (rel_len + 1 >= sizeof w->rel) {
        errno = ENAMETOOLONG;
        return walk_fail_errno(w, w->rel);
    }
    w->rel[rel_len] = '/';
    w->rel[rel_len + 1] = '\0';
    /* CPython's bytecode cache, which the server writes itself
     * (bytecode.py): not app files, whatever skip_files says, or its own
     * .pyc files could refuse the app on the next start. */
    if (strcmp(name, "__pycache__") == 0 || config_is_skipped(w->cfg, w->rel))
        return 0;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (followed ? 0 : O_NOFOLLOW));
    if (fd < 0)
        return walk_fail_errno(w, w->rel);
    w->in_link += followed;
    int rc = walk_dir(w, fd, rel_len + 1, depth + 1);
    w->in_link -= followed;
    return rc;
}

/* Walks the directory open at fd (closed here); w->rel[0..rel_len) is its
 * relative path with a trailing '/' (empty for the root). */
static int walk_dir(walk_t *w, int fd, size_t rel_len, int depth)
{
    if (depth > MAX_DIR_DEPTH) {
        close(fd);
        snprintf(w->err, w->errlen, "%s/%s: folders nested deeper than %d", w->cfg->root, w->rel,
                 MAX_DIR_DEPTH);
        return -1;
    }
    DIR *dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return walk_fail_errno(w, w->rel);
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        size_t name_len = strlen(e->d_name);
        if (rel_len + name_len + 2 > sizeof w->rel) {
            errno = ENAMETOOLONG;
            rc = walk_fail_errno(w, e->d_name);
            break;
        }
        memcpy(w->rel + rel_len, e->d_name, name_len + 1);
        rc = walk_entry(w, dirfd(dir), e->d_name, rel_len + name_len, depth);
    }
    w->rel[rel_len] = '\0';
    closedir(dir);
    return rc;
}

static void set_limits(app_file_limits_t *lim, const app_file_limits_t *given)
{
    lim->max_files = given && given->max_files > 0 ? given->max_files : 1000;
    lim->max_file_bytes = given && given->max_file_bytes > 0 ? given->max_file_bytes : 10 * MIB;
    lim->max_total_bytes = given && given->max_total_bytes > 0 ? given->max_total_bytes : 150 * MIB;
}

static int check_totals(const walk_t *w, char *err, size_t errlen)
{
    if (w->files > w->lim.max_files) {
        snprintf(err, errlen, "%s: %ld files, the limit is %ld", w->cfg->root, w->files,
                 w->lim.max_files);
        return -1;
    }
    if (w->static_files > w->lim.max_files) {
        snprintf(err, errlen, "%s: %ld static files, the limit is %ld", w->cfg->root,
                 w->static_files, w->lim.max_files);
        return -1;
    }
    if (w->bytes <= w->lim.max_total_bytes)
        return 0;
    if (w->lim.max_total_bytes % MIB == 0)
        snprintf(err, errlen, "%s: total %lld MB, the limit is %ld MB", w->cfg->root,
                 (w->bytes + MIB - 1) / MIB, w->lim.max_total_bytes / MIB);
    else
        snprintf(err, errlen, "%s: total %lld bytes, the limit is %ld bytes", w->cfg->root,
                 w->bytes, w->lim.max_total_bytes);
    return -1;
}

int config_check_files(const app_config_t *cfg, const app_file_limits_t *lim,
                       config_link_fn outside_link, void *ctx, char *err, size_t errlen)
{
    walk_t *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "%s: out of memory", cfg->root);
        return -1;
    }
    w->cfg = cfg;
    w->outside_link = outside_link;
    w->ctx = ctx;
    w->err = err;
    w->errlen = errlen;
    set_limits(&w->lim, lim);
    int rc = -1;
    int fd = open(cfg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        snprintf(err, errlen, "%s: %s", cfg->root, strerror(errno));
    else if (walk_dir(w, fd, 0, 0) == 0)
        rc = check_totals(w, err, errlen);
    free(w);
    return rc;
}

/* ---- freeing ------------------------------------------------------------- */

void config_free_handler(handler_t *h)
{
    free(h->url);
    pcre2_code_free(h->re);
    free(h->script);
    free(h->static_dir);
    free(h->static_files);
    free(h->upload);
    pcre2_code_free(h->upload_re);
    free(h->mime_type);
    free(h->http_headers);
}

void config_free(app_config_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_handlers; i++)
        config_free_handler(&cfg->handlers[i]);
    free(cfg->handlers);
    for (size_t i = 0; i < cfg->n_env; i++) {
        free(cfg->env[i].key);
        free(cfg->env[i].value);
    }
    free(cfg->env);
    for (size_t i = 0; i < cfg->n_libraries; i++) {
        free(cfg->libraries[i].name);
        free(cfg->libraries[i].version);
    }
    free(cfg->libraries);
    for (size_t i = 0; i < cfg->n_error_handlers; i++) {
        free(cfg->error_handlers[i].error_code);
        free(cfg->error_handlers[i].file);
        free(cfg->error_handlers[i].mime_type);
    }
    free(cfg->error_handlers);
    free(cfg->path);
    free(cfg->root);
    free(cfg->application);
    free(cfg->version);
    free(cfg->service);
    free(cfg->runtime);
    free(cfg->api_version);
    free(cfg->instance_class);
    free(cfg->python3_app);
    free(cfg->entrypoint);
    free(cfg->import_path);
    free(cfg->gunicorn_chdir);
    free(cfg->unused_keys);
    free(cfg->skip_files);
    pcre2_code_free(cfg->skip_files_re);
    free(cfg->static_only_files);
    free(cfg);
}
