/* The client's address of a request (REMOTE_ADDR, the request log's ip).
 * App Engine gave apps the address of the client itself; behind a front
 * proxy (--trusted_proxy) that is the address the proxy appended to
 * X-Forwarded-For, not the proxy's own. */
#ifndef GAELIC_CLIENT_ADDRESS_H
#define GAELIC_CLIENT_ADDRESS_H

#include <netinet/in.h>

#include "http.h"
#include "secure_redirect.h"

/* peer_ip, or, when peer_ip is a trusted proxy, the last element of the
 * last X-Forwarded-For line if it is a numeric IPv4 or IPv6 address
 * (written to out, as inet_ntop writes it, an IPv4-mapped one as IPv4).
 * Anything else there (a port, a name, "unknown") leaves peer_ip. */
const char *client_address(const http_request_t *req, const trusted_proxies_t *tp,
                           const char *peer_ip, char out[INET6_ADDRSTRLEN]);

#endif
