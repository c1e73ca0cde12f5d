#include "static.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gzip.h"
#include "gzip_worker.h"
#include "log.h"
#include "static_gzip.h"

/* Seconds a static file may be cached when neither its handler's
 * expiration nor default_expiration says: App Engine's 10 minutes. */
#define STATIC_DEFAULT_EXPIRATION 600L

/* Bodies up to this size are read into the response buffer. */
#define STATIC_INLINE_MAX (32 * 1024)

static int root_fd = -1;
static const app_links_t *followed; /* the app folder and --follow_symlinks' places, or NULL */

int static_init(const char *root, const app_links_t *links)
{
    static_close();
    followed = links && links->root ? links : NULL;
    root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return root_fd < 0 ? -1 : 0;
}

void static_close(void)
{
    if (root_fd >= 0)
        close(root_fd);
    root_fd = -1;
    static_gzip_clear();
}

/* ---------- content types ---------- */

static const struct {
    const char *ext, *type;
} mime_types[] = {
    {"html", "text/html"},
    {"htm", "text/html"},
    {"css", "text/css"},
    {"js", "text/javascript"},
    {"mjs", "text/javascript"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain"},
    {"csv", "text/csv"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"bmp", "image/bmp"},
    {"ico", "image/x-icon"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"eot", "application/vnd.ms-fontobject"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"wasm", "application/wasm"},
    {"rss", "application/rss+xml"},
    {"atom", "application/atom+xml"},
    {"manifest", "text/cache-manifest"},
    {"webmanifest", "application/manifest+json"},
    /* Less common, but a browser or player needs their type: <track>
     * loads only text/vtt, HLS players want the playlist's. */
    {"xhtml", "application/xhtml+xml"},
    {"xsl", "application/xml"},
    {"rdf", "application/rdf+xml"},
    {"jsonld", "application/ld+json"},
    {"md", "text/markdown"},
    {"tsv", "text/tab-separated-values"},
    {"ics", "text/calendar"},
    {"vcf", "text/vcard"},
    {"vtt", "text/vtt"},
    {"appcache", "text/cache-manifest"},
    {"m3u8", "application/vnd.apple.mpegurl"},
    {"m3u", "audio/x-mpegurl"},
    {"jpe", "image/jpeg"},
    {"apng", "image/apng"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"heic", "image/heic"},
    {"heif", "image/heif"},
    {"aac", "audio/aac"},
    {"m4a", "audio/mp4"},
    {"flac", "audio/flac"},
    {"oga", "audio/ogg"},
    {"opus", "audio/ogg"},
    {"weba", "audio/webm"},
    {"mid", "audio/midi"},
    {"midi", "audio/midi"},
    {"m4v", "video/mp4"},
    {"ogv", "video/ogg"},
    {"mpeg", "video/mpeg"},
    {"mpg", "video/mpeg"},
    {"mov", "video/quicktime"},
    {"avi", "video/x-msvideo"},
    {"3gp", "video/3gpp"},
    {"swf", "application/x-shockwave-flash"},
    {"rtf", "application/rtf"},
    {"ps", "application/postscript"},
    {"eps", "application/postscript"},
    {"doc", "application/msword"},
    {"xls", "application/vnd.ms-excel"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"epub", "application/epub+zip"},
    {"jar", "application/java-archive"},
    {"apk", "application/vnd.android.package-archive"},
    {"kml", "application/vnd.google-earth.kml+xml"},
    {"kmz", "application/vnd.google-earth.kmz"},
    {"gpx", "application/gpx+xml"},
    {"bz2", "application/x-bzip2"},
    {"xz", "application/x-xz"},
    {"7z", "application/x-7z-compressed"},
};

const char *static_mime_type(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (dot && dot[1])
        for (size_t i = 0; i < sizeof mime_types / sizeof *mime_types; i++)
            if (strcasecmp(dot + 1, mime_types[i].ext) == 0)
                return mime_types[i].type;
    return "application/octet-stream";
}

/* ---------- paths ---------- */

int static_clean_path(const char *target, char *out, size_t outlen, const char **why)
{
    size_t o = 0, seg = 0; /* seg: where the current segment starts in out */
    *why = NULL;
    if (outlen == 0) {
        *why = "path too long";
        return -1;
    }
    for (const char *p = target;; p++) {
        char c = *p ? *p : '/'; /* the NUL ends the last segment */
        if (c == '\\') {
            *why = "backslash in path";
            return -1;
        }
        if (c == '/') {
            size_t n = o - seg;
            if (n == 2 && out[seg] == '.' && out[seg + 1] == '.') {
                *why = "\"..\" in path";
                return -1;
            }
            if (n == 0 || (n == 1 && out[seg] == '.')) {
                o = seg; /* drop empty and "." segments */
            } else {
                if (o + 1 >= outlen) {
                    *why = "path too long";
                    return -1;
                }
                out[o++] = '/';
                seg = o;
            }
            if (*p == '\0')
                break;
            continue;
        }
        if (o + 1 >= outlen) {
            *why = "path too long";
            return -1;
        }
        out[o++] = c;
    }
    if (o > 0 && out[o - 1] == '/')
        o--;
    out[o] = '\0';
    if (o == 0) {
        *why = "empty path";
        return -1;
    }
    return 0;
}

/* ---------- conditional and range requests ---------- */

static int parse_num(const char **p, const char *end, off_t *out)
{
    const char *s = *p;
    off_t v = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        if (v > (((off_t)1 << 62) - 10) / 10)
            return -1;
        v = v * 10 + (*s - '0');
        s++;
    }
    if (s == *p)
        return -1;
    *p = s;
    *out = v;
    return 0;
}

int static_parse_range(const char *v, size_t len, off_t size, off_t *first, off_t *last)
{
    if (!v)
        return 0;
    const char *p = v, *end = v + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (end - p < 6 || strncasecmp(p, "bytes=", 6) != 0)
        return 0;
    p += 6;
    if (memchr(p, ',', (size_t)(end - p)))
        return 0; /* several ranges: answered with the whole file */
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    off_t a, b;
    if (p < end && *p == '-') {
        p++;
        if (parse_num(&p, end, &b) < 0 || p != end)
            return 0;
        if (b == 0 || size == 0)
            return -1;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 1;
    }
    if (parse_num(&p, end, &a) < 0 || p >= end || *p != '-')
        return 0;
    p++;
    if (p == end) {
        b = size - 1;
    } else {
        if (parse_num(&p, end, &b) < 0 || p != end || b < a)
            return 0;
        if (b >= size)
            b = size - 1;
    }
    if (a >= size)
        return -1;
    *first = a;
    *last = b;
    return 1;
}

time_t static_parse_date(const char *v, size_t len)
{
    static const char *const formats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                          "%a %b %d %H:%M:%S %Y"};
    char s[64];
    if (!v || len == 0 || len >= sizeof s)
        return -1;
    memcpy(s, v, len);
    s[len] = '\0';
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *e = strptime(s, formats[i], &tm);
        if (e && *e == '\0')
            return timegm(&tm);
    }
    return -1;
}

/* strong: RFC 9110 8.8.3.2's strong comparison, where a weak tag on
 * either side never matches; else the weak one, which ignores "W/". */
static int etag_list_matches(const char *v, size_t len, const char *etag, int strong)
{
    if (!v)
        return 0;
    const char *want = etag;
    int want_weak = strncmp(want, "W/", 2) == 0;
    if (want_weak)
        want += 2;
    size_t wlen = strlen(want);
    const char *p = v, *end = v + len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        if (p >= end)
            break;
        if (*p == '*')
            return 1;
        int weak = end - p >= 2 && p[0] == 'W' && p[1] == '/';
        if (weak)
            p += 2;
        const char *s = p;
        if (p < end && *p == '"') {
            p++;
            while (p < end && *p != '"')
                p++;
            if (p < end)
                p++;
        } else {
            while (p < end && *p != ',' && *p != ' ' && *p != '\t')
                p++;
        }
        if ((size_t)(p - s) == wlen && memcmp(s, want, wlen) == 0 &&
            !(strong && (weak || want_weak)))
            return 1;
    }
    return 0;
}

int static_etag_matches(const char *v, size_t len, const char *etag)
{
    return etag_list_matches(v, len, etag, 0);
}

int static_etag_matches_strong(const char *v, size_t len, const char *etag)
{
    return etag_list_matches(v, len, etag, 1);
}

/* Whether req's If-Match or If-None-Match (name), all of its lines one
 * list (RFC 9110 5.3), names etag: 1 or 0, or -1 when req has none. */
static int request_etag_matches(const http_request_t *req, const char *name, const char *etag,
                                int strong)
{
    size_t pos = 0, len;
    int found = -1;
    for (const char *v; (v = http_request_header_next(req, name, &pos, &len));) {
        if (strong ? static_etag_matches_strong(v, len, etag) : static_etag_matches(v, len, etag))
            return 1;
        found = 0;
    }
    return found;
}

/* ---------- serving ---------- */

static void fmt_date(time_t t, char *out, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* The console shows at most this much of a refused path. */
#define REFUSED_PATH_MAX 2000

static int refuse(const char *target, const char *why, int status, static_result_t *res)
{
    /* The path as decoded: the client chose its bytes, and an escape
     * sequence or a CR in it must not reach the server's terminal. */
    char safe[REFUSED_PATH_MAX + 1];
    size_t n = strlen(target);
    log_safe_text(safe, target, n < REFUSED_PATH_MAX ? n : REFUSED_PATH_MAX);
    log_warn("static file '%s' refused: %s", safe, why);
    res->status = status;
    return -1;
}

/* The value of header name in lines ("Name: value\r\n" each, or NULL),
 * or NULL. */
static const char *header_value(const char *lines, const char *name, size_t *len)
{
    size_t n = strlen(name);
    for (const char *line = lines; line && *line; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            *len = (size_t)(strstr(v, "\r\n") - v);
            return v;
        }
    }
    return NULL;
}

static int names_header(const char *lines, const char *name)
{
    size_t len;
    return header_value(lines, name, &len) != NULL;
}

/* The handler's http_headers, with Accept-Encoding joined to its Vary when
 * join_vary, and its strong ETag made weak when weak_etag. */
static void append_own(buf_t *out, const char *lines, int join_vary, int weak_etag)
{
    for (const char *line = lines; line && *line;) {
        const char *end = strstr(line, "\r\n");
        const char *value = line + strcspn(line, ":") + 1;
        value += strspn(value, " ");
        if (weak_etag && strncasecmp(line, "ETag:", 5) == 0 && *value == '"') {
            buf_printf(out, "%.*sW/%.*s\r\n", (int)(value - line), line, (int)(end - value), value);
        } else if (join_vary && strncasecmp(line, "Vary:", 5) == 0) {
            buf_printf(out, "%.*s%sAccept-Encoding\r\n", (int)(end - line), line,
                       value == end ? "" : ", ");
            join_vary = 0;
        } else {
            buf_append(out, line, (size_t)(end - line) + 2);
        }
        line = end + 2;
    }
}

/* rel left the root through a link: found as the links lead, the file or
 * folder is opened only when it is in the app folder after all (a link
 * written as an absolute path to a file of the app's) or in a place
 * --follow_symlinks follows (checked on what was found, then opened as
 * that very file: a link changed meanwhile cannot lead elsewhere, and a
 * device there is never opened). */
static int open_followed(const char *rel)
{
    int found = openat(root_fd, rel, O_PATH | O_CLOEXEC);
    if (found < 0)
        return -1;
    char proc[64], real[PATH_MAX];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", found);
    ssize_t n = readlink(proc, real, sizeof real - 1);
    struct stat st;
    int fd = -1;
    if (n > 0 && fstat(found, &st) == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
        real[n] = '\0';
        if (app_links_within(followed, real))
            fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        else
            errno = EXDEV;
    } else if (n > 0) {
        errno = EXDEV;
    }
    int err = errno;
    close(found);
    errno = err;
    return fd;
}

/* The kernel refuses any resolution that leaves the root (including
 * through symlinks). */
int static_open_beneath(const char *rel)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd;
    do
        fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
    while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno == EXDEV && followed)
        return open_followed(rel);
    return (int)fd;
}

/* An open that failed for want of fds or memory says nothing of the
 * file, which may well be there: a 404 would tell clients, and caches,
 * that it is gone. */
static int out_of_resources(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOMEM;
}

/* The file h serves for target: its fd, with rel (relsize bytes) its path
 * in the app folder and *st its stat, or -1 with *why (-2: the server
 * could not open it now, out_of_resources). */
static int open_file(const app_config_t *cfg, const handler_t *h, const char *target, char *rel,
                     size_t relsize, struct stat *st, const char **why)
{
    if (static_clean_path(target, rel, relsize, why) < 0)
        return -1;
    /* static_clean_path drops a trailing slash, which names a folder: a
     * file there fails to open (ENOTDIR), and no folder is served. */
    size_t target_len = strlen(target);
    if (target_len > 0 && target[target_len - 1] == '/') {
        *why = "a folder, not a file";
        return -1;
    }
    if (root_fd < 0) {
        *why = "app root not open";
        return -1;
    }
    int fd = static_open_beneath(rel);
    if (fd < 0) {
        *why = errno == EXDEV || errno == ELOOP ? "outside the app folder" : strerror(errno);
        return out_of_resources(errno) ? -2 : -1;
    }
    /* Only now, for a file that exists: skip_files is matched once for
     * each folder on the way (skip_match.h), a cost that grows fast with
     * the depth, and the client chooses the path (2000 folders took the
     * default skip_files 5 s of the loop). A real file's depth is the
     * app's own. */
    *why = NULL;
    if (config_is_skipped(cfg, rel)) {
        *why = "matched by skip_files";
    } else if (h->kind == HANDLER_STATIC_FILES && h->upload_re) {
        pcre2_match_data *md = pcre2_match_data_create(1, NULL);
        int rc = md ? pcre2_match(h->upload_re, (PCRE2_SPTR)rel, strlen(rel), 0, 0, md, NULL) : -1;
        pcre2_match_data_free(md);
        if (rc < 0)
            *why = "not matched by the handler's upload";
    }
    if (!*why && (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)))
        *why = "not a regular file";
    if (*why) {
        close(fd);
        return -1;
    }
    return fd;
}

int static_route(const app_config_t *cfg, const char *path, size_t len, route_t *r)
{
    for (size_t from = 0;;) {
        int m = router_match_from(cfg, path, len, from, r);
        const handler_t *h = r->handler;
        if (m <= 0 || h->kind == HANDLER_SCRIPT || !h->require_matching_file)
            return m;
        char rel[4096];
        const char *why;
        struct stat st;
        int fd = open_file(cfg, h, r->target, rel, sizeof rel, &st, &why);
        if (fd >= 0) {
            r->file_fd = fd; /* the file static_serve answers with */
            return m;
        }
        if (fd == -2) /* whether it is there is unknown: static_serve tries again */
            return m;
        from = r->index + 1;
        route_free(r);
    }
}

static void end_head(buf_t *out, int keep_alive, int http10, int with_length, size_t length)
{
    const char *conn =
        keep_alive ? (http10 ? "Connection: keep-alive\r\n" : "") : "Connection: close\r\n";
    buf_printf(out, "Date: %s\r\nServer: " GAELIC_SERVER_HEADER "\r\n", http_date_now());
    if (with_length)
        buf_printf(out, "Content-Length: %zu\r\n", length);
    buf_printf(out, "%s\r\n", conn);
}

/* The file of route, as open_file gives it: the one static_route opened
 * and checked, taken from the route, else opened now. */
static int route_file(const app_config_t *cfg, route_t *route, char *rel, size_t relsize,
                      struct stat *st, const char **why)
{
    int fd = route->file_fd;
    route->file_fd = -1;
    if (fd < 0)
        return open_file(cfg, route->handler, route->target, rel, relsize, st, why);
    /* rel is as open_file made it then, from the same target. */
    if (static_clean_path(route->target, rel, relsize, why) < 0) {
        close(fd);
        return -1;
    }
    if (fstat(fd, st) < 0) {
        *why = strerror(errno);
        close(fd);
        return -1;
    }
    return fd;
}

void static_serve(const app_config_t *cfg, route_t *route, const http_request_t *req,
                  int keep_alive, int head_only, int gzip_may_wait, buf_t *out,
                  static_result_t *res)
{
    const handler_t *h = route->handler;
    memset(res, 0, sizeof *res);
    res->fd = -1;
    int http10 = req->http_major == 1 && req->http_minor == 0;
    /* App Engine answered every method but HEAD as a GET (a POST to a
     * static page, as Facebook canvas apps send, got the page); only the
     * conditions and Range that RFC 9110 defines for GET and HEAD alone
     * (13.1.2, 13.1.3, 14.2) keep to them. */
    int get_or_head = req->method == HTTP_GET || req->method == HTTP_HEAD;
    char rel[4096];
    const char *why;
    struct stat st;
    int fd = route_file(cfg, route, rel, sizeof rel, &st, &why);
    if (fd < 0) {
        refuse(route->target, why, fd == -2 ? 503 : 404, res);
        return;
    }

    /* The handler's http_headers go out with every answer the file gets (a
     * 304 says what the 200 would), each in place of ours of that name (own_*
     * below: whether it has one): an
     * ETag or Last-Modified of theirs is then what clients hold, so the
     * conditions below compare with it. */
    const char *own = h->http_headers;
    char etag[512], lastmod[40]; /* config.c: a line of http_headers is under 500 */
    size_t own_len;
    const char *own_etag = header_value(own, "ETag", &own_len);
    if (own_etag && own_len < sizeof etag)
        snprintf(etag, sizeof etag, "%.*s", (int)own_len, own_etag);
    else
        /* A strong tag changes with the bytes (RFC 9110 8.8.1): the
         * mtime's nanoseconds tell apart two versions of one size written
         * in the same second, which If-None-Match would take for the one
         * the client holds (304, the old file kept) and If-Range join. */
        snprintf(etag, sizeof etag, "\"%lx-%lx.%lx\"", (unsigned long)st.st_size,
                 (unsigned long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
    /* RFC 9110 8.8.2.1: never later than the Date. A file dated in the
     * future (a clock set wrong where it was written) was modified now. */
    time_t now = time(NULL);
    time_t mtime = st.st_mtime < now ? st.st_mtime : now;
    fmt_date(mtime, lastmod, sizeof lastmod);
    const char *own_lastmod = header_value(own, "Last-Modified", &own_len);
    if (own_lastmod)
        mtime = static_parse_date(own_lastmod, own_len);

    const char *type = h->mime_type ? h->mime_type : static_mime_type(rel);
    size_t type_len = strlen(type);
    /* The type that goes out decides, the handler's own when it has one. */
    const char *own_type = header_value(own, "Content-Type", &own_len);
    if (own_type) {
        type = own_type;
        type_len = own_len;
    }
    /* RT6 as for dynamic responses (gzip.h): whether this client's 200 is
     * the gzip variant of the file; not when the handler's http_headers
     * forbid transforming it (Cache-Control: no-transform). */
    size_t own_cc_len;
    const char *own_cc = header_value(own, "Cache-Control", &own_cc_len);
    int no_transform = own_cc && http_contains(own_cc, own_cc_len, "no-transform", 0);
    int gzip_variant = !no_transform && gzip_wanted(req, type, type_len, (size_t)st.st_size) &&
                       static_gzip_fits(&st);

    size_t vlen;
    /* RFC 9110 13.2.2: If-Match, else If-Unmodified-Since, first: a client
     * resuming a download with them must not get bytes of another version
     * joined to what it has. The tag a gzip client holds is weak, which
     * If-Match never matches (8.8.3.2). */
    int im = request_etag_matches(req, "if-match", etag, 1);
    int failed;
    if (im >= 0) {
        failed = !im;
    } else {
        const char *ius = http_request_header(req, "if-unmodified-since", &vlen);
        time_t t = static_parse_date(ius, ius ? vlen : 0);
        failed = t != (time_t)-1 && mtime != (time_t)-1 && mtime > t;
    }
    int inm = request_etag_matches(req, "if-none-match", etag, 0);
    int not_modified = 0;
    if (inm >= 0) {
        not_modified = inm;
    } else if (get_or_head) {
        const char *ims = http_request_header(req, "if-modified-since", &vlen);
        time_t t = static_parse_date(ims, ims ? vlen : 0);
        not_modified = t != (time_t)-1 && mtime != (time_t)-1 && t >= mtime;
    }
    /* 13.1.2: a matching If-None-Match fails any method but GET and HEAD. */
    if (failed || (not_modified && !get_or_head)) {
        close(fd);
        res->status = 412;
        buf_append_str(out, "HTTP/1.1 412 Precondition Failed\r\n");
        end_head(out, keep_alive, http10, 1, 0);
        return;
    }

    off_t first = 0, last = st.st_size - 1;
    int range = 0;
    if (!not_modified && get_or_head) {
        const char *rv = http_request_header(req, "range", &vlen);
        if (rv) {
            range = static_parse_range(rv, vlen, st.st_size, &first, &last);
            size_t irlen;
            const char *ir = http_request_header(req, "if-range", &irlen);
            if (range != 0 && ir) {
                int ok;
                /* An entity tag, else a date (which may start with "Wed"). */
                if (irlen > 0 && (ir[0] == '"' || (irlen > 1 && ir[0] == 'W' && ir[1] == '/')))
                    /* A strong comparison: a weak tag never matches. */
                    ok = etag[0] == '"' && irlen == strlen(etag) && memcmp(ir, etag, irlen) == 0;
                /* A date is a strong validator only when it names one
                 * body (RFC 9110 13.1.5, 8.8.2.2): the gzip variant and
                 * the file share theirs, and a range of the file's bytes
                 * joined to part of a gzip body would be garbage. */
                else
                    ok = !gzip_variant && mtime != (time_t)-1 &&
                         static_parse_date(ir, irlen) == mtime;
                if (!ok)
                    range = 0;
            }
            if (range == 0) {
                first = 0;
                last = st.st_size - 1;
            }
        }
    }

    if (range < 0) {
        close(fd);
        res->status = 416;
        buf_printf(out, "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */%lld\r\n",
                   (long long)st.st_size);
        end_head(out, keep_alive, http10, 1, 0);
        return;
    }

    /* gzip never for a range: its offsets count the file's bytes. A 304
     * says what the 200 would: the same ETag and Vary, and a 206 the same
     * Vary. The ETag follows the rule, not whether the body shrank: so a
     * 304, which sends none, never compresses the file to learn its ETag. */
    int gz_fd = -1;
    size_t gz_len = 0;
    int gzip_tried = !range && gzip_variant;
    int gzipped = 0;
    if (gzip_tried && !not_modified) {
        int cached = static_gzip_cached(&st, &gz_fd, &gz_len);
        if (cached < 0 && (size_t)st.st_size < GZIP_OFFLOAD_BYTES) {
            cached = static_gzip_body(fd, &st, &gz_fd, &gz_len);
        } else if (cached < 0 && gzip_may_wait) {
            res->status = 0; /* compressed first, by a thread (static_gzip.h) */
            res->fd = fd;
            return;
        }
        /* Sent from the cache's memfd as the file would be: an answer
         * holds no copy of its own. Without an fd for it, as it is. */
        int dup_fd = cached == 1 ? fcntl(gz_fd, F_DUPFD_CLOEXEC, 0) : -1;
        if (dup_fd >= 0) {
            close(fd);
            fd = dup_fd;
            gzipped = 1;
        }
    }

    res->status = not_modified ? 304 : range ? 206 : 200;
    buf_append_str(out, not_modified ? "HTTP/1.1 304 Not Modified\r\n"
                        : range      ? "HTTP/1.1 206 Partial Content\r\n"
                                     : "HTTP/1.1 200 OK\r\n");
    if (!not_modified) {
        if (!own_type)
            buf_printf(out, "Content-Type: %.*s\r\n", (int)type_len, type);
        if (range)
            buf_printf(out, "Content-Range: bytes %lld-%lld/%lld\r\n", (long long)first,
                       (long long)last, (long long)st.st_size);
        else if (gzipped)
            buf_append_str(out, "Content-Encoding: gzip\r\n");
        else if (!names_header(own, "Accept-Ranges"))
            /* Not said of a gzipped body: a range counts the file's bytes. */
            buf_append_str(out, "Accept-Ranges: bytes\r\n");
    }
    /* Another representation (RFC 9110 8.8.3): its ETag is weak, as for a
     * dynamic response, so If-Range never joins bytes of the two, while
     * If-None-Match (a weak comparison) still matches it. Weak too when
     * the body did not shrink and went out as it is: a weak ETag is never
     * wrong, and the 304 cannot know that without compressing. */
    if (!own_etag)
        buf_printf(out, "ETag: %s%s\r\n", gzip_tried ? "W/" : "", etag);
    if (!own_lastmod)
        buf_printf(out, "Last-Modified: %s\r\n", lastmod);
    /* The file goes out gzipped to some clients: a Vary of the handler's
     * without Accept-Encoding would let a cache hand that body to any
     * client, so it is joined there, as to a dynamic response's Vary. */
    size_t own_vary_len;
    const char *own_vary = header_value(own, "Vary", &own_vary_len);
    int vary = !no_transform && gzip_varies(type, type_len) &&
               !(own_vary && (http_contains(own_vary, own_vary_len, "accept-encoding", 0) ||
                              http_contains(own_vary, own_vary_len, "*", 0)));
    if (vary && !own_vary)
        buf_append_str(out, "Vary: Accept-Encoding\r\n");
    long exp = h->expiration >= 0             ? h->expiration
               : cfg->default_expiration >= 0 ? cfg->default_expiration
                                              : STATIC_DEFAULT_EXPIRATION;
    char expires[40];
    fmt_date(time(NULL) + exp, expires, sizeof expires);
    /* Behind login:, a shared cache must not hand it to anyone. */
    if (!names_header(own, "Cache-Control"))
        buf_printf(out, "Cache-Control: %s, max-age=%ld\r\n",
                   h->login == LOGIN_OPTIONAL ? "public" : "private", exp);
    if (!names_header(own, "Expires"))
        buf_printf(out, "Expires: %s\r\n", expires);
    append_own(out, own, vary && own_vary, gzip_tried);
    if (not_modified) {
        close(fd);
        end_head(out, keep_alive, http10, 0, 0);
        return;
    }
    /* A gzipped body is the whole of the memfd fd now is. */
    size_t length = gzipped ? gz_len : st.st_size == 0 ? 0 : (size_t)(last - first + 1);
    off_t from = gzipped ? 0 : first;
    end_head(out, keep_alive, http10, 1, length);
    res->body_len = length;
    if (head_only || length == 0) {
        close(fd);
        return;
    }
    /* A small body goes out in the head's write: sendfile after a write
     * costs a second system call and a second TCP segment per file. */
    if (length <= STATIC_INLINE_MAX && buf_reserve(out, length) == 0) {
        ssize_t n = pread(fd, buf_ptr(out) + out->len, length, from);
        if (n == (ssize_t)length) {
            out->len += length;
            close(fd);
            return;
        }
    }
    res->fd = fd;
    res->offset = from;
    res->length = length;
}
