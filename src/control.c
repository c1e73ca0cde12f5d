#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define MAX_REQUEST 4096
#define MAX_CLIENTS 16
#define CLIENT_TIMEOUT_MS 10000
/* After accept ran out of descriptors or memory: the listener is
 * edge-triggered, so clients already waiting raise no new event. */
#define ACCEPT_RETRY_MS 100

typedef struct client client_t;

struct client {
    io_watch_t w; /* must stay first */
    control_t *ctl;
    buf_t in, out;
    int answered;
    loop_timer_t timer;
    client_t *next;
};

struct control {
    io_watch_t listen_w; /* must stay first */
    loop_t *loop;
    control_fn fn;
    void *ctx;
    int dirfd;
    client_t *clients, *closed;
    int n_clients;
    /* Wakes accept again: after a failure, or once a client leaves while
     * MAX_CLIENTS were served (others may wait in the backlog). */
    loop_timer_t accept_retry;
};

/* Socket paths are limited to 108 bytes; the storage folder may be longer,
 * so the socket is named through the folder's descriptor. */
static int socket_addr(int dirfd, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    int n =
        snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s", dirfd, CONTROL_SOCKET);
    return n > 0 && (size_t)n < sizeof sa->sun_path ? 0 : -1;
}

static void client_close(client_t *cl)
{
    control_t *ctl = cl->ctl;
    if (cl->w.fd < 0)
        return;
    loop_del(ctl->loop, &cl->w);
    close(cl->w.fd);
    cl->w.fd = -1;
    loop_timer_stop(ctl->loop, &cl->timer);
    for (client_t **p = &ctl->clients; *p; p = &(*p)->next) {
        if (*p == cl) {
            *p = cl->next;
            break;
        }
    }
    if (ctl->n_clients-- == MAX_CLIENTS)
        loop_timer_start(ctl->loop, &ctl->accept_retry, 0);
    /* Freed by control_close or the next accept: a later event of this
     * batch may still name it. */
    cl->next = ctl->closed;
    ctl->closed = cl;
}

static void reap(control_t *ctl)
{
    while (ctl->closed) {
        client_t *cl = ctl->closed;
        ctl->closed = cl->next;
        buf_free(&cl->in);
        buf_free(&cl->out);
        free(cl);
    }
}

static void client_timeout(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    client_close((client_t *)((char *)t - offsetof(client_t, timer)));
}

/* Writes what is pending; closes when all is out. */
static void client_write(client_t *cl)
{
    while (cl->out.len > 0) {
        ssize_t n = write(cl->w.fd, buf_ptr(&cl->out), cl->out.len);
        if (n > 0) {
            buf_consume(&cl->out, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        break;
    }
    client_close(cl);
}

static void answer(client_t *cl)
{
    control_t *ctl = cl->ctl;
    char *line = buf_ptr(&cl->in);
    char *nl = memchr(line, '\n', cl->in.len);
    *nl = '\0';
    char *argv[CONTROL_MAX_WORDS + 1];
    int argc = 0;
    char err[512] = "";
    for (char *save = NULL, *w = strtok_r(line, "\t", &save); w; w = strtok_r(NULL, "\t", &save)) {
        if (argc == CONTROL_MAX_WORDS) {
            snprintf(err, sizeof err, "too many words in the request");
            break;
        }
        argv[argc++] = w;
    }
    argv[argc] = NULL;
    cl->answered = 1;
    int rc = -1;
    if (!err[0] && argc == 0)
        snprintf(err, sizeof err, "empty request");
    else if (!err[0])
        rc = ctl->fn(ctl->ctx, argc, argv, &cl->out, err, sizeof err);
    if (rc == 0) {
        buf_append_str(&cl->out, "ok\n");
    } else {
        for (char *p = err; *p; p++) /* the message is one line */
            if (*p == '\n' || *p == '\t')
                *p = ' ';
        buf_printf(&cl->out, "error\t%s\n", err[0] ? err : "failed");
    }
    client_write(cl);
}

static void client_event(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)loop;
    client_t *cl = (client_t *)w;
    if (cl->w.fd < 0)
        return;
    if (cl->answered) {
        if (events & EPOLLOUT)
            client_write(cl);
        return;
    }
    for (;;) {
        if (buf_reserve(&cl->in, 1024) < 0) {
            client_close(cl);
            return;
        }
        ssize_t n =
            read(cl->w.fd, buf_ptr(&cl->in) + cl->in.len, cl->in.cap - cl->in.off - cl->in.len);
        if (n > 0) {
            cl->in.len += (size_t)n;
            if (memchr(buf_ptr(&cl->in), '\n', cl->in.len)) {
                answer(cl);
                return;
            }
            if (cl->in.len > MAX_REQUEST) {
                client_close(cl);
                return;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        client_close(cl); /* EOF before a whole request */
        return;
    }
}

/* Only our own user, or root, may run commands. */
static int peer_allowed(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return 0;
    return cred.uid == 0 || cred.uid == geteuid();
}

static void on_accept(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)events;
    control_t *ctl = (control_t *)w;
    reap(ctl);
    for (;;) {
        /* Past the limit, clients wait in the backlog for one to leave
         * rather than being closed unanswered. */
        if (ctl->n_clients >= MAX_CLIENTS)
            return;
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                loop_timer_start(loop, &ctl->accept_retry, ACCEPT_RETRY_MS);
            return;
        }
        if (!peer_allowed(fd)) {
            /* Said, so that the command does not take it for a server that
             * failed; best effort, the socket buffer has room for it. */
            static const char refused[] =
                "error\tonly the user running this server (or root) may control it\n";
            (void)send(fd, refused, sizeof refused - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            close(fd);
            continue;
        }
        client_t *cl = calloc(1, sizeof *cl);
        if (!cl) {
            close(fd);
            continue;
        }
        cl->ctl = ctl;
        cl->w.fd = fd;
        cl->w.cb = client_event;
        cl->timer.cb = client_timeout;
        if (loop_add(loop, &cl->w, EPOLLIN | EPOLLOUT) < 0) {
            close(fd);
            free(cl);
            continue;
        }
        cl->next = ctl->clients;
        ctl->clients = cl;
        ctl->n_clients++;
        loop_timer_start(loop, &cl->timer, CLIENT_TIMEOUT_MS);
        client_event(loop, &cl->w, EPOLLIN);
    }
}

static void accept_again(loop_t *loop, loop_timer_t *t)
{
    control_t *ctl = (control_t *)((char *)t - offsetof(control_t, accept_retry));
    on_accept(loop, &ctl->listen_w, EPOLLIN);
}

control_t *control_open(loop_t *loop, const char *dir, control_fn fn, void *ctx, char *err,
                        size_t errlen)
{
    control_t *ctl = calloc(1, sizeof *ctl);
    if (!ctl) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ctl->loop = loop;
    ctl->fn = fn;
    ctl->ctx = ctx;
    ctl->listen_w.fd = -1;
    ctl->dirfd = -1;
    ctl->listen_w.cb = on_accept;
    ctl->accept_retry.cb = accept_again;
    struct sockaddr_un sa;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        goto fail;
    }
    ctl->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ctl->dirfd < 0 || socket_addr(ctl->dirfd, &sa) < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "control socket: %s", strerror(errno));
        goto fail;
    }
    ctl->listen_w.fd = fd;
    /* A socket file left by a server that is gone is replaced; one that
     * answers belongs to a running server, which owns this folder. */
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0) {
        close(probe);
        snprintf(err, errlen, "another gaelic server is running with storage folder %s", dir);
        goto fail;
    }
    if (probe >= 0)
        close(probe);
    unlinkat(ctl->dirfd, CONTROL_SOCKET, 0);
    mode_t old = umask(077);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc < 0 || listen(fd, 16) < 0) {
        snprintf(err, errlen, "%s/%s: %s", dir, CONTROL_SOCKET, strerror(errno));
        goto fail;
    }
    if (loop_add(loop, &ctl->listen_w, EPOLLIN) < 0) {
        snprintf(err, errlen, "control socket: %s", strerror(errno));
        goto fail;
    }
    return ctl;
fail:
    if (ctl->listen_w.fd >= 0)
        close(ctl->listen_w.fd);
    if (ctl->dirfd >= 0)
        close(ctl->dirfd);
    free(ctl);
    return NULL;
}

void control_close(control_t *ctl)
{
    if (!ctl)
        return;
    while (ctl->clients)
        client_close(ctl->clients);
    loop_timer_stop(ctl->loop, &ctl->accept_retry);
    reap(ctl);
    loop_del(ctl->loop, &ctl->listen_w);
    close(ctl->listen_w.fd);
    unlinkat(ctl->dirfd, CONTROL_SOCKET, 0);
    close(ctl->dirfd);
    free(ctl);
}

/* ---------- client ---------- */

int control_call(const char *dir, int argc, char **argv, const char *const *names, FILE *out,
                 FILE *err_out)
{
    for (int i = 0; i < argc; i++)
        if (strpbrk(argv[i], "\t\n")) {
            fprintf(err_out, "gaelic %s: invalid %s '%s' (it has a tab or a newline)\n", argv[0],
                    names && names[i] ? names[i] : "word", argv[i]);
            return 2;
        }
    int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    struct sockaddr_un sa;
    int fd = -1;
    if (dirfd >= 0 && socket_addr(dirfd, &sa) == 0)
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        if (fd >= 0 && (e == EACCES || e == EPERM)) {
            /* A server runs there (or ran), as someone else: its socket
             * and folder admit only that user. */
            fprintf(err_out,
                    "%s/%s belongs to another user: only the user running that server (or "
                    "root) may control it (%s)\n",
                    dir, CONTROL_SOCKET, strerror(e));
            close(fd);
            close(dirfd);
            return 1;
        }
        fprintf(err_out,
                "no gaelic server is running with storage folder %s (%s); start it with "
                "gaelic serve, or give the --storage_path it runs with\n",
                dir, strerror(e));
        if (fd >= 0)
            close(fd);
        if (dirfd >= 0)
            close(dirfd);
        return 2;
    }
    close(dirfd);
    buf_t req = BUF_INIT;
    for (int i = 0; i < argc; i++)
        buf_printf(&req, "%s%s", i ? "\t" : "", argv[i]);
    buf_append_str(&req, "\n");
    size_t off = 0;
    while (off < req.len) {
        /* A server that refused may have closed already: no SIGPIPE. */
        ssize_t n = send(fd, buf_ptr(&req) + off, req.len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    buf_free(&req);
    buf_t resp = BUF_INIT;
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        buf_append(&resp, chunk, (size_t)n);
    }
    close(fd);
    /* Everything before the last line is output; the last line says how
     * it went. */
    buf_append(&resp, "", 1);
    char *text = buf_ptr(&resp);
    size_t len = strlen(text);
    while (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
    char *last = strrchr(text, '\n');
    char *status = last ? last + 1 : text;
    if (last)
        fprintf(out, "%.*s\n", (int)(last - text), text);
    int rc;
    if (!strcmp(status, "ok")) {
        rc = 0;
    } else if (!strncmp(status, "error\t", 6)) {
        fprintf(err_out, "%s\n", status + 6);
        rc = 1;
    } else {
        fprintf(err_out, "the server gave no answer\n");
        rc = 1;
    }
    buf_free(&resp);
    return rc;
}
