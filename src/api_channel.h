/* The master's end of one instance's API channel (API4, BK11): IPC_API_CALL
 * frames in, IPC_API_RESULT frames out (layouts in ipc.h), the calls
 * themselves run by api_service.h's registry in the event loop.
 *
 * The instance is untrusted: a frame that is malformed, reuses the id of a
 * call still running, or would make more than API_MAX_CONCURRENT calls run
 * at once breaks the protocol, and the owner kills the instance. Asking for
 * an unknown service or method, or sending a bad inner request, is the
 * app's business: it gets an RpcError, as on App Engine.
 *
 * An asynchronous call that outlives its deadline is cancelled and answered
 * DEADLINE_EXCEEDED; when the instance goes away, its pending calls are
 * cancelled silently. Every call the instance made is answered exactly once
 * while the channel is open. */
#ifndef GAELIC_API_CHANNEL_H
#define GAELIC_API_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "api_service.h"
#include "buf.h"
#include "loop.h"

#define API_MAX_CONCURRENT 100
#define API_DEFAULT_DEADLINE_MS 60000u

typedef struct api_pending api_pending_t;
typedef struct api_unsent api_unsent_t;

typedef struct {
    /* Set by the owner (the pool) before the first call. */
    loop_t *loop;
    const api_registry_t *registry; /* NULL: every call is CALL_NOT_FOUND */
    buf_t *out;                     /* result frames are appended here... */
    void (*wake)(void *owner);      /* ...and then this is called */
    /* The REQUEST_LOG_ID of the instance's running request number
     * `request`, or "" (NULL: "" always). */
    const char *(*log_id)(void *owner, uint32_t request);
    void *owner;
    api_caller_t caller; /* instance_id, pid, cpu_mhz, stats; kept current by the owner */
    /* Private. */
    api_pending_t *pending;
    int inflight;
    /* Answers whose frames are still in out, oldest first (api_sent_t),
     * and how many bytes the owner has taken off out's front so far. */
    api_unsent_t *unsent, **unsent_tail;
    uint64_t written;
} api_chan_t;

void api_chan_init(api_chan_t *ch);

/* Handles one IPC_API_CALL frame (header id and payload). Returns 0, or -1
 * when the frame breaks the protocol, with a static reason in *why. */
int api_chan_call(api_chan_t *ch, uint32_t id, const uint8_t *payload, size_t len,
                  const char **why);

/* The owner has taken n bytes off the front of out (written them to the
 * instance): the answers they finish have left the master. */
void api_chan_written(api_chan_t *ch, size_t n);

/* Request `request` of the instance has ended: its calls still pending are
 * cancelled and answered CANCELLED. Their callers are gone (a request's
 * deadline ends its threads' waits), but each holds one of the instance's
 * call slots until its answer comes. */
void api_chan_end_request(api_chan_t *ch, uint32_t request);

/* The instance is gone: pending calls are cancelled, answers still in
 * out count as dropped, nothing more is written to out. The channel may be
 * initialised again. */
void api_chan_close(api_chan_t *ch);

#endif
