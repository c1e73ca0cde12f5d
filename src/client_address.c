#include "client_address.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

const char *client_address(const http_request_t *req, const trusted_proxies_t *tp,
                           const char *peer_ip, char out[INET6_ADDRSTRLEN])
{
    size_t len = 0;
    const char *v = trusted_proxy_peer(tp, peer_ip)
                        ? http_request_last_element(req, "x-forwarded-for", &len)
                        : NULL;
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
