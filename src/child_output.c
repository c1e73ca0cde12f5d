#include "child_output.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Longer lines are shown in pieces of this size. */
#define LINE_MAX_BYTES 4096
/* Read per turn of the loop, so that a flood cannot starve it. */
#define TURN_BYTES (256 * 1024)
/* Shown per second and pipe at most: a crash's traceback or sanitizer
 * report fits many times over, while an app that floods its stderr cannot
 * fill the server's log file or disk. The rest is read, counted and
 * dropped. */
#define SHOWN_BYTES_PER_SECOND (256 * 1024)
/* What the console adds to each line shown (time, level, newline): an
 * empty line costs as much, or a flood of them would never be limited. */
#define LINE_OVERHEAD 33

struct child_output {
    loop_t *loop;
    io_watch_t w;        /* the read end; -1 once the pipe has ended */
    loop_timer_t more;   /* the rest of a flood, on the next turn; frees a
                            released output that has ended */
    loop_timer_t report; /* says what was dropped, at the window's end */
    uint64_t window_ms;  /* start of the current second */
    size_t shown;        /* bytes shown in it */
    unsigned long dropped_lines;
    size_t dropped_bytes;
    int write_fd;                /* -1 once closed here */
    child_output_t *keeper;      /* set by child_output_release */
    child_output_t *kept;        /* those released to this one */
    child_output_t *prev, *next; /* in keeper->kept */
    char who[128];               /* "" for none; a backend name has up to 100 */
    size_t prefix;               /* console bytes "[who] " adds to a line */
    size_t len;
    char line[LINE_MAX_BYTES];
};

static void report_dropped(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    child_output_t *c = (child_output_t *)((char *)t - offsetof(child_output_t, report));
    if (!c->dropped_lines)
        return;
    log_warn("%s wrote more than %d KiB a second to stdout/stderr: %lu lines (%zu bytes) not "
             "shown",
             c->who[0] ? c->who : "instances", SHOWN_BYTES_PER_SECOND / 1024, c->dropped_lines,
             c->dropped_bytes);
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
    size_t cost = n + LINE_OVERHEAD + c->prefix;
    if (c->shown + cost > SHOWN_BYTES_PER_SECOND) {
        if (!c->dropped_lines++)
            loop_timer_start(c->loop, &c->report, c->window_ms + 1000 - now);
        c->dropped_bytes += n;
        return;
    }
    c->shown += cost;
    while (n && (text[n - 1] == '\r'))
        n--;
    /* "%.*s" would end the line at a NUL byte, hiding the rest. */
    for (char *p = text; (p = memchr(p, '\0', n - (size_t)(p - text)));)
        *p = '?';
    if (c->who[0])
        log_warn("[%s] %.*s", c->who, (int)n, text);
    else
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

/* The pipe is done with: what is left of a line is shown, and what was
 * dropped is said now rather than at the window's end. */
static void end(child_output_t *c)
{
    loop_del(c->loop, &c->w);
    close(c->w.fd);
    c->w.fd = -1;
    if (c->len)
        show(c, c->line, c->len);
    c->len = 0;
    loop_timer_stop(c->loop, &c->report);
    report_dropped(c->loop, &c->report);
    /* Freed on a timer: an event of this batch may still name c. */
    if (c->keeper)
        loop_timer_start(c->loop, &c->more, 0);
}

/* Reads until the pipe is empty or has ended (0), or until budget bytes
 * are read (1). */
static int drain(child_output_t *c, size_t budget)
{
    char buf[16384];
    size_t done = 0;
    while (c->w.fd >= 0 && done < budget) {
        ssize_t n = read(c->w.fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0) {
            end(c); /* every writer is gone (the zygotes' pipe never ends) */
            return 0;
        }
        take(c, buf, (size_t)n);
        done += (size_t)n;
    }
    return done >= budget;
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

static void free_output(child_output_t *c)
{
    if (c->keeper) {
        if (c->prev)
            c->prev->next = c->next;
        else
            c->keeper->kept = c->next;
        if (c->next)
            c->next->prev = c->prev;
    }
    loop_timer_stop(c->loop, &c->more);
    loop_timer_stop(c->loop, &c->report);
    free(c);
}

static void next_turn(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    child_output_t *c = (child_output_t *)((char *)t - offsetof(child_output_t, more));
    if (c->w.fd >= 0)
        turn(c);
    else if (c->keeper)
        free_output(c);
}

child_output_t *child_output_open(loop_t *loop, const char *who)
{
    child_output_t *c = calloc(1, sizeof *c);
    int fds[2];
    if (!c || pipe2(fds, O_CLOEXEC) < 0) {
        int saved = errno;
        free(c);
        errno = saved;
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
    if (who) {
        snprintf(c->who, sizeof c->who, "%s", who);
        c->prefix = strlen(c->who) + 3;
    }
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

void child_output_close_writer(child_output_t *c)
{
    close(c->write_fd);
    c->write_fd = -1;
}

void child_output_release(child_output_t *c, child_output_t *keeper)
{
    c->keeper = keeper;
    c->prev = NULL;
    c->next = keeper->kept;
    if (c->next)
        c->next->prev = c;
    keeper->kept = c;
    /* What it wrote before now comes before the lines about its end. */
    if (c->w.fd >= 0)
        turn(c);
    else
        loop_timer_start(c->loop, &c->more, 0);
}

void child_output_close(child_output_t *c)
{
    if (!c)
        return;
    while (c->kept)
        child_output_close(c->kept);
    loop_timer_stop(c->loop, &c->more);
    if (c->w.fd >= 0)
        drain(c, 4 * TURN_BYTES);
    if (c->w.fd >= 0)
        end(c);
    log_flush();
    if (c->write_fd >= 0)
        close(c->write_fd);
    free_output(c);
}
