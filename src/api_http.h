/* The HTTP API server's protocol (API4): the second transport of
 * api_service.h's registry, beside the instances' channels
 * (api_channel.h). It speaks the appengine-python-standard SDK's
 * DefaultApiStub protocol (API-MESSAGES.md section 1): `POST /rpc_http`,
 * body a serialized remote_api Request whose request_id holds the API
 * ticket of a running request (api_ticket.h), answer `200` with a
 * serialized remote_api Response.
 *
 * A call with a live ticket runs exactly as the ticket's request would run
 * it over its channel: same handlers, same caller (instance, request, log
 * row), its CPU charged to that request. Every failure that concerns one
 * call is a 200 with rpc_error, as the SDK expects, never with '%' in the
 * detail: SECURITY_VIOLATION for a missing, unknown or ended ticket,
 * BAD_REQUEST for a body that is not a remote_api Request,
 * REQUEST_TOO_LARGE for a body over API_HTTP_MAX_BODY, DEADLINE_EXCEEDED
 * past X-Google-RPC-Service-Deadline (default 60 s). HTTP errors are for
 * requests that are not API calls at all: 404 for another path, 405 for
 * another method, 4xx/5xx for broken HTTP.
 *
 * The connections themselves (keep-alive, timeouts, writing) are conn.h's:
 * the server's API port hands each complete request here. */
#ifndef GAELIC_API_HTTP_H
#define GAELIC_API_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "api_service.h"
#include "api_ticket.h"
#include "buf.h"
#include "http.h"
#include "loop.h"

#define API_HTTP_PATH "/rpc_http"
/* The channel's largest inner request (instance/api_call.h) plus room for
 * the envelope. */
#define API_HTTP_MAX_BODY ((32u << 20) + 4096u)
#define API_HTTP_DEFAULT_DEADLINE_MS 60000u

/* What a request gets: status 200 with body the Response envelope, or
 * another HTTP status (body NULL). Called exactly once per request, maybe
 * before api_http_handle returns; the call is over by then, and the same
 * api_http_call_t may take the next request inside the callback. */
typedef void (*api_http_answer_t)(void *owner, int status, const char *body, size_t len);

/* One connection's call. Private but for init. */
typedef struct {
    loop_t *loop;
    const api_registry_t *registry;
    api_tickets_t *tickets;
    api_http_answer_t answer;
    void *owner;
    api_call_t call;
    api_caller_t caller;
    loop_timer_t deadline;
    /* The call's ticket, to charge its CPU to the request at the end (if
     * the request still runs then). */
    char ticket[API_TICKET_HEX + 1];
    uint64_t cpu_start_ns, cpu_ns;
    int in_dispatch;
    int active;      /* between handle and answer */
    api_sent_t sent; /* the last answer's, until the connection has written it */
} api_http_call_t;

void api_http_call_init(api_http_call_t *c, loop_t *loop, const api_registry_t *registry,
                        api_tickets_t *tickets, api_http_answer_t answer, void *owner);

/* A complete request on the API port. */
void api_http_handle(api_http_call_t *c, const http_request_t *req);
/* A request http.h could not parse (its error status): 413 is answered as
 * the SDK understands it (200 with REQUEST_TOO_LARGE), others with their
 * status. */
void api_http_handle_error(api_http_call_t *c, int status);
/* The connection has written the last answer out: its handler is told
 * (api_sent_t). Nothing when it was told already. */
void api_http_sent(api_http_call_t *c);
/* The connection goes away: a running call is abandoned, answer is not
 * called; an answer not yet written counts as dropped (api_http_sent). */
void api_http_cancel(api_http_call_t *c);

/* The HTTP response for an answer: 200 application/octet-stream, or a
 * short text for an error status (405 with Allow: POST); head_only: its
 * head alone, for a HEAD. 0 or -1. */
int api_http_response(buf_t *out, int status, const char *body, size_t len, int keep_alive,
                      int http10, int head_only);

/* What an HTTP request gets before any call runs: 0 for an API call, else
 * the HTTP status (404, 405). */
int api_http_check(const http_request_t *req);
/* The call's deadline from X-Google-RPC-Service-Deadline (seconds, may be
 * a float): API_HTTP_DEFAULT_DEADLINE_MS when absent or not a positive
 * number, at most a day. */
uint32_t api_http_deadline_ms(const http_request_t *req);

#endif
