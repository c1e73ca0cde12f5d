/* The master's end of the API channel (src/api_channel.c) with the
 * registry (src/api_service.c) and the gaelic_test service: frames in,
 * result frames out, and every way an instance can break the protocol. */
#include <stdlib.h>
#include <unistd.h>

#include "api_channel.h"
#include "api_test.h"
#include "ipc.h"
#include "pb.h"
#include "unit.h"
#include "unit_loop.h"

static loop_t loop;
static buf_t out = BUF_INIT;
static int wakes;

static void wake(void *owner)
{
    (void)owner;
    wakes++;
}

static const char *log_id(void *owner, uint32_t request)
{
    (void)owner;
    return request == 7 ? "log-seven" : "";
}

static void chan_init(api_chan_t *ch, const api_registry_t *reg)
{
    api_chan_init(ch);
    ch->loop = &loop;
    ch->registry = reg;
    ch->out = &out;
    ch->wake = wake;
    ch->log_id = log_id;
    ch->caller.instance_id = "test";
}

/* An IPC_API_CALL payload for service.method with the given inner request. */
static uint32_t request_no = 7; /* the request the next calls are made for */

static void call_payload(buf_t *p, uint32_t deadline_ms, const char *service, const char *method,
                         const void *req, size_t req_len)
{
    buf_t env = BUF_INIT;
    pb_put_str(&env, 2, service);
    pb_put_str(&env, 3, method);
    pb_put_bytes(&env, 4, req, req_len);
    buf_reset(p);
    ipc_put_u32(p, request_no);
    ipc_put_u32(p, deadline_ms);
    ipc_put_bytes(p, buf_ptr(&env), env.len);
    buf_free(&env);
}

static int call(api_chan_t *ch, uint32_t id, uint32_t deadline_ms, const char *service,
                const char *method, const void *req, size_t req_len, const char **why)
{
    buf_t p = BUF_INIT;
    call_payload(&p, deadline_ms, service, method, req, req_len);
    int rc = api_chan_call(ch, id, (const uint8_t *)buf_ptr(&p), p.len, why);
    buf_free(&p);
    return rc;
}

/* The next result frame in out: its id and envelope's top-level fields. */
typedef struct {
    uint32_t id;
    int has_response, app_code, rpc_code; /* codes -1 when absent */
    pb_field_t response, detail;
} result_t;

static void error_fields(const pb_field_t *f, int *code, pb_field_t *detail)
{
    pb_reader_t r;
    pb_field_t g;
    pb_reader_init(&r, f->data, f->len);
    while (pb_next(&r, &g) > 0) {
        if (g.num == 1)
            *code = (int)g.u64;
        else if (g.num == 2)
            *detail = g;
    }
}

static int next_result(result_t *res)
{
    if (out.len < IPC_HDR_SIZE)
        return 0;
    ipc_hdr_t h;
    ipc_parse_hdr((const uint8_t *)buf_ptr(&out), &h);
    if (h.type != IPC_API_RESULT || out.len < IPC_HDR_SIZE + h.len)
        return -1;
    memset(res, 0, sizeof *res);
    res->id = h.id;
    res->app_code = res->rpc_code = -1;
    ipc_reader_t r;
    uint32_t cpu_us, env_len;
    const char *env;
    ipc_reader_init(&r, buf_ptr(&out) + IPC_HDR_SIZE, h.len);
    if (ipc_get_u32(&r, &cpu_us) < 0 || ipc_get_bytes(&r, &env, &env_len) < 0 || r.left)
        return -1;
    pb_reader_t pr;
    pb_field_t f;
    pb_reader_init(&pr, env, env_len);
    while (pb_next(&pr, &f) > 0) {
        if (f.num == 1) {
            res->has_response = 1;
            res->response = f;
        } else if (f.num == 3) {
            error_fields(&f, &res->app_code, &res->detail);
        } else if (f.num == 5) {
            error_fields(&f, &res->rpc_code, &res->detail);
        }
    }
    buf_consume(&out, IPC_HDR_SIZE + h.len);
    return 1;
}

static void test_echo_and_errors(const api_registry_t *reg)
{
    api_chan_t ch;
    chan_init(&ch, reg);
    const char *why = NULL;
    result_t res;

    wakes = 0;
    CHECK(call(&ch, 1, 0, "gaelic_test", "Echo", "\x0a\x02hi", 4, &why) == 0);
    CHECK(wakes == 1);
    CHECK(next_result(&res) == 1 && res.id == 1 && res.has_response && res.response.len == 4 &&
          !memcmp(res.response.data, "\x0a\x02hi", 4) && res.app_code == -1 && res.rpc_code == -1);
    CHECK(ch.inflight == 0);

    CHECK(call(&ch, 2, 0, "no_such", "Echo", "", 0, &why) == 0);
    CHECK(next_result(&res) == 1 && res.id == 2 && res.rpc_code == API_RPC_CALL_NOT_FOUND);
    CHECK(call(&ch, 3, 0, "gaelic_test", "NoSuchMethod", "", 0, &why) == 0);
    CHECK(next_result(&res) == 1 && res.rpc_code == API_RPC_CALL_NOT_FOUND);

    /* A service's own error: code and detail (always sent, required). */
    CHECK(call(&ch, 4, 0, "gaelic_test", "Fail", "\x08\x05\x12\x03why", 7, &why) == 0);
    CHECK(next_result(&res) == 1 && res.app_code == 5 && res.rpc_code == -1 &&
          res.detail.len == 3 && !memcmp(res.detail.data, "why", 3));
    CHECK(call(&ch, 5, 0, "gaelic_test", "Fail", "\xff", 1, &why) == 0);
    CHECK(next_result(&res) == 1 && res.rpc_code == API_RPC_PARSE_ERROR);

    /* No registry at all: every call is CALL_NOT_FOUND. */
    api_chan_t bare;
    chan_init(&bare, NULL);
    CHECK(call(&bare, 9, 0, "system", "GetSystemStats", "", 0, &why) == 0);
    CHECK(next_result(&res) == 1 && res.id == 9 && res.rpc_code == API_RPC_CALL_NOT_FOUND);
    CHECK(next_result(&res) == 0);
}

static int raw_call(api_chan_t *ch, uint32_t id, const void *payload, size_t n, const char **why)
{
    return api_chan_call(ch, id, payload, n, why);
}

static void test_violations(const api_registry_t *reg)
{
    api_chan_t ch;
    chan_init(&ch, reg);
    const char *why = NULL;
    CHECK(raw_call(&ch, 1, "\x01\x02", 2, &why) == -1 && why);
    why = NULL;
    /* request, deadline, then an envelope length past the end */
    CHECK(raw_call(&ch, 1, "\0\0\0\0\0\0\0\0\x09\0\0\0ab", 14, &why) == -1 && why);
    /* bytes after the envelope */
    CHECK(raw_call(&ch, 1, "\0\0\0\0\0\0\0\0\0\0\0\0x", 13, &why) == -1);
    /* an envelope that is not protobuf, or lacks its required fields */
    CHECK(raw_call(&ch, 1, "\0\0\0\0\0\0\0\0\x02\0\0\0\xff\xff", 14, &why) == -1);
    CHECK(raw_call(&ch, 1, "\0\0\0\0\0\0\0\0\0\0\0\0", 12, &why) == -1);
    /* service names are UTF-8 strings */
    CHECK(call(&ch, 1, 0, "\xff\xfe", "Echo", "", 0, &why) == -1);
    CHECK(call(&ch, 0, 0, "gaelic_test", "Echo", "", 0, &why) == -1);
    CHECK(out.len == 0 && ch.inflight == 0);
}

static void test_limit_and_deadline(const api_registry_t *reg)
{
    api_chan_t ch;
    chan_init(&ch, reg);
    const char *why = NULL;
    result_t res;
    /* Delay 50 ms: Integer32Proto{value: 50} */
    for (uint32_t id = 1; id <= API_MAX_CONCURRENT; id++)
        CHECK(call(&ch, id, 0, "gaelic_test", "Delay", "\x08\x32", 2, &why) == 0);
    CHECK(ch.inflight == API_MAX_CONCURRENT && out.len == 0);
    CHECK(call(&ch, 5, 0, "gaelic_test", "Delay", "\x08\x32", 2, &why) == -1);
    CHECK(call(&ch, 500, 0, "gaelic_test", "Delay", "\x08\x32", 2, &why) == -1 && why &&
          strstr(why, "100"));
    unit_run_for(&loop, 120);
    int answered = 0;
    while (next_result(&res) == 1)
        answered += res.has_response && res.rpc_code == -1;
    CHECK(answered == API_MAX_CONCURRENT && ch.inflight == 0);

    /* The same ids may be used again once answered. */
    CHECK(call(&ch, 1, 20, "gaelic_test", "Delay", "\x08\xe8\x07", 3, &why) == 0);
    CHECK(call(&ch, 2, 0, "gaelic_test", "Delay", "\x08\x0a", 2, &why) == 0);
    unit_run_for(&loop, 60);
    int deadline = 0, ok = 0;
    while (next_result(&res) == 1) {
        deadline += res.id == 1 && res.rpc_code == API_RPC_DEADLINE_EXCEEDED;
        ok += res.id == 2 && res.has_response;
    }
    CHECK(deadline == 1 && ok == 1 && ch.inflight == 0);

    /* The instance dies with calls pending: nothing more is written. */
    CHECK(call(&ch, 3, 0, "gaelic_test", "Delay", "\x08\x0a", 2, &why) == 0);
    api_chan_close(&ch);
    unit_run_for(&loop, 30);
    CHECK(out.len == 0 && ch.inflight == 0);
}

static void test_end_request(const api_registry_t *reg)
{
    api_chan_t ch;
    chan_init(&ch, reg);
    const char *why = NULL;
    result_t res;
    /* Two calls of request 8 and one of request 9 wait (Delay 1 s). */
    request_no = 8;
    CHECK(call(&ch, 1, 0, "gaelic_test", "Delay", "\x08\xe8\x07", 3, &why) == 0);
    CHECK(call(&ch, 2, 0, "gaelic_test", "Delay", "\x08\xe8\x07", 3, &why) == 0);
    request_no = 9;
    CHECK(call(&ch, 3, 0, "gaelic_test", "Delay", "\x08\xe8\x07", 3, &why) == 0);
    request_no = 7;
    CHECK(ch.inflight == 3 && out.len == 0);
    /* Request 8 ends: its calls are answered CANCELLED at once. */
    api_chan_end_request(&ch, 8);
    int cancelled = 0;
    while (next_result(&res) == 1)
        cancelled += (res.id == 1 || res.id == 2) && res.rpc_code == API_RPC_CANCELLED;
    CHECK(cancelled == 2 && ch.inflight == 1);
    /* Ending it again, or a request with no calls, does nothing. */
    api_chan_end_request(&ch, 8);
    api_chan_end_request(&ch, 10);
    CHECK(out.len == 0 && ch.inflight == 1);
    /* The other request's call is answered as usual; no timer of the
     * cancelled ones fires. */
    unit_run_for(&loop, 1100);
    CHECK(next_result(&res) == 1 && res.id == 3 && res.has_response && res.rpc_code == -1);
    CHECK(next_result(&res) == 0 && ch.inflight == 0);
}

/* A service whose answer is larger than a frame may carry. */
static void huge(api_call_t *call)
{
    buf_t b = BUF_INIT;
    CHECK(buf_reserve(&b, IPC_MAX_PAYLOAD + 1) == 0);
    memset(buf_ptr(&b), 'x', IPC_MAX_PAYLOAD + 1);
    b.len = IPC_MAX_PAYLOAD + 1;
    api_reply(call, &b);
    buf_free(&b);
}

static const api_method_t huge_methods[] = {{"Huge", huge}, {NULL, NULL}};

/* An answer that does not fit in a frame still answers the call (the app
 * waited until its deadline): RESPONSE_TOO_LARGE. */
static void test_answer_too_large(api_registry_t *reg)
{
    api_service_t svc = {"gaelic_huge", huge_methods, NULL};
    CHECK(api_registry_add(reg, &svc) == 0);
    api_chan_t ch;
    chan_init(&ch, reg);
    const char *why = NULL;
    result_t res;
    wakes = 0;
    CHECK(call(&ch, 4, 0, "gaelic_huge", "Huge", "", 0, &why) == 0);
    CHECK(next_result(&res) == 1 && res.id == 4 && !res.has_response &&
          res.rpc_code == API_RPC_RESPONSE_TOO_LARGE);
    CHECK(wakes == 1 && ch.inflight == 0 && next_result(&res) == 0);
}

/* A service that counts its answers as they leave (api_sent_t), as the
 * Logs API's Read does; Tracked{1: n} answers n bytes. */
static int sent_count;

static void count_sent(void *arg)
{
    (void)arg;
    sent_count++;
}

static void tracked(api_call_t *call)
{
    size_t n = call->request_len > 1 ? (unsigned char)call->request[1] : 0;
    buf_t b = BUF_INIT;
    CHECK(buf_reserve(&b, n + 1) == 0);
    memset(buf_ptr(&b), 'y', n);
    b.len = n;
    call->sent = (api_sent_t){count_sent, NULL};
    api_reply(call, &b);
    buf_free(&b);
}

static void tracked_too_large(api_call_t *call)
{
    call->sent = (api_sent_t){count_sent, NULL};
    huge(call);
}

static const api_method_t tracked_methods[] = {
    {"Tracked", tracked}, {"TooLarge", tracked_too_large}, {NULL, NULL}};

/* An answer has left once the owner has written past its frame's end, not
 * before; the rest when out empties, or when the instance is gone. */
static void test_sent_when_written(api_registry_t *reg)
{
    api_service_t svc = {"gaelic_tracked", tracked_methods, NULL};
    CHECK(api_registry_add(reg, &svc) == 0);
    api_chan_t ch;
    chan_init(&ch, reg);
    const char *why = NULL;
    buf_reset(&out);
    sent_count = 0;
    CHECK(call(&ch, 1, 0, "gaelic_tracked", "Tracked", "\x08\x64", 2, &why) == 0);
    size_t first = out.len;
    CHECK(call(&ch, 2, 0, "gaelic_tracked", "Tracked", "\x08\x10", 2, &why) == 0);
    CHECK(sent_count == 0 && out.len > first);
    /* Written up to one byte short of the first frame's end. */
    buf_consume(&out, first - 1);
    api_chan_written(&ch, first - 1);
    CHECK(sent_count == 0);
    buf_consume(&out, 1);
    api_chan_written(&ch, 1);
    CHECK(sent_count == 1);
    /* The owner wrote the rest (whatever it counted): out is empty. */
    size_t rest = out.len;
    buf_consume(&out, rest);
    api_chan_written(&ch, 0);
    CHECK(sent_count == 2);
    /* A later answer is counted from where the first ones ended. */
    CHECK(call(&ch, 3, 0, "gaelic_tracked", "Tracked", "\x08\x20", 2, &why) == 0);
    CHECK(call(&ch, 4, 0, "gaelic_tracked", "Tracked", "\x08\x20", 2, &why) == 0);
    size_t one = out.len / 2;
    buf_consume(&out, one);
    api_chan_written(&ch, one);
    CHECK(sent_count == 3);
    /* Not in out (too large for a frame: an error went instead): at once. */
    CHECK(call(&ch, 5, 0, "gaelic_tracked", "TooLarge", "", 0, &why) == 0);
    CHECK(sent_count == 4);
    /* The instance is gone: what is still in out counts as dropped. */
    api_chan_close(&ch);
    CHECK(sent_count == 5);
    buf_reset(&out);
}

int main(void)
{
    CHECK(loop_init(&loop) == 0);
    api_registry_t *reg = api_registry_new();
    CHECK(reg && api_test_register(reg) == 0);
    CHECK(api_test_register(reg) == -1); /* a name is registered once */
    test_echo_and_errors(reg);
    test_violations(reg);
    test_limit_and_deadline(reg);
    test_end_request(reg);
    test_answer_too_large(reg);
    test_sent_when_written(reg);
    api_registry_free(reg);
    buf_free(&out);
    loop_close(&loop);
    UNIT_DONE();
}
