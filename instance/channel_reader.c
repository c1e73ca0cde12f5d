#include "channel_reader.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_call.h"
#include "background.h"
#include "buf.h"
#include "deadline.h"
#include "ipc.h"
#include "request.h"
#include "request_queue.h"

/* Reads are batched through this much buffer: several small requests that
 * arrive together cost one read(2). Larger payloads are read straight into
 * their request allocation instead of passing through the buffer. */
#define READ_CHUNK (64u * 1024u)

static int chan_fd = -1;

static void __attribute__((noreturn)) violation(const char *what, const ipc_hdr_t *h)
{
    fprintf(stderr,
            "gaelic instance %d: protocol violation from the master: %s "
            "(frame type %u, id %u, length %u); exiting\n",
            (int)getpid(), what, h->type, h->id, h->len);
    _exit(3);
}

/* EOF, or ECONNRESET when the master closed its end with frames of ours
 * unread: the master is gone either way, nothing to say. */
static void __attribute__((noreturn)) channel_gone(ssize_t n)
{
    if (n < 0 && errno != ECONNRESET)
        fprintf(stderr, "gaelic instance %d: channel read failed: %s; exiting\n", (int)getpid(),
                strerror(errno));
    _exit(0);
}

/* Makes room for at least READ_CHUNK more bytes at the end of in; returns
 * how much there is. */
static size_t read_space(buf_t *in)
{
    if (buf_reserve(in, READ_CHUNK) < 0) {
        fprintf(stderr, "gaelic instance %d: out of memory reading the channel\n", (int)getpid());
        _exit(3);
    }
    return in->cap - in->off - in->len;
}

/* One read(2) into the free space of in (at least READ_CHUNK). */
static void fill(buf_t *in)
{
    size_t space = read_space(in);
    for (;;) {
        ssize_t n = read(chan_fd, buf_ptr(in) + in->len, space);
        if (n > 0) {
            in->len += (size_t)n;
            return;
        }
        if (n < 0 && errno == EINTR)
            continue;
        channel_gone(n);
    }
}

static void read_exact(uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(chan_fd, p, n);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        channel_gone(r);
    }
}

/* Moves the payload of the frame at the front of in into dst, reading
 * what has not arrived yet directly into dst. */
static void take_payload(buf_t *in, uint8_t *dst, size_t len)
{
    buf_consume(in, IPC_HDR_SIZE);
    size_t have = in->len < len ? in->len : len;
    memcpy(dst, buf_ptr(in), have);
    buf_consume(in, have);
    read_exact(dst + have, len - have);
}

static gaelic_request_t *take_request(buf_t *in, const ipc_hdr_t *h)
{
    gaelic_request_t *r = request_alloc(h->id, h->len);
    if (!r) {
        fprintf(stderr, "gaelic instance %d: out of memory for a %u-byte request\n", (int)getpid(),
                h->len);
        _exit(3);
    }
    take_payload(in, r->payload, h->len);
    const char *why;
    if (request_parse(r, &why) < 0)
        violation(why, h);
    return r;
}

/* Handles the frame at the front of in, reading the rest of it if needed.
 * Returns the request it carried, or NULL for a control frame. */
static gaelic_request_t *handle_frame(buf_t *in)
{
    while (in->len < IPC_HDR_SIZE)
        fill(in);
    ipc_hdr_t h;
    ipc_parse_hdr((const uint8_t *)buf_ptr(in), &h);
    if (h.len > IPC_MAX_PAYLOAD)
        violation("payload larger than IPC_MAX_PAYLOAD", &h);
    switch (h.type) {
    case IPC_REQUEST:
        if (rq_shutting_down())
            violation("request after IPC_SHUTDOWN", &h);
        if (h.flags & ~IPC_FLAG_BACKGROUND)
            violation("unknown request flags", &h);
        if (h.flags & IPC_FLAG_BACKGROUND) {
            background_request_arrived(take_request(in, &h));
            return NULL;
        }
        return take_request(in, &h);
    case IPC_BACKGROUND_STARTED:
        if (h.flags)
            violation("flags on IPC_BACKGROUND_STARTED", &h);
        background_start_answered(take_request(in, &h));
        return NULL;
    case IPC_BACKGROUND_REFUSED: {
        if (h.flags || h.len)
            violation("flags or a payload on IPC_BACKGROUND_REFUSED", &h);
        uint8_t none[1];
        take_payload(in, none, 0);
        background_start_refused(h.id);
        return NULL;
    }
    case IPC_API_RESULT: {
        uint8_t *payload = malloc(h.len ? h.len : 1);
        if (!payload) {
            fprintf(stderr, "gaelic instance %d: out of memory for a %u-byte API result\n",
                    (int)getpid(), h.len);
            _exit(3);
        }
        take_payload(in, payload, h.len);
        const char *why;
        if (api_call_deliver(h.id, payload, h.len, &why) < 0)
            violation(why, &h);
        return NULL;
    }
    case IPC_API_CPU: {
        uint8_t payload[4];
        if (h.len != sizeof payload)
            violation("IPC_API_CPU payload is not a u32", &h);
        take_payload(in, payload, sizeof payload);
        ipc_reader_t r;
        uint32_t cpu_us = 0;
        ipc_reader_init(&r, payload, sizeof payload);
        ipc_get_u32(&r, &cpu_us);
        api_call_charge(h.id, cpu_us);
        return NULL;
    }
    case IPC_SHUTDOWN:
        if (h.len != 0)
            violation("IPC_SHUTDOWN with a payload", &h);
        buf_consume(in, IPC_HDR_SIZE);
        rq_begin_shutdown();
        return NULL;
    case IPC_DEADLINE:
        if (h.len != 0)
            violation("IPC_DEADLINE with a payload", &h);
        buf_consume(in, IPC_HDR_SIZE);
        deadline_fire(h.id);
        return NULL;
    default:
        violation("unexpected frame type", &h);
    }
}

/* 1 when in holds one whole frame at its front. */
static int frame_complete(const buf_t *in)
{
    if (in->len < IPC_HDR_SIZE)
        return 0;
    ipc_hdr_t h;
    ipc_parse_hdr((const uint8_t *)buf_ptr(in), &h);
    return h.len <= IPC_MAX_PAYLOAD && in->len - IPC_HDR_SIZE >= h.len;
}

/* Bytes read but not yet handled. Only the holder of the read role
 * (request_queue.h) touches it. */
static buf_t pending = BUF_INIT;

/* Handles the whole frames at the front of pending, without reading.
 * Returns first, or the first request among them if first is NULL and
 * keep_first is set (a worker's read: it runs that one itself); the other
 * requests go to the queue at once, in order. The kept request counts as
 * running before the frames after it are handled: an IPC_SHUTDOWN among
 * them must not find the instance drained and let it exit unanswered. */
static gaelic_request_t *handle_complete_frames(gaelic_request_t *first, int keep_first)
{
    if (first)
        rq_hold();
    while (frame_complete(&pending)) {
        gaelic_request_t *r = handle_frame(&pending);
        if (!r)
            continue;
        if (!first && keep_first) {
            first = r;
            rq_hold();
        } else {
            rq_push(r, !keep_first);
        }
    }
    return first;
}

gaelic_request_t *channel_read(void)
{
    /* Frames that arrived in the same read are handled without another
     * system call. */
    return handle_complete_frames(handle_frame(&pending), 1);
}

gaelic_request_t *channel_read_nowait(void)
{
    size_t space = read_space(&pending);
    ssize_t n = recv(chan_fd, buf_ptr(&pending) + pending.len, space, MSG_DONTWAIT);
    if (n > 0)
        pending.len += (size_t)n;
    else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        channel_gone(n);
    /* A frame still incomplete waits for the next blocking reader: this
     * caller holds the GIL and must not wait for the rest. */
    return handle_complete_frames(NULL, 1);
}

/* The reader thread's read: it runs no request itself, so each one is
 * queued as soon as its frame is handled, before any IPC_SHUTDOWN behind
 * it can tell the idle workers to stop. */
static void channel_read_to_queue(void)
{
    gaelic_request_t *r = handle_frame(&pending);
    if (r)
        rq_push(r, 1);
    handle_complete_frames(NULL, 0);
}

static void *reader_main(void *arg)
{
    (void)arg;
    /* Best effort: a thread name only helps debugging. */
    (void)pthread_setname_np(pthread_self(), "gaelic-reader");
    for (;;) {
        rq_reader_take_role();
        channel_read_to_queue();
        rq_reader_release_role();
    }
    return NULL;
}

int channel_reader_start(int fd)
{
    chan_fd = fd;
    pthread_attr_t attr;
    int err = pthread_attr_init(&attr);
    if (err == 0)
        err = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* The reader only shuffles bytes: a small stack keeps the instance lean. */
    if (err == 0)
        err = pthread_attr_setstacksize(&attr, 256u * 1024u);
    /* Signals are for the main thread; the reader must never run a handler. */
    sigset_t all, old;
    sigfillset(&all);
    if (err == 0)
        err = pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_t tid;
    if (err == 0) {
        err = pthread_create(&tid, &attr, reader_main, NULL);
        int err2 = pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (err == 0)
            err = err2;
    }
    pthread_attr_destroy(&attr);
    if (err != 0) {
        errno = err;
        return -1;
    }
    rq_channel_opened();
    return 0;
}
