/* A listening TCP socket, for the client port (serve.c) and the HTTP API
 * server (api_http.h). */
#ifndef GAELIC_TCP_LISTEN_H
#define GAELIC_TCP_LISTEN_H

#include <stddef.h>

/* Binds host:port (a name or a numeric address; port 0 picks a free one)
 * and listens, non-blocking and close-on-exec. Returns the fd with the
 * numeric address it got in bound_host / *bound_port (and whether it is
 * IPv6 in *ipv6), or -1 with the reason in err. */
int tcp_listen(const char *host, int port, char *bound_host, size_t host_len, int *bound_port,
               int *ipv6, char *err, size_t errlen);

#endif
