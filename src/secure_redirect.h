/* `secure:` of app.yaml handlers (RT1): `always` sends a plain-HTTP request
 * to the same URL over https://, `never` sends an HTTPS request to http://.
 * gaelic itself speaks plain HTTP only, so a request counts as HTTPS only
 * when a trusted front proxy (--trusted_proxy) says so in X-Forwarded-Proto.
 * Pure functions over buffers: conn.c does the I/O. */
#ifndef GAELIC_SECURE_REDIRECT_H
#define GAELIC_SECURE_REDIRECT_H

#include <netinet/in.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "http.h"

#define TRUSTED_PROXIES_MAX 16

/* Peer addresses whose X-Forwarded-Proto is believed. IPv4 addresses are
 * kept as IPv4-mapped IPv6 so one compare covers both families. */
typedef struct {
    struct in6_addr addr[TRUSTED_PROXIES_MAX];
    size_t n;
} trusted_proxies_t;

/* Parses a comma-separated list of numeric IPv4/IPv6 addresses (NULL or ""
 * means none). Returns 0, or -1 with the offending entry named in err. */
int trusted_proxies_parse(trusted_proxies_t *tp, const char *list, char *err, size_t errlen);

/* 1 when peer_ip (numeric, as inet_ntop wrote it) is one of tp's. */
int trusted_proxy_peer(const trusted_proxies_t *tp, const char *peer_ip);

/* 1 when the request came over HTTPS: the peer (numeric, as inet_ntop wrote
 * it) is a trusted proxy and the last X-Forwarded-Proto header's last
 * element is "https". Anything else is plain HTTP. */
int secure_request_is_https(const http_request_t *req, const trusted_proxies_t *tp,
                            const char *peer_ip);

/* 1 when host (a Host header value) is a plain host[:port] that is safe to
 * put in a Location header: http_host_usable, of letters, digits, '-',
 * '.', '_', ':' and IPv6 brackets. */
int secure_host_valid(const char *host, size_t len);

/* For a handler with secure: mode, returns 0 when the request may go on.
 * Otherwise appends the redirect to the other scheme to out and returns its
 * status, or -1 when memory runs out. The status is code (the handler's
 * redirect_http_response_code) when not 0, else 302 for GET and HEAD and
 * 307 for other methods so that they keep their method and body. The redirect has no body. host is
 * the host[:port] the Location names: the Host header when secure_host_valid, else the server's
 * own (conn.c's request_host chooses). */
int secure_redirect(buf_t *out, secure_t mode, int code, int is_https, const http_request_t *req,
                    const char *host, size_t host_len, int keep_alive, int http10);

#endif
