#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "api_http.h"
#include "backends.h"
#include "cgi_env.h"
#include "client_address.h"
#include "error_pages.h"
#include "gzip.h"
#include "gzip_worker.h"
#include "host_route.h"
#include "instance_stats.h"
#include "log.h"
#include "log_store.h"
#include "login.h"
#include "router.h"
#include "secure_redirect.h"
#include "static.h"
#include "static_gzip.h"

enum conn_state {
    C_READ,   /* reading a request head or body */
    C_WAIT,   /* the request runs on an instance */
    C_WRITE,  /* writing the response */
    C_LINGER, /* answered and shut for writing: dropping input until the client closes */
};

/* Lingering close, nginx's defaults (lingering_timeout, lingering_time). */
#define LINGER_IDLE_MS 5000
#define LINGER_MAX_MS 30000

/* An app's answer held while its body is compressed: what job_done was
 * given, copied out of the instance's read buffer (valid only during the
 * call). The body is the gzip task's own copy. */
typedef struct held_answer {
    const char *status;
    uint32_t status_len;
    uint32_t n_headers;
    const char *headers; /* n_headers (name, value) pairs, as ipc.h lays them */
    size_t headers_len;
    const char *instance_id; /* NULL: none */
    uint64_t cpu_us;
    int cpu_mhz;
    char bytes[]; /* what the pointers above point into */
} held_answer_t;

struct conn {
    io_watch_t w; /* must stay first */
    server_t *srv;
    enum conn_state state;
    unsigned closed : 1;
    unsigned readable : 1;
    unsigned writable : 1;
    unsigned peer_eof : 1;      /* client shut down its sending side */
    unsigned close_after : 1;   /* close once the response is written */
    unsigned continue_sent : 1; /* "100 Continue" already written */
    unsigned head_only : 1;
    unsigned job_active : 1;
    unsigned in_input : 1;    /* inside process_input: do not recurse */
    unsigned log_flushed : 1; /* the running request's log row is written, unfinished */
    unsigned api : 1;         /* accepted on the API port: every request is an API call */
    buf_t rbuf;
    buf_t wbuf;
    int file_fd;      /* static file sent after wbuf, or -1 */
    off_t file_off;   /* next byte of file_fd to send */
    size_t file_left; /* bytes of file_fd still to send */
    http_request_t req;
    job_t job;
    /* The app answered and its body is being compressed (gzip_worker.h):
     * the answer, held until then. */
    gzip_task_t *gzip_task;
    held_answer_t *held;
    /* A static file being compressed before its request is answered. */
    static_gzip_task_t *static_task;
    api_http_call_t api_call; /* api connections: the running call */
    buf_t env;
    buf_t path; /* the request's path, percent-decoded: reused, not made anew per request */
    route_t route;
    int has_route;
    uint64_t deadline_ms; /* 0: none */
    loop_timer_t timer;
    uint64_t req_started_ms;
    int64_t req_start_us;             /* wall clock, for the request log */
    char log_id[32];                  /* REQUEST_LOG_ID */
    char version_id[VERSION_ID_SIZE]; /* CURRENT_VERSION_ID: a backend's, or the default */
    int64_t diverted_wait_us;         /* its wait for a deleted backend (job_diverted) */
    char flushed_instance[40];        /* with log_flushed: the instance running it */
    int body_started;                 /* the request head was complete: the body's allowance runs */
    size_t body_credited;             /* body bytes already added to that allowance */
    size_t held_counted;              /* of wbuf, the bytes counted in srv->answers_held */
    uint64_t out_written;             /* bytes written to the socket, every answer's */
    uint64_t out_credited;            /* of those, the client took this many as last seen */
    uint64_t linger_end_ms;           /* C_LINGER: closed by then at the latest */
    uint64_t idle_since_ms;           /* when it last became idle (opened, answered, lingering) */
    char peer_ip[INET6_ADDRSTRLEN];
    int peer_port;
    /* The address the client reached, for the URLs the server writes when
     * the Host cannot give one (local_address): the listener's, or this
     * connection's own on a wildcard listener. NULL until first needed. */
    const char *local_ip, *local_hostport;
    char own_ip[INET6_ADDRSTRLEN];
    char own_hostport[INET6_ADDRSTRLEN + 8]; /* "[::1]:8080" */
    conn_t *next, *prev;
};

static void conn_event(loop_t *loop, io_watch_t *w, uint32_t events);
static void log_request(conn_t *c, int status, size_t body_len, const char *instance_id,
                        int64_t mcycles);
static void conn_timeout(loop_t *loop, loop_timer_t *t);
static void process_input(conn_t *c);
static void process_input_loop(conn_t *c);
static void conn_write(conn_t *c);
static void start_refused_request_log(conn_t *c);

/* ---------- lifecycle ---------- */

static void set_deadline(conn_t *c, uint64_t ms)
{
    loop_t *loop = &c->srv->loop;
    c->deadline_ms = loop->now_ms + ms;
    /* Timers are lazy: moving a deadline later does not touch the heap. */
    if (!loop_timer_armed(&c->timer) || c->timer.when_ms > c->deadline_ms)
        loop_timer_start(loop, &c->timer, ms);
}

/* The allowance of a body being received or an answer being sent:
 * body_timeout, plus a second for each KiB that moves, never more than
 * body_timeout ahead. A real transfer at 1 KiB/s or more goes on however
 * long it takes; one that stalls, or trickles after a fast start, is cut
 * off within body_timeout, as the credit of its fast part does not
 * carry over (mod_reqtimeout's MinRate without its unbounded credit). */
static void credit_transfer(conn_t *c, size_t bytes)
{
    uint64_t now = c->srv->loop.now_ms, most = now + c->srv->o.body_timeout_ms;
    uint64_t until = c->deadline_ms + (uint64_t)bytes * 1000 / 1024;
    if (c->deadline_ms == 0 || until > most)
        until = most;
    set_deadline(c, until > now ? until - now : 0);
}

/* An answer's deadline came: what the client took since the last look
 * (the bytes written that the kernel no longer holds) adds to its
 * allowance. Its writes cannot tell: the kernel takes megabytes of a large
 * answer at once and reports room again only once a large part of them is
 * read, which at a rate well above 1 KiB/s can take longer than
 * body_timeout. 1 when the deadline is now later. */
static int answer_moved(conn_t *c)
{
    int queued;
    if (ioctl(c->w.fd, SIOCOUTQ, &queued) < 0 || queued < 0 || (uint64_t)queued > c->out_written)
        queued = 0; /* then whatever was written counts as taken */
    uint64_t taken = c->out_written - (uint64_t)queued;
    if (taken <= c->out_credited)
        return 0;
    credit_transfer(c, (size_t)(taken - c->out_credited));
    c->out_credited = taken;
    return c->deadline_ms > c->srv->loop.now_ms;
}

static void clear_deadline(conn_t *c)
{
    c->deadline_ms = 0;
}

/* Closes c. A request still without its answer gets its row in the
 * request log (its app lines are stored under its id, and a flushed row
 * would stay unfinished), ended with unanswered: 499 (nginx's "client
 * closed request") when the client left, 503 when the server stops
 * without waiting for it. A running one names its instance, which
 * finishes it unseen. */
static void conn_drop(conn_t *c, int unanswered)
{
    server_t *srv = c->srv;
    if (c->closed)
        return;
    c->closed = 1;
    if (c->state == C_READ && c->req.headers_done && !c->api) {
        /* Its head came, its body never did: a request as much as one
         * refused at its head (413) or after its body stalled (408). */
        start_refused_request_log(c);
        log_request(c, unanswered, 0, NULL, 0);
    }
    if (c->job_active) {
        const char *inst = pool_cancel(&c->job);
        if (!inst && c->log_flushed && c->flushed_instance[0])
            inst = c->flushed_instance;
        log_request(c, unanswered, 0, inst, 0);
        c->job_active = 0;
    }
    if (c->gzip_task) {
        gzip_worker_cancel(srv->gzip, c->gzip_task);
        c->gzip_task = NULL;
        log_request(c, unanswered, 0, c->held->instance_id, 0);
        free(c->held);
        c->held = NULL;
    }
    if (c->static_task) {
        static_gzip_cancel(srv->gzip, c->static_task);
        c->static_task = NULL;
        log_request(c, unanswered, 0, NULL, 0);
    }
    if (c->api)
        api_http_cancel(&c->api_call);
    loop_timer_stop(&srv->loop, &c->timer);
    if (c->file_fd >= 0)
        close(c->file_fd);
    c->file_fd = -1;
    c->file_left = 0;
    loop_del(&srv->loop, &c->w);
    close(c->w.fd);
    c->w.fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = srv->closed_conns;
    c->prev = NULL;
    srv->closed_conns = c;
    if (c->api)
        srv->n_api_conns--;
    else
        srv->n_conns--;
    srv->answers_held -= c->held_counted;
    c->held_counted = 0;
}

static void conn_close(conn_t *c)
{
    conn_drop(c, 499);
}

void conn_reap(server_t *srv)
{
    while (srv->closed_conns) {
        conn_t *c = srv->closed_conns;
        srv->closed_conns = c->next;
        if (c->has_route)
            route_free(&c->route);
        http_request_free(&c->req);
        buf_free(&c->rbuf);
        buf_free(&c->wbuf);
        buf_free(&c->env);
        buf_free(&c->path);
        free(c);
    }
}

static void api_answer(void *owner, int status, const char *body, size_t len);

/* addr's IP into ip, an IPv4 client of a dual-stack listener (--host ::),
 * which comes as ::ffff:a.b.c.d, as a.b.c.d: so REMOTE_ADDR and the request
 * log say it for a listener on IPv4. Returns its port. */
static int socket_address(const struct sockaddr *addr, char ip[INET6_ADDRSTRLEN])
{
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
            inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, INET6_ADDRSTRLEN);
        else
            inet_ntop(AF_INET6, &a->sin6_addr, ip, INET6_ADDRSTRLEN);
        return ntohs(a->sin6_port);
    }
    const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
    inet_ntop(AF_INET, &a->sin_addr, ip, INET6_ADDRSTRLEN);
    return ntohs(a->sin_port);
}

/* Sets c->local_ip and c->local_hostport, once: the listener's address, or,
 * on a wildcard listener (--host ::, 0.0.0.0), whose address names no host
 * a client can reach, the one this connection reached. */
static void local_address(conn_t *c)
{
    if (c->local_ip)
        return;
    struct sockaddr_storage a;
    socklen_t n = sizeof a;
    if (!c->srv->listen_wildcard || getsockname(c->w.fd, (struct sockaddr *)&a, &n) < 0) {
        c->local_ip = c->srv->listen_host;
        c->local_hostport = c->srv->hostport;
        return;
    }
    int port = socket_address((struct sockaddr *)&a, c->own_ip);
    snprintf(c->own_hostport, sizeof c->own_hostport, strchr(c->own_ip, ':') ? "[%s]:%d" : "%s:%d",
             c->own_ip, port);
    c->local_ip = c->own_ip;
    c->local_hostport = c->own_hostport;
}

void conn_open(server_t *srv, int fd, const struct sockaddr *peer, int api)
{
    conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->srv = srv;
    c->w.fd = fd;
    c->file_fd = -1;
    c->w.cb = conn_event;
    c->timer.cb = conn_timeout;
    c->writable = 1;
    c->state = C_READ;
    c->idle_since_ms = srv->loop.now_ms;
    c->api = api != 0;
    if (api)
        api_http_call_init(&c->api_call, &srv->loop, srv->api_registry, srv->tickets, api_answer,
                           c);
    http_request_init(&c->req, api ? &srv->api_limits : &srv->limits);
    c->peer_port = socket_address(peer, c->peer_ip);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    if (c->api)
        srv->n_api_conns++;
    else
        srv->n_conns++;
    if (loop_add(&srv->loop, &c->w, EPOLLIN | EPOLLOUT | EPOLLRDHUP) < 0) {
        conn_close(c);
        return;
    }
    /* A client that connects and says nothing gets no longer than one
     * sending a head slowly would. */
    set_deadline(c, srv->o.header_timeout_ms < srv->o.keepalive_timeout_ms
                        ? srv->o.header_timeout_ms
                        : srv->o.keepalive_timeout_ms);
    /* Data often arrives with the connection (TCP_DEFER_ACCEPT-like). */
    c->readable = 1;
    process_input(c);
}

/* ---------- responses ---------- */

static log_str_t header_str(const conn_t *c, const char *name)
{
    size_t n = 0;
    const char *v = http_request_header(&c->req, name, &n);
    return (log_str_t){v, n};
}

static log_str_t cstr(const char *s)
{
    return (log_str_t){s, s ? strlen(s) : 0};
}

/* RequestLog.resource: the target's path and query ("Path and query
 * string", as App Engine's "http://nowhere.com/app" had "/app"). An
 * absolute-form target (RFC 9112 3.2.2: "GET http://a/p?q") is what the app
 * saw of it (cgi_split_target), in b. */
static log_str_t log_resource(const http_request_t *req, buf_t *b)
{
    const char *url = http_request_url(req);
    if (req->url_len == 0 || url[0] == '/')
        return (log_str_t){url, req->url_len};
    const char *path, *query;
    size_t path_len, query_len;
    cgi_split_target(url, req->url_len, &path, &path_len, &query, &query_len);
    if (buf_append(b, path, path_len) < 0 ||
        (query_len && (buf_append(b, "?", 1) < 0 || buf_append(b, query, query_len) < 0)))
        return (log_str_t){url, req->url_len};
    return (log_str_t){buf_ptr(b), b->len};
}

/* The request's log row (RT9): finished (end_us set), or still running
 * (end_us 0, status 0) when the app flushes its logs (LG1). */
static void write_log_row(conn_t *c, int status, size_t body_len, const char *instance_id,
                          int64_t mcycles, int64_t end_us)
{
    server_t *srv = c->srv;
    if (!srv->logs)
        return;
    char version[HTTP_VERSION_TEXT_SIZE];
    http_version_text(&c->req, version);
    login_user_t user;
    login_from_request(&c->req, &user);
    buf_t resource = BUF_INIT;
    char client[INET6_ADDRSTRLEN];
    log_request_t r = {
        .request_id = cstr(c->log_id),
        .version_id = cstr(c->version_id),
        .ip = cstr(client_address(&c->req, &srv->trusted_proxies, c->peer_ip, client)),
        .nickname = user.signed_in ? cstr(user.nickname) : (log_str_t){NULL, 0},
        .method = cstr(http_method_name(c->req.method)),
        .resource = log_resource(&c->req, &resource),
        .http_version = cstr(version),
        .referrer = header_str(c, "referer"),
        .user_agent = header_str(c, "user-agent"),
        .host = header_str(c, "host"),
        .instance_id = cstr(instance_id),
        .module_id = cstr(config_service(srv->cfg)),
        .url_map_entry = c->has_route ? cstr(route_url_map_entry(&c->route)) : (log_str_t){NULL, 0},
        .start_us = c->req_start_us,
        .end_us = end_us,
        .status = status,
        .response_size = (int64_t)body_len,
        .mcycles = mcycles,
        .was_loading = c->job.log.loading,
        .pending_us = c->diverted_wait_us + c->job.log.pending_us,
        .replica_index = c->job.log.replica_index,
    };
    log_store_request(srv->logs, &r);
    buf_free(&resource);
}

#define CONSOLE_URL_MAX 2000

/* The request's URL for a console line, cut at CONSOLE_URL_MAX bytes, in
 * out (CONSOLE_URL_MAX + 1 bytes, NUL-terminated); returns its length. The
 * parser refuses controls below 0x80 in a URL but lets any byte above
 * through: a C1 control or invalid UTF-8 must not reach the terminal. */
static size_t console_url(const conn_t *c, char *out)
{
    const char *url = http_request_url(&c->req);
    size_t n = c->req.url_len > CONSOLE_URL_MAX ? CONSOLE_URL_MAX : c->req.url_len;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] >= 0x80)
            return log_safe_text(out, url, n);
    memcpy(out, url, n);
    out[n] = '\0';
    return n;
}

/* The console's line per request: IP "METHOD URL HTTP/x.y" status bytes
 * time [instance=ID], the URL cut at 2000 bytes. Put together by hand:
 * printf cost the master a noticeable share of a small request. */
static void console_request_line(const conn_t *c, int status, size_t body_len,
                                 const char *instance_id, uint64_t ms)
{
    char line[CONSOLE_URL_MAX + 300]; /* the rest of the line is under 200 */
    size_t n = 0;
#define PUT(p, len) (memcpy(line + n, (p), (len)), n += (len))
    /* The client as the request log names it (behind a trusted proxy,
     * the address that proxy forwarded). */
    char client[INET6_ADDRSTRLEN];
    const char *ip = client_address(&c->req, &c->srv->trusted_proxies, c->peer_ip, client);
    PUT(ip, strnlen(ip, INET6_ADDRSTRLEN));
    PUT(" \"", 2);
    const char *method = http_method_name(c->req.method);
    PUT(method, strlen(method));
    line[n++] = ' ';
    n += console_url(c, line + n);
    line[n++] = ' ';
    http_version_text(&c->req, line + n);
    n += HTTP_VERSION_TEXT_SIZE - 1;
    PUT("\" ", 2);
    n += buf_format_uint(line + n, (unsigned)status);
    line[n++] = ' ';
    n += buf_format_uint(line + n, body_len);
    line[n++] = ' ';
    n += buf_format_uint(line + n, ms);
    PUT("ms", 2);
    if (instance_id) {
        PUT(" instance=", 10);
        PUT(instance_id, strnlen(instance_id, 8));
    }
#undef PUT
    log_text(LOG_INFO, line, n);
}

/* Each answered request: one console line (client, request line, status,
 * body bytes, latency, instance) and its final log row. */
static void log_request(conn_t *c, int status, size_t body_len, const char *instance_id,
                        int64_t mcycles)
{
    server_t *srv = c->srv;
    if (log_min_level <= LOG_INFO)
        console_request_line(c, status, body_len, instance_id,
                             srv->loop.now_ms - c->req_started_ms);
    c->log_flushed = 0;
    write_log_row(c, status, body_len, instance_id, mcycles, log_store_now_us());
}

/* job_t.flushed: the app flushed its logs (logservice.flush or autoflush);
 * its first flush makes the request visible, unfinished. */
static void job_flushed(job_t *job, const char *instance_id)
{
    conn_t *c = job->owner;
    if (c->log_flushed)
        return;
    c->log_flushed = 1;
    snprintf(c->flushed_instance, sizeof c->flushed_instance, "%s", instance_id ? instance_id : "");
    write_log_row(c, 0, 0, instance_id, 0, 0);
}

static void finish_request(conn_t *c)
{
    if (c->has_route) {
        route_free(&c->route);
        c->has_route = 0;
    }
    /* Answered: a client reading a large answer slowly (at 1 KiB/s, it
     * may take hours) must not hold its upload meanwhile, counted against
     * --max_held_request_bytes, where it would make others' uploads 503.
     * (An API call's service reads its request before it answers.) */
    http_request_drop_body(&c->req);
    c->state = C_WRITE;
    set_deadline(c, c->srv->o.body_timeout_ms);
    conn_write(c);
}

/* Whether the connection stays open after the answer being written: the
 * client asked for it, and neither an earlier refusal nor the server's
 * stop closes it. When not, it closes once the answer is out. */
static int answer_keeps_alive(conn_t *c)
{
    if (!c->req.keep_alive || c->srv->stopping)
        c->close_after = 1;
    return !c->close_after;
}

/* The body of an answer written into wbuf from mark: a request log's
 * response_size (Apache's %b) leaves the head out. */
static size_t written_body_len(const conn_t *c, size_t mark)
{
    const char *head = buf_ptr(&c->wbuf) + mark;
    size_t n = c->wbuf.len - mark;
    const char *end = memmem(head, n, "\r\n\r\n", 4);
    return end ? n - (size_t)(end + 4 - head) : 0;
}

/* An answer the server generates itself: the app's error_handlers page of
 * that kind, or the built-in page when pages is NULL or has none. ran is
 * the pool's result when the request failed on an instance (its request
 * log names that instance and the CPU used there), else NULL. */
static void send_error_page(conn_t *c, const error_pages_t *pages, error_page_kind_t kind,
                            int status, int close_conn, const job_result_t *ran)
{
    if (close_conn)
        c->close_after = 1;
    int keep = answer_keeps_alive(c);
    size_t mark = c->wbuf.len;
    error_page_send(pages, kind, &c->wbuf, status, keep,
                    c->req.http_major == 1 && c->req.http_minor == 0, c->head_only);
    if (c->req.headers_done)
        log_request(c, status, written_body_len(c, mark), ran ? ran->instance_id : NULL,
                    ran ? mcycles_from_us(ran->cpu_us, ran->cpu_mhz) : 0);
    finish_request(c);
}

static void send_simple(conn_t *c, int status, int close_conn)
{
    send_error_page(c, NULL, ERROR_PAGE_DEFAULT, status, close_conn, NULL);
}

/* Headers the server sets itself, or that make no sense in a buffered
 * response, are not taken from the app; as App Engine did, the response is
 * still sent. */
static int app_header_dropped(const char *n, size_t len)
{
    static const char *const names[] = {"content-length",
                                        "connection",
                                        "transfer-encoding",
                                        "keep-alive",
                                        "date",
                                        "server",
                                        "upgrade",
                                        "proxy-connection",
                                        "te",
                                        "trailer",
                                        "proxy-authenticate",
                                        "proxy-authorization"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == len && strncasecmp(n, names[i], len) == 0)
            return 1;
    return 0;
}

/* Folds one Content-Length value of the app into prev: -1 none yet, -2
 * invalid or contradicted, else the length. */
static long long merge_app_length(long long prev, const char *v, size_t n)
{
    if (prev == -2 || n == 0 || n > 15)
        return -2;
    long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -2;
        x = x * 10 + (v[i] - '0');
    }
    return prev >= 0 && prev != x ? -2 : x;
}

/* What the app's headers say about how its body may be sent. */
typedef struct {
    const char *ctype;
    size_t ctlen;
    int encoded;         /* a Content-Encoding: the body is sent as it is */
    int ranged;          /* a Content-Range: so is the body */
    int has_vary;        /* a Vary, that Accept-Encoding joins */
    int varies_on_ae;    /* a Vary that covers Accept-Encoding already */
    int set_cookie;      /* a Set-Cookie: no shared cache may keep the answer */
    int cache_control;   /* a Cache-Control */
    int no_transform;    /* one with no-transform: the body is sent as it is */
    const char *expires; /* its first Expires, or NULL */
    size_t expires_len;
    long long length;   /* its Content-Length, as merge_app_length */
    size_t headers_len; /* the bytes of the (name, value) pairs in the frame */
} app_head_t;

static int is_header(const char *name, size_t nlen, const char *lower)
{
    return strlen(lower) == nlen && strncasecmp(name, lower, nlen) == 0;
}

/* The app's next header, its value without the blanks around it: they
 * are no part of a field value (RFC 9110 5.5), and Django's Set-Cookie
 * values begin with one (SimpleCookie's output with an empty header
 * name), which an ETag's '"' test or the line sent would otherwise keep. */
static int next_app_header(ipc_reader_t *r, const char **name, uint32_t *nlen, const char **value,
                           uint32_t *vlen)
{
    if (ipc_get_bytes(r, name, nlen) < 0 || ipc_get_bytes(r, value, vlen) < 0)
        return -1;
    while (*vlen > 0 && ((*value)[0] == ' ' || (*value)[0] == '\t')) {
        (*value)++;
        (*vlen)--;
    }
    while (*vlen > 0 && ((*value)[*vlen - 1] == ' ' || (*value)[*vlen - 1] == '\t'))
        (*vlen)--;
    return 0;
}

/* The first pass over the app's headers (the instance is not trusted:
 * each is checked). -1 when one is invalid. */
static int scan_app_headers(const job_result_t *res, app_head_t *h)
{
    memset(h, 0, sizeof *h);
    h->length = -1;
    ipc_reader_t r = res->headers;
    for (uint32_t i = 0; i < res->n_headers; i++) {
        const char *name, *value;
        uint32_t nlen, vlen;
        if (next_app_header(&r, &name, &nlen, &value, &vlen) < 0 ||
            !http_header_valid(name, nlen, value, vlen))
            return -1;
        if (is_header(name, nlen, "content-length")) {
            h->length = merge_app_length(h->length, value, vlen);
        } else if (is_header(name, nlen, "content-type")) {
            h->ctype = value;
            h->ctlen = vlen;
        } else if (is_header(name, nlen, "content-encoding")) {
            h->encoded = 1;
        } else if (is_header(name, nlen, "set-cookie")) {
            h->set_cookie = 1;
        } else if (is_header(name, nlen, "cache-control")) {
            h->cache_control = 1;
            h->no_transform |= http_contains(value, vlen, "no-transform", 0);
        } else if (is_header(name, nlen, "expires")) {
            if (!h->expires) {
                h->expires = value;
                h->expires_len = vlen;
            }
        } else if (is_header(name, nlen, "content-range")) {
            /* Its offsets count the unencoded bytes (RFC 9110 14.4). */
            h->ranged = 1;
        } else if (is_header(name, nlen, "vary")) {
            h->has_vary = 1;
            h->varies_on_ae |= http_contains(value, vlen, "accept-encoding", 0) ||
                               http_contains(value, vlen, "*", 0);
        }
    }
    h->headers_len = (size_t)(r.p - res->headers.p);
    return 0;
}

/* The second pass: the headers the server does not set itself. weak_etag:
 * a gzipped body is another representation (RFC 9110 8.8.3), so a strong
 * ETag becomes weak, as nginx makes it, so that a range (If-Range) or a cache never
 * mixes the bytes of the two. join_vary: Accept-Encoding is added to the
 * app's first Vary, so that clients reading one field see both. */
static void copy_app_headers(buf_t *out, const job_result_t *res, int weak_etag, int join_vary,
                             int cache_rewrite)
{
    ipc_reader_t r = res->headers;
    for (uint32_t i = 0; i < res->n_headers; i++) {
        const char *name, *value;
        uint32_t nlen, vlen;
        if (next_app_header(&r, &name, &nlen, &value, &vlen) < 0)
            return;
        if (app_header_dropped(name, nlen))
            continue;
        if (cache_rewrite &&
            (is_header(name, nlen, "cache-control") || is_header(name, nlen, "expires")))
            continue; /* add_cache_headers writes them */
        if (weak_etag && vlen > 0 && value[0] == '"' && is_header(name, nlen, "etag")) {
            buf_printf(out, "%.*s: W/%.*s\r\n", (int)nlen, name, (int)vlen, value);
        } else if (join_vary && is_header(name, nlen, "vary")) {
            buf_printf(out, "%.*s: %.*s%sAccept-Encoding\r\n", (int)nlen, name, (int)vlen, value,
                       vlen > 0 ? ", " : "");
            join_vary = 0;
        } else {
            http_add_header(out, name, nlen, value, vlen);
        }
    }
}

/* The app's Cache-Control directives, but "public", and "private" added
 * unless one of private, no-cache or no-store is there. */
static void add_private_cache_control(buf_t *out, const job_result_t *res)
{
    int restricted = 0;
    buf_append_str(out, "Cache-Control: ");
    size_t first = out->len;
    ipc_reader_t r = res->headers;
    for (uint32_t i = 0; i < res->n_headers; i++) {
        const char *name, *value;
        uint32_t nlen, vlen;
        if (next_app_header(&r, &name, &nlen, &value, &vlen) < 0)
            break;
        if (!is_header(name, nlen, "cache-control"))
            continue;
        const char *p = value, *end = value + vlen;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *d = p, *e = comma ? comma : end;
            p = comma ? comma + 1 : end;
            while (d < e && (*d == ' ' || *d == '\t'))
                d++;
            while (e > d && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            size_t n = (size_t)(e - d);
            if (n == 0 || is_header(d, n, "public"))
                continue;
            restricted |= is_header(d, n, "private") || is_header(d, n, "no-cache") ||
                          is_header(d, n, "no-store");
            if (out->len > first)
                buf_append_str(out, ", ");
            buf_append(out, d, n);
        }
    }
    if (!restricted)
        buf_append_str(out, out->len > first ? ", private" : "private");
    buf_append_str(out, "\r\n");
}

/* App Engine's caching rule for dynamic answers (dev_appserver's
 * _cache_rewriter, which copies it), for an answer without Cache-Control
 * or with a Set-Cookie (copy_app_headers then leaves out the app's
 * Cache-Control and Expires): one that says nothing of caching is not to be
 * cached ("no-cache", and an Expires long past unless it has its own), and
 * one that sets a cookie is never kept by a shared cache, which would hand
 * the cookie to whoever asks next (its own Cache-Control made private, and
 * an Expires that is not already past becomes now). */
static void add_cache_headers(buf_t *out, const job_result_t *res, const app_head_t *h)
{
    if (h->cache_control)
        add_private_cache_control(out, res);
    else
        buf_append_str(out, "Cache-Control: no-cache\r\n");
    if (!h->expires) {
        if (!h->cache_control)
            buf_append_str(out, "Expires: Fri, 01 Jan 1990 00:00:00 GMT\r\n");
        else
            buf_printf(out, "Expires: %s\r\n", http_date_now());
        return;
    }
    time_t t = h->set_cookie ? static_parse_date(h->expires, h->expires_len) : (time_t)-1;
    if (!h->set_cookie || (t != (time_t)-1 && t < time(NULL)))
        http_add_header(out, "Expires", 7, h->expires, h->expires_len);
    else
        buf_printf(out, "Expires: %s\r\n", http_date_now());
}

/* RT6 (gzip.h): the same rule static files follow. An app that encoded
 * its body itself, sent a range of it, or forbade transforming it
 * (Cache-Control: no-transform, RFC 9111 5.2.2.6) keeps it as it is. A HEAD gets
 * the GET's headers (RFC 9110 9.3.2): the runtime runs the app as for GET
 * and passes on the body it returns, so a HEAD answered with its body is
 * decided, and compressed for its Content-Length, exactly as the GET. An
 * empty one (empty_head) is decided on the length the app declared, else
 * as long enough: a body without a length is mostly a streamed, long one,
 * and a declared length is likewise taken to shrink. */
static int want_gzip(const conn_t *c, const app_head_t *h, int empty_head, size_t body_len)
{
    size_t length = !empty_head      ? body_len
                    : h->length >= 0 ? (size_t)h->length
                                     : GZIP_LENGTH_UNKNOWN;
    return !h->encoded && !h->ranged && !h->no_transform &&
           gzip_wanted(&c->req, h->ctype, h->ctlen, length);
}

static void answer_app(conn_t *c, const job_result_t *res, const buf_t *gz_done);

static void gzip_done(void *owner, const char *body, size_t len, const buf_t *gz)
{
    conn_t *c = owner;
    held_answer_t *a = c->held;
    c->gzip_task = NULL;
    c->held = NULL;
    job_result_t res = {
        .status = a->status,
        .status_len = a->status_len,
        .n_headers = a->n_headers,
        .body = body,
        .body_len = (uint32_t)len,
        .instance_id = a->instance_id,
        .cpu_us = a->cpu_us,
        .cpu_mhz = a->cpu_mhz,
    };
    ipc_reader_init(&res.headers, a->headers, a->headers_len);
    answer_app(c, &res, gz);
    free(a);
}

/* Hands res's body to the gzip worker and holds the rest of it (its
 * headers_len bytes of headers, as scan_app_headers measured them);
 * gzip_done answers. -1 when memory ran out: nothing was done. */
static int gzip_offload(conn_t *c, const job_result_t *res, size_t headers_len)
{
    size_t id_len = res->instance_id ? strlen(res->instance_id) + 1 : 0;
    held_answer_t *a = malloc(sizeof *a + res->status_len + headers_len + id_len);
    if (!a)
        return -1;
    char *p = a->bytes;
    a->status = memcpy(p, res->status, res->status_len);
    a->status_len = res->status_len;
    p += res->status_len;
    a->headers = memcpy(p, res->headers.p, headers_len);
    a->headers_len = headers_len;
    a->n_headers = res->n_headers;
    p += headers_len;
    a->instance_id = id_len ? memcpy(p, res->instance_id, id_len) : NULL;
    a->cpu_us = res->cpu_us;
    a->cpu_mhz = res->cpu_mhz;
    if (!(c->gzip_task =
              gzip_worker_submit(c->srv->gzip, res->body, res->body_len, gzip_done, c))) {
        free(a);
        return -1;
    }
    c->held = a;
    return 0;
}

static void job_done(job_t *job, const job_result_t *res)
{
    conn_t *c = job->owner;
    c->job_active = 0;
    if (res->error_status) {
        if (res->error_status >= 500 && res->error_reason) {
            char url[CONSOLE_URL_MAX + 1];
            console_url(c, url);
            log_error("%s %s: %d: %s", http_method_name(c->req.method), url, res->error_status,
                      res->error_reason);
        }
        /* The app's pages answer server errors; a 404 for a backend that
         * stopped or shrank while the request waited gets the built-in
         * page, as one arriving after that does (route_backend). */
        send_error_page(c, res->error_status >= 500 ? &c->srv->error_pages : NULL,
                        res->timed_out ? ERROR_PAGE_TIMEOUT : ERROR_PAGE_DEFAULT, res->error_status,
                        0, res);
        return;
    }
    answer_app(c, res, NULL);
}

/* The app's answer to the running request. gz_done: its body's gzip
 * stream when the worker has made it (empty: that failed), else NULL. */
static void answer_app(conn_t *c, const job_result_t *res, const buf_t *gz_done)
{
    int code;
    char url[CONSOLE_URL_MAX + 1];
    if (!http_status_valid(res->status, res->status_len, &code)) {
        console_url(c, url);
        log_error("%s: invalid status line from the app", url);
        send_error_page(c, &c->srv->error_pages, ERROR_PAGE_DEFAULT, 500, 0, res);
        return;
    }
    app_head_t h;
    if (scan_app_headers(res, &h) < 0) {
        console_url(c, url);
        log_error("%s: the app sent an invalid header", url);
        send_error_page(c, &c->srv->error_pages, ERROR_PAGE_DEFAULT, 500, 0, res);
        return;
    }
    int keep = answer_keeps_alive(c);
    const char *body = res->body;
    size_t body_len = res->body_len;
    /* RFC 9110 15.3.6: no content in a 205 either; it says Content-Length: 0. */
    int no_body_status = code == 204 || code == 205 || code == 304;
    /* A HEAD the app answered with an empty body (WebOb and Werkzeug do):
     * its headers, Content-Length included, are the GET's. */
    int empty_head = c->head_only && body_len == 0 && !no_body_status;
    /* An untyped answer is HTML, as App Engine's front end made it
     * (dev_appserver's _default_content_type_rewriter); then gzip and Vary
     * follow that type. Not for a 304, whose type would replace the one a
     * cache stored (RFC 9111 4.3.4), nor a 204 or 205, which have none. */
    int default_type = !h.ctype && !no_body_status;
    if (default_type) {
        h.ctype = "text/html";
        h.ctlen = 9;
    }
    /* add_cache_headers; 204 and 304 are left as they are, as App Engine
     * left them. */
    int cache_rewrite = (!h.cache_control || h.set_cookie) && code != 204 && code != 304;
    buf_t gz = BUF_INIT;
    int gzipped = 0;
    if (!no_body_status && want_gzip(c, &h, empty_head, body_len)) {
        if (empty_head) {
            gzipped = 1; /* as the GET would be, its length unknown */
            h.length = -1;
        } else {
            const buf_t *z = gz_done ? gz_done : &gz;
            if (!gz_done) {
                if (body_len >= GZIP_OFFLOAD_BYTES && gzip_offload(c, res, h.headers_len) == 0)
                    return;                         /* gzip_done answers */
                gzip_compress(body, body_len, &gz); /* a failure leaves gz empty */
            }
            /* A body that does not shrink (already compressed data under
             * a text type) goes out as it is. */
            if (z->len > 0 && z->len < body_len) {
                gzipped = 1;
                body = buf_ptr(z);
                body_len = z->len;
            }
        }
    }
    /* A 304 cannot tell whether its 200 went gzipped to this client (only
     * the app knows the length): a strong ETag goes weak, as that 200's may
     * have. Right either way: a weak validator in a 304 still selects the
     * stored response with the strong one (RFC 9111 4.3.4). Unless the app
     * stated the 200's length and it is too short to be gzipped: then that
     * 200 kept its strong ETag, and so does the 304 (RFC 9110 15.4.5).
     * A 304 without a Content-Type cannot say whether its 200's type was
     * compressible: taken to be, for its ETag and its Vary alike (a Vary
     * that 200 did not have makes a cache keep more variants, never hand
     * out a wrong one). Nor is the app's length then the 200's: that
     * counted the uncompressed body, and a 304 states only the length its
     * 200 had, or none (RFC 9110 8.6). */
    int type_varies = code == 304 && !h.ctype ? 1 : gzip_varies(h.ctype, h.ctlen);
    int gzip_304 = code == 304 && !h.encoded && !h.no_transform && type_varies &&
                   (h.length < 0 || h.length >= GZIP_MIN_BYTES) && gzip_accepted(&c->req);
    if (gzip_304)
        h.length = -1;
    int weak_etag = gzipped || gzip_304;
    /* gzip.h: compressed or not, as the GET and the 200 would. */
    int vary = !h.encoded && !h.no_transform && code != 204 && code != 205 && !h.varies_on_ae &&
               type_varies;
    buf_t *out = &c->wbuf;
    http_begin_head(out, res->status, res->status_len);
    copy_app_headers(out, res, weak_etag, vary && h.has_vary, cache_rewrite);
    if (default_type)
        http_add_header(out, "Content-Type", 12, h.ctype, h.ctlen);
    if (cache_rewrite)
        add_cache_headers(out, res, &h);
    if (gzipped)
        http_add_header(out, "Content-Encoding", 16, "gzip", 4);
    if (vary && !h.has_vary)
        http_add_header(out, "Vary", 4, "Accept-Encoding", 15);
    if (no_body_status)
        body_len = 0;
    /* RFC 9110 8.6: a 204 has no Content-Length, and a 304 only the length
     * a 200 would have had, like an empty HEAD: only the app knows it. */
    int http10 = c->req.http_major == 1 && c->req.http_minor == 0;
    if (code == 204 || ((code == 304 || empty_head) && h.length < 0))
        http_end_head_without_length(out, keep, http10);
    else
        http_end_head(out, code == 304 || empty_head ? (size_t)h.length : body_len, keep, http10);
    if (!c->head_only)
        buf_append(out, body, body_len);
    buf_free(&gz);
    /* A HEAD answer's length is the GET's, but no body is sent. RT12: CPU
     * time at the instance class's clock, like cpu_usage(). */
    log_request(c, code, c->head_only ? 0 : body_len, res->instance_id,
                mcycles_from_us(res->cpu_us, res->cpu_mhz));
    finish_request(c);
}

/* ---------- requests ---------- */

/* REQUEST_LOG_ID, sortable like App Engine's: the start time in
 * microseconds, then a sequence number. */
static void start_request_log(conn_t *c)
{
    c->req_start_us = log_store_now_us();
    c->log_flushed = 0;
    /* Until the pool takes it, if ever (a static file): no wait, no load. */
    c->job.log = JOB_LOG_NONE;
    c->diverted_wait_us = 0;
    log_store_new_request_id(c->log_id, sizeof c->log_id, c->req_start_us);
    memcpy(c->version_id, c->srv->version_id, sizeof c->version_id);
}

static int is_reserved_path(const char *path, size_t len)
{
    /* Only the runtime sends these (BK3, BK4). */
    return (len == 10 && memcmp(path, "/_ah/start", 10) == 0) ||
           (len == 9 && memcmp(path, "/_ah/stop", 9) == 0);
}

static void serve_static(conn_t *c, int gzip_may_wait);

/* The file is compressed and cached (or could not be): answered now. */
static void static_gzip_ready(void *owner)
{
    conn_t *c = owner;
    c->static_task = NULL;
    serve_static(c, 0);
}

/* static_dir / static_files: answered here, the body sent from the file
 * by conn_write with sendfile, or from wbuf when gzipped or small. A file
 * that must be compressed first (static.h) is, by the gzip threads, and
 * the request answered when it is (static_gzip_ready). */
static void serve_static(conn_t *c, int gzip_may_wait)
{
    int keep = answer_keeps_alive(c);
    static_result_t res;
    size_t mark = c->wbuf.len;
    static_serve(c->srv->cfg, &c->route, &c->req, keep, c->head_only, gzip_may_wait, &c->wbuf,
                 &res);
    if (res.status == 0) {
        /* Without memory for the task, it goes out as it is. */
        if (!(c->static_task = static_gzip_compress(c->srv->gzip, res.fd, static_gzip_ready, c)))
            serve_static(c, 0);
        return;
    }
    if (res.status == 404 || res.status == 503) {
        c->wbuf.len = mark;
        send_simple(c, res.status, 0);
        return;
    }
    if (res.fd >= 0) {
        c->file_fd = res.fd;
        c->file_off = res.offset;
        c->file_left = res.length;
    }
    log_request(c, res.status, c->head_only ? 0 : res.body_len, NULL, 0);
    finish_request(c);
}

/* "OPTIONS *" asks about the server, not a resource (RFC 9110 9.3.7):
 * clients use it as a ping, so it is answered 200 here, with no body. */
static void send_server_options(conn_t *c)
{
    int keep = answer_keeps_alive(c);
    size_t mark = c->wbuf.len;
    if (http_begin_head(&c->wbuf, "200 OK", 6) < 0 ||
        http_end_head(&c->wbuf, 0, keep, c->req.http_major == 1 && c->req.http_minor == 0) < 0) {
        c->wbuf.len = mark;
        send_simple(c, 500, 1);
        return;
    }
    log_request(c, 200, 0, NULL, 0);
    finish_request(c);
}

/* The Host header for the absolute URLs the server writes itself, else,
 * when there is none or no URL could carry it (":80"), the host:port the
 * client reached. */
static const char *request_host(conn_t *c, size_t *len)
{
    const char *host = http_request_header(&c->req, "host", len);
    if (!secure_host_valid(host, host ? *len : 0)) {
        local_address(c);
        host = c->local_hostport;
        *len = strlen(host);
    }
    return host;
}

/* The sign-in page (kind 1), sign-out (2), or the redirect to sign-in of
 * a login: handler (0). */
static void send_login(conn_t *c, int kind)
{
    int keep = answer_keeps_alive(c);
    size_t host_len;
    const char *host = request_host(c, &host_len);
    int http10 = c->req.http_major == 1 && c->req.http_minor == 0;
    size_t mark = c->wbuf.len;
    int https = secure_request_is_https(&c->req, &c->srv->trusted_proxies, c->peer_ip);
    int status =
        kind ? login_serve(&c->wbuf, kind, &c->req, host, host_len, keep, http10, c->head_only)
             : login_redirect(&c->wbuf, &c->req, host, host_len, https, keep, http10, c->head_only);
    if (status < 0) {
        c->wbuf.len = mark;
        send_simple(c, 500, 0);
        return;
    }
    log_request(c, status, written_body_len(c, mark), NULL, 0);
    finish_request(c);
}

/* secure: always|never of handler h. Returns 1 when the request was
 * answered with a redirect to the other scheme. */
static int secure_redirected(conn_t *c, const handler_t *h)
{
    int https = secure_request_is_https(&c->req, &c->srv->trusted_proxies, c->peer_ip);
    int keep = c->req.keep_alive && !c->close_after && !c->srv->stopping;
    size_t host_len;
    const char *host = request_host(c, &host_len);
    size_t mark = c->wbuf.len;
    int status = secure_redirect(&c->wbuf, h->secure, h->redirect_code, https, &c->req, host,
                                 host_len, keep, c->req.http_major == 1 && c->req.http_minor == 0);
    if (status == 0)
        return 0;
    if (status < 0) {
        c->wbuf.len = mark;
        send_simple(c, 500, 0);
        return 1;
    }
    if (!keep)
        c->close_after = 1;
    log_request(c, status, written_body_len(c, mark), NULL, 0);
    finish_request(c);
    return 1;
}

/* BK7: the backend the Host header names (NULL: the default version,
 * deleted ones included), with the instance asked for (-1: any); the
 * request's version is that backend's. */
static backend_rt_t *host_backend(conn_t *c, int *instance)
{
    server_t *srv = c->srv;
    size_t host_len = 0;
    const char *host = http_request_header(&c->req, "host", &host_len);
    host_route_t hr;
    host_route(srv->backends_cfg, srv->app_id, srv->o.hostname, host, host_len, &hr);
    backend_rt_t *b = hr.kind == HOST_DEFAULT ? NULL : backends_get(srv->backends, hr.backend);
    if (b)
        snprintf(c->version_id, sizeof c->version_id, "%s", backend_version_id(b));
    *instance = hr.instance;
    return b;
}

/* Which backend (and instance) the request is for. Returns -1 when it was
 * answered (no such instance, a stopped backend). */
static int route_backend(conn_t *c, backend_rt_t **backend, int *target)
{
    int instance;
    backend_rt_t *b = host_backend(c, &instance);
    if (!b)
        return 0;
    if (instance >= backend_instances(b) || pool_is_stopped(backend_pool(b))) {
        send_simple(c, 404, 0);
        return -1;
    }
    *backend = b;
    *target = instance + 1;
    return 0;
}

/* api_http_answer_t: an API call's answer, written like any response but
 * never logged as a request. */
static void api_answer(void *owner, int status, const char *body, size_t len)
{
    conn_t *c = owner;
    int keep = answer_keeps_alive(c);
    if (api_http_response(&c->wbuf, status, body, len, keep,
                          c->req.http_major == 1 && c->req.http_minor == 0, c->head_only) < 0) {
        conn_close(c);
        return;
    }
    finish_request(c);
}

/* App Engine's answer to a path with "." or ".." segments: a 302 to the
 * normalized path (router_normalize_path), the query kept. The Location is
 * absolute: a path normalized to "//host/..." would name another host. */
static void send_normalized_redirect(conn_t *c, const char *path, size_t path_len,
                                     const char *query, size_t query_len)
{
    size_t host_len;
    const char *host = request_host(c, &host_len);
    int https = secure_request_is_https(&c->req, &c->srv->trusted_proxies, c->peer_ip);
    int keep = answer_keeps_alive(c);
    buf_t loc = BUF_INIT;
    int rc = buf_append_str(&loc, https ? "https://" : "http://");
    rc |= buf_append(&loc, host, host_len);
    rc |= login_quote(&loc, path, path_len);
    if (query_len > 0) {
        rc |= buf_append(&loc, "?", 1);
        /* As the request line carried it, but for raw non-ASCII bytes a
         * client may send there: a Location is a URI, ASCII only. */
        rc |= cgi_escape_raw(&loc, query, query_len);
    }
    size_t mark = c->wbuf.len;
    if (rc == 0) {
        rc |= http_begin_head(&c->wbuf, "302 Found", 9);
        rc |= http_add_header(&c->wbuf, "Location", 8, buf_ptr(&loc), loc.len);
        rc |= http_end_head(&c->wbuf, 0, keep, c->req.http_major == 1 && c->req.http_minor == 0);
    }
    buf_free(&loc);
    if (rc) {
        c->wbuf.len = mark;
        send_simple(c, 500, 0);
        return;
    }
    log_request(c, 302, 0, NULL, 0);
    finish_request(c);
}

/* --enable_host_checking: a Host that names no address of this server is
 * refused (said on the console, as other 400s are). */
static int host_refused_by_check(conn_t *c)
{
    size_t host_len = 0;
    const char *host = http_request_header(&c->req, "host", &host_len);
    if (host_addresses_server(c->srv->o.hostname, c->srv->o.host, host, host_len))
        return 0;
    log_info("%s:%d: 400 Host '%.*s' names no address of this server (--enable_host_checking)",
             c->peer_ip, c->peer_port, (int)(host_len < 200 ? host_len : 200), host);
    return 1;
}

static void route_request(conn_t *c, const char *path, size_t path_len);
static void submit_script(conn_t *c, const login_user_t *user, backend_rt_t *backend, int target);

static void handle_request(conn_t *c)
{
    server_t *srv = c->srv;
    c->state = C_WAIT;
    clear_deadline(c);
    c->req_started_ms = srv->loop.now_ms;
    c->head_only = c->req.method == HTTP_HEAD;
    int host_refused = srv->o.host_checking && host_refused_by_check(c);
    if (c->api) {
        if (host_refused)
            api_http_handle_error(&c->api_call, 400);
        else
            api_http_handle(&c->api_call, &c->req);
        return;
    }
    start_request_log(c);
    if (host_refused) {
        send_simple(c, 400, 0);
        return;
    }

    const char *path, *query;
    size_t path_len, query_len;
    cgi_split_target(http_request_url(&c->req), c->req.url_len, &path, &path_len, &query,
                     &query_len);
    if (c->req.method == HTTP_OPTIONS && c->req.url_len == 1 && path[0] == '*') {
        send_server_options(c);
        return;
    }
    if (path_len == 0 || path[0] != '/') {
        send_simple(c, 400, 0);
        return;
    }
    /* App Engine matched handlers against the percent-decoded path, the
     * PATH_INFO the app sees: matching the raw one let /%61dmin past a
     * `login: admin` handler for /admin.* to a catch-all, and /_ah/%73tart
     * reach the app as /_ah/start. */
    buf_t *decoded = &c->path;
    size_t normal_len;
    buf_reset(decoded);
    if (cgi_percent_decode(decoded, path, path_len) < 0)
        send_simple(c, 500, 0);
    else if (memchr(buf_ptr(decoded), '\0', decoded->len))
        send_simple(c, 400, 0); /* no file or handler path holds one */
    else if ((normal_len = router_normalize_path(buf_ptr(decoded), decoded->len)) < decoded->len)
        send_normalized_redirect(c, buf_ptr(decoded), normal_len, query, query_len);
    else
        route_request(c, buf_ptr(decoded), decoded->len);
}

/* The rest of handle_request, for the decoded path without dot segments. */
static void route_request(conn_t *c, const char *path, size_t path_len)
{
    server_t *srv = c->srv;
    if (is_reserved_path(path, path_len)) {
        send_simple(c, 404, 0);
        return;
    }
    int lk = login_path(path, path_len);
    if (lk) {
        send_login(c, lk);
        return;
    }
    backend_rt_t *backend = NULL;
    int target = 0;
    if (srv->backends && route_backend(c, &backend, &target) < 0)
        return;
    int m = static_route(srv->cfg, path, path_len, &c->route);
    if (m < 0) {
        send_simple(c, 500, 0);
        return;
    }
    if (m == 0) {
        send_simple(c, 404, 0);
        return;
    }
    c->has_route = 1;
    const handler_t *h = c->route.handler;
    /* App Engine applied secure: before login:. */
    if (h->secure != SECURE_OPTIONAL && secure_redirected(c, h))
        return;
    login_user_t user;
    login_from_request(&c->req, &user);
    if (h->login != LOGIN_OPTIONAL && !user.signed_in) {
        if (h->auth_fail_action == AUTH_FAIL_UNAUTHORIZED)
            send_simple(c, 401, 0);
        else
            send_login(c, 0);
        return;
    }
    /* BK8: private backends answer admins only (and, later, the app's own
     * instances, tasks and cron). */
    if ((h->login == LOGIN_ADMIN || (backend && !backend_is_public(backend))) && !user.admin) {
        send_simple(c, 403, 0);
        return;
    }
    if (h->kind != HANDLER_SCRIPT) {
        serve_static(c, 1);
        return;
    }
    submit_script(c, &user, backend, target);
}

/* job_t.diverted: the backend the request waited for was deleted (BK6):
 * the default version runs it, as it would have run it had the request
 * come after the delete. */
static void job_diverted(job_t *job)
{
    conn_t *c = job->owner;
    c->job_active = 0;
    /* Its wait so far (queue_remove noted it) is part of its pending time;
     * the default version's queue counts only its own, from now, so that
     * its max_pending_latency is not spent already. */
    c->diverted_wait_us = job->log.pending_us;
    memcpy(c->version_id, c->srv->version_id, sizeof c->version_id);
    login_user_t user;
    login_from_request(&c->req, &user);
    submit_script(c, &user, NULL, 0);
}

/* The rest of route_request for a script handler (c->route): the
 * request's environ and job, for the backend's instance target (0: any),
 * or for the default version (backend NULL). */
static void submit_script(conn_t *c, const login_user_t *user, backend_rt_t *backend, int target)
{
    server_t *srv = c->srv;
    const char *path = buf_ptr(&c->path);
    size_t path_len = c->path.len;
    if (srv->answers_held > srv->o.max_held_response_bytes) {
        if (!srv->answers_held_noted) {
            srv->answers_held_noted = 1;
            log_warn("clients hold %zu bytes of answers unread, past --max_held_response_bytes: "
                     "dynamic requests get 503 until they take them",
                     srv->answers_held);
        }
        send_error_page(c, &srv->error_pages, ERROR_PAGE_DEFAULT, 503, 0, NULL);
        return;
    }
    app_env_t app = server_app_env(srv, user);
    app.version_id = c->version_id;
    local_address(c);
    app.listen_host = c->local_ip;
    /* As the secure: check saw it: the app builds its URLs from this. */
    app.https = secure_request_is_https(&c->req, &srv->trusted_proxies, c->peer_ip);
    if (!trusted_proxy_peer(&srv->trusted_proxies, c->peer_ip))
        app.front_end_peer = c->peer_ip;
    buf_reset(&c->env);
    uint32_t n_env = 0;
    char client[INET6_ADDRSTRLEN];
    const char *remote_ip = client_address(&c->req, &srv->trusted_proxies, c->peer_ip, client);
    if (cgi_env_build(&c->env, &n_env, &app, &c->req, path, path_len, remote_ip, c->peer_port,
                      c->log_id) < 0 ||
        (backend &&
         (ipc_put_bytes(&c->env, "BACKEND_ID", 10) < 0 ||
          ipc_put_bytes(&c->env, backend_name(backend), strlen(backend_name(backend))) < 0))) {
        send_error_page(c, &srv->error_pages, ERROR_PAGE_DEFAULT, 500, 0, NULL);
        return;
    }
    if (backend)
        n_env++;
    memset(&c->job, 0, sizeof c->job);
    c->job.done = job_done;
    c->job.flushed = job_flushed;
    c->job.diverted = backend ? job_diverted : NULL;
    c->job.owner = c;
    c->job.log_id = c->log_id;
    c->job.script = c->route.target;
    c->job.script_len = strlen(c->route.target);
    c->job.env = &c->env;
    c->job.n_env = n_env;
    c->job.body = buf_ptr(&c->req.body);
    c->job.body_len = c->req.body.len;
    c->job.target = target;
    c->job.deadline_ms = backend ? 0 : srv->o.deadline_ms; /* RT7: none on backends */
    c->job_active = 1;
    pool_submit(backend ? backend_pool(backend) : srv->pool, &c->job);
}

/* A request refused before it could run (its head complete, its body
 * too large, unsupported or never sent in full) still has its row in
 * the request log. */
static void start_refused_request_log(conn_t *c)
{
    c->req_started_ms = c->srv->loop.now_ms;
    start_request_log(c);
    int instance;
    if (c->srv->backends)
        host_backend(c, &instance); /* under the version it was for */
}

static void parse_error(conn_t *c)
{
    int status = c->req.error_status ? c->req.error_status : 400;
    c->head_only = http_request_is_head(&c->req);
    if (c->api) {
        /* The stream cannot be resynchronised after a framing error. */
        c->state = C_WAIT;
        c->close_after = 1;
        api_http_handle_error(&c->api_call, status);
        return;
    }
    if (c->req.headers_done) /* logged as a request: 413, 417, 505 */
        start_refused_request_log(c);
    log_info("%s:%d: %d %s", c->peer_ip, c->peer_port, status,
             c->req.error_reason ? c->req.error_reason : "bad request");
    c->state = C_WAIT;
    /* The stream cannot be resynchronised after a framing error. */
    send_simple(c, status, 1);
}

/* Feeds buffered bytes to the parser; dispatches a complete request. */
static void feed_buffer(conn_t *c)
{
    if (c->rbuf.len == 0)
        return;
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
    /* More needed. Slowloris defence: the whole head must arrive within
     * header_timeout of its first byte; the body within its allowance
     * (credit_transfer). */
    if (!was_started && c->req.started && !c->req.headers_done)
        set_deadline(c, c->srv->o.header_timeout_ms); /* replaces the keep-alive timer */
    if (c->req.headers_done) {
        if (!c->body_started) {
            c->body_started = 1;
            c->body_credited = c->req.body.len;
            set_deadline(c, c->srv->o.body_timeout_ms);
        }
        credit_transfer(c, c->req.body.len - c->body_credited);
        c->body_credited = c->req.body.len;
        if (c->req.expect_continue && !c->continue_sent) {
            c->continue_sent = 1;
            buf_append_str(&c->wbuf, "HTTP/1.1 100 Continue\r\n\r\n");
            conn_write(c);
        }
    }
}

static void process_input(conn_t *c)
{
    /* A response the server answers at once (404, 503, ...) ends the
     * request inside this loop; the loop then goes on with the next
     * pipelined request instead of recursing once per request, which a
     * client could use to exhaust the stack. */
    if (c->in_input)
        return;
    c->in_input = 1;
    process_input_loop(c);
    c->in_input = 0;
}

static void process_input_loop(conn_t *c)
{
    while (!c->closed && c->state == C_READ) {
        if (c->rbuf.len > 0) {
            feed_buffer(c);
            if (c->closed || c->state != C_READ)
                return;
            if (c->rbuf.len > 0)
                continue; /* a request was answered at once; the next one is buffered */
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
            /* A short read drained the socket: the next arrival raises a new
             * edge, so skip the read that would only say EAGAIN. */
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
        /* EOF or error: nothing more will arrive, and a partial request
         * can never complete. */
        conn_close(c);
        return;
    }
}

/* Reads and drops what the client still sends, until it closes, stalls
 * LINGER_IDLE_MS, or LINGER_MAX_MS have passed; at most 1 MiB per turn,
 * so a fast sender does not hold the loop. */
static void linger_read(conn_t *c)
{
    loop_t *loop = &c->srv->loop;
    if (loop->now_ms >= c->deadline_ms || loop->now_ms >= c->linger_end_ms) {
        conn_close(c);
        return;
    }
    char sink[16384];
    int got = 0;
    for (int i = 0; i < 64; i++) {
        ssize_t n = read(c->w.fd, sink, sizeof sink);
        if (n > 0) {
            got = 1;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            if (got)
                c->deadline_ms = loop->now_ms + LINGER_IDLE_MS;
            if (c->deadline_ms > c->linger_end_ms)
                c->deadline_ms = c->linger_end_ms;
            loop_timer_start(loop, &c->timer, c->deadline_ms - loop->now_ms);
            return;
        }
        conn_close(c); /* EOF: the client has all it will read */
        return;
    }
    c->deadline_ms = loop->now_ms + LINGER_IDLE_MS;
    if (c->deadline_ms > c->linger_end_ms)
        c->deadline_ms = c->linger_end_ms;
    loop_timer_start(loop, &c->timer, 1); /* more waits: after the others' turn */
}

/* Closing a socket with unread input sends a reset, which can destroy the
 * answer before the client reads it (a 413 to an upload still being sent
 * reads as "connection reset"). So the connection is shut for writing
 * (the client reads the answer, then EOF) and its input drained first. */
static void close_lingering(conn_t *c)
{
    if (shutdown(c->w.fd, SHUT_WR) < 0) {
        conn_close(c);
        return;
    }
    c->state = C_LINGER;
    c->idle_since_ms = c->srv->loop.now_ms;
    /* The request is over: a client keeping the socket open must not keep
     * its body held (counted against max_held_request_bytes) or any
     * buffer for the lingering time. */
    http_request_free(&c->req);
    buf_free(&c->rbuf);
    buf_free(&c->wbuf);
    buf_free(&c->env);
    buf_free(&c->path);
    c->linger_end_ms = c->srv->loop.now_ms + LINGER_MAX_MS;
    c->deadline_ms = c->srv->loop.now_ms + LINGER_IDLE_MS;
    linger_read(c);
}

static void request_done(conn_t *c)
{
    /* The answer is written: an API call's handler may count it gone. */
    if (c->api)
        api_http_sent(&c->api_call);
    /* A client may have sent more (a pipelined request after its
     * "Connection: close", a keep-alive one's next when the server stops)
     * unread in the socket, or send it while the answer's end is still
     * queued: closing would then reset the connection and drop the end of
     * the answer. So every close after an answer lingers (RFC 9112 9.6).
     * (Lingering does not hold the stop: conn_busy_count leaves it out.) */
    if (c->close_after || c->srv->stopping) {
        close_lingering(c);
        return;
    }
    http_request_reset(&c->req);
    /* Nor of a large answer: a client could otherwise leave thousands of
     * idle connections each holding its largest request and answer. */
    buf_trim(&c->wbuf, HTTP_KEEP_BUFFER_BYTES);
    buf_trim(&c->rbuf, HTTP_KEEP_BUFFER_BYTES);
    buf_trim(&c->env, HTTP_KEEP_BUFFER_BYTES);
    buf_trim(&c->path, HTTP_KEEP_BUFFER_BYTES);
    c->body_started = 0;
    c->continue_sent = 0;
    c->head_only = 0;
    c->state = C_READ;
    c->idle_since_ms = c->srv->loop.now_ms;
    set_deadline(c, c->srv->o.keepalive_timeout_ms);
    process_input(c);
}

/* After a write or sendfile that returned n: 1 to go on, 0 to wait for
 * EPOLLOUT, -1 when the connection must be closed. */
static int write_progress(conn_t *c, ssize_t n)
{
    if (n > 0) {
        c->out_written += (uint64_t)n; /* credited as the client takes it (answer_moved) */
        return 1;
    }
    if (n < 0 && errno == EINTR)
        return 1;
    if (n < 0 && errno == EAGAIN) {
        c->writable = 0;
        return 0;
    }
    return -1;
}

static void write_out(conn_t *c)
{
    while (c->wbuf.len > 0) {
        ssize_t n = write(c->w.fd, buf_ptr(&c->wbuf), c->wbuf.len);
        if (n > 0)
            buf_consume(&c->wbuf, (size_t)n);
        int go = write_progress(c, n);
        if (go < 0)
            conn_close(c);
        if (go <= 0)
            return;
    }
    while (c->file_left > 0) {
        size_t chunk = c->file_left > (1u << 20) ? (1u << 20) : c->file_left;
        ssize_t n = sendfile(c->w.fd, c->file_fd, &c->file_off, chunk);
        if (n > 0)
            c->file_left -= (size_t)n;
        int go = write_progress(c, n);
        if (go < 0) {
            /* An error, or the file shrank: the promised length cannot be kept. */
            if (n == 0)
                log_warn("static file shrank while being sent; closing the connection");
            conn_close(c);
        }
        if (go <= 0)
            return;
    }
    if (c->file_fd >= 0) {
        close(c->file_fd);
        c->file_fd = -1;
    }
    if (c->state == C_WRITE)
        request_done(c);
}

/* What the connection holds to write counts in the server's total
 * (--max_held_response_bytes): a client that reads its answers slowly, or
 * not at all, keeps them in the master's memory. */
static void count_held(conn_t *c)
{
    server_t *srv = c->srv;
    size_t now = c->closed ? 0 : c->wbuf.len;
    srv->answers_held = srv->answers_held - c->held_counted + now;
    c->held_counted = now;
    if (srv->answers_held <= srv->o.max_held_response_bytes && srv->answers_held_noted) {
        srv->answers_held_noted = 0;
        log_info("the answers held for clients are below --max_held_response_bytes again");
    }
}

static void conn_write(conn_t *c)
{
    write_out(c);
    count_held(c);
}

/* ---------- events ---------- */

static void conn_event(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)loop;
    conn_t *c = (conn_t *)w;
    if (c->closed)
        return;
    if (events & (EPOLLERR | EPOLLHUP)) {
        if (c->state == C_LINGER && !(events & EPOLLERR))
            linger_read(c); /* both sides shut: drop what is left, then close */
        else
            conn_close(c);
        return;
    }
    if (events & EPOLLRDHUP)
        c->peer_eof = 1;
    if (events & EPOLLOUT) {
        c->writable = 1;
        if (c->wbuf.len > 0 || c->file_left > 0)
            conn_write(c);
        if (c->closed)
            return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP)) {
        c->readable = 1;
        if (c->state == C_READ)
            process_input(c);
        else if (c->state == C_LINGER)
            linger_read(c);
    }
}

static void conn_timeout(loop_t *loop, loop_timer_t *t)
{
    conn_t *c = (conn_t *)((char *)t - offsetof(conn_t, timer));
    if (c->closed || c->deadline_ms == 0)
        return;
    if (c->state == C_LINGER) {
        linger_read(c);
        return;
    }
    if (loop->now_ms < c->deadline_ms) {
        loop_timer_start(loop, t, c->deadline_ms - loop->now_ms);
        return;
    }
    if (c->state == C_WRITE && answer_moved(c))
        return;
    if (c->state == C_READ && c->req.started) {
        /* A client too slow to send its request: tell it, then close. */
        log_info("%s:%d: request not received in time; closing", c->peer_ip, c->peer_port);
        c->deadline_ms = 0;
        c->state = C_WAIT;
        c->close_after = 1;
        c->head_only = http_request_is_head(&c->req);
        size_t mark = c->wbuf.len;
        http_simple_response(&c->wbuf, 408, 0, 0, c->head_only);
        /* Its head came, its body did not: a request, as a 413 is. */
        if (c->req.headers_done && !c->api) {
            start_refused_request_log(c);
            log_request(c, 408, written_body_len(c, mark), NULL, 0);
        }
        c->state = C_WRITE;
        set_deadline(c, 1000);
        conn_write(c);
        return;
    }
    conn_close(c);
}

void conn_stop_all(server_t *srv)
{
    for (conn_t *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if ((c->state == C_READ && !c->req.started) || c->state == C_LINGER)
            conn_close(c);
        else
            c->close_after = 1;
    }
}

int conn_evict_idle(server_t *srv)
{
    /* The one idle longest: not the one open longest, which may be a
     * keep-alive client answered a moment ago while a socket silent since
     * it connected stays. Idle means nothing of a request received and
     * nothing left to write, so closing it loses nothing (RFC 9112 9.6 lets
     * a server close an idle connection at any time; clients retry). */
    conn_t *oldest = NULL;
    for (conn_t *c = srv->conns; c; c = c->next)
        if (!c->api &&
            ((c->state == C_READ && !c->req.started && c->wbuf.len == 0) || c->state == C_LINGER) &&
            (!oldest || c->idle_since_ms <= oldest->idle_since_ms))
            oldest = c;
    if (!oldest)
        return 0;
    log_info("%s:%d: --max_connections (%d) reached: closing this idle connection for a new one",
             oldest->peer_ip, oldest->peer_port, srv->o.max_connections);
    conn_close(oldest);
    return 1;
}

int conn_busy_count(const server_t *srv)
{
    int n = 0;
    for (const conn_t *c = srv->conns; c; c = c->next)
        if (c->state != C_LINGER && (c->state != C_READ || c->req.started))
            n++;
    return n;
}

void conn_close_all(server_t *srv)
{
    while (srv->conns)
        conn_drop(srv->conns, 503);
}
