/* Framed messages between the master and an instance over one
 * SOCK_STREAM socketpair. Every frame is a fixed header followed by `len`
 * payload bytes. The master treats everything an instance sends as untrusted:
 * a frame that breaks these rules is a protocol violation and the instance is
 * killed.
 *
 * Payload encoding: u32 and u64 values are little-endian; "bytes" is u32
 * length then the raw bytes (no NUL).
 *
 *   IPC_READY     instance -> master, id 0, empty payload: the runtime is
 *                 loaded and the instance takes requests.
 *   IPC_REQUEST   master -> instance, id = request number (unique per
 *                 instance while in flight). Header flag
 *                 IPC_FLAG_BACKGROUND: a background request
 *                 (system.StartBackgroundRequest) that the runtime serves on
 *                 a thread of its own, the script being empty:
 *                   bytes script     handler script, after \1 substitution
 *                                    ("main.app" or "path/file.py")
 *                   u32   n_env      then n_env x (bytes key, bytes value):
 *                                    the full CGI/WSGI + App Engine environ
 *                                    (without wsgi.* keys)
 *                   bytes body       request body, already de-chunked
 *   IPC_RESPONSE  instance -> master, same id as the request:
 *                   u64   cpu_us     CPU time of the request's thread, at
 *                                    most IPC_MAX_CPU_US
 *                   bytes status     "200 OK"
 *                   u32   n_headers  then n_headers x (bytes name, bytes value)
 *                   bytes body
 *                 Header flag IPC_FLAG_DEADLINE: DeadlineExceededError was
 *                 not caught, the payload is the runtime's 500; the master
 *                 answers with its timeout page instead, but only if it did
 *                 send IPC_DEADLINE for this request.
 *                 Header flag IPC_FLAG_FAILED: the app raised or answered
 *                 wrongly, the payload is the runtime's 500; the master
 *                 answers with the app's default error page instead.
 *   IPC_LOG       instance -> master, id of the request or 0: one app
 *                 log line (RT9), sent when written so that a crash later
 *                 does not lose it:
 *                   u32 level (0 debug .. 4 critical), bytes message
 *   IPC_SHUTDOWN  master -> instance, id 0, empty: finish running requests,
 *                 then exit 0.
 *   IPC_DEADLINE  master -> instance, id = a running request, empty: the
 *                 request is past its deadline (RT7): raise
 *                 DeadlineExceededError in its thread. An id the instance
 *                 no longer runs (it answered meanwhile) is ignored. Sent
 *                 once per request; past the grace the master kills the
 *                 instance.
 *   IPC_API_CALL  instance -> master, id = call number (non-zero, unique
 *                 among the instance's calls not yet answered; at most
 *                 100 of them at once, BK11), see api_channel.h:
 *                   u32   request      number of the request (or background
 *                                      thread) the call is made for, or 0
 *                   u32   deadline_ms  how long the caller waits (0: 60 s)
 *                   bytes envelope     a serialized remote_api Request
 *                                      (service_name, method, request)
 *   IPC_API_RESULT master -> instance, same id as the call, exactly once
 *                 per call:
 *                   u32   cpu_us       the master's CPU time for the call,
 *                                      saturated: the handler ran on the
 *                                      master's one loop thread, which no
 *                                      call holds for 71 minutes
 *                   bytes envelope     a serialized remote_api Response
 *                                      (response, application_error or
 *                                      rpc_error)
 *   IPC_BACKGROUND_START  instance -> master, id = a background thread's
 *                 log id (IPC_BACKGROUND_ID_BIT set, unique while it runs),
 *                 empty: it starts, with a request log of its own that its
 *                 IPC_LOG lines (same id) go to. At most
 *                 IPC_BACKGROUND_MAX live per instance (BG2).
 *                 Or, with u32 IPC_BACKGROUND_STOP as payload, the
 *                 internal /_ah/stop request that runs the shutdown hook
 *                 (BK4) starts: its request log (under /_ah/stop) opens
 *                 and takes its IPC_LOG lines until its
 *                 IPC_BACKGROUND_END, on any instance, in the same
 *                 IPC_BACKGROUND_MAX, only after IPC_SHUTDOWN and once
 *                 per instance; the master does not answer it (the main
 *                 thread that runs the hook waits for nobody).
 *   IPC_BACKGROUND_STARTED  master -> instance, same id, exactly once per
 *                 IPC_BACKGROUND_START of a thread the master accepts: the thread's
 *                 own environ (BG3),
 *                 that of its /_ah/background request, with that request
 *                 log's REQUEST_LOG_ID and an API ticket valid until
 *                 IPC_BACKGROUND_END. Laid out as IPC_REQUEST's payload,
 *                 with an empty script and an empty body. An id no
 *                 thread waits for is dropped (a start the app wrote to
 *                 the channel itself).
 *   IPC_BACKGROUND_REFUSED  master -> instance, same id, empty: instead
 *                 of IPC_BACKGROUND_STARTED when the instance is not a
 *                 backend's (BG2: FrontendsNotSupported). No log, no
 *                 slot; the instance drops one no thread waits for.
 *   IPC_BACKGROUND_END    instance -> master, same id: it ended.
 *                   u32 failed   1 when it raised
 *                   u64 cpu_us   CPU time of the thread (as IPC_RESPONSE's)
 *   IPC_API_CPU   master -> instance, id = a running request: the master
 *                 answered a call made with the request's API ticket
 *                 through the HTTP API server (api_http.h), which counts
 *                 for the request like its channel calls' cpu_us:
 *                   u32   cpu_us     saturated, as IPC_API_RESULT's
 *                 An id the instance no longer runs is ignored.
 *   IPC_RETIRE    instance -> master, id 0: the instance broke a rule of
 *                 the runtime it cannot undo (a request's thread outlived
 *                 the request, RT11), so it must not take more requests:
 *                 the master logs why and shuts it down as with
 *                 IPC_SHUTDOWN; what it runs may still be answered.
 *                   bytes reason     at most IPC_RETIRE_REASON_MAX bytes
 * Request ids the master gives never have IPC_BACKGROUND_ID_BIT set.
 *
 * Header flags are 0 unless a frame type above says otherwise.
 */
#ifndef GAELIC_IPC_H
#define GAELIC_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum ipc_type {
    IPC_READY = 1,
    IPC_REQUEST = 2,
    IPC_RESPONSE = 3,
    IPC_LOG = 4,
    IPC_SHUTDOWN = 5,
    IPC_DEADLINE = 6,
    IPC_API_CALL = 7,
    IPC_API_RESULT = 8,
    IPC_BACKGROUND_START = 9,
    IPC_BACKGROUND_END = 10,
    IPC_API_CPU = 11,
    IPC_RETIRE = 12,
    IPC_BACKGROUND_STARTED = 13,
    IPC_BACKGROUND_REFUSED = 14,
};

#define IPC_RETIRE_REASON_MAX 1024u

/* The most CPU time IPC_RESPONSE and IPC_BACKGROUND_END may carry (about
 * 142 years; the instance saturates there, the master refuses more): a
 * backend request or background thread runs for hours, past a u32's 71.6
 * minutes, while the megacycles of this much at any host clock still fit
 * the request log's int64, and `gaelic logs`' cpu_ms arithmetic on them. */
#define IPC_MAX_CPU_US (1ull << 52)

/* Header flags of IPC_RESPONSE. */
#define IPC_FLAG_DEADLINE 0x1u
#define IPC_FLAG_FAILED 0x4u
/* Header flags of IPC_REQUEST. */
#define IPC_FLAG_BACKGROUND 0x2u

#define IPC_BACKGROUND_ID_BIT 0x80000000u
#define IPC_BACKGROUND_MAX 10
/* IPC_BACKGROUND_START's payload for the internal /_ah/stop request. */
#define IPC_BACKGROUND_STOP 1u

typedef struct {
    uint32_t len; /* payload bytes after this header */
    uint16_t type;
    uint16_t flags;
    uint32_t id;
} ipc_hdr_t;

#define IPC_HDR_SIZE 12u
/* Hard cap on any frame payload; the request and response limits (RT10)
 * are enforced below it, this only bounds what a broken peer can make the
 * other side buffer. */
#define IPC_MAX_PAYLOAD (64u << 20)

/* What --max_response_header_bytes counts, on both ends: the head as the
 * master writes it, "HTTP/1.1 " STATUS CRLF, then NAME ": " VALUE CRLF for
 * each of the app's headers. */
#define IPC_STATUS_LINE_EXTRA 11u
#define IPC_HEADER_LINE_EXTRA 4u

/* RT10's default response limits (--max_response_bytes and
 * --max_response_header_bytes), shared by the master and gaelic-instance. */
#define IPC_DEFAULT_MAX_RESPONSE_BODY 10485760u
#define IPC_DEFAULT_MAX_RESPONSE_HEAD 65536u
/* The most those limits, and the request's, may be set to. A request or
 * response crosses the channel as one frame, body and head (or environ)
 * together, under IPC_MAX_PAYLOAD: a body of 32 MiB (App Engine's own
 * request and response limit) leaves room for a head of 1 MiB several
 * times over. */
#define IPC_MAX_BODY_LIMIT (32u << 20)
#define IPC_MAX_HEAD_LIMIT (1u << 20)
/* Worker threads (requests at once) an instance may run: gaelic-instance
 * --threads, gaelic serve --threads. */
#define IPC_MAX_INSTANCE_THREADS 1024

/* Appends a frame header (payload length patched by ipc_end_frame). Returns
 * the offset of the header inside b for ipc_end_frame, or -1. */
long ipc_begin_frame(buf_t *b, uint16_t type, uint32_t id);
int ipc_end_frame(buf_t *b, long start);
/* Sets the flags of the frame header at offset start (0 after begin). */
void ipc_set_flags(buf_t *b, long start, uint16_t flags);

int ipc_put_u32(buf_t *b, uint32_t v);
int ipc_put_u64(buf_t *b, uint64_t v);
int ipc_put_bytes(buf_t *b, const void *p, size_t n);

/* Parses a header from 12 bytes. */
void ipc_parse_hdr(const uint8_t *p, ipc_hdr_t *h);

/* Bounds-checked reader over one payload. After any failed get, err is set
 * and every later get fails too. */
typedef struct {
    const uint8_t *p;
    size_t left;
    int err;
} ipc_reader_t;

void ipc_reader_init(ipc_reader_t *r, const void *p, size_t n);
int ipc_get_u32(ipc_reader_t *r, uint32_t *v);
int ipc_get_u64(ipc_reader_t *r, uint64_t *v);
int ipc_get_bytes(ipc_reader_t *r, const char **p, uint32_t *n);

#endif
