#include "api_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

#define MAX_DELAY_MS 600000u

typedef struct {
    loop_timer_t timer; /* must stay first */
    api_call_t *call;
} delay_t;

static void delay_done(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    delay_t *d = (delay_t *)t;
    api_call_t *call = d->call;
    free(d);
    call->cancel = NULL;
    api_reply(call, NULL);
}

static void delay_cancel(api_call_t *call)
{
    delay_t *d = call->handler_data;
    loop_timer_stop(call->loop, &d->timer);
    free(d);
}

/* The varint field 1 and the string field 2 of a message; -1 when it is
 * malformed or has no field 1. */
static int fields(const api_call_t *call, uint64_t *num, const uint8_t **text, size_t *text_len)
{
    pb_reader_t r;
    pb_field_t f;
    int rc, have = 0;
    *text = (const uint8_t *)"";
    *text_len = 0;
    pb_reader_init(&r, call->request, call->request_len);
    while ((rc = pb_next(&r, &f)) > 0) {
        if (f.num == 1 && f.wire == PB_VARINT) {
            *num = f.u64;
            have = 1;
        } else if (f.num == 2 && f.wire == PB_LEN) {
            *text = f.data;
            *text_len = f.len;
        }
    }
    return rc == 0 && have ? 0 : -1;
}

static void delay(api_call_t *call)
{
    uint64_t ms;
    const uint8_t *unused;
    size_t n;
    if (fields(call, &ms, &unused, &n) < 0 || ms > MAX_DELAY_MS) {
        api_reply_rpc_error(call, API_RPC_BAD_REQUEST, "Delay takes 0 to 600000 ms");
        return;
    }
    delay_t *d = calloc(1, sizeof *d);
    if (!d) {
        api_reply_rpc_error(call, API_RPC_UNKNOWN, "out of memory");
        return;
    }
    d->call = call;
    d->timer.cb = delay_done;
    call->handler_data = d;
    call->cancel = delay_cancel;
    loop_timer_start(call->loop, &d->timer, ms);
}

static void echo(api_call_t *call)
{
    buf_t b = BUF_INIT;
    if (buf_append(&b, call->request, call->request_len) < 0)
        api_reply_rpc_error(call, API_RPC_UNKNOWN, "out of memory");
    else
        api_reply(call, &b);
    buf_free(&b);
}

static void fail(api_call_t *call)
{
    uint64_t code;
    const uint8_t *detail;
    size_t n;
    char text[256];
    if (fields(call, &code, &detail, &n) < 0) {
        api_reply_rpc_error(call, API_RPC_PARSE_ERROR, "");
        return;
    }
    snprintf(text, sizeof text, "%.*s", (int)(n < sizeof text ? n : sizeof text - 1),
             (const char *)detail);
    api_reply_app_error(call, (int)(int32_t)code, text);
}

static const api_method_t METHODS[] = {
    {"Delay", delay},
    {"Echo", echo},
    {"Fail", fail},
    {NULL, NULL},
};

int api_test_register(api_registry_t *reg)
{
    api_service_t svc = {"gaelic_test", METHODS, NULL};
    return api_registry_add(reg, &svc);
}
