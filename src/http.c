#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static http_request_t *req_of(llhttp_t *p)
{
    return (http_request_t *)p;
}

static int fail(http_request_t *r, int status, const char *reason)
{
    if (!r->error_status) {
        r->error_status = status;
        r->error_reason = reason;
    }
    return -1;
}

/* Framing bytes (all but body data) count toward max_header_bytes: the
 * head, chunk lines and trailer section. Beyond it, a head or trailer
 * section is 431, chunk lines (extensions, say) 413. */
static int count_head(http_request_t *r, size_t n)
{
    r->head_bytes += n;
    if (r->head_bytes <= r->limits->max_header_bytes)
        return 0;
    if (r->headers_done && !r->in_trailers && !r->head_tail)
        return fail(r, 413, "chunk lines too long");
    return fail(r, 431, "request header block too large");
}

/* Counts the bytes llhttp took and skipped before at (OWS before a value,
 * spaces in the request line, empty lines before it, chunk lines), and the
 * n of the span at. */
static int count_span(http_request_t *r, const char *at, size_t n)
{
    size_t skipped = r->head_pos && at > r->head_pos ? (size_t)(at - r->head_pos) : 0;
    r->head_pos = at + n;
    return count_head(r, skipped + n);
}

/* Many clients each sending a large body (slowly, or leaving it
 * unfinished), or a head of many tiny fields, would otherwise make the
 * server hold all of them at once. */
#define SERVER_BODIES_FULL "the server holds too many request bodies at once"
#define SERVER_HEADS_FULL "the server holds too many request header fields at once"
#define SERVER_HEAD_BYTES_FULL "the server holds too many request heads at once"

/* 1 when n more bytes fit the server's bound on the request bytes it
 * holds (those this request holds already are counted there). What is
 * held never passes the bound: only what fit is ever added. */
static int held_fits(const http_request_t *r, size_t n)
{
    const http_limits_t *l = r->limits;
    return !l->held || n <= l->max_held - *l->held;
}

/* Counts n bytes that held_fits took in the server's bound, as *mine. */
static void hold(http_request_t *r, size_t n, size_t *mine)
{
    if (r->limits->held) {
        *r->limits->held += n;
        *mine += n;
    }
}

/* Bytes of this request (*mine) no longer count against the bound. */
static void release(http_request_t *r, size_t *mine)
{
    if (r->limits && r->limits->held)
        *r->limits->held -= *mine;
    *mine = 0;
}

/* Appends n bytes at `at` to the head. Its bytes past HTTP_HEAD_UNCOUNTED,
 * the connection's own like its read buffer, count against the server's
 * bound too: --max_connections heads of --max_header_bytes each would
 * otherwise be held at once uncounted. -1 (failed) when they do not fit. */
static int head_append(http_request_t *r, const char *at, size_t n)
{
    size_t after = r->head.len + n;
    size_t over = after > HTTP_HEAD_UNCOUNTED ? after - HTTP_HEAD_UNCOUNTED : 0;
    if (over > r->head_held) {
        if (!held_fits(r, over - r->head_held))
            return fail(r, 503, SERVER_HEAD_BYTES_FULL);
        hold(r, over - r->head_held, &r->head_held);
    }
    if (buf_append(&r->head, at, n) < 0)
        return fail(r, 500, "out of memory");
    return 0;
}

static int on_message_begin(llhttp_t *p)
{
    req_of(p)->started = 1;
    return 0;
}

/* Bytes of a method llhttp matched so far: it hands them over at the end
 * of each chunk fed, but not those of the chunk where it gives up. */
static int on_method(llhttp_t *p, const char *at, size_t n)
{
    http_request_t *r = req_of(p);
    if (r->method_bytes == 0) { /* the request line starts: its line ends are checked */
        r->scan_from = at;
        r->prev_cr = r->prev_lf = 0;
    }
    r->method_bytes += n;
    return count_span(r, at, n);
}

/* RFC 9112 2.2: outside the body, a CR is followed by LF and an LF has its
 * CR. llhttp 8.1.0 takes any byte after the CR ending a blank line, an
 * empty field value or a chunk size as its LF ("\r\n\rX" ends a head),
 * and a bare LF ending a head or trailer section: a front end reading those
 * otherwise would see the next request where this server does not. And no
 * line starts with SP or HTAB: that is obs-fold, which llhttp joins to the
 * field value ("Content-Length:\r\n 5"), and which RFC 9112 5.2 lets a
 * server refuse, as nginx does. Checks [from, to), the framing bytes (all
 * but body data) llhttp took. */
static int check_line_ends(http_request_t *r, const char *from, const char *to)
{
    for (const char *q = from; q < to; q++) {
        if (r->prev_cr ? *q != '\n' : *q == '\n')
            return fail(r, 400, r->prev_cr ? "CR not followed by LF" : "LF without CR");
        if (r->prev_lf && (*q == ' ' || *q == '\t'))
            return fail(r, 400, "obs-fold (a header line continued)");
        r->prev_cr = *q == '\r';
        r->prev_lf = *q == '\n';
    }
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    http_request_t *r = req_of(p);
    r->target_begun = 1; /* the method is known, even if the target is refused */
    if (r->url_len + n > r->limits->max_url_bytes)
        return fail(r, 414, "request URL too long");
    /* llhttp lets HTAB and FF through; RFC 9112 3.2 has no whitespace or
     * control byte there, and a peer splitting the line at them would read
     * another target. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)at[i] <= ' ' || at[i] == 0x7f)
            return fail(r, 400, "whitespace or a control byte in the request target");
    /* A line break right after the target is HTTP/0.9's request line,
     * which llhttp takes only once one more byte comes: a client that
     * sends the line and waits would wait for the header timeout. */
    const char *end = at + n;
    if (end < r->feed_end && (*end == '\r' || *end == '\n'))
        return fail(r, 505, "HTTP/0.9 request line (no HTTP version)");
    if (count_span(r, at, n) < 0)
        return -1;
    if (r->url_len == 0)
        r->url_off = (uint32_t)r->head.len;
    if (head_append(r, at, n) < 0)
        return -1;
    r->url_len += (uint32_t)n;
    return 0;
}

/* Whether "HTTP/" precedes at, a byte of the request line being fed:
 * in this feed or (before_feed) in those before it. */
static int after_http_name(const http_request_t *r, const char *at)
{
    char name[5];
    size_t here = (size_t)(at - r->feed_begin), early = here < 5 ? 5 - here : 0;
    memcpy(name, r->before_feed + 5 - early, early);
    memcpy(name + early, at - (5 - early), 5 - early);
    return memcmp(name, "HTTP/", 5) == 0;
}

/* llhttp 8 takes "RTSP/" and "ICE/" where a request line has "HTTP/",
 * and such a request was served as HTTP. at: the version's first digit,
 * which the protocol name precedes. */
static int on_version(llhttp_t *p, const char *at, size_t n)
{
    http_request_t *r = req_of(p);
    r->version_bytes += n;
    if (r->version_seen) /* a later piece of the version */
        return 0;
    r->version_seen = 1;
    if (!after_http_name(r, at))
        return fail(r, 400, "a protocol other than HTTP in the request line");
    return 0;
}

/* The last 5 bytes fed, for on_version, while the version is still to
 * come: len bytes at data were all taken. */
static void keep_before_feed(http_request_t *r, const char *data, size_t len)
{
    if (r->version_seen)
        return;
    if (len >= 5) {
        memcpy(r->before_feed, data + len - 5, 5);
    } else {
        memmove(r->before_feed, r->before_feed + len, 5 - len);
        memcpy(r->before_feed + 5 - len, data, len);
    }
}

static int on_url_complete(llhttp_t *p)
{
    /* NUL-terminate the URL so it can be used as a C string. */
    http_request_t *r = req_of(p);
    if (r->url_len == 0)
        r->url_off = (uint32_t)r->head.len;
    if (head_append(r, "", 1) < 0)
        return -1;
    return 0;
}

/* A new header entry, its name still to come. NULL (500) without memory. */
static http_header_t *push_header(http_request_t *r)
{
    if (r->n_headers == r->cap_headers) {
        size_t cap = r->cap_headers ? r->cap_headers * 2 : HTTP_FIELDS_UNCOUNTED;
        size_t counted =
            r->cap_headers > HTTP_FIELDS_UNCOUNTED ? r->cap_headers : HTTP_FIELDS_UNCOUNTED;
        size_t more = (cap - counted) * sizeof(http_header_t);
        if (!held_fits(r, more)) {
            fail(r, 503, SERVER_HEADS_FULL);
            return NULL;
        }
        http_header_t *h = realloc(r->headers, cap * sizeof *h);
        if (!h) {
            fail(r, 500, "out of memory");
            return NULL;
        }
        r->headers = h;
        r->cap_headers = cap;
        hold(r, more, &r->table_held);
    }
    http_header_t *h = &r->headers[r->n_headers++];
    h->name_off = (uint32_t)r->head.len;
    h->name_len = 0;
    h->value_off = UINT32_MAX; /* marks "name still open" */
    h->value_len = 0;
    return h;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    http_request_t *r = req_of(p);
    if (count_span(r, at, n) < 0)
        return -1;
    if (r->in_value || r->n_headers == 0 || r->headers[r->n_headers - 1].value_off != UINT32_MAX) {
        /* First piece of a new header name. */
        if (!push_header(r))
            return -1;
        r->in_value = 0;
    }
    if (head_append(r, at, n) < 0)
        return -1;
    r->headers[r->n_headers - 1].name_len += (uint32_t)n;
    return 0;
}

static int is_tchar(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int on_header_field_complete(llhttp_t *p)
{
    http_request_t *r = req_of(p);
    /* RFC 9112 section 5.1 requires a 400 here: a proxy in front that reads
     * "Transfer-Encoding : chunked" differently would smuggle a request. */
    const http_header_t *h = r->n_headers ? &r->headers[r->n_headers - 1] : NULL;
    if (!h || h->value_off != UINT32_MAX || h->name_len == 0)
        return fail(r, 400, "empty header name");
    const char *name = buf_ptr(&r->head) + h->name_off;
    char last = name[h->name_len - 1];
    if (last == ' ' || last == '\t')
        return fail(r, 400, "whitespace between a header name and its colon");
    /* A name is a token (RFC 9110 5.1); llhttp lets a space inside one
     * through ("Content Length"), which another parser may read otherwise. */
    for (uint32_t i = 0; i < h->name_len; i++)
        if (!is_tchar((unsigned char)name[i]))
            return fail(r, 400, "invalid character in a header name");
    if (head_append(r, "", 1) < 0)
        return -1;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    http_request_t *r = req_of(p);
    if (count_span(r, at, n) < 0)
        return -1;
    http_header_t *h = &r->headers[r->n_headers - 1];
    if (!r->in_value) {
        h->value_off = (uint32_t)r->head.len;
        h->value_len = 0;
        r->in_value = 1;
    }
    if (head_append(r, at, n) < 0)
        return -1;
    h->value_len += (uint32_t)n;
    return 0;
}

/* Only "chunked" is a transfer coding we can undo; anything else (gzip,
 * compress, deflate, unknown) is 501 per RFC 9112 section 6.1. How many
 * times a list names chunked, or -1 if it names another coding. */
static int transfer_codings_chunked(const char *v, size_t len)
{
    size_t i = 0;
    int chunked = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < len && v[i] != ',' && v[i] != ';' && v[i] != ' ' && v[i] != '\t')
            i++;
        size_t tlen = i - start;
        if (tlen && !(tlen == 7 && strncasecmp(v + start, "chunked", 7) == 0))
            return -1;
        chunked += tlen > 0;
        while (i < len && v[i] != ',')
            i++;
    }
    return chunked;
}

static int on_header_value_complete(llhttp_t *p)
{
    http_request_t *r = req_of(p);
    http_header_t *h = &r->headers[r->n_headers - 1];
    if (!r->in_value) { /* empty value: no on_header_value call */
        h->value_off = (uint32_t)r->head.len;
        h->value_len = 0;
    }
    const char *v = buf_ptr(&r->head) + h->value_off;
    while (h->value_len > 0 && (v[h->value_len - 1] == ' ' || v[h->value_len - 1] == '\t'))
        h->value_len--;
    r->in_value = 0;
    if (head_append(r, "", 1) < 0)
        return -1;
    const char *name = buf_ptr(&r->head) + h->name_off;
    if (!r->headers_done && h->name_len == 17 && strncasecmp(name, "transfer-encoding", 17) == 0) {
        int chunked = transfer_codings_chunked(buf_ptr(&r->head) + h->value_off, h->value_len);
        if (chunked < 0)
            return r->te_chunked ? fail(r, 400, "a transfer coding after chunked")
                                 : fail(r, 501, "unsupported transfer coding");
        r->has_te = 1;
        r->te_chunked |= chunked > 0;
    }
    /* RFC 9112 9.6: "close" among the Connection options, which llhttp 8
     * misses when a tab follows it ("close\t"), OWS outside the value
     * (trimmed above). */
    if (!r->headers_done && h->name_len == 10 && strncasecmp(name, "connection", 10) == 0 &&
        http_contains(buf_ptr(&r->head) + h->value_off, h->value_len, "close", 0))
        r->close_listed = 1;
    return 0;
}

/* A byte of a uri-host (RFC 3986 3.2.2): ":" only inside an IP literal's
 * brackets; no space, "/", "@", "?", "#", quote or control byte. */
static int host_char(unsigned char c, int in_brackets)
{
    return isalnum(c) || (c && strchr(in_brackets ? "-._~%!$&'()*+,;=:" : "-._~%!$&'()*+,;=", c));
}

/* What RFC 3986 3.2.2 allows between an IP literal's brackets: an IPv6
 * address, with an RFC 6874 zone ("%25" then unreserved or %XX bytes), or
 * an IPvFuture ("v" HEX "." ...). Anything else ("[]", "[zz]",
 * "[1.2.3.4]") would go on into the app's SERVER_NAME and the absolute
 * URLs the server writes from the Host, which would then be no URLs. */
static int ip_literal_valid(const char *s, size_t n)
{
    if (n > 0 && (s[0] == 'v' || s[0] == 'V')) {
        size_t i = 1;
        while (i < n && isxdigit((unsigned char)s[i]))
            i++;
        if (i == 1 || i == n || s[i] != '.' || i + 1 == n)
            return 0;
        for (i++; i < n; i++)
            if (s[i] == '%' || !host_char((unsigned char)s[i], 1))
                return 0;
        return 1;
    }
    const char *zone = memmem(s, n, "%25", 3);
    size_t addr_len = zone ? (size_t)(zone - s) : n;
    char addr[INET6_ADDRSTRLEN];
    struct in6_addr a;
    if (addr_len >= sizeof addr)
        return 0;
    memcpy(addr, s, addr_len);
    addr[addr_len] = '\0';
    if (inet_pton(AF_INET6, addr, &a) != 1)
        return 0;
    if (!zone)
        return 1;
    size_t i = addr_len + 3;
    if (i == n)
        return 0;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
                !isxdigit((unsigned char)s[i + 2]))
                return 0;
            i += 2;
        } else if (!isalnum(c) && !strchr("-._~", c)) {
            return 0;
        }
    }
    return 1;
}

int http_host_usable(const char *host, size_t len)
{
    return host && len > 0 && len <= HTTP_HOST_MAX && host[0] != ':';
}

/* RFC 9112 3.2: a Host value is uri-host [":" port], the port digits
 * (RFC 3986 3.2.3): "a:b" or "a:1:2" would become the app's SERVER_PORT.
 * Empty is allowed. */
static int host_valid(const char *v, size_t n)
{
    size_t i = 0;
    if (n > 0 && v[0] == '[') {
        const char *rb = memchr(v, ']', n);
        if (!rb || !ip_literal_valid(v + 1, (size_t)(rb - v - 1)))
            return 0;
        i = (size_t)(rb - v) + 1;
    } else {
        while (i < n && host_char((unsigned char)v[i], 0))
            i++;
    }
    if (i < n && v[i] == ':')
        for (i++; i < n && isdigit((unsigned char)v[i]); i++)
            ;
    return i == n;
}

/* RFC 9112 section 3.2.2: with an absolute-form target ("GET http://a/p")
 * the target's authority is the host and the Host header is ignored, so
 * the Host header's value becomes that authority for routing and the app;
 * an HTTP/1.0 request without a Host header gets one. host: the index of
 * the Host header, or -1 when there is none. */
static int take_target_authority(http_request_t *r, long host)
{
    const char *url = buf_ptr(&r->head) + r->url_off;
    size_t i = 0, len = r->url_len;
    if (len == 0 || !isalpha((unsigned char)url[0]))
        return 0;
    while (i < len && (isalnum((unsigned char)url[i]) || strchr("+-.", url[i])))
        i++;
    if (len - i < 3 || memcmp(url + i, "://", 3) != 0)
        return 0;
    size_t start = i + 3, end = start;
    while (end < len && !strchr("/?#", url[end]))
        end++;
    if (end == start || memchr(url + start, '@', end - start))
        return fail(r, 400, "absolute-form target without a host, or with user info");
    if (host < 0) {
        http_header_t *h = push_header(r);
        if (!h || buf_append(&r->head, "Host", 5) < 0)
            return h ? fail(r, 500, "out of memory") : -1;
        h->name_len = 4;
        host = (long)r->n_headers - 1;
    }
    /* The authority is copied within head: room first, since growing head
     * moves it. */
    if (buf_reserve(&r->head, end - start + 1) < 0)
        return fail(r, 500, "out of memory");
    url = buf_ptr(&r->head) + r->url_off;
    uint32_t off = (uint32_t)r->head.len;
    buf_append(&r->head, url + start, end - start);
    buf_append(&r->head, "", 1);
    r->headers[host].value_off = off;
    r->headers[host].value_len = (uint32_t)(end - start);
    return 0;
}

/* RFC 9110 10.1.1: Expect is a list over all its lines (5.3), whose empty
 * members are ignored (5.6.1). 1 when 100-continue is among them, 0 when
 * there is none, -1 when another expectation (unsupported) is. */
static int expect_continue(const http_request_t *r)
{
    int found = 0;
    for (size_t i = 0; i < r->n_headers; i++) {
        const http_header_t *h = &r->headers[i];
        if (h->name_len != 6 || strncasecmp(http_header_name(r, h), "expect", 6) != 0)
            continue;
        const char *v = http_header_value(r, h);
        size_t n = h->value_len, k = 0;
        while (k < n) {
            size_t start = k, end;
            while (k < n && v[k] != ',')
                k++;
            end = k++;
            while (start < end && (v[start] == ' ' || v[start] == '\t'))
                start++;
            while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
                end--;
            if (end == start)
                continue;
            if (end - start != 12 || strncasecmp(v + start, "100-continue", 12) != 0)
                return -1;
            found = 1;
        }
    }
    return found;
}

static int on_headers_complete(llhttp_t *p)
{
    http_request_t *r = req_of(p);
    r->headers_done = 1;
    r->head_tail = 1;
    r->method = llhttp_get_method(p);
    r->http_major = llhttp_get_http_major(p);
    r->http_minor = llhttp_get_http_minor(p);
    /* llhttp lets an HTTP/1.0 keep-alive outweigh a "close" beside it;
     * RFC 9112 9.3 says close wins. An HTTP/1.0 message with
     * Transfer-Encoding has faulty framing: answered, then closed (6.1).
     * A request asking to upgrade is answered without switching, then
     * closed: llhttp parses nothing after it, and would hand the next feed
     * back as an empty request. */
    r->keep_alive = llhttp_should_keep_alive(p) && !(p->flags & F_CONNECTION_CLOSE) &&
                    !r->close_listed && !(r->has_te && p->http_minor == 0) &&
                    !llhttp_get_upgrade(p);
    if (r->http_major != 1)
        return fail(r, 505, "HTTP version not supported");
    /* A 2xx to CONNECT opens a tunnel (RFC 9110 9.3.6), which this server
     * never does: the method is not implemented (9.1), not an app's. */
    if (r->method == HTTP_CONNECT)
        return fail(r, 501, "request method not implemented");
    /* RFC 9112 section 3.2: an HTTP/1.1 request needs exactly one Host. */
    size_t hosts = 0, host = 0, n_before = r->n_headers;
    for (size_t i = 0; i < r->n_headers; i++)
        if (r->headers[i].name_len == 4 &&
            strncasecmp(http_header_name(r, &r->headers[i]), "host", 4) == 0) {
            hosts++;
            host = i;
        }
    if (hosts > 1)
        return fail(r, 400, "more than one Host header");
    if (r->http_minor >= 1 && hosts == 0)
        return fail(r, 400, "HTTP/1.1 request without a Host header");
    if (take_target_authority(r, hosts ? (long)host : -1) < 0)
        return -1;
    if (hosts || r->n_headers > n_before) { /* take_target_authority adds one last */
        const http_header_t *h = &r->headers[hosts ? host : r->n_headers - 1];
        if (!host_valid(http_header_value(r, h), h->value_len))
            return fail(r, 400, "invalid Host");
    }
    r->n_head_fields = r->n_headers;
    /* RFC 9112 6.3: without chunked last the body's length is unknown, even
     * with a Content-Length to fall back on (an empty Transfer-Encoding). */
    if (r->has_te && !(p->flags & F_CHUNKED))
        return fail(r, 400, "Transfer-Encoding without chunked last");
    /* Google's front end answered a POST or PUT whose body has no length
     * (no Content-Length, not chunked) 411, so App Engine apps never saw
     * one; an app served so would take an empty body for the client's. */
    if ((r->method == HTTP_POST || r->method == HTTP_PUT) &&
        !(p->flags & (F_CONTENT_LENGTH | F_CHUNKED)))
        return fail(r, 411, "a POST or PUT request without a Content-Length");
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > r->limits->max_body_bytes)
        return fail(r, 413, "request body too large");
    /* One whose stated length cannot fit now is refused before the client
     * sends it (or waits for 100 Continue in vain). */
    if ((p->flags & F_CONTENT_LENGTH) && !held_fits(r, p->content_length))
        return fail(r, 503, SERVER_BODIES_FULL);
    int want_continue = expect_continue(r);
    if (want_continue < 0)
        return fail(r, 417, "unsupported Expect header");
    r->expect_continue = want_continue && r->http_minor >= 1;
    return 0;
}

/* RFC 9112 7.1: chunk data is followed by CRLF. llhttp 8 skips any two
 * bytes there (llhttp 9 checks them): a body would end where a stricter
 * peer's does not, and the rest be read as another request. Checks the
 * due CRLF bytes in [at, end); those past end wait for the next feed. */
static int check_chunk_crlf(http_request_t *r, const char *at, const char *end)
{
    for (; r->crlf_due && at < end; at++, r->crlf_due--)
        if (*at != (r->crlf_due == 2 ? '\r' : '\n'))
            return fail(r, 400, "chunk data not followed by CRLF");
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    http_request_t *r = req_of(p);
    if (r->scan_from) {
        if (check_line_ends(r, r->scan_from, at) < 0)
            return -1;
        if (r->prev_cr)
            return fail(r, 400, "CR not followed by LF");
        r->scan_from = at + n;
        r->prev_lf = 0; /* data, not a line, follows */
    }
    /* The head's end, with the first chunk line (431 beyond the limit),
     * or a later chunk line (413), before this data. */
    if (count_span(r, at, 0) < 0)
        return -1;
    r->head_pos = at + n;
    r->head_tail = 0;
    if (r->body.len + n > r->limits->max_body_bytes)
        return fail(r, 413, "request body too large");
    if (!held_fits(r, n))
        return fail(r, 503, SERVER_BODIES_FULL);
    if (buf_append(&r->body, at, n) < 0)
        return fail(r, 500, "out of memory");
    hold(r, n, &r->body_held);
    /* The data of a chunk ends here when none of it is left to come. */
    if ((p->flags & F_CHUNKED) && p->content_length == 0) {
        r->crlf_due = 2;
        return check_chunk_crlf(r, at + n, r->feed_end);
    }
    return 0;
}

/* A chunk that would take the body past the limit is refused at its size
 * line, as a Content-Length beyond it is, not once its data came. */
static int on_chunk_header(llhttp_t *p)
{
    http_request_t *r = req_of(p);
    if (p->content_length > r->limits->max_body_bytes - r->body.len)
        return fail(r, 413, "request body too large");
    /* Each chunk's line may take 16 bytes and twice the chunk's data
     * beyond the head limit (Go's net/http allows as much), so that many
     * small chunks, or extensions in proportion, are fine, but a line of
     * any length is not. */
    size_t allowance = 16 + 2 * (size_t)p->content_length;
    r->head_bytes -= r->head_bytes < allowance ? r->head_bytes : allowance;
    if (p->content_length == 0)
        r->in_trailers = 1;
    return 0;
}

/* llhttp 8 reads the ";" after an unquoted chunk extension value twice,
 * as the value's end and as the next extension's start, and so refused
 * "3;a=b;c=d" (RFC 9112 7.1.1). It is paused right after that ";", which
 * http_request_feed then hands it again. at[n]: the byte ending the value. */
static int on_chunk_extension_value(llhttp_t *p, const char *at, size_t n)
{
    http_request_t *r = req_of(p);
    if (at + n < r->feed_end && at[n] == ';') {
        r->semi_due = 1;
        return HPE_PAUSED;
    }
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    http_request_t *r = req_of(p);
    r->complete = 1;
    /* Trailer fields are not merged into the header section (RFC 9110
     * 6.5.1): a trailer Host or Content-Length is no header of the request.
     * They were parsed and checked like headers, and are dropped here. */
    r->n_headers = r->n_head_fields;
    /* Nor does a trailer Connection: close end the connection, which
     * keep_alive decided at the head. llhttp 8 reads it all the same, and
     * in the loose mode built here it would then drop every later byte of
     * the connection, unanswered. */
    p->flags &= ~F_CONNECTION_CLOSE;
    return HPE_PAUSED; /* one request at a time; pipelined bytes wait */
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_method = on_method,
    .on_url = on_url,
    .on_url_complete = on_url_complete,
    .on_version = on_version,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_chunk_extension_value = on_chunk_extension_value,
    .on_message_complete = on_message_complete,
};

void http_request_init(http_request_t *r, const http_limits_t *limits)
{
    memset(r, 0, sizeof *r);
    llhttp_init(&r->parser, HTTP_REQUEST, &settings);
    r->limits = limits;
}

void http_request_reset(http_request_t *r)
{
    release(r, &r->body_held);
    release(r, &r->head_held);
    /* A connection that sent many fields keeps a table of its usual size. */
    if (r->cap_headers > HTTP_FIELDS_UNCOUNTED) {
        free(r->headers);
        r->headers = NULL;
        r->cap_headers = 0;
        release(r, &r->table_held);
    }
    buf_reset(&r->head);
    buf_reset(&r->body);
    /* A connection that sent one large request keeps none of it; of a
     * head, only what is its own (the rest was counted). */
    buf_trim(&r->head, HTTP_HEAD_UNCOUNTED);
    buf_trim(&r->body, HTTP_KEEP_BUFFER_BYTES);
    r->url_off = r->url_len = 0;
    r->n_headers = 0;
    r->head_bytes = 0;
    r->error_status = 0;
    r->error_reason = NULL;
    r->started = r->headers_done = r->complete = r->target_begun = r->version_seen = 0;
    r->semi_due = 0;
    r->expect_continue = r->keep_alive = r->in_value = r->has_te = r->te_chunked = 0;
    r->close_listed = 0;
    r->crlf_due = 0;
    r->scan_from = NULL;
    r->prev_cr = r->prev_lf = 0;
    r->head_pos = NULL;
    r->in_trailers = r->head_tail = 0;
    r->n_head_fields = 0;
    r->method_bytes = 0;
    r->version_bytes = 0;
    r->method = 0;
    r->http_major = r->http_minor = 0;
}

void http_request_free(http_request_t *r)
{
    release(r, &r->body_held);
    release(r, &r->head_held);
    release(r, &r->table_held);
    buf_free(&r->head);
    buf_free(&r->body);
    free(r->headers);
    r->headers = NULL;
    r->n_headers = r->cap_headers = 0;
}

void http_request_drop_body(http_request_t *r)
{
    release(r, &r->body_held);
    buf_free(&r->body);
}

/* RFC 9112 section 2.3: an HTTP/1.x request with a minor version above 1
 * is served as HTTP/1.1, but llhttp 8 refuses any version it does not
 * know. When it stopped right after such a version (pos: after its digit,
 * which the chunk fed holds), the request line is fed again to a fresh
 * parser as HTTP/1.1 and parsing goes on from pos. 0 when that is not the
 * case or fails. */
static int retry_as_http11(http_request_t *r, const char *pos)
{
    llhttp_t *p = &r->parser;
    if (llhttp_get_errno(p) != HPE_INVALID_VERSION || p->http_major != 1 || p->http_minor < 2 ||
        p->http_minor > 9 || pos[-1] != '0' + p->http_minor)
        return 0;
    buf_t line = BUF_INIT;
    const char *method = llhttp_method_name((llhttp_method_t)p->method);
    int ok = buf_append_str(&line, method) == 0 && buf_append(&line, " ", 1) == 0 &&
             buf_append(&line, buf_ptr(&r->head) + r->url_off, r->url_len) == 0 &&
             buf_append(&line, " HTTP/1.1", 9) == 0;
    if (ok) {
        http_request_reset(r);
        llhttp_init(p, HTTP_REQUEST, &settings);
        r->feed_begin = buf_ptr(&line);
        ok = llhttp_execute(p, buf_ptr(&line), line.len) == HPE_OK;
    }
    buf_free(&line);
    return ok;
}

/* RFC 9110 15.6.6: a well-formed version (one digit each) that llhttp 8
 * refuses, like HTTP/3.0 or HTTP/0.5, is a major version not supported:
 * 505, as HTTP/2.0 gets from on_headers_complete. data: the chunk fed.
 * llhttp hands over the version up to where it stopped: "d.d" is 3 bytes,
 * a malformed one ("01.1", "0x": stopped after the "0") fewer. */
static int major_version_unsupported(http_request_t *r, const char *data)
{
    llhttp_t *p = &r->parser;
    const char *pos = llhttp_get_error_pos(p);
    return llhttp_get_errno(p) == HPE_INVALID_VERSION && pos && pos > data && pos <= r->feed_end &&
           r->version_bytes == 3 && p->http_major != 1 && p->http_major <= 9 &&
           p->http_minor <= 9 && pos[-1] == '0' + p->http_minor;
}

/* Whether q..end can begin "SP request-target SP HTTP/d.d CRLF": all of
 * it, or as much as has come. */
static int rest_of_request_line(const char *q, const char *end)
{
    static const char version[] = " HTTP/d.d\r\n";
    if (q < end && *q++ != ' ')
        return 0;
    const char *target = q;
    while (q < end && (unsigned char)*q > ' ' && *q != 0x7f)
        q++;
    if (q < end && q == target)
        return 0;
    for (size_t i = 0; q < end && i < sizeof version - 1; i++, q++) {
        if (version[i] == 'd' ? !isdigit((unsigned char)*q) : *q != version[i])
            return 0;
    }
    return 1;
}

/* RFC 9110 9.1: a request line with a method llhttp does not know (it
 * knows HTTP's, WebDAV's and a few more) is 501, not 400. llhttp stopped
 * at pos (in data..end) inside the method: the bytes it matched before pos
 * in this chunk are method characters, and so are method_bytes from
 * earlier chunks. */
static int method_unknown(const http_request_t *r, const char *data, const char *end,
                          const char *pos)
{
    size_t seen = r->method_bytes;
    for (const char *b = pos; b > data && is_tchar((unsigned char)b[-1]); b--)
        seen++;
    const char *q = pos;
    while (q < end && is_tchar((unsigned char)*q))
        q++;
    seen += (size_t)(q - pos);
    return seen > 0 && rest_of_request_line(q, end);
}

/* The framing bytes llhttp took up to end, in a request it did not refuse:
 * 0, or -1 for a bad line end (400) or a head or chunk line over the limit
 * (431, 413). */
static int check_rest_of_feed(http_request_t *r, const char *end)
{
    int rc = r->scan_from ? check_line_ends(r, r->scan_from, end) : 0;
    r->scan_from = NULL;
    if (rc == 0)
        rc = count_span(r, end, 0); /* skipped bytes at the end */
    r->head_pos = NULL;
    return rc;
}

http_parse_t http_request_feed(http_request_t *r, const char *data, size_t len, size_t *consumed)
{
    r->feed_begin = data;
    r->feed_end = data + len;
    /* Bytes before a request (empty lines) are not checked: on_method
     * starts the check at its request line. */
    r->scan_from = r->started ? data : NULL;
    r->head_pos = data;
    if (r->crlf_due && check_chunk_crlf(r, data, data + len) < 0) {
        *consumed = 0;
        return HTTP_ERROR;
    }
    enum llhttp_errno e = llhttp_execute(&r->parser, data, len);
    while (e == HPE_PAUSED && r->semi_due) { /* see on_chunk_extension_value */
        const char *after = llhttp_get_error_pos(&r->parser);
        r->semi_due = 0;
        llhttp_resume(&r->parser);
        e = llhttp_execute(&r->parser, ";", 1);
        if (e == HPE_OK)
            e = llhttp_execute(&r->parser, after, (size_t)(data + len - after));
    }
    const char *pos = e == HPE_INVALID_VERSION ? llhttp_get_error_pos(&r->parser) : NULL;
    if (pos && pos > data && pos <= data + len && retry_as_http11(r, pos)) {
        size_t done = (size_t)(pos - data), more = 0;
        http_parse_t rest = http_request_feed(r, pos, len - done, &more);
        *consumed = done + more;
        return rest;
    }
    if (e == HPE_OK) {
        *consumed = len;
        keep_before_feed(r, data, len);
        return check_rest_of_feed(r, data + len) < 0 ? HTTP_ERROR : HTTP_MORE;
    }
    if (e == HPE_PAUSED) {
        pos = llhttp_get_error_pos(&r->parser);
        *consumed = pos ? (size_t)(pos - data) : len;
        if (check_rest_of_feed(r, data + *consumed) < 0)
            return HTTP_ERROR;
        llhttp_resume(&r->parser);
        return HTTP_DONE;
    }
    /* Left: errors, and HPE_PAUSED_UPGRADE, which llhttp gives for any
     * byte fed after a request that asked to upgrade (whose keep_alive
     * said to close): no request, a 400 like the other errors. */
    pos = llhttp_get_error_pos(&r->parser);
    *consumed = pos && pos >= data && pos <= data + len ? (size_t)(pos - data) : len;
    if (!r->error_status && (e == HPE_PAUSED_H2_UPGRADE || major_version_unsupported(r, data))) {
        r->error_status = 505;
        r->error_reason = "HTTP version not supported";
    }
    if (!r->error_status && e == HPE_INVALID_METHOD && pos && pos >= data && pos <= data + len &&
        method_unknown(r, data, data + len, pos)) {
        r->error_status = 501;
        r->error_reason = "request method not implemented";
    }
    /* llhttp knows RTSP's methods too (PLAY, FLUSH, ...), and refuses one
     * in an HTTP request line once it has read the "HTTP/": to HTTP it is
     * a method the server does not know, 501 as any other. */
    if (!r->error_status && e == HPE_INVALID_CONSTANT && r->target_begun && !r->version_seen &&
        pos && pos >= data && pos <= data + len && after_http_name(r, pos)) {
        r->error_status = 501;
        r->error_reason = "request method not implemented";
    }
    if (!r->error_status) {
        /* llhttp's HPE_INVALID_TRANSFER_ENCODING: a coding after chunked
         * (RFC 9112 6.3: the body's length cannot be known, 400), as
         * on_header_value_complete says for one on a later line. */
        r->error_status = 400;
        r->error_reason = llhttp_get_error_reason(&r->parser);
        if (!r->error_reason)
            r->error_reason = llhttp_errno_name(e);
    }
    return HTTP_ERROR;
}

int http_request_is_head(const http_request_t *r)
{
    /* llhttp knows the method once its target began (on_url), before any
     * later error, and keeps the last request's until then. */
    return r->target_begun && r->parser.method == HTTP_HEAD;
}

const char *http_request_header_next(const http_request_t *r, const char *name, size_t *pos,
                                     size_t *len)
{
    size_t nlen = strlen(name);
    for (size_t i = *pos; i < r->n_headers; i++) {
        const http_header_t *h = &r->headers[i];
        if (h->name_len == nlen && h->value_off != UINT32_MAX &&
            strncasecmp(http_header_name(r, h), name, nlen) == 0) {
            *pos = i + 1;
            if (len)
                *len = h->value_len;
            return http_header_value(r, h);
        }
    }
    *pos = r->n_headers;
    return NULL;
}

const char *http_request_header(const http_request_t *r, const char *name, size_t *len)
{
    size_t pos = 0;
    return http_request_header_next(r, name, &pos, len);
}

const char *http_request_last_element(const http_request_t *r, const char *name, size_t *len)
{
    const char *v = NULL, *line;
    size_t pos = 0, n = 0, line_len;
    while ((line = http_request_header_next(r, name, &pos, &line_len))) {
        v = line;
        n = line_len;
    }
    if (!v)
        return NULL;
    const char *end = v + n, *start = end;
    while (start > v && start[-1] != ',')
        start--;
    while (start < end && (*start == ' ' || *start == '\t'))
        start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *len = (size_t)(end - start);
    return start;
}

const char *http_method_name(int method)
{
    return llhttp_method_name((llhttp_method_t)method);
}

const char *http_date_now(void)
{
    static time_t cached_at = -1;
    static char cached[40];
    time_t now = time(NULL);
    if (now != cached_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(cached, sizeof cached, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached_at = now;
    }
    return cached;
}

int http_contains(const char *value, size_t len, const char *token, int substring)
{
    size_t tlen = strlen(token);
    if (!value || tlen == 0 || len < tlen)
        return 0;
    for (size_t i = 0; i + tlen <= len; i++) {
        if (strncasecmp(value + i, token, tlen) != 0)
            continue;
        if (substring)
            return 1;
        /* Token match: bounded by list separators or parameters. */
        int left = i == 0 || value[i - 1] == ',' || value[i - 1] == ' ' || value[i - 1] == '\t';
        size_t e = i + tlen;
        int right =
            e == len || value[e] == ',' || value[e] == ';' || value[e] == ' ' || value[e] == '\t';
        if (left && right)
            return 1;
    }
    return 0;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* A qvalue (RFC 9110 12.4.2) of zero: "0", "0.", "0.0" ... "0.000". */
static int qvalue_is_zero(const char *v, size_t n)
{
    if (n == 0 || v[0] != '0' || (n > 1 && v[1] != '.') || n > 5)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (v[i] != '0')
            return 0;
    return 1;
}

int http_accepts_coding(const char *value, size_t len, const char *coding)
{
    size_t clen = strlen(coding);
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && value[end] != ',')
            end++;
        /* One element: OWS coding OWS *( ";" OWS param OWS ) */
        size_t p = i;
        while (p < end && is_ows(value[p]))
            p++;
        size_t name = p;
        while (p < end && value[p] != ';' && !is_ows(value[p]))
            p++;
        int match = p - name == clen && strncasecmp(value + name, coding, clen) == 0;
        int refused = 0;
        while (match && p < end) {
            while (p < end && (is_ows(value[p]) || value[p] == ';'))
                p++;
            size_t param = p;
            while (p < end && value[p] != ';')
                p++;
            size_t pend = p;
            while (pend > param && is_ows(value[pend - 1]))
                pend--;
            if (pend - param >= 2 && (value[param] | 0x20) == 'q' && value[param + 1] == '=')
                refused = qvalue_is_zero(value + param + 2, pend - param - 2);
        }
        if (match && !refused)
            return 1;
        i = end + 1;
    }
    return 0;
}

int http_request_accepts_coding(const http_request_t *r, const char *coding)
{
    size_t pos = 0, len;
    for (const char *v; (v = http_request_header_next(r, "accept-encoding", &pos, &len));)
        if (http_accepts_coding(v, len, coding))
            return 1;
    return 0;
}

int http_begin_head(buf_t *out, const char *status, size_t status_len)
{
    if (buf_append(out, "HTTP/1.1 ", 9) < 0 || buf_append(out, status, status_len) < 0 ||
        buf_append(out, "\r\n", 2) < 0)
        return -1;
    return 0;
}

int http_add_header(buf_t *out, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (buf_reserve(out, nlen + vlen + 4) < 0)
        return -1;
    buf_append(out, name, nlen);
    buf_append(out, ": ", 2);
    buf_append(out, value, vlen);
    buf_append(out, "\r\n", 2);
    return 0;
}

static const char *connection_line(int keep_alive, int http10)
{
    return keep_alive ? (http10 ? "Connection: keep-alive\r\n" : "") : "Connection: close\r\n";
}

/* Date, Server, the optional Content-Length and Connection, and the blank
 * line: written for every response, so appended without printf. */
static int end_head(buf_t *out, const size_t *content_length, int keep_alive, int http10)
{
    /* Room for all of it at once, so that no append below can fail. */
    if (buf_reserve(out, 192) < 0)
        return -1;
    buf_append(out, "Date: ", 6);
    buf_append_str(out, http_date_now());
    buf_append_str(out, "\r\nServer: " GAELIC_SERVER_HEADER "\r\n");
    if (content_length) {
        buf_append(out, "Content-Length: ", 16);
        buf_append_uint(out, *content_length);
        buf_append(out, "\r\n", 2);
    }
    buf_append_str(out, connection_line(keep_alive, http10));
    buf_append(out, "\r\n", 2);
    return 0;
}

int http_end_head(buf_t *out, size_t content_length, int keep_alive, int http10)
{
    return end_head(out, &content_length, keep_alive, http10);
}

int http_end_head_without_length(buf_t *out, int keep_alive, int http10)
{
    return end_head(out, NULL, keep_alive, http10);
}

int http_simple_response(buf_t *out, int status, int keep_alive, int http10, int head_only)
{
    char line[64], body[256];
    const char *reason = http_reason(status);
    int llen = snprintf(line, sizeof line, "%d %s", status, reason);
    int blen = snprintf(body, sizeof body,
                        "<html><head><title>%d %s</title></head>"
                        "<body><h1>%d %s</h1></body></html>\n",
                        status, reason, status, reason);
    if (http_begin_head(out, line, (size_t)llen) < 0 ||
        http_add_header(out, "Content-Type", 12, "text/html; charset=utf-8", 24) < 0 ||
        http_end_head(out, (size_t)blen, keep_alive, http10) < 0)
        return -1;
    if (!head_only && buf_append(out, body, (size_t)blen) < 0)
        return -1;
    return 0;
}

int http_header_valid(const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (nlen == 0)
        return 0;
    for (size_t i = 0; i < nlen; i++)
        if (!name[i] || !is_tchar((unsigned char)name[i]))
            return 0;
    /* RFC 9110 5.5: no control character but HTAB (obs-text is fine). */
    for (size_t i = 0; i < vlen; i++) {
        unsigned char ch = (unsigned char)value[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return 0;
    }
    return 1;
}

int http_status_valid(const char *status, size_t len, int *code)
{
    if (len < 4 || status[3] != ' ')
        return 0;
    int c = 0;
    for (int i = 0; i < 3; i++) {
        if (status[i] < '0' || status[i] > '9')
            return 0;
        c = c * 10 + (status[i] - '0');
    }
    if (c < 200 || c > 599)
        return 0;
    for (size_t i = 4; i < len; i++) {
        unsigned char ch = (unsigned char)status[i];
        if (ch < 0x20 && ch != '\t')
            return 0;
        if (ch == 0x7f)
            return 0;
    }
    *code = c;
    return 1;
}
