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

/* Replies with b, which a step returning rc built (< 0: out of memory). */
static void reply_built(api_call_t *call, buf_t *b, int rc)
{
    if (rc < 0)
        api_reply_rpc_error(call, API_RPC_UNKNOWN, "out of memory");
    else
        api_reply(call, b);
    buf_free(b);
}

static void echo(api_call_t *call)
{
    buf_t b = BUF_INIT;
    reply_built(call, &b, buf_append(&b, call->request, call->request_len));
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

/* Rendezvous calls waiting for the rest of their group, newest first.
 * The event loop's thread only. */
#define RENDEZVOUS_KEY_MAX 64u

typedef struct rendezvous {
    struct rendezvous *next;
    api_call_t *call; /* NULL: its caller gave up while its group was answered */
    int answering;    /* its group is complete: off the list, being answered */
    uint64_t n;
    size_t key_len;
    char key[RENDEZVOUS_KEY_MAX];
} rendezvous_t;

static rendezvous_t *waiting;

static void rendezvous_unlink(rendezvous_t *w)
{
    rendezvous_t **p = &waiting;
    while (*p != w)
        p = &(*p)->next;
    *p = w->next;
}

/* Its caller gave up (deadline, instance gone): it leaves the group. */
static void rendezvous_cancel(api_call_t *call)
{
    rendezvous_t *w = call->handler_data;
    if (w->answering) {
        w->call = NULL; /* rendezvous frees it */
        return;
    }
    rendezvous_unlink(w);
    free(w);
}

static void rendezvous_reply(api_call_t *call, uint64_t n)
{
    buf_t b = BUF_INIT;
    call->cancel = NULL;
    reply_built(call, &b, pb_put_uint(&b, 1, n));
}

static void rendezvous(api_call_t *call)
{
    uint64_t n;
    const uint8_t *key;
    size_t key_len;
    if (fields(call, &n, &key, &key_len) < 0 || n < 1 || n > 100 || key_len > RENDEZVOUS_KEY_MAX) {
        api_reply_rpc_error(call, API_RPC_BAD_REQUEST,
                            "Rendezvous takes {1: n, 1 to 100; 2: key, at most 64 bytes}");
        return;
    }
    uint64_t here = 1;
    for (rendezvous_t *w = waiting; w; w = w->next)
        if (w->n == n && w->key_len == key_len && memcmp(w->key, key, key_len) == 0)
            here++;
    if (here < n) {
        rendezvous_t *w = calloc(1, sizeof *w);
        if (!w) {
            api_reply_rpc_error(call, API_RPC_UNKNOWN, "out of memory");
            return;
        }
        w->call = call;
        w->n = n;
        w->key_len = key_len;
        memcpy(w->key, key, key_len);
        w->next = waiting;
        waiting = w;
        call->handler_data = w;
        call->cancel = rendezvous_cancel;
        return;
    }
    /* The group is complete: everyone in it is answered. Its calls leave
     * the list before the first answer, which may run its caller's next
     * call at once (conn.c: a pipelined request) and so change the list. */
    rendezvous_t *group = NULL, **p = &waiting;
    while (*p) {
        rendezvous_t *w = *p;
        if (w->n == n && w->key_len == key_len && memcmp(w->key, key, key_len) == 0) {
            *p = w->next;
            w->answering = 1;
            w->next = group;
            group = w;
        } else {
            p = &w->next;
        }
    }
    while (group) {
        rendezvous_t *w = group;
        api_call_t *member = w->call;
        group = w->next;
        free(w);
        if (member)
            rendezvous_reply(member, n);
    }
    rendezvous_reply(call, n);
}

static const api_method_t METHODS[] = {
    {"Delay", delay}, {"Rendezvous", rendezvous}, {"Echo", echo}, {"Fail", fail}, {NULL, NULL},
};

int api_test_register(api_registry_t *reg)
{
    api_service_t svc = {"gaelic_test", METHODS, NULL};
    return api_registry_add(reg, &svc);
}
