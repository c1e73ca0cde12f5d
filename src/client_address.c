#include "client_address.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

/* The last element of the last X-Forwarded-For line, blanks trimmed:
 * the proxy nearest the server appends the address it was reached from,
 * and only that proxy is trusted, not what the client sent before it. */
static const char *last_forwarded_for(const http_request_t *req, size_t *len)
{
    const char *v = NULL;
    size_t n = 0;
    for (size_t i = 0; i < req->n_headers; i++) {
        const http_header_t *h = &req->headers[i];
        if (h->value_off != UINT32_MAX && h->name_len == 15 &&
            strncasecmp(http_header_name(req, h), "x-forwarded-for", 15) == 0) {
            v = http_header_value(req, h);
            n = h->value_len;
        }
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

const char *client_address(const http_request_t *req, const trusted_proxies_t *tp,
                           const char *peer_ip, char out[INET6_ADDRSTRLEN])
{
    size_t len = 0;
    const char *v = trusted_proxy_peer(tp, peer_ip) ? last_forwarded_for(req, &len) : NULL;
    char text[INET6_ADDRSTRLEN];
    if (!v || len == 0 || len >= sizeof text)
        return peer_ip;
    memcpy(text, v, len);
    text[len] = '\0';
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, text, &v4) == 1)
        return inet_ntop(AF_INET, &v4, out, INET6_ADDRSTRLEN) ? out : peer_ip;
    if (inet_pton(AF_INET6, text, &v6) != 1)
        return peer_ip;
    if (IN6_IS_ADDR_V4MAPPED(&v6))
        return inet_ntop(AF_INET, &v6.s6_addr[12], out, INET6_ADDRSTRLEN) ? out : peer_ip;
    return inet_ntop(AF_INET6, &v6, out, INET6_ADDRSTRLEN) ? out : peer_ip;
}
