/* The HTTP API server (src/api_http.c) and what it relies on: the ticket
 * field of an envelope (api_envelope_ticket), which HTTP requests are calls,
 * the deadline header, system.StartBackgroundRequest's answers, and whole
 * exchanges over a loopback socket with tickets resolved by fake owners. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_http.h"
#include "api_system.h"
#include "api_test.h"
#include "pb.h"
#include "unit.h"

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

static const http_limits_t LIMITS = {65536, 8192, 1 << 20};

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
                if (g.num == 1 && g.len < sizeof out->text)
                    memcpy(out->text, g.data, g.len);
        } else if (f.num == 3 || f.num == 5) {
            pb_reader_init(&e, f.data, f.len);
            while (pb_next(&e, &g) > 0) {
                if (g.num == 1)
                    *(f.num == 3 ? &out->app_code : &out->rpc_code) = (int)g.u64;
                else if (g.num == 2 && g.len < sizeof out->text)
                    memcpy(out->text, g.data, g.len);
            }
        }
    }
}

static reply_t last_reply;

static void capture(api_call_t *call, const char *env, size_t len)
{
    (void)call;
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

/* ---------- whole exchanges over a socket ---------- */

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

static void stop_loop(loop_t *l, loop_timer_t *t)
{
    (void)t;
    l->stop = 1;
}

static void run_for(uint64_t ms)
{
    loop_timer_t stop = {.cb = stop_loop};
    loop.stop = 0;
    loop_timer_start(&loop, &stop, ms);
    loop_run(&loop);
    loop_timer_stop(&loop, &stop);
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        return -1;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Runs the loop until a whole response (by Content-Length) came back,
 * bounded; returns its status and puts its body in body. */
static int receive(int fd, buf_t *body, int *closed)
{
    buf_t in = BUF_INIT;
    int status = -1;
    *closed = 0;
    for (int i = 0; i < 200 && status < 0; i++) {
        run_for(5);
        char chunk[4096];
        ssize_t n;
        while ((n = read(fd, chunk, sizeof chunk)) > 0)
            buf_append(&in, chunk, (size_t)n);
        if (n == 0)
            *closed = 1;
        const char *s = buf_ptr(&in);
        const char *end = in.len ? memmem(s, in.len, "\r\n\r\n", 4) : NULL;
        if (!end)
            continue;
        const char *cl = memmem(s, (size_t)(end - s), "Content-Length: ", 16);
        size_t want = cl ? strtoul(cl + 16, NULL, 10) : 0;
        size_t head = (size_t)(end - s) + 4;
        if (in.len < head + want)
            continue;
        status = atoi(s + 9);
        buf_reset(body);
        buf_append(body, s + head, want);
    }
    buf_free(&in);
    return status;
}

static int exchange(int fd, const void *raw, size_t len, buf_t *body, int *closed)
{
    CHECK(write(fd, raw, len) == (ssize_t)len);
    return receive(fd, body, closed);
}

/* A POST /rpc_http of a gaelic_test.Delay call with the given deadline. */
static void delay_request(buf_t *req, const char *ticket, const char *deadline)
{
    buf_t env = BUF_INIT, delay = BUF_INIT;
    pb_put_uint(&delay, 1, 60000);
    envelope(&env, "gaelic_test", "Delay", buf_ptr(&delay), delay.len, ticket);
    char head[256];
    snprintf(head, sizeof head,
             "POST /rpc_http HTTP/1.1\r\nHost: x\r\nX-Google-RPC-Service-Deadline: %s\r\n"
             "Content-Length: %zu\r\n\r\n",
             deadline, env.len);
    buf_reset(req);
    buf_append_str(req, head);
    buf_append(req, buf_ptr(&env), env.len);
    buf_free(&env);
    buf_free(&delay);
}

static void post_call(int fd, const char *ticket, const char *service, const char *method,
                      const char *deadline, int *status, reply_t *r)
{
    buf_t env = BUF_INIT, req = BUF_INIT, body = BUF_INIT;
    envelope(&env, service, method, "", 0, ticket);
    char head[256];
    snprintf(head, sizeof head,
             "POST /rpc_http HTTP/1.1\r\nHost: x\r\nX-Google-RPC-Service-Deadline: %s\r\n"
             "Content-type: application/octet-stream\r\nContent-Length: %zu\r\n\r\n",
             deadline, env.len);
    buf_append_str(&req, head);
    buf_append(&req, buf_ptr(&env), env.len);
    int closed;
    *status = exchange(fd, buf_ptr(&req), req.len, &body, &closed);
    decode_reply(buf_ptr(&body), body.len, r);
    buf_free(&env);
    buf_free(&req);
    buf_free(&body);
}

static void test_server(const api_registry_t *reg)
{
    api_tickets_t *tickets = api_tickets_new();
    api_http_opts_t o = {"127.0.0.1", 0, reg, tickets, 10000, 10000, 10000};
    char err[256];
    api_http_t *h = api_http_open(&loop, &o, err, sizeof err);
    CHECK(h != NULL);
    if (!h) {
        fprintf(stderr, "api_http_open: %s\n", err);
        return;
    }
    CHECK_STR(api_http_host(h), "127.0.0.1");
    int fd = connect_to(api_http_port(h));
    CHECK(fd >= 0);
    api_ticket_t ticket = {0};
    CHECK(api_tickets_issue(tickets, &ticket, "instance-a", &OPS) == 0);
    int status;
    reply_t r;

    /* gaelic_test.Echo with a live ticket: answered, CPU charged. */
    post_call(fd, ticket.hex, "gaelic_test", "Echo", "5", &status, &r);
    CHECK(status == 200 && r.has_response && r.rpc_code == -1);
    CHECK(charges == 1);
    /* Keep-alive: the same connection goes on. Unknown method. */
    post_call(fd, ticket.hex, "gaelic_test", "Nope", "5", &status, &r);
    CHECK(status == 200 && r.rpc_code == API_RPC_CALL_NOT_FOUND);
    /* No ticket, a forged one, an ended one. */
    post_call(fd, NULL, "gaelic_test", "Echo", "5", &status, &r);
    CHECK(status == 200 && r.rpc_code == API_RPC_SECURITY_VIOLATION && !strchr(r.text, '%'));
    post_call(fd, "00000000000000000000000000000000", "gaelic_test", "Echo", "5", &status, &r);
    CHECK(status == 200 && r.rpc_code == API_RPC_SECURITY_VIOLATION);
    char ended[API_TICKET_HEX + 1];
    memcpy(ended, ticket.hex, sizeof ended);
    api_tickets_revoke(tickets, &ticket);
    post_call(fd, ended, "gaelic_test", "Echo", "5", &status, &r);
    CHECK(status == 200 && r.rpc_code == API_RPC_SECURITY_VIOLATION);

    /* A call past the caller's deadline: DEADLINE_EXCEEDED, charged. */
    CHECK(api_tickets_issue(tickets, &ticket, "instance-a", &OPS) == 0);
    buf_t req = BUF_INIT, body = BUF_INIT;
    int closed, before = charges;
    delay_request(&req, ticket.hex, "0.05");
    status = exchange(fd, buf_ptr(&req), req.len, &body, &closed);
    decode_reply(buf_ptr(&body), body.len, &r);
    CHECK(status == 200 && r.rpc_code == API_RPC_DEADLINE_EXCEEDED);
    CHECK(charges == before + 1);
    /* Its request ends while the call runs: answered all the same, but
     * there is no request left to charge. */
    before = charges;
    delay_request(&req, ticket.hex, "0.05");
    CHECK(write(fd, buf_ptr(&req), req.len) == (ssize_t)req.len);
    run_for(10);
    api_tickets_revoke(tickets, &ticket);
    status = receive(fd, &body, &closed);
    decode_reply(buf_ptr(&body), body.len, &r);
    CHECK(status == 200 && r.rpc_code == API_RPC_DEADLINE_EXCEEDED);
    CHECK(charges == before);
    CHECK(api_tickets_issue(tickets, &ticket, "instance-a", &OPS) == 0);

    /* Malformed body: 200 with BAD_REQUEST. */
    const char bad[] = "POST /rpc_http HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n\xff\xff";
    status = exchange(fd, bad, sizeof bad - 1, &body, &closed);
    decode_reply(buf_ptr(&body), body.len, &r);
    CHECK(status == 200 && r.rpc_code == API_RPC_BAD_REQUEST);
    /* Not a call: 404 and 405, the connection stays. */
    const char other[] = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    CHECK(exchange(fd, other, sizeof other - 1, &body, &closed) == 404 && !closed);
    const char get[] = "GET /rpc_http HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(exchange(fd, get, sizeof get - 1, &body, &closed) == 405 && !closed);
    /* Too large: 200 with REQUEST_TOO_LARGE, then the connection closes. */
    char big[128];
    snprintf(big, sizeof big, "POST /rpc_http HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n\r\n",
             API_HTTP_MAX_BODY + 1);
    status = exchange(fd, big, strlen(big), &body, &closed);
    decode_reply(buf_ptr(&body), body.len, &r);
    CHECK(status == 200 && r.rpc_code == API_RPC_REQUEST_TOO_LARGE);
    for (int i = 0; i < 100 && !closed; i++) {
        char c;
        run_for(2);
        closed = read(fd, &c, 1) == 0;
    }
    CHECK(closed);
    close(fd);

    /* A connection that goes away with a call running: the call is
     * cancelled, nothing is written or charged afterwards. */
    fd = connect_to(api_http_port(h));
    before = charges;
    delay_request(&req, ticket.hex, "60");
    CHECK(write(fd, buf_ptr(&req), req.len) == (ssize_t)req.len);
    run_for(20);
    close(fd);
    run_for(20);
    CHECK(charges == before);

    api_tickets_revoke(tickets, &ticket);
    buf_free(&req);
    buf_free(&body);
    api_http_close(h);
    api_tickets_free(tickets);
}

int main(void)
{
    CHECK(loop_init(&loop) == 0);
    api_registry_t *reg = api_registry_new();
    CHECK(api_system_register(reg) == 0 && api_test_register(reg) == 0);
    test_envelope_ticket();
    test_check_and_deadline();
    test_start_background_request(reg);
    test_server(reg);
    api_registry_free(reg);
    loop_close(&loop);
    UNIT_DONE();
}
