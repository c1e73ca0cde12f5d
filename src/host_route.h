/* Addressing by Host header (BK7): which backend, and which of its
 * instances, a request is for.
 *
 *   HOSTNAME                                  the default version
 *   [instance.]backend[.app-id].HOSTNAME      a backend (instance: a number)
 *   [instance-dot-]backend[-dot-app-id].HOSTNAME
 *
 * HOSTNAME is the server's --hostname; a port in the Host header is
 * ignored, letters compare case-insensitively. An unknown backend name, an
 * app id that is not ours, or any other host goes to the default version,
 * as App Engine sent unknown version names there. Whether an instance
 * number exists is the caller's check: `configure` changes the count while
 * the server runs. Pure function: no I/O. */
#ifndef GAELIC_HOST_ROUTE_H
#define GAELIC_HOST_ROUTE_H

#include <stddef.h>

#include "backends_config.h"

typedef enum {
    HOST_DEFAULT = 0, /* the default version */
    HOST_BACKEND,     /* backend (and instance, or -1 for any) */
} host_route_kind_t;

typedef struct {
    host_route_kind_t kind;
    const backend_t *backend;
    int instance; /* -1: the first available one */
} host_route_t;

/* host/host_len: the Host header value (NULL: none). */
void host_route(const backends_config_t *backends, const char *app_id, const char *hostname,
                const char *host, size_t host_len, host_route_t *out);

/* --enable_host_checking (dev_appserver's guard against DNS rebinding: a
 * page of another site that has its name resolve to this machine makes
 * the browser send that name): whether a Host header value names this
 * server. Those that do: none at all (HTTP/1.0), an IP address, localhost,
 * hostname (--hostname; the backends' addresses are under it) and
 * listen_host (--host, when a name), each with its subdomains. A port is
 * ignored. */
int host_addresses_server(const char *hostname, const char *listen_host, const char *host,
                          size_t host_len);

#endif
