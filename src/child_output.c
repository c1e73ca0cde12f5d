#include "child_output.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Longer lines are shown in pieces of this size. */
#define LINE_MAX_BYTES 4096
/* Read per turn of the loop, so that a flood cannot starve it. */
#define TURN_BYTES (256 * 1024)
/* Shown per second at most: a crash's traceback or sanitizer report fits
 * many times over, while an app that floods its stderr cannot fill the
 * server's log file or disk. The rest is read, counted and dropped. */
#define SHOWN_BYTES_PER_SECOND (256 * 1024)
/* What the console adds to each line shown (time, level, newline): an
 * empty line costs as much, or a flood of them would never be limited. */
#define LINE_OVERHEAD 33

struct child_output {
    loop_t *loop;
    io_watch_t w;
    loop_timer_t more;   /* the rest of a flood, on the next turn */
    loop_timer_t report; /* says what was dropped, at the window's end */
    uint64_t window_ms;  /* start of the current second */
    size_t shown;        /* bytes shown in it */
    unsigned long dropped_lines;
    size_t dropped_bytes;
    int write_fd;
    size_t len;
    char line[LINE_MAX_BYTES];
};

static void report_dropped(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    child_output_t *c = (child_output_t *)((char *)t - offsetof(child_output_t, report));
    if (!c->dropped_lines)
        return;
    log_warn("instances wrote more than %d KiB a second to stdout/stderr: %lu lines (%zu "
             "bytes) not shown",
             SHOWN_BYTES_PER_SECOND / 1024, c->dropped_lines, c->dropped_bytes);
    c->dropped_lines = 0;
    c->dropped_bytes = 0;
}

static void show(child_output_t *c, char *text, size_t n)
{
    uint64_t now = c->loop->now_ms;
    if (now - c->window_ms >= 1000) {
        report_dropped(c->loop, &c->report);
        c->window_ms = now;
        c->shown = 0;
    }
    if (c->shown + n + LINE_OVERHEAD > SHOWN_BYTES_PER_SECOND) {
        if (!c->dropped_lines++)
            loop_timer_start(c->loop, &c->report, c->window_ms + 1000 - now);
        c->dropped_bytes += n;
        return;
    }
    c->shown += n + LINE_OVERHEAD;
    while (n && (text[n - 1] == '\r'))
        n--;
    /* "%.*s" would end the line at a NUL byte, hiding the rest. */
    for (char *p = text; (p = memchr(p, '\0', n - (size_t)(p - text)));)
        *p = '?';
    log_warn("%.*s", (int)n, text);
}

/* Shows the complete lines of buf; keeps a partial one for later. */
static void take(child_output_t *c, const char *buf, size_t n)
{
    while (n) {
        const char *nl = memchr(buf, '\n', n);
        size_t part = nl ? (size_t)(nl - buf) : n;
        /* A full line buffer is a piece only once more of its line comes:
         * a newline right after it just ends the line. */
        if (c->len == sizeof c->line && part > 0) {
            show(c, c->line, c->len);
            c->len = 0;
        }
        size_t room = sizeof c->line - c->len;
        if (part > room) {
            memcpy(c->line + c->len, buf, room);
            c->len += room;
            buf += room;
            n -= room;
            continue;
        }
        memcpy(c->line + c->len, buf, part);
        c->len += part;
        if (!nl)
            return;
        show(c, c->line, c->len);
        c->len = 0;
        buf += part + 1;
        n -= part + 1;
    }
}

/* Reads until the pipe is empty (0) or budget bytes are read (1). */
static int drain(child_output_t *c, size_t budget)
{
    char buf[16384];
    size_t done = 0;
    while (done < budget) {
        ssize_t n = read(c->w.fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0; /* empty (the write end stays open here: never EOF) */
        take(c, buf, (size_t)n);
        done += (size_t)n;
    }
    return 1;
}

static void turn(child_output_t *c)
{
    if (drain(c, TURN_BYTES))
        loop_timer_start(c->loop, &c->more, 0);
}

static void readable(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)loop;
    (void)events;
    turn((child_output_t *)((char *)w - offsetof(child_output_t, w)));
}

static void next_turn(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    turn((child_output_t *)((char *)t - offsetof(child_output_t, more)));
}

child_output_t *child_output_open(loop_t *loop)
{
    child_output_t *c = calloc(1, sizeof *c);
    int fds[2];
    if (!c || pipe2(fds, O_CLOEXEC) < 0) {
        free(c);
        return NULL;
    }
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    c->loop = loop;
    c->w.fd = fds[0];
    c->w.cb = readable;
    c->more.cb = next_turn;
    c->report.cb = report_dropped;
    c->window_ms = loop->now_ms;
    c->write_fd = fds[1];
    if (loop_add(loop, &c->w, EPOLLIN) < 0) {
        int saved = errno;
        close(fds[0]);
        close(fds[1]);
        free(c);
        errno = saved;
        return NULL;
    }
    return c;
}

int child_output_fd(const child_output_t *c)
{
    return c->write_fd;
}

void child_output_close(child_output_t *c)
{
    if (!c)
        return;
    loop_timer_stop(c->loop, &c->more);
    loop_del(c->loop, &c->w);
    drain(c, 4 * TURN_BYTES);
    if (c->len)
        show(c, c->line, c->len);
    loop_timer_stop(c->loop, &c->report);
    report_dropped(c->loop, &c->report);
    log_flush();
    close(c->w.fd);
    close(c->write_fd);
    free(c);
}
