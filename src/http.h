/* HTTP/1.1 request parsing (llhttp glue) and response serialisation.
 * Pure functions over buffers: no sockets here, so the unit tests and the
 * fuzzer drive it directly. */
#ifndef GAELIC_HTTP_H
#define GAELIC_HTTP_H

#include <llhttp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "http_reason.h"

typedef struct {
    size_t max_header_bytes; /* request line + headers; beyond: 431 */
    size_t max_url_bytes;    /* beyond: 414 */
    size_t max_body_bytes;   /* beyond: 413 */
    /* The request bytes held at once by every request sharing held (a
     * server's connections): bodies, heads past their first
     * HTTP_HEAD_UNCOUNTED bytes, and the tables of header fields past a
     * head's first HTTP_FIELDS_UNCOUNTED, which take 16 bytes for a field
     * that may be 4 ("a:\r\n"). A body, head or table that would pass it
     * gets 503. NULL: no such bound. */
    size_t *held;
    size_t max_held;
} http_limits_t;

typedef struct {
    uint32_t name_off, name_len, value_off, value_len; /* into head */
} http_header_t;

/* A head's header table up to this many fields is the connection's own,
 * like its read buffer, and is kept between its requests; past it, the
 * table counts in limits->held and goes with the request. */
#define HTTP_FIELDS_UNCOUNTED 16

/* Likewise a head's first bytes (url, names and values); past them, they
 * count in limits->held. Larger than most heads with their cookies. */
#define HTTP_HEAD_UNCOUNTED (16u << 10)

typedef struct {
    llhttp_t parser;
    const http_limits_t *limits;
    buf_t head; /* url bytes, then header names and values */
    uint32_t url_off, url_len;
    http_header_t *headers;
    size_t n_headers, cap_headers;
    buf_t body;
    size_t body_held;     /* of body, the bytes counted in limits->held */
    size_t table_held;    /* of headers, the bytes counted in limits->held */
    size_t head_held;     /* of head, the bytes counted in limits->held */
    size_t head_bytes;    /* bytes of request line and headers seen, less chunk lines' allowance */
    const char *head_pos; /* in the bytes fed: those before it are counted (or body data) */
    int error_status;     /* 0, or the status to answer with before closing */
    const char *error_reason;
    unsigned started : 1;      /* some byte of this request was seen */
    unsigned target_begun : 1; /* on_url was called: llhttp knows the method */
    unsigned version_seen : 1; /* on_version was called */
    unsigned semi_due : 1;     /* paused after a chunk extension's ";" */
    unsigned headers_done : 1;
    unsigned complete : 1;
    unsigned expect_continue : 1; /* client waits for "100 Continue" */
    unsigned keep_alive : 1;
    unsigned in_value : 1;     /* accumulating a header value */
    unsigned has_te : 1;       /* a Transfer-Encoding header was seen */
    unsigned te_chunked : 1;   /* and it named chunked */
    unsigned close_listed : 1; /* a Connection header lists "close" */
    unsigned crlf_due : 2;     /* bytes of the CRLF after chunk data not yet checked */
    size_t n_head_fields;      /* headers, without the trailer fields after them */
    const char *feed_begin;    /* start of the bytes http_request_feed is parsing */
    const char *feed_end;      /* end of the bytes http_request_feed is parsing */
    char before_feed[5];       /* the last bytes fed before feed_begin (on_version) */
    const char *scan_from;     /* framing bytes from here on not yet checked, or NULL */
    unsigned prev_cr : 1;      /* the last framing byte checked was a CR */
    unsigned prev_lf : 1;      /* ... was an LF: a line of the head or trailers begins */
    unsigned in_trailers : 1;  /* the last chunk came: trailer fields follow */
    unsigned head_tail : 1;    /* the bytes after the last header not yet counted */
    size_t method_bytes;       /* of the method, handed over by llhttp so far */
    size_t version_bytes;      /* of the version after "HTTP/", handed over so far */
    int method;                /* llhttp_method_t */
    int http_major, http_minor;
} http_request_t;

typedef enum { HTTP_MORE = 0, HTTP_DONE, HTTP_ERROR } http_parse_t;

/* "HTTP/1.1": the request's version as its request line had it (llhttp
 * takes one digit each), for the environ and the logs of every request. */
#define HTTP_VERSION_TEXT_SIZE 9
static inline void http_version_text(const http_request_t *r, char out[HTTP_VERSION_TEXT_SIZE])
{
    memcpy(out, "HTTP/1.1", HTTP_VERSION_TEXT_SIZE);
    out[5] = (char)('0' + r->http_major % 10);
    out[7] = (char)('0' + r->http_minor % 10);
}

/* A buffer of a connection that has become larger than this is freed
 * between requests rather than kept for the next one. */
#define HTTP_KEEP_BUFFER_BYTES (64u << 10)

void http_request_init(http_request_t *r, const http_limits_t *limits);
/* Forgets the current request, keeping buffers for the next one (those up
 * to HTTP_KEEP_BUFFER_BYTES). */
void http_request_reset(http_request_t *r);
void http_request_free(http_request_t *r);
/* Frees the body, which no longer counts against limits->held: for
 * a request answered, whose answer may take long to be read. */
void http_request_drop_body(http_request_t *r);

/* Parses up to len bytes. *consumed is how many were used: on HTTP_DONE the
 * rest belongs to the next (pipelined) request. On HTTP_ERROR,
 * r->error_status is the status to answer (400, 413, 414, 431, 501, 505) and the
 * connection must be closed after the answer. */
http_parse_t http_request_feed(http_request_t *r, const char *data, size_t len, size_t *consumed);

/* Whether the request, read as far as its target at least, is a HEAD: no
 * answer to it has content, a refusal's included (RFC 9110 9.3.2). */
int http_request_is_head(const http_request_t *r);

/* The longest Host value the server names in URLs and SERVER_NAME. */
#define HTTP_HOST_MAX 255

/* 1 when host (a Host value as the parser took it, or NULL) names a host
 * that an absolute URL can carry: not empty, not a port alone (":80",
 * which the parser takes: "http://:80/" is no http URI, RFC 9110 4.2.1),
 * and at most HTTP_HOST_MAX bytes. Otherwise the server names the address
 * the client reached instead. */
int http_host_usable(const char *host, size_t len);

/* Case-insensitive lookup of the first header with this name. */
const char *http_request_header(const http_request_t *r, const char *name, size_t *len);
/* The same from the header at *pos on (0: the first), for a field whose
 * lines are one list (RFC 9110 5.3): *pos is then past the one found.
 * NULL once there is no more. */
const char *http_request_header_next(const http_request_t *r, const char *name, size_t *pos,
                                     size_t *len);

/* The last element of a list-valued field (RFC 9110 5.6.1): of its last
 * line, what follows the last comma, blanks trimmed; NULL without such a
 * field. A proxy appends to X-Forwarded-For and -Proto, so the last
 * element is what the nearest one said. */
const char *http_request_last_element(const http_request_t *r, const char *name, size_t *len);

static inline const char *http_request_url(const http_request_t *r)
{
    return buf_ptr(&r->head) + r->url_off;
}

static inline const char *http_header_name(const http_request_t *r, const http_header_t *h)
{
    return buf_ptr(&r->head) + h->name_off;
}

static inline const char *http_header_value(const http_request_t *r, const http_header_t *h)
{
    return buf_ptr(&r->head) + h->value_off;
}

const char *http_method_name(int method);

/* The Date header value for now, cached per second (IMF-fixdate). */
const char *http_date_now(void);

/* 1 when the token list in a header value (like "gzip, deflate") contains
 * `token` (case-insensitive). Also used for substring checks of the
 * User-Agent when `substring` is set. */
int http_contains(const char *value, size_t len, const char *token, int substring);
/* 1 when an Accept-Encoding value lists coding (case-insensitive) without
 * refusing it with q=0 (RFC 9110 12.5.3). */
int http_accepts_coding(const char *value, size_t len, const char *coding);
/* The same over all of r's Accept-Encoding lines, which are one list
 * (RFC 9110 5.3). */
int http_request_accepts_coding(const http_request_t *r, const char *coding);

/* Response head: "HTTP/1.1 <status>\r\n", then headers. status is the whole
 * "200 OK" text. http_end_head adds Date, Server, Content-Length and the
 * Connection header, then the blank line. */
int http_begin_head(buf_t *out, const char *status, size_t status_len);
int http_add_header(buf_t *out, const char *name, size_t nlen, const char *value, size_t vlen);
int http_end_head(buf_t *out, size_t content_length, int keep_alive, int http10);
/* The same without Content-Length: for responses that have no body and
 * must not, or cannot, state one (RFC 9110 8.6: 204, some 304 and HEAD). */
int http_end_head_without_length(buf_t *out, int keep_alive, int http10);

/* A complete short response generated by the server itself (error pages). */
int http_simple_response(buf_t *out, int status, int keep_alive, int http10, int head_only);

/* 1 when name is a valid header token and value has no control character
 * other than HTAB. */
int http_header_valid(const char *name, size_t nlen, const char *value, size_t vlen);

/* 1 when status is "NNN reason" with a final status code, 200-599, and no
 * control characters; *code receives the number. A 1xx is never a final
 * response: a client would go on waiting for one. */
int http_status_valid(const char *status, size_t len, int *code);

#define GAELIC_VERSION "0.1"
#define GAELIC_SERVER_HEADER "gaelic/" GAELIC_VERSION
/* What apps see as SERVER_SOFTWARE: the SDK's development server's form,
 * which App Engine libraries test to tell a local run from production. */
#define GAELIC_SERVER_SOFTWARE "Development/2.0"

#endif
