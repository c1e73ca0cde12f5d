#include "api_channel.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipc.h"
#include "log.h"

struct api_pending {
    api_call_t call; /* must stay first */
    api_chan_t *chan;
    api_caller_t caller;
    uint32_t id;
    int in_dispatch;
    uint64_t cpu_start_ns; /* the master's CPU time spent on the call... */
    uint64_t cpu_ns;       /* ...counted while it was dispatched */
    loop_timer_t deadline;
    api_pending_t *next, *prev;
};

/* An answer whose frame ends at byte `end` of everything ever put in out
 * (counted from the owner's first write): it has left once `written`
 * reaches it. */
struct api_unsent {
    uint64_t end;
    api_sent_t sent;
    api_unsent_t *next;
};

void api_chan_init(api_chan_t *ch)
{
    memset(ch, 0, sizeof *ch);
    ch->unsent_tail = &ch->unsent;
}

/* Tells the answers up to byte `upto` that they have left (all of them:
 * UINT64_MAX). */
static void unsent_done(api_chan_t *ch, uint64_t upto)
{
    while (ch->unsent && ch->unsent->end <= upto) {
        api_unsent_t *u = ch->unsent;
        ch->unsent = u->next;
        if (!ch->unsent)
            ch->unsent_tail = &ch->unsent;
        api_sent_t sent = u->sent;
        free(u);
        sent.fn(sent.arg);
    }
}

void api_chan_written(api_chan_t *ch, size_t n)
{
    ch->written += n;
    /* Nothing left in out: whatever was queued has left, whatever the
     * count says. */
    unsent_done(ch, ch->out && ch->out->len == 0 ? UINT64_MAX : ch->written);
}

/* The answer just put in out (its frame ending at out's end) has left
 * once the owner has written that far; at once when memory runs out for
 * the note (the count may then be short for a moment, never stuck). */
static void unsent_add(api_chan_t *ch, api_sent_t sent)
{
    api_unsent_t *u = malloc(sizeof *u);
    if (!u) {
        sent.fn(sent.arg);
        return;
    }
    u->end = ch->written + ch->out->len;
    u->sent = sent;
    u->next = NULL;
    *ch->unsent_tail = u;
    ch->unsent_tail = &u->next;
}

static void unlink_pending(api_chan_t *ch, api_pending_t *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        ch->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
    ch->inflight--;
}

static void free_pending(api_pending_t *p)
{
    api_chan_t *ch = p->chan;
    if (p->deadline.heap_idx)
        loop_timer_stop(ch->loop, &p->deadline);
    unlink_pending(ch, p);
    free(p);
}

/* Response envelopes with rpc_error RESPONSE_TOO_LARGE and UNKNOWN: what
 * a call gets when its answer does not fit in a frame, or memory runs out. */
static const char TOO_LARGE_ENVELOPE[] = {0x2a, 0x02, 0x08, API_RPC_RESPONSE_TOO_LARGE};
static const char NO_MEMORY_ENVELOPE[] = {0x2a, 0x02, 0x08, API_RPC_UNKNOWN};

/* Appends IPC_API_RESULT (u32 cpu_us, bytes envelope) to out; 0, or -1
 * with out as it was. */
static int put_result(buf_t *out, uint32_t id, uint64_t cpu_us, const char *envelope, size_t len)
{
    size_t mark = out->len;
    long start = ipc_begin_frame(out, IPC_API_RESULT, id);
    if (start < 0 || ipc_put_u32(out, cpu_us > UINT32_MAX ? UINT32_MAX : (uint32_t)cpu_us) < 0 ||
        ipc_put_bytes(out, envelope, len) < 0 || ipc_end_frame(out, start) < 0) {
        out->len = mark;
        return -1;
    }
    return 0;
}

/* api_finish_t. An answer that cannot be sent still answers the call, with
 * an error: the app would otherwise wait for it until its deadline (a
 * backend request's, never). */
static void finish(api_call_t *call, const char *envelope, size_t len, api_sent_t sent)
{
    api_pending_t *p = (api_pending_t *)call;
    api_chan_t *ch = p->chan;
    uint64_t cpu_ns = p->in_dispatch ? loop_thread_cpu_ns() - p->cpu_start_ns : p->cpu_ns;
    uint64_t cpu_us = cpu_ns / 1000u;
    const char *instance = ch->caller.instance_id ? ch->caller.instance_id : "?";
    int queued = put_result(ch->out, p->id, cpu_us, envelope, len) == 0;
    if (sent.fn) {
        if (queued)
            unsent_add(ch, sent);
        else
            sent.fn(sent.arg); /* the answer is not in out: only an error is */
    }
    if (!queued) {
        int too_large = len > IPC_MAX_PAYLOAD - 2 * sizeof(uint32_t);
        log_error("API channel: call %u of instance %s: %s", p->id, instance,
                  too_large ? "its answer is larger than a frame (64 MiB); it gets "
                              "RESPONSE_TOO_LARGE"
                            : "out of memory for its answer; it gets an UNKNOWN error");
        queued =
            put_result(ch->out, p->id, cpu_us, too_large ? TOO_LARGE_ENVELOPE : NO_MEMORY_ENVELOPE,
                       sizeof TOO_LARGE_ENVELOPE) == 0;
    }
    if (queued && ch->wake)
        ch->wake(ch->owner);
    /* While the handler runs, api_chan_call frees the call afterwards. */
    if (!p->in_dispatch)
        free_pending(p);
}

static void deadline_passed(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    api_pending_t *p = (api_pending_t *)((char *)t - offsetof(api_pending_t, deadline));
    if (p->call.cancel)
        p->call.cancel(&p->call);
    api_reply_rpc_error(&p->call, API_RPC_DEADLINE_EXCEEDED, "");
}

static int violation(const char **why, const char *reason)
{
    *why = reason;
    return -1;
}

int api_chan_call(api_chan_t *ch, uint32_t id, const uint8_t *payload, size_t len, const char **why)
{
    ipc_reader_t r;
    uint32_t request, deadline_ms, env_len;
    const char *envelope;
    ipc_reader_init(&r, payload, len);
    if (ipc_get_u32(&r, &request) < 0 || ipc_get_u32(&r, &deadline_ms) < 0 ||
        ipc_get_bytes(&r, &envelope, &env_len) < 0 || r.left != 0)
        return violation(why, "malformed API call frame");
    if (id == 0)
        return violation(why, "API call with id 0");
    for (api_pending_t *q = ch->pending; q; q = q->next)
        if (q->id == id)
            return violation(why, "API call id already in use");
    if (ch->inflight >= API_MAX_CONCURRENT)
        return violation(why, "more than 100 concurrent API calls");

    api_pending_t *p = calloc(1, sizeof *p);
    if (!p)
        return violation(why, "out of memory for an API call");
    p->chan = ch;
    p->id = id;
    p->caller = ch->caller;
    p->caller.request = request;
    const char *log_id = ch->log_id ? ch->log_id(ch->owner, request) : NULL;
    p->caller.log_id = log_id ? log_id : "";
    p->call.caller = &p->caller;
    p->call.loop = ch->loop;
    p->call.deadline_ms = deadline_ms ? deadline_ms : API_DEFAULT_DEADLINE_MS;
    p->call.finish = finish;
    p->call.transport = p;
    p->next = ch->pending;
    if (ch->pending)
        ch->pending->prev = p;
    ch->pending = p;
    ch->inflight++;

    p->in_dispatch = 1;
    p->cpu_start_ns = loop_thread_cpu_ns();
    int rc = api_dispatch(ch->registry, &p->call, (const uint8_t *)envelope, env_len);
    p->cpu_ns = loop_thread_cpu_ns() - p->cpu_start_ns;
    p->in_dispatch = 0;
    if (rc < 0) {
        free_pending(p);
        return violation(why, "malformed remote_api envelope in an API call");
    }
    if (p->call.answered) {
        free_pending(p);
        return 0;
    }
    /* Asynchronous: it answers later, or at its deadline. */
    p->deadline.cb = deadline_passed;
    loop_timer_start(ch->loop, &p->deadline, p->call.deadline_ms);
    return 0;
}

void api_chan_end_request(api_chan_t *ch, uint32_t request)
{
    api_pending_t *next;
    for (api_pending_t *p = ch->pending; p; p = next) {
        next = p->next; /* answering frees p */
        if (p->caller.request != request || p->call.answered)
            continue;
        if (p->call.cancel)
            p->call.cancel(&p->call);
        api_reply_rpc_error(&p->call, API_RPC_CANCELLED, "");
    }
}

void api_chan_close(api_chan_t *ch)
{
    while (ch->pending) {
        api_pending_t *p = ch->pending;
        if (p->call.cancel)
            p->call.cancel(&p->call);
        free_pending(p);
    }
    unsent_done(ch, UINT64_MAX);
}
