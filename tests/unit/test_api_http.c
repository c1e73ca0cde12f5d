/* The HTTP API server's protocol (src/api_http.c) and what it relies on:
 * the ticket field of an envelope (api_envelope_ticket), which HTTP
 * requests are calls, the deadline header, system.StartBackgroundRequest's
 * answers, and calls handed over as conn.c does, with tickets resolved by
 * fake owners. */
#include <stdlib.h>

#include "api_http.h"
#include "api_system.h"
#include "api_test.h"
#include "pb.h"
#include "unit.h"
#include "unit_loop.h"

static loop_t loop;

/* A remote_api Request; ticket NULL: without field 5. */
static void envelope(buf_t *b, const char *service, const char *method, const void *req,
                     size_t req_len, const char *ticket)
{
    buf_reset(b);
    pb_put_str(b, 2, service);
    pb_put_str(b, 3, method);
    pb_put_bytes(b, 4, req, req_len);
    if (ticket)
        pb_put_str(b, 5, ticket);
}

static void test_envelope_ticket(void)
{
    buf_t b = BUF_INIT;
    const char *t;
    size_t n;
    envelope(&b, "system", "GetSystemStats", "", 0, "abc");
    CHECK(api_envelope_ticket((const uint8_t *)buf_ptr(&b), b.len, &t, &n) == 0);
    CHECK(n == 3 && t && memcmp(t, "abc", 3) == 0);
    envelope(&b, "system", "GetSystemStats", "", 0, NULL);
    CHECK(api_envelope_ticket((const uint8_t *)buf_ptr(&b), b.len, &t, &n) == 0);
    CHECK(t == NULL && n == 0);
    /* Malformed: not a message, a required field missing, a string field
     * of another wire type, a ticket that is not UTF-8. */
    CHECK(api_envelope_ticket((const uint8_t *)"\xff\xff", 2, &t, &n) < 0);
    CHECK(api_envelope_ticket((const uint8_t *)"", 0, &t, &n) < 0);
    buf_reset(&b);
    pb_put_str(&b, 2, "system");
    pb_put_bytes(&b, 4, "", 0);
    CHECK(api_envelope_ticket((const uint8_t *)buf_ptr(&b), b.len, &t, &n) < 0);
    buf_reset(&b);
    pb_put_uint(&b, 2, 7);
    pb_put_str(&b, 3, "m");
    pb_put_bytes(&b, 4, "", 0);
    CHECK(api_envelope_ticket((const uint8_t *)buf_ptr(&b), b.len, &t, &n) < 0);
    envelope(&b, "system", "GetSystemStats", "", 0, "\xc3\x28");
    CHECK(api_envelope_ticket((const uint8_t *)buf_ptr(&b), b.len, &t, &n) < 0);
    buf_free(&b);
}

static const http_limits_t LIMITS = {
    .max_header_bytes = 65536, .max_url_bytes = 8192, .max_body_bytes = 1 << 20};

/* Parses one request head (and empty body) into r. */
static void parse(http_request_t *r, const char *text)
{
    size_t used;
    http_request_reset(r);
    CHECK(http_request_feed(r, text, strlen(text), &used) == HTTP_DONE);
}

static void test_check_and_deadline(void)
{
    http_request_t r;
    http_request_init(&r, &LIMITS);
    parse(&r, "POST /rpc_http HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    CHECK(api_http_check(&r) == 0);
    CHECK(api_http_deadline_ms(&r) == API_HTTP_DEFAULT_DEADLINE_MS);
    parse(&r, "POST /rpc_http?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    CHECK(api_http_check(&r) == 0);
    parse(&r, "GET /rpc_http HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(api_http_check(&r) == 405);
    parse(&r, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    CHECK(api_http_check(&r) == 404);
    parse(&r, "POST /rpc_httpx HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    CHECK(api_http_check(&r) == 404);
    parse(&r, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(api_http_check(&r) == 404); /* not this resource at all */
    /* absolute-form (RFC 9112 3.2.2): the same resource as origin-form */
    parse(&r, "POST http://127.0.0.1:8081/rpc_http HTTP/1.1\r\nHost: x\r\n"
              "Content-Length: 0\r\n\r\n");
    CHECK(api_http_check(&r) == 0);
    parse(&r, "POST http://x/rpc_http?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    CHECK(api_http_check(&r) == 0);
    parse(&r, "GET http://x/rpc_http HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(api_http_check(&r) == 405);
    parse(&r, "POST http://x/rpc_httpx HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    CHECK(api_http_check(&r) == 404);
    parse(&r, "POST http://x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    CHECK(api_http_check(&r) == 404);

    static const struct {
        const char *value;
        uint32_t ms;
    } cases[] = {
        {"5", 5000},    {"5.0", 5000}, {"0.25", 250},        {"1e-9", 1},
        {"60 ", 60000}, {"-3", 60000}, {"0", 60000},         {"abc", 60000},
        {"5s", 60000},  {"", 60000},   {"100000", 86400000}, {"nan", 60000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "POST /rpc_http HTTP/1.1\r\nHost: x\r\nX-Google-RPC-Service-Deadline: %s\r\n"
                 "Content-Length: 0\r\n\r\n",
                 cases[i].value);
        parse(&r, text);
        uint32_t got = api_http_deadline_ms(&r);
        if (got != cases[i].ms)
            fprintf(stderr, "deadline %s: got %u, want %u\n", cases[i].value, got, cases[i].ms);
        CHECK(got == cases[i].ms);
    }
    http_request_free(&r);
}

/* ---------- StartBackgroundRequest through api_dispatch ---------- */

static int bg_result; /* what the fake instance answers */

static int fake_start_background(void *owner, char *id, size_t n)
{
    (void)owner;
    snprintf(id, n, bg_result == SYSTEM_OK ? "00c0ffee00c0ffee" : "a reason");
    return bg_result;
}

typedef struct {
    int has_response, app_code, rpc_code; /* -1: absent */
    char text[128];                       /* the response's field 1, or the detail */
} reply_t;

static void decode_reply(const char *env, size_t len, reply_t *out)
{
    memset(out, 0, sizeof *out);
    out->app_code = out->rpc_code = -1;
    pb_reader_t r, e;
    pb_field_t f, g;
    pb_reader_init(&r, env, len);
    while (pb_next(&r, &f) > 0) {
        if (f.num == 1) {
            out->has_response = 1;
            pb_reader_init(&e, f.data, f.len);
            while (pb_next(&e, &g) > 0)
                if (g.num == 1 && g.wire == PB_LEN && g.len < sizeof out->text)
                    memcpy(out->text, g.data, g.len);
        } else if (f.num == 3 || f.num == 5) {
            pb_reader_init(&e, f.data, f.len);
            while (pb_next(&e, &g) > 0) {
                if (g.num == 1)
                    *(f.num == 3 ? &out->app_code : &out->rpc_code) = (int)g.u64;
                else if (g.num == 2 && g.len && g.len < sizeof out->text)
                    memcpy(out->text, g.data, g.len);
            }
        }
    }
}

static reply_t last_reply;

static void capture(api_call_t *call, const char *env, size_t len, api_sent_t sent)
{
    (void)call;
    (void)sent;
    decode_reply(env, len, &last_reply);
}

static reply_t start_background(const api_registry_t *reg, const api_caller_t *caller)
{
    buf_t b = BUF_INIT;
    envelope(&b, "system", "StartBackgroundRequest", "", 0, NULL);
    api_call_t call = {.caller = caller, .loop = &loop, .finish = capture};
    memset(&last_reply, 0, sizeof last_reply);
    CHECK(api_dispatch(reg, &call, (const uint8_t *)buf_ptr(&b), b.len) == 0);
    CHECK(call.answered);
    buf_free(&b);
    return last_reply;
}

static void test_start_background_request(const api_registry_t *reg)
{
    api_caller_t c = {.instance_id = "i", .log_id = "", .start_background = NULL};
    reply_t r = start_background(reg, &c); /* the default version */
    CHECK(r.app_code == SYSTEM_BACKEND_REQUIRED && strstr(r.text, "backend"));
    c.start_background = fake_start_background;
    bg_result = SYSTEM_OK;
    r = start_background(reg, &c);
    CHECK(r.has_response && r.app_code == -1 && r.rpc_code == -1);
    CHECK_STR(r.text, "00c0ffee00c0ffee");
    bg_result = SYSTEM_LIMIT_REACHED;
    r = start_background(reg, &c);
    CHECK(r.app_code == SYSTEM_LIMIT_REACHED && strstr(r.text, "10 background threads"));
    bg_result = SYSTEM_BACKEND_REQUIRED;
    r = start_background(reg, &c);
    CHECK(r.app_code == SYSTEM_BACKEND_REQUIRED);
    bg_result = SYSTEM_INTERNAL_ERROR;
    r = start_background(reg, &c);
    CHECK(r.app_code == SYSTEM_INTERNAL_ERROR);
    CHECK_STR(r.text, "a reason");
}

/* ---------- calls, as conn.c hands them over ---------- */

static int charged_us, charges;

static void fake_caller(void *target, api_caller_t *caller)
{
    memset(caller, 0, sizeof *caller);
    caller->instance_id = target;
    caller->log_id = "";
}

static void fake_charge(void *target, uint32_t cpu_us)
{
    (void)target;
    charged_us += (int)cpu_us;
    charges++;
}

static const api_ticket_ops_t OPS = {fake_caller, fake_charge};

static int answers, answer_status;
static reply_t answer_reply;

static void on_answer(void *owner, int status, const char *body, size_t len)
{
    (void)owner;
    answers++;
    answer_status = status;
    if (body)
        decode_reply(body, len, &answer_reply);
    else
        memset(&answer_reply, 0, sizeof answer_reply);
}

/* Hands c a request: method and path, the deadline header (NULL: none)
 * and an envelope for service.method with request req (service NULL: the
 * body is raw). */
static void handle(api_http_call_t *c, const char *method_path, const char *deadline,
                   const char *service, const char *method, const void *req, size_t req_len,
                   const char *ticket)
{
    buf_t body = BUF_INIT, raw = BUF_INIT;
    if (service)
        envelope(&body, service, method, req, req_len, ticket);
    else
        buf_append(&body, req, req_len);
    char head[256];
    snprintf(head, sizeof head, "%s HTTP/1.1\r\nHost: x\r\n%s%s%sContent-Length: %zu\r\n\r\n",
             method_path, deadline ? "X-Google-RPC-Service-Deadline: " : "",
             deadline ? deadline : "", deadline ? "\r\n" : "", body.len);
    buf_append_str(&raw, head);
    buf_append(&raw, buf_ptr(&body), body.len);
    http_request_t r;
    http_request_init(&r, &LIMITS);
    size_t used;
    CHECK(http_request_feed(&r, buf_ptr(&raw), raw.len, &used) == HTTP_DONE);
    answers = 0;
    api_http_handle(c, &r);
    http_request_free(&r);
    buf_free(&body);
    buf_free(&raw);
}

/* Runs the loop until c's call is answered (bounded). */
static void wait_answer(void)
{
    for (int i = 0; i < 200 && !answers; i++)
        unit_run_for(&loop, 5);
}

static void test_calls(const api_registry_t *reg)
{
    api_tickets_t *tickets = api_tickets_new();
    api_http_call_t c;
    api_http_call_init(&c, &loop, reg, tickets, on_answer, NULL);
    api_ticket_t ticket = {0};
    CHECK(api_tickets_issue(tickets, &ticket, "instance-a", &OPS) == 0);

    /* A live ticket: answered at once, its CPU charged. */
    handle(&c, "POST /rpc_http", "5", "gaelic_test", "Echo", "\x08\x05", 2, ticket.hex);
    CHECK(answers == 1 && answer_status == 200 && answer_reply.has_response);
    CHECK(answer_reply.rpc_code == -1 && charges == 1);
    handle(&c, "POST /rpc_http", NULL, "gaelic_test", "Nope", "", 0, ticket.hex);
    CHECK(answers == 1 && answer_reply.rpc_code == API_RPC_CALL_NOT_FOUND);

    /* No ticket, a forged one, an ended one. */
    int before = charges;
    handle(&c, "POST /rpc_http", NULL, "gaelic_test", "Echo", "", 0, NULL);
    CHECK(answers == 1 && answer_reply.rpc_code == API_RPC_SECURITY_VIOLATION);
    CHECK(!strchr(answer_reply.text, '%'));
    handle(&c, "POST /rpc_http", NULL, "gaelic_test", "Echo", "", 0,
           "00000000000000000000000000000000");
    CHECK(answers == 1 && answer_reply.rpc_code == API_RPC_SECURITY_VIOLATION);
    char ended[API_TICKET_HEX + 1];
    memcpy(ended, ticket.hex, sizeof ended);
    api_tickets_revoke(tickets, &ticket);
    handle(&c, "POST /rpc_http", NULL, "gaelic_test", "Echo", "", 0, ended);
    CHECK(answers == 1 && answer_reply.rpc_code == API_RPC_SECURITY_VIOLATION);
    CHECK(charges == before);

    /* Not a call; not a Request. */
    handle(&c, "POST /x", NULL, "gaelic_test", "Echo", "", 0, NULL);
    CHECK(answers == 1 && answer_status == 404);
    handle(&c, "PUT /rpc_http", NULL, "gaelic_test", "Echo", "", 0, NULL);
    CHECK(answers == 1 && answer_status == 405);
    handle(&c, "POST /rpc_http", NULL, NULL, NULL, "\xff\xff", 2, NULL);
    CHECK(answers == 1 && answer_status == 200 && answer_reply.rpc_code == API_RPC_BAD_REQUEST);
    answers = 0;
    api_http_handle_error(&c, 413);
    CHECK(answers == 1 && answer_status == 200 &&
          answer_reply.rpc_code == API_RPC_REQUEST_TOO_LARGE);
    answers = 0;
    api_http_handle_error(&c, 431);
    CHECK(answers == 1 && answer_status == 431);

    /* Past the caller's deadline: DEADLINE_EXCEEDED, charged. */
    buf_t delay = BUF_INIT;
    pb_put_uint(&delay, 1, 60000);
    CHECK(api_tickets_issue(tickets, &ticket, "instance-a", &OPS) == 0);
    before = charges;
    handle(&c, "POST /rpc_http", "0.05", "gaelic_test", "Delay", buf_ptr(&delay), delay.len,
           ticket.hex);
    CHECK(answers == 0);
    wait_answer();
    CHECK(answers == 1 && answer_reply.rpc_code == API_RPC_DEADLINE_EXCEEDED);
    CHECK(charges == before + 1);
    /* Its request ends while the call runs: answered all the same, with no
     * request left to charge. */
    handle(&c, "POST /rpc_http", "0.05", "gaelic_test", "Delay", buf_ptr(&delay), delay.len,
           ticket.hex);
    api_tickets_revoke(tickets, &ticket);
    wait_answer();
    CHECK(answers == 1 && answer_reply.rpc_code == API_RPC_DEADLINE_EXCEEDED);
    CHECK(charges == before + 1);
    /* The connection goes away: the call is abandoned, never answered. */
    CHECK(api_tickets_issue(tickets, &ticket, "instance-a", &OPS) == 0);
    handle(&c, "POST /rpc_http", "0.05", "gaelic_test", "Delay", buf_ptr(&delay), delay.len,
           ticket.hex);
    api_http_cancel(&c);
    unit_run_for(&loop, 100);
    CHECK(answers == 0 && charges == before + 1);
    api_http_cancel(&c); /* twice: nothing */

    api_tickets_revoke(tickets, &ticket);
    buf_free(&delay);
    api_tickets_free(tickets);
}

/* A service that counts its answers as they leave (api_sent_t). */
static int sent_count;

static void count_sent(void *arg)
{
    (void)arg;
    sent_count++;
}

static void tracked(api_call_t *call)
{
    call->sent = (api_sent_t){count_sent, NULL};
    api_reply(call, NULL);
}

static const api_method_t tracked_methods[] = {{"Tracked", tracked}, {NULL, NULL}};

/* The connection tells the answer's handler once it has written it, or
 * when it goes away with it unwritten; once either way. */
static void test_sent(api_registry_t *reg)
{
    api_service_t svc = {"gaelic_tracked", tracked_methods, NULL};
    CHECK(api_registry_add(reg, &svc) == 0);
    api_tickets_t *tickets = api_tickets_new();
    api_http_call_t c;
    api_http_call_init(&c, &loop, reg, tickets, on_answer, NULL);
    api_ticket_t ticket = {0};
    CHECK(api_tickets_issue(tickets, &ticket, "instance-a", &OPS) == 0);
    sent_count = 0;
    handle(&c, "POST /rpc_http", NULL, "gaelic_tracked", "Tracked", "", 0, ticket.hex);
    CHECK(answers == 1 && answer_reply.has_response && sent_count == 0);
    api_http_sent(&c); /* written */
    CHECK(sent_count == 1);
    api_http_sent(&c);
    api_http_cancel(&c);
    CHECK(sent_count == 1);
    handle(&c, "POST /rpc_http", NULL, "gaelic_tracked", "Tracked", "", 0, ticket.hex);
    CHECK(answers == 1 && sent_count == 1);
    api_http_cancel(&c); /* the connection closes with it unwritten */
    CHECK(sent_count == 2);
    /* Other answers have nothing to tell. */
    handle(&c, "POST /rpc_http", NULL, "gaelic_test", "Echo", "", 0, ticket.hex);
    api_http_sent(&c);
    CHECK(answers == 1 && sent_count == 2);
    api_tickets_revoke(tickets, &ticket);
    api_tickets_free(tickets);
}

/* ---------- gaelic_test.Rendezvous, answered while its transport runs
 * the caller's next call (conn.c: a pipelined request) ---------- */

static const api_registry_t *rendezvous_reg;
static int rendezvous_answers;

static void rendezvous_call(api_call_t *call, uint64_t n, const char *key, api_finish_t finish)
{
    buf_t req = BUF_INIT, env = BUF_INIT;
    pb_put_uint(&req, 1, n);
    pb_put_str(&req, 2, key);
    envelope(&env, "gaelic_test", "Rendezvous", buf_ptr(&req), req.len, NULL);
    memset(call, 0, sizeof *call);
    call->loop = &loop;
    call->finish = finish;
    CHECK(api_dispatch(rendezvous_reg, call, (const uint8_t *)buf_ptr(&env), env.len) == 0);
    buf_free(&req);
    buf_free(&env);
}

static void count_rendezvous(api_call_t *call, const char *env, size_t len, api_sent_t sent)
{
    (void)call;
    (void)sent;
    reply_t r;
    decode_reply(env, len, &r);
    CHECK(r.has_response && r.rpc_code == -1);
    rendezvous_answers++;
}

static api_call_t next_call;

/* Answered, its caller makes its next call at once: one that completes
 * another group. */
static void answer_then_call(api_call_t *call, const char *env, size_t len, api_sent_t sent)
{
    count_rendezvous(call, env, len, sent);
    rendezvous_call(&next_call, 2, "j", count_rendezvous);
}

static void test_rendezvous_reentered(const api_registry_t *reg)
{
    rendezvous_reg = reg;
    rendezvous_answers = 0;
    api_call_t a, y, b;
    rendezvous_call(&a, 2, "k", answer_then_call); /* waits */
    rendezvous_call(&y, 2, "j", count_rendezvous); /* waits, listed before a */
    CHECK(!a.answered && !y.answered);
    /* b completes a's group; a's answer runs its next call, which
     * completes y's group (and frees y's entry) before b's group is done. */
    rendezvous_call(&b, 2, "k", count_rendezvous);
    CHECK(a.answered && b.answered && y.answered && next_call.answered);
    CHECK(rendezvous_answers == 4);
}

static api_call_t pair[2];

/* The first of the pair answered makes the other's caller give up (its
 * connection closed meanwhile): that one is then never answered. */
static void answer_then_cancel_other(api_call_t *call, const char *env, size_t len, api_sent_t sent)
{
    count_rendezvous(call, env, len, sent);
    api_call_t *other = call == &pair[0] ? &pair[1] : &pair[0];
    if (!other->answered && other->cancel)
        other->cancel(other);
}

static void test_rendezvous_member_gives_up(const api_registry_t *reg)
{
    rendezvous_reg = reg;
    rendezvous_answers = 0;
    api_call_t last;
    rendezvous_call(&pair[0], 3, "g", answer_then_cancel_other);
    rendezvous_call(&pair[1], 3, "g", answer_then_cancel_other);
    rendezvous_call(&last, 3, "g", count_rendezvous);
    CHECK(last.answered && pair[0].answered != pair[1].answered);
    CHECK(rendezvous_answers == 2);
    /* Nothing of the group is left waiting: a new group starts afresh. */
    api_call_t again[2];
    rendezvous_call(&again[0], 2, "g", count_rendezvous);
    CHECK(!again[0].answered);
    rendezvous_call(&again[1], 2, "g", count_rendezvous);
    CHECK(again[0].answered && again[1].answered && rendezvous_answers == 4);
}

static void test_response(void)
{
    buf_t out = BUF_INIT;
    CHECK(api_http_response(&out, 200, "\x0a\x00", 2, 1, 0, 0) == 0);
    CHECK(strstr(buf_ptr(&out), "HTTP/1.1 200 OK\r\n") == buf_ptr(&out));
    CHECK(memmem(buf_ptr(&out), out.len, "Content-Type: application/octet-stream\r\n", 40));
    CHECK(memmem(buf_ptr(&out), out.len, "\r\n\r\n\x0a\x00", 6));
    buf_reset(&out);
    CHECK(api_http_response(&out, 405, NULL, 0, 1, 0, 0) == 0);
    CHECK(memmem(buf_ptr(&out), out.len, "HTTP/1.1 405 Method Not Allowed\r\n", 33));
    CHECK(memmem(buf_ptr(&out), out.len, "Allow: POST\r\n", 13));
    buf_reset(&out);
    CHECK(api_http_response(&out, 404, NULL, 0, 0, 0, 0) == 0);
    CHECK(memmem(buf_ptr(&out), out.len, "HTTP/1.1 404 Not Found\r\n", 24));
    CHECK(!memmem(buf_ptr(&out), out.len, "Allow:", 6));
    buf_free(&out);
}

int main(void)
{
    CHECK(loop_init(&loop) == 0);
    api_registry_t *reg = api_registry_new();
    CHECK(api_system_register(reg) == 0 && api_test_register(reg) == 0);
    test_envelope_ticket();
    test_check_and_deadline();
    test_start_background_request(reg);
    test_calls(reg);
    test_sent(reg);
    test_rendezvous_reentered(reg);
    test_rendezvous_member_gives_up(reg);
    test_response();
    api_registry_free(reg);
    loop_close(&loop);
    UNIT_DONE();
}
