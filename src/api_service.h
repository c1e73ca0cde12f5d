/* The services behind App Engine's API channel (API4, DESIGN "services"):
 * a registry of services (`system`, later `logservice`, ...) and their
 * methods, and one call's life from a remote_api Request envelope to a
 * remote_api Response envelope (field numbers: ../shared/API-MESSAGES.md
 * section 1). The envelope is the same one the SDK's /rpc_http protocol
 * carries, so these handlers can answer that transport too; the instance
 * channel (api_channel.h) is the first transport.
 *
 * A handler answers with exactly one api_reply* call: before it returns
 * (synchronous), or later from the event loop (asynchronous: it sets
 * call->cancel before returning; the transport calls cancel when the call
 * must be abandoned, e.g. the instance died or the deadline passed, after
 * which the handler must never touch the call again). */
#ifndef GAELIC_API_SERVICE_H
#define GAELIC_API_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "instance_stats.h"
#include "loop.h"

/* remote_api RpcError.ErrorCode */
enum api_rpc_code {
    API_RPC_UNKNOWN = 0,
    API_RPC_CALL_NOT_FOUND = 1,
    API_RPC_PARSE_ERROR = 2,
    API_RPC_SECURITY_VIOLATION = 3,
    API_RPC_OVER_QUOTA = 4,
    API_RPC_REQUEST_TOO_LARGE = 5,
    API_RPC_CAPABILITY_DISABLED = 6,
    API_RPC_FEATURE_DISABLED = 7,
    API_RPC_BAD_REQUEST = 8,
    API_RPC_RESPONSE_TOO_LARGE = 9,
    API_RPC_CANCELLED = 10,
    API_RPC_REPLAY_ERROR = 11,
    API_RPC_DEADLINE_EXCEEDED = 12,
};

/* Who makes a call. Valid only while the handler runs: an asynchronous
 * handler copies what it needs. */
typedef struct {
    const char *instance_id;
    const char *log_id; /* REQUEST_LOG_ID of the calling request; "" outside one */
    uint32_t request;   /* the request's number on the instance's channel; 0: none */
    pid_t pid;          /* the instance process */
    int cpu_mhz;        /* its clock for megacycles (instance_stats.h) */
    const inst_stats_t *stats;
    /* logservice Flush: makes request `request`'s log visible while it
     * still runs (NULL: nothing to do). */
    void (*flush)(void *owner, uint32_t request);
    /* system.StartBackgroundRequest: a background request on the caller's
     * instance (background_request.h). Returns a SystemServiceError code
     * (api_system.h) and writes, NUL-terminated, the request id into id
     * for OK, a reason for INTERNAL_ERROR. NULL: BACKEND_REQUIRED. */
    int (*start_background)(void *owner, char *id, size_t n);
    void *owner;
} api_caller_t;

typedef struct api_call api_call_t;

/* Told once an answer has left the master: its transport has written it
 * out, or dropped it (the caller went away). A handler that counts what
 * its answers hold (log_read_budget.h) sets call->sent before it answers;
 * fn NULL: nothing to tell. */
typedef struct {
    void (*fn)(void *arg);
    void *arg;
} api_sent_t;

/* The transport's side of a call: gets the serialized Response envelope
 * (valid during the callback) and then owns the call again. It calls
 * sent.fn(sent.arg) exactly once (when set), when the bytes it queued for
 * the envelope are written or dropped: at once when it queued none. */
typedef void (*api_finish_t)(api_call_t *call, const char *envelope, size_t len, api_sent_t sent);

struct api_call {
    /* set by the transport */
    const api_caller_t *caller;
    loop_t *loop;
    uint32_t deadline_ms; /* how long the caller waits */
    api_finish_t finish;
    void *transport;
    /* set by api_dispatch for the handler; request is valid until the
     * handler returns */
    void *service_ctx;
    const uint8_t *request;
    size_t request_len;
    /* asynchronous handlers */
    void (*cancel)(api_call_t *call);
    void *handler_data;
    api_sent_t sent; /* for the answer: set before api_reply, handed to finish */
    int answered;
};

typedef struct {
    const char *name; /* "GetSystemStats" */
    void (*handler)(api_call_t *call);
} api_method_t;

typedef struct {
    const char *name;            /* "system" */
    const api_method_t *methods; /* ends with {NULL, NULL}; must outlive the registry */
    void *ctx;                   /* handed to handlers as call->service_ctx */
} api_service_t;

typedef struct api_registry api_registry_t;

api_registry_t *api_registry_new(void);
/* Adds (copies) a service. 0, or -1 when memory runs out or the name is
 * already taken. */
int api_registry_add(api_registry_t *reg, const api_service_t *svc);
void api_registry_free(api_registry_t *reg);

/* Decodes the remote_api Request envelope and runs the method, or answers
 * CALL_NOT_FOUND (reg may be NULL: no services). Returns 0 (answered, or the handler will answer),
 * or -1 when the envelope itself is malformed (not answered: the transport decides what that
 * means). */
int api_dispatch(const api_registry_t *reg, api_call_t *call, const uint8_t *envelope, size_t len);

/* The ticket (field request_id) of a remote_api Request envelope, for
 * transports that identify the caller by it (api_http.h): 0 with *ticket
 * pointing into the envelope (NULL when there is none), or -1 when the
 * envelope is malformed as api_dispatch sees it. */
int api_envelope_ticket(const uint8_t *envelope, size_t len, const char **ticket,
                        size_t *ticket_len);

/* Answers: the serialized inner response; a service's ApplicationError
 * (detail may be ""); an RpcError (detail may be "", must hold no '%':
 * the SDK %-formats it). */
void api_reply(api_call_t *call, const buf_t *response);
void api_reply_app_error(api_call_t *call, int code, const char *detail);
void api_reply_rpc_error(api_call_t *call, enum api_rpc_code code, const char *detail);

#endif
