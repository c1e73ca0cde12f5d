/* The HTTP API server (API4): the second transport of api_service.h's
 * registry, beside the instances' channels (api_channel.h). It speaks the
 * protocol of the appengine-python-standard SDK's DefaultApiStub
 * (API-MESSAGES.md section 1): `POST /rpc_http`, body a serialized
 * remote_api Request whose request_id holds the API ticket of a running
 * request (api_ticket.h), answer `200` with a serialized remote_api
 * Response.
 *
 * A call with a live ticket runs exactly as the ticket's request would run
 * it over its channel: same handlers, same caller (instance, request, log
 * row), its CPU charged to that request. Every failure that concerns one
 * call is a 200 with rpc_error, as the SDK expects, never with '%' in the
 * detail: SECURITY_VIOLATION for a missing, unknown or ended ticket,
 * BAD_REQUEST for an envelope that is not a remote_api Request,
 * REQUEST_TOO_LARGE for a body over API_HTTP_MAX_BODY, DEADLINE_EXCEEDED
 * past X-Google-RPC-Service-Deadline (default 60 s). HTTP errors are for
 * requests that are not API calls at all: 404 for another path, 405 for
 * another method, 4xx/5xx for broken HTTP (and the connection closes).
 *
 * Connections are HTTP/1.1 keep-alive (the SDK pools them), one call at a
 * time each, parsed by http.h and run in the master's event loop. */
#ifndef GAELIC_API_HTTP_H
#define GAELIC_API_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "api_service.h"
#include "api_ticket.h"
#include "http.h"
#include "loop.h"

#define API_HTTP_PATH "/rpc_http"
/* The channel's largest inner request (instance/api_call.h) plus room for
 * the envelope. */
#define API_HTTP_MAX_BODY ((32u << 20) + 4096u)
#define API_HTTP_MAX_CONNECTIONS 1024
#define API_HTTP_DEFAULT_DEADLINE_MS 60000u

typedef struct {
    const char *host; /* address to listen on: a loopback one */
    int port;         /* 0: a free port */
    const api_registry_t *registry;
    api_tickets_t *tickets;
    uint64_t header_timeout_ms;    /* a request head must arrive within this */
    uint64_t body_timeout_ms;      /* a body or a response may stall this long */
    uint64_t keepalive_timeout_ms; /* idle connections close after this */
} api_http_opts_t;

typedef struct api_http api_http_t;

/* Listens. NULL with the reason in err. */
api_http_t *api_http_open(loop_t *loop, const api_http_opts_t *opts, char *err, size_t errlen);
/* The address it listens on ("127.0.0.1" or "::1") and its port. */
const char *api_http_host(const api_http_t *h);
int api_http_port(const api_http_t *h);
/* Frees connections closed during the last event batch. */
void api_http_reap(api_http_t *h);
/* Closes everything (pending calls are cancelled) and frees h. */
void api_http_close(api_http_t *h);

/* Pure helpers, for the unit tests. What an HTTP request gets before any
 * call runs: 0 for an API call, else the HTTP status (404, 405). */
int api_http_check(const http_request_t *req);
/* The call's deadline from X-Google-RPC-Service-Deadline (seconds, may be
 * a float): API_HTTP_DEFAULT_DEADLINE_MS when absent or not a positive
 * number, at most a day. */
uint32_t api_http_deadline_ms(const http_request_t *req);

#endif
