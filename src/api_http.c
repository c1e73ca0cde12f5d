#include "api_http.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "tcp_listen.h"

enum api_conn_state {
    A_READ,  /* reading a request */
    A_CALL,  /* its call runs */
    A_WRITE, /* writing the answer */
};

typedef struct api_conn api_conn_t;

struct api_conn {
    io_watch_t w; /* must stay first */
    api_http_t *h;
    enum api_conn_state state;
    unsigned closed : 1;
    unsigned readable : 1;
    unsigned peer_eof : 1;
    unsigned close_after : 1;
    unsigned continue_sent : 1;
    unsigned in_input : 1;    /* inside process_input: do not recurse */
    unsigned in_dispatch : 1; /* inside api_dispatch: the answer is written after it */
    buf_t rbuf, wbuf;
    http_request_t req;
    loop_timer_t timer;
    uint64_t deadline_ms; /* 0: none */
    api_call_t call;
    api_caller_t caller;
    /* The call's ticket, to charge its CPU to the request at the end (if
     * the request still runs then); "" for a call that never ran. */
    char ticket[API_TICKET_HEX + 1];
    uint64_t cpu_start_ns, cpu_ns;
    api_conn_t *next, *prev;
};

struct api_http {
    loop_t *loop;
    api_http_opts_t o;
    http_limits_t limits;
    io_watch_t listen_w;
    char host[64];
    int port;
    api_conn_t *conns, *closed;
    int n_conns;
};

static void conn_write(api_conn_t *c);
static void process_input(api_conn_t *c);

/* ---------- pure helpers ---------- */

int api_http_check(const http_request_t *req)
{
    const char *url = http_request_url(req);
    const char *q = memchr(url, '?', req->url_len);
    size_t path_len = q ? (size_t)(q - url) : req->url_len;
    if (path_len != sizeof API_HTTP_PATH - 1 || memcmp(url, API_HTTP_PATH, path_len) != 0)
        return 404;
    return req->method == HTTP_POST ? 0 : 405;
}

uint32_t api_http_deadline_ms(const http_request_t *req)
{
    size_t len = 0;
    const char *v = http_request_header(req, "x-google-rpc-service-deadline", &len);
    char text[32];
    if (!v || len == 0 || len >= sizeof text)
        return API_HTTP_DEFAULT_DEADLINE_MS;
    memcpy(text, v, len);
    text[len] = '\0';
    char *end;
    double s = strtod(text, &end);
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end || !(s > 0))
        return API_HTTP_DEFAULT_DEADLINE_MS;
    if (s > 86400)
        s = 86400;
    double ms = s * 1000.0;
    return ms < 1 ? 1 : (uint32_t)ms;
}

/* ---------- connections ---------- */

static void set_deadline(api_conn_t *c, uint64_t ms)
{
    loop_t *loop = c->h->loop;
    c->deadline_ms = loop->now_ms + ms;
    if (!loop_timer_armed(&c->timer) || c->timer.when_ms > c->deadline_ms)
        loop_timer_start(loop, &c->timer, ms);
}

static void conn_close(api_conn_t *c)
{
    api_http_t *h = c->h;
    if (c->closed)
        return;
    c->closed = 1;
    /* A call still running is abandoned: its handler lets go of it. */
    if (c->state == A_CALL && !c->call.answered && c->call.cancel)
        c->call.cancel(&c->call);
    loop_timer_stop(h->loop, &c->timer);
    loop_del(h->loop, &c->w);
    close(c->w.fd);
    c->w.fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = h->closed;
    c->prev = NULL;
    h->closed = c;
    h->n_conns--;
}

static int http10(const api_conn_t *c)
{
    return c->req.http_major == 1 && c->req.http_minor == 0;
}

static void start_write(api_conn_t *c)
{
    c->state = A_WRITE;
    set_deadline(c, c->h->o.body_timeout_ms);
    if (!c->in_dispatch)
        conn_write(c);
}

/* An HTTP error (the request is no API call): a short text body. 405
 * says which method would do. */
static void send_status(api_conn_t *c, int status, int close_conn)
{
    if (close_conn)
        c->close_after = 1;
    int keep = c->req.keep_alive && !c->close_after;
    if (!keep)
        c->close_after = 1;
    char line[64], body[96];
    int llen = snprintf(line, sizeof line, "%d %s", status, http_reason(status));
    int blen = snprintf(body, sizeof body, "%s\n", line);
    buf_t *out = &c->wbuf;
    if (http_begin_head(out, line, (size_t)llen) < 0 ||
        (status == 405 && http_add_header(out, "Allow", 5, "POST", 4) < 0) ||
        http_add_header(out, "Content-Type", 12, "text/plain; charset=utf-8", 25) < 0 ||
        http_end_head(out, (size_t)blen, keep, http10(c)) < 0 ||
        buf_append(out, body, (size_t)blen) < 0) {
        conn_close(c);
        return;
    }
    start_write(c);
}

/* api_finish_t: every call ends here, answered 200 with the Response
 * envelope; its CPU goes to the ticket's request if that still runs. */
static void call_finish(api_call_t *call, const char *envelope, size_t len)
{
    api_conn_t *c = call->transport;
    api_http_t *h = c->h;
    uint64_t cpu_ns = c->in_dispatch ? loop_thread_cpu_ns() - c->cpu_start_ns : c->cpu_ns;
    if (c->ticket[0]) {
        api_ticket_t *t = api_tickets_find(h->o.tickets, c->ticket, API_TICKET_HEX);
        uint64_t cpu_us = cpu_ns / 1000u;
        if (t && t->ops && t->ops->charge)
            t->ops->charge(t->target, cpu_us > UINT32_MAX ? UINT32_MAX : (uint32_t)cpu_us);
        c->ticket[0] = '\0';
    }
    int keep = c->req.keep_alive && !c->close_after;
    if (!keep)
        c->close_after = 1;
    buf_t *out = &c->wbuf;
    if (http_begin_head(out, "200 OK", 6) < 0 ||
        http_add_header(out, "Content-Type", 12, "application/octet-stream", 24) < 0 ||
        http_end_head(out, len, keep, http10(c)) < 0 || buf_append(out, envelope, len) < 0) {
        conn_close(c);
        return;
    }
    start_write(c);
}

static void handle_request(api_conn_t *c)
{
    api_http_t *h = c->h;
    int status = api_http_check(&c->req);
    if (status) {
        send_status(c, status, 0);
        return;
    }
    c->state = A_CALL;
    memset(&c->caller, 0, sizeof c->caller);
    c->caller.instance_id = "";
    c->caller.log_id = "";
    memset(&c->call, 0, sizeof c->call);
    c->call.caller = &c->caller;
    c->call.loop = h->loop;
    c->call.deadline_ms = api_http_deadline_ms(&c->req);
    c->call.finish = call_finish;
    c->call.transport = c;
    c->ticket[0] = '\0';
    const uint8_t *body = (const uint8_t *)buf_ptr(&c->req.body);
    size_t len = c->req.body.len;
    const char *ticket;
    size_t ticket_len;
    if (api_envelope_ticket(body, len, &ticket, &ticket_len) < 0) {
        api_reply_rpc_error(&c->call, API_RPC_BAD_REQUEST,
                            "the body is not a serialized remote_api Request");
        return;
    }
    api_ticket_t *t = api_tickets_find(h->o.tickets, ticket, ticket_len);
    if (!t || !t->ops || !t->ops->caller) {
        api_reply_rpc_error(&c->call, API_RPC_SECURITY_VIOLATION,
                            ticket ? "unknown or expired API ticket"
                                   : "no API ticket in the request_id field");
        return;
    }
    t->ops->caller(t->target, &c->caller);
    memcpy(c->ticket, t->hex, sizeof c->ticket);
    set_deadline(c, c->call.deadline_ms);
    c->in_dispatch = 1;
    c->cpu_start_ns = loop_thread_cpu_ns();
    int rc = api_dispatch(h->o.registry, &c->call, body, len);
    c->cpu_ns = loop_thread_cpu_ns() - c->cpu_start_ns;
    c->in_dispatch = 0;
    if (rc < 0) /* api_envelope_ticket has checked it: cannot happen */
        api_reply_rpc_error(&c->call, API_RPC_BAD_REQUEST, "malformed remote_api Request");
    else if (c->call.answered && !c->closed)
        conn_write(c);
}

static void parse_error(api_conn_t *c)
{
    c->state = A_CALL;
    if (c->req.error_status != 413) {
        send_status(c, c->req.error_status ? c->req.error_status : 400, 1);
        return;
    }
    /* The SDK raises RequestTooLargeError for this one. */
    c->close_after = 1;
    memset(&c->call, 0, sizeof c->call);
    c->call.finish = call_finish;
    c->call.transport = c;
    c->ticket[0] = '\0';
    api_reply_rpc_error(&c->call, API_RPC_REQUEST_TOO_LARGE, "");
}

static void feed_buffer(api_conn_t *c)
{
    size_t used = 0;
    int was_started = c->req.started;
    http_parse_t r = http_request_feed(&c->req, buf_ptr(&c->rbuf), c->rbuf.len, &used);
    buf_consume(&c->rbuf, used);
    if (r == HTTP_ERROR) {
        parse_error(c);
        return;
    }
    if (r == HTTP_DONE) {
        handle_request(c);
        return;
    }
    /* The head must arrive within header_timeout of its first byte; a
     * body may stall body_timeout at a time. */
    if (!was_started && c->req.started && !c->req.headers_done)
        set_deadline(c, c->h->o.header_timeout_ms);
    if (c->req.headers_done) {
        set_deadline(c, c->h->o.body_timeout_ms);
        if (c->req.expect_continue && !c->continue_sent) {
            c->continue_sent = 1;
            buf_append_str(&c->wbuf, "HTTP/1.1 100 Continue\r\n\r\n");
            conn_write(c);
        }
    }
}

static void process_input_loop(api_conn_t *c)
{
    while (!c->closed && c->state == A_READ) {
        if (c->rbuf.len > 0) {
            feed_buffer(c);
            if (c->closed || c->state != A_READ || c->rbuf.len > 0)
                continue;
        }
        if (!c->readable) {
            if (c->peer_eof)
                conn_close(c);
            return;
        }
        if (buf_reserve(&c->rbuf, 16384) < 0) {
            conn_close(c);
            return;
        }
        size_t room = c->rbuf.cap - c->rbuf.off - c->rbuf.len;
        ssize_t n = read(c->w.fd, buf_ptr(&c->rbuf) + c->rbuf.len, room);
        if (n > 0) {
            c->rbuf.len += (size_t)n;
            if ((size_t)n < room)
                c->readable = 0;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            c->readable = 0;
            if (c->peer_eof)
                conn_close(c);
            return;
        }
        conn_close(c);
        return;
    }
}

/* Pipelined requests are taken in a loop, never by recursion. */
static void process_input(api_conn_t *c)
{
    if (c->in_input)
        return;
    c->in_input = 1;
    process_input_loop(c);
    c->in_input = 0;
}

static void request_done(api_conn_t *c)
{
    if (c->close_after) {
        conn_close(c);
        return;
    }
    http_request_reset(&c->req);
    c->continue_sent = 0;
    c->state = A_READ;
    set_deadline(c, c->h->o.keepalive_timeout_ms);
    process_input(c);
}

static void conn_write(api_conn_t *c)
{
    while (c->wbuf.len > 0) {
        ssize_t n = write(c->w.fd, buf_ptr(&c->wbuf), c->wbuf.len);
        if (n > 0) {
            buf_consume(&c->wbuf, (size_t)n);
            if (c->state == A_WRITE)
                set_deadline(c, c->h->o.body_timeout_ms);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return; /* EPOLLOUT brings us back */
        conn_close(c);
        return;
    }
    if (c->state == A_WRITE)
        request_done(c);
}

static void conn_event(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)loop;
    api_conn_t *c = (api_conn_t *)w;
    if (c->closed)
        return;
    if (events & (EPOLLERR | EPOLLHUP)) {
        conn_close(c);
        return;
    }
    if (events & EPOLLRDHUP)
        c->peer_eof = 1;
    if ((events & EPOLLOUT) && c->wbuf.len > 0) {
        conn_write(c);
        if (c->closed)
            return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP)) {
        c->readable = 1;
        if (c->state == A_READ)
            process_input(c);
    }
}

static void conn_timeout(loop_t *loop, loop_timer_t *t)
{
    api_conn_t *c = (api_conn_t *)((char *)t - offsetof(api_conn_t, timer));
    if (c->closed || c->deadline_ms == 0)
        return;
    if (loop->now_ms < c->deadline_ms) {
        loop_timer_start(loop, t, c->deadline_ms - loop->now_ms);
        return;
    }
    c->deadline_ms = 0;
    if (c->state == A_CALL && !c->call.answered) {
        /* The caller stops waiting now: so does the call. */
        if (c->call.cancel)
            c->call.cancel(&c->call);
        api_reply_rpc_error(&c->call, API_RPC_DEADLINE_EXCEEDED, "");
        return;
    }
    if (c->state == A_READ && c->req.started) {
        c->state = A_CALL;
        send_status(c, 408, 1);
        return;
    }
    conn_close(c);
}

static void conn_open(api_http_t *h, int fd)
{
    api_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->h = h;
    c->w.fd = fd;
    c->w.cb = conn_event;
    c->timer.cb = conn_timeout;
    c->state = A_READ;
    http_request_init(&c->req, &h->limits);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    h->n_conns++;
    if (loop_add(h->loop, &c->w, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
        conn_close(c);
        return;
    }
    set_deadline(c, h->o.keepalive_timeout_ms);
    c->readable = 1;
    process_input(c);
}

static void on_accept(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)loop;
    (void)events;
    api_http_t *h = (api_http_t *)((char *)w - offsetof(api_http_t, listen_w));
    for (;;) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                log_warn("API server: accept: %s", strerror(errno));
            return;
        }
        if (h->n_conns >= API_HTTP_MAX_CONNECTIONS) {
            close(fd);
            continue;
        }
        conn_open(h, fd);
    }
}

/* ---------- the server ---------- */

api_http_t *api_http_open(loop_t *loop, const api_http_opts_t *opts, char *err, size_t errlen)
{
    api_http_t *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->loop = loop;
    h->o = *opts;
    h->limits.max_header_bytes = 65536;
    h->limits.max_url_bytes = 8192;
    h->limits.max_body_bytes = API_HTTP_MAX_BODY;
    int ipv6;
    int fd =
        tcp_listen(opts->host, opts->port, h->host, sizeof h->host, &h->port, &ipv6, err, errlen);
    if (fd < 0) {
        free(h);
        return NULL;
    }
    h->listen_w.fd = fd;
    h->listen_w.cb = on_accept;
    if (loop_add(loop, &h->listen_w, EPOLLIN) < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        close(fd);
        free(h);
        return NULL;
    }
    return h;
}

const char *api_http_host(const api_http_t *h)
{
    return h->host;
}

int api_http_port(const api_http_t *h)
{
    return h->port;
}

void api_http_reap(api_http_t *h)
{
    while (h && h->closed) {
        api_conn_t *c = h->closed;
        h->closed = c->next;
        http_request_free(&c->req);
        buf_free(&c->rbuf);
        buf_free(&c->wbuf);
        free(c);
    }
}

void api_http_close(api_http_t *h)
{
    if (!h)
        return;
    while (h->conns)
        conn_close(h->conns);
    api_http_reap(h);
    loop_del(h->loop, &h->listen_w);
    close(h->listen_w.fd);
    free(h);
}
