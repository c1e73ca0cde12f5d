#include "api_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgi_env.h"

int api_http_check(const http_request_t *req)
{
    /* As the front end: an absolute-form target names the same resource
     * (RFC 9112 3.2.2: a server must accept it). */
    const char *path, *query;
    size_t path_len, query_len;
    cgi_split_target(http_request_url(req), req->url_len, &path, &path_len, &query, &query_len);
    if (path_len != sizeof API_HTTP_PATH - 1 || memcmp(path, API_HTTP_PATH, path_len) != 0)
        return 404;
    return req->method == HTTP_POST ? 0 : 405;
}

uint32_t api_http_deadline_ms(const http_request_t *req)
{
    size_t len = 0;
    const char *v = http_request_header(req, "x-google-rpc-service-deadline", &len);
    char text[32];
    if (!v || len == 0 || len >= sizeof text)
        return API_HTTP_DEFAULT_DEADLINE_MS;
    memcpy(text, v, len);
    text[len] = '\0';
    char *end;
    double s = strtod(text, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end || !(s > 0))
        return API_HTTP_DEFAULT_DEADLINE_MS;
    if (s > 86400)
        s = 86400;
    double ms = s * 1000.0;
    return ms < 1 ? 1 : (uint32_t)ms;
}

int api_http_response(buf_t *out, int status, const char *body, size_t len, int keep_alive,
                      int http10, int head_only)
{
    if (status == 200)
        return http_begin_head(out, "200 OK", 6) < 0 ||
                       http_add_header(out, "Content-Type", 12, "application/octet-stream", 24) <
                           0 ||
                       http_end_head(out, len, keep_alive, http10) < 0 ||
                       (!head_only && buf_append(out, body, len) < 0)
                   ? -1
                   : 0;
    char line[64], text[96];
    int llen = snprintf(line, sizeof line, "%d %s", status, http_reason(status));
    int tlen = snprintf(text, sizeof text, "%s\n", line);
    return http_begin_head(out, line, (size_t)llen) < 0 ||
                   (status == 405 && http_add_header(out, "Allow", 5, "POST", 4) < 0) ||
                   http_add_header(out, "Content-Type", 12, "text/plain; charset=utf-8", 25) < 0 ||
                   http_end_head(out, (size_t)tlen, keep_alive, http10) < 0 ||
                   (!head_only && buf_append(out, text, (size_t)tlen) < 0)
               ? -1
               : 0;
}

static void deadline_passed(loop_t *loop, loop_timer_t *t);

void api_http_call_init(api_http_call_t *c, loop_t *loop, const api_registry_t *registry,
                        api_tickets_t *tickets, api_http_answer_t answer, void *owner)
{
    memset(c, 0, sizeof *c);
    c->loop = loop;
    c->registry = registry;
    c->tickets = tickets;
    c->answer = answer;
    c->owner = owner;
    c->deadline.cb = deadline_passed;
}

/* The call is over: nothing of c may be touched after answer. */
static void answer(api_http_call_t *c, int status, const char *body, size_t len)
{
    c->active = 0;
    loop_timer_stop(c->loop, &c->deadline);
    c->answer(c->owner, status, body, len);
}

/* api_finish_t: every call ends here, answered 200 with the Response
 * envelope; its CPU goes to the ticket's request if that still runs. */
static void call_finish(api_call_t *call, const char *envelope, size_t len, api_sent_t sent)
{
    api_http_call_t *c = call->transport;
    /* One answer at a time: the connection writes it before it reads the
     * next request (api_http_sent). */
    c->sent = sent;
    uint64_t cpu_ns = c->in_dispatch ? loop_thread_cpu_ns() - c->cpu_start_ns : c->cpu_ns;
    if (c->ticket[0]) {
        api_ticket_t *t = api_tickets_find(c->tickets, c->ticket, API_TICKET_HEX);
        uint64_t cpu_us = cpu_ns / 1000u;
        if (t && t->ops && t->ops->charge)
            t->ops->charge(t->target, cpu_us > UINT32_MAX ? UINT32_MAX : (uint32_t)cpu_us);
        c->ticket[0] = '\0';
    }
    answer(c, 200, envelope, len);
}

/* The caller stops waiting at its deadline: so does the call. */
static void deadline_passed(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    api_http_call_t *c = (api_http_call_t *)((char *)t - offsetof(api_http_call_t, deadline));
    if (!c->active || c->call.answered)
        return;
    if (c->call.cancel)
        c->call.cancel(&c->call);
    api_reply_rpc_error(&c->call, API_RPC_DEADLINE_EXCEEDED, "");
}

/* A call about to run or to be refused. */
static void begin(api_http_call_t *c, uint32_t deadline_ms)
{
    c->active = 1;
    c->ticket[0] = '\0';
    c->in_dispatch = 0;
    memset(&c->caller, 0, sizeof c->caller);
    c->caller.instance_id = "";
    c->caller.log_id = "";
    memset(&c->call, 0, sizeof c->call);
    c->call.caller = &c->caller;
    c->call.loop = c->loop;
    c->call.deadline_ms = deadline_ms;
    c->call.finish = call_finish;
    c->call.transport = c;
}

void api_http_handle(api_http_call_t *c, const http_request_t *req)
{
    int status = api_http_check(req);
    if (status) {
        c->active = 1;
        answer(c, status, NULL, 0);
        return;
    }
    begin(c, api_http_deadline_ms(req));
    const uint8_t *body = (const uint8_t *)buf_ptr(&req->body);
    size_t len = req->body.len;
    const char *ticket;
    size_t ticket_len;
    if (api_envelope_ticket(body, len, &ticket, &ticket_len) < 0) {
        api_reply_rpc_error(&c->call, API_RPC_BAD_REQUEST,
                            "the body is not a serialized remote_api Request");
        return;
    }
    api_ticket_t *t = api_tickets_find(c->tickets, ticket, ticket_len);
    if (!t || !t->ops || !t->ops->caller) {
        api_reply_rpc_error(&c->call, API_RPC_SECURITY_VIOLATION,
                            ticket ? "unknown or expired API ticket"
                                   : "no API ticket in the request_id field");
        return;
    }
    t->ops->caller(t->target, &c->caller);
    memcpy(c->ticket, t->hex, sizeof c->ticket);
    loop_timer_start(c->loop, &c->deadline, c->call.deadline_ms);
    c->in_dispatch = 1;
    c->cpu_start_ns = loop_thread_cpu_ns();
    int rc = api_dispatch(c->registry, &c->call, body, len);
    /* Answered already, c may serve the connection's next request: only an
     * unanswered call is c's still. */
    if (rc == 0 && c->active && !c->call.answered) {
        c->cpu_ns = loop_thread_cpu_ns() - c->cpu_start_ns;
        c->in_dispatch = 0;
    } else if (rc < 0) { /* api_envelope_ticket has checked it: cannot happen */
        c->in_dispatch = 0;
        api_reply_rpc_error(&c->call, API_RPC_BAD_REQUEST, "malformed remote_api Request");
    }
}

void api_http_handle_error(api_http_call_t *c, int status)
{
    if (status != 413) {
        c->active = 1;
        answer(c, status, NULL, 0);
        return;
    }
    /* The SDK raises RequestTooLargeError for this one. */
    begin(c, API_HTTP_DEFAULT_DEADLINE_MS);
    api_reply_rpc_error(&c->call, API_RPC_REQUEST_TOO_LARGE, "");
}

void api_http_sent(api_http_call_t *c)
{
    api_sent_t sent = c->sent;
    c->sent = (api_sent_t){NULL, NULL};
    if (sent.fn)
        sent.fn(sent.arg);
}

void api_http_cancel(api_http_call_t *c)
{
    api_http_sent(c);
    if (!c->active)
        return;
    c->active = 0;
    loop_timer_stop(c->loop, &c->deadline);
    if (!c->call.answered && c->call.cancel)
        c->call.cancel(&c->call);
}
