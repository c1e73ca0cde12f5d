/* One client connection: reading and parsing requests (one at a time,
 * pipelined ones in order), routing, handing scripts to the pool, writing
 * responses, keep-alive and the slow-client timeouts. Connections to the
 * HTTP API server's port are the same, their requests going to api_http.h. */
#ifndef GAELIC_CONN_H
#define GAELIC_CONN_H

#include <sys/socket.h>

#include "server.h"

/* Takes ownership of fd (non-blocking, accepted). api: it came to the HTTP
 * API server's port, and each of its requests goes to api_http.h instead of
 * the app (not logged as a request either). */
void conn_open(server_t *srv, int fd, const struct sockaddr *peer, int api);
/* Server stop: idle connections close now, busy ones after their response. */
void conn_stop_all(server_t *srv);
/* Closes every connection at once (end of the stop); a request still
 * without its answer is logged with 503. */
void conn_close_all(server_t *srv);
/* Frees connections closed during the last event batch. */
void conn_reap(server_t *srv);
/* At --max_connections: closes the client connection idle longest (no
 * request begun, nothing to write) to make room. 1 if one was closed. */
int conn_evict_idle(server_t *srv);
/* Number of connections with a request in progress. */
int conn_busy_count(const server_t *srv);

#endif
