#include "api_service.h"

#include <stdlib.h>
#include <string.h>

#include "pb.h"

/* remote_api Request and Response field numbers. */
enum { REQ_SERVICE = 2, REQ_METHOD = 3, REQ_REQUEST = 4, REQ_TICKET = 5, REQ_TRACE = 6 };
enum { RESP_RESPONSE = 1, RESP_APPLICATION_ERROR = 3, RESP_RPC_ERROR = 5 };
/* ApplicationError and RpcError share their layout. */
enum { ERR_CODE = 1, ERR_DETAIL = 2 };

struct api_registry {
    api_service_t *services;
    size_t n;
};

api_registry_t *api_registry_new(void)
{
    return calloc(1, sizeof(api_registry_t));
}

static const api_service_t *find_service(const api_registry_t *reg, const uint8_t *name, size_t n)
{
    for (size_t i = 0; reg && i < reg->n; i++)
        if (strlen(reg->services[i].name) == n && !memcmp(reg->services[i].name, name, n))
            return &reg->services[i];
    return NULL;
}

int api_registry_add(api_registry_t *reg, const api_service_t *svc)
{
    if (find_service(reg, (const uint8_t *)svc->name, strlen(svc->name)))
        return -1;
    api_service_t *grown = realloc(reg->services, (reg->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    reg->services = grown;
    reg->services[reg->n++] = *svc;
    return 0;
}

void api_registry_free(api_registry_t *reg)
{
    if (!reg)
        return;
    free(reg->services);
    free(reg);
}

static const api_method_t *find_method(const api_service_t *svc, const uint8_t *name, size_t n)
{
    for (const api_method_t *m = svc->methods; m->name; m++)
        if (strlen(m->name) == n && !memcmp(m->name, name, n))
            return m;
    return NULL;
}

/* The fields of a remote_api Request; ticket.data is NULL when absent. */
typedef struct {
    pb_field_t service, method, request, ticket;
} envelope_t;

/* 0, or -1 when the envelope is malformed: not a message, a required
 * field missing, a string field of the wrong wire type or not UTF-8. */
static int parse_envelope(const uint8_t *p, size_t len, envelope_t *e)
{
    pb_reader_t r;
    pb_field_t f;
    int have = 0, rc;
    memset(e, 0, sizeof *e);
    pb_reader_init(&r, p, len);
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num >= REQ_SERVICE && f.num <= REQ_TRACE && f.wire != PB_LEN)
            return -1;
        if (f.num == REQ_SERVICE)
            e->service = f;
        else if (f.num == REQ_METHOD)
            e->method = f;
        else if (f.num == REQ_REQUEST)
            e->request = f;
        else if (f.num == REQ_TICKET)
            e->ticket = f;
        if (f.num >= REQ_SERVICE && f.num <= REQ_REQUEST)
            have |= 1 << f.num;
    }
    int required = 1 << REQ_SERVICE | 1 << REQ_METHOD | 1 << REQ_REQUEST;
    if (rc < 0 || have != required || !pb_utf8_valid(e->service.data, e->service.len) ||
        !pb_utf8_valid(e->method.data, e->method.len) ||
        (e->ticket.data && !pb_utf8_valid(e->ticket.data, e->ticket.len)))
        return -1;
    return 0;
}

int api_envelope_ticket(const uint8_t *envelope, size_t len, const char **ticket,
                        size_t *ticket_len)
{
    envelope_t e;
    if (parse_envelope(envelope, len, &e) < 0)
        return -1;
    *ticket = (const char *)e.ticket.data;
    *ticket_len = e.ticket.len;
    return 0;
}

int api_dispatch(const api_registry_t *reg, api_call_t *call, const uint8_t *envelope, size_t len)
{
    envelope_t e;
    if (parse_envelope(envelope, len, &e) < 0)
        return -1;
    call->answered = 0;
    call->cancel = NULL;
    call->sent = (api_sent_t){NULL, NULL};
    const api_service_t *svc = find_service(reg, e.service.data, e.service.len);
    const api_method_t *m = svc ? find_method(svc, e.method.data, e.method.len) : NULL;
    if (!m) {
        api_reply_rpc_error(call, API_RPC_CALL_NOT_FOUND, "");
        return 0;
    }
    call->service_ctx = svc->ctx;
    call->request = e.request.data;
    call->request_len = e.request.len;
    m->handler(call);
    call->request = NULL;
    call->request_len = 0;
    if (!call->answered && !call->cancel)
        api_reply_rpc_error(call, API_RPC_UNKNOWN, "the service did not answer");
    return 0;
}

/* A Response envelope with rpc_error UNKNOWN, for when memory runs out. */
static const char NO_MEMORY_ENVELOPE[] = {0x2a, 0x02, 0x08, 0x00};

static void finish(api_call_t *call, buf_t *b, int ok)
{
    api_sent_t sent = call->sent;
    call->sent = (api_sent_t){NULL, NULL};
    call->answered = 1;
    if (ok)
        call->finish(call, buf_ptr(b), b->len, sent);
    else
        call->finish(call, NO_MEMORY_ENVELOPE, sizeof NO_MEMORY_ENVELOPE, sent);
    buf_free(b);
}

void api_reply(api_call_t *call, const buf_t *response)
{
    buf_t b = BUF_INIT;
    int ok = pb_put_bytes(&b, RESP_RESPONSE, response ? buf_ptr(response) : "",
                          response ? response->len : 0) == 0;
    finish(call, &b, ok);
}

static void reply_error(api_call_t *call, int field, int code, const char *detail, int always)
{
    buf_t b = BUF_INIT;
    long mark = pb_begin_msg(&b, (uint32_t)field);
    int ok = mark >= 0 && pb_put_int(&b, ERR_CODE, code) == 0 &&
             (!always && !*detail ? 1 : pb_put_str(&b, ERR_DETAIL, detail) == 0) &&
             pb_end_msg(&b, mark) == 0;
    finish(call, &b, ok);
}

void api_reply_app_error(api_call_t *call, int code, const char *detail)
{
    /* detail is a required field of ApplicationError: always sent. */
    reply_error(call, RESP_APPLICATION_ERROR, code, detail ? detail : "", 1);
}

void api_reply_rpc_error(api_call_t *call, enum api_rpc_code code, const char *detail)
{
    reply_error(call, RESP_RPC_ERROR, (int)code, detail ? detail : "", 0);
}
