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
 * hide the lines of the others. The rest is read, counted and dropped. */
#define PIPE_BYTES_PER_SECOND (256 * 1024)
/* Read per second and pipe at most, four times what it may show: past it
 * the pipe is left unread until its second ends, so that a flooding
 * writer waits in write() instead of the master's loop spending its time
 * reading what it then drops (two instances writing 900 MB/s each to
 * their stderr took 60% of the master's CPU and halved the static files
 * it served). The lines read beyond what is shown are still counted. */
#define PIPE_READ_BYTES_PER_SECOND (4 * PIPE_BYTES_PER_SECOND)
/* Shown per second of all pipes together: two flooding writers' worth,
 * however many instances and backends there are, so that the console
 * stays readable and a console log file grows by 1.8 GB an hour at worst. */
#define TOTAL_BYTES_PER_SECOND (512 * 1024)
/* The last RESERVE_BYTES of the total are for pipes that have shown less
 * than QUIET_BYTES in their second: floods from several writers still
 * leave room for another's occasional lines (a traceback). */
#define RESERVE_BYTES (64 * 1024)
#define QUIET_BYTES (8 * 1024)
/* What the console adds to each line shown (time, level, newline): an
 * empty line costs as much, or a flood of them would never be limited. */
#define LINE_OVERHEAD 33

struct child_console {
    loop_t *loop;
    uint64_t window_ms;       /* start of the current second */
    size_t shown;             /* bytes shown in it, of every pipe */
    child_output_t *released; /* outputs of writers that are gone */
};

/* Lines not shown in a pipe's current second, by the budget that cut them. */
typedef struct {
    unsigned long lines;
    size_t bytes;
} dropped_t;

struct child_output {
    child_console_t *con;
    io_watch_t w;            /* the read end; -1 once the pipe has ended */
    loop_timer_t more;       /* the rest of a flood, on the next turn; frees a
                                released output that has ended */
    loop_timer_t report;     /* says what was dropped, at the window's end */
    uint64_t window_ms;      /* start of the pipe's current second */
    size_t shown;            /* bytes shown in it */
    uint64_t read_window_ms; /* start of the second read_bytes counts */
    size_t read_bytes;
    dropped_t over_pipe, over_total;
    int write_fd;                /* -1 once closed here */
    int released;                /* on con->released */
    child_output_t *prev, *next; /* in con->released */
    char who[128];               /* a backend name has up to 100 */
    size_t prefix;               /* console bytes "[who] " adds to a line */
    size_t len;
    char line[LINE_MAX_BYTES];
};

static void report_dropped(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    child_output_t *c = (child_output_t *)((char *)t - offsetof(child_output_t, report));
    if (c->over_pipe.lines)
        log_warn("%s wrote more than %d KiB a second to stdout/stderr: %lu lines (%zu bytes) not "
                 "shown (its own budget)",
                 c->who, PIPE_BYTES_PER_SECOND / 1024, c->over_pipe.lines, c->over_pipe.bytes);
    if (c->over_total.lines)
        log_warn("%s: %lu lines (%zu bytes) of its stdout/stderr not shown: instances and "
                 "zygotes together wrote more than %d KiB a second (the server-wide budget)",
                 c->who, c->over_total.lines, c->over_total.bytes, TOTAL_BYTES_PER_SECOND / 1024);
    c->over_pipe = (dropped_t){0, 0};
    c->over_total = (dropped_t){0, 0};
}

int child_console_take(child_console_t *con, size_t own_shown, size_t cost)
{
    uint64_t now = con->loop->now_ms;
    if (now - con->window_ms >= 1000) {
        con->window_ms = now;
        con->shown = 0;
    }
    size_t total = TOTAL_BYTES_PER_SECOND;
    if (own_shown + cost > QUIET_BYTES)
        total -= RESERVE_BYTES;
    if (con->shown + cost > total)
        return 0;
    con->shown += cost;
    return 1;
}

static void show(child_output_t *c, const char *text, size_t n)
{
    child_console_t *con = c->con;
    uint64_t now = con->loop->now_ms;
    if (now - c->window_ms >= 1000) {
        report_dropped(con->loop, &c->report);
        c->window_ms = now;
        c->shown = 0;
    }
    size_t cost = n + LINE_OVERHEAD + c->prefix;
    dropped_t *over = c->shown + cost > PIPE_BYTES_PER_SECOND    ? &c->over_pipe
                      : !child_console_take(con, c->shown, cost) ? &c->over_total
                                                                 : NULL;
    if (over) {
        if (!c->over_pipe.lines && !c->over_total.lines)
            loop_timer_start(con->loop, &c->report, c->window_ms + 1000 - now);
        over->lines++;
        over->bytes += n;
        return;
    }
    c->shown += cost;
    while (n && (text[n - 1] == '\r'))
        n--;
    /* The app's bytes: a control (an escape sequence that would take over
     * the terminal, a NUL that would end "%s") or invalid UTF-8 shows as '?'. */
    char safe[LINE_MAX_BYTES + 1];
    log_safe_text(safe, text, n);
    log_warn("[%s] %s", c->who, safe);
}

/* Shows the complete lines of buf; keeps a partial one for later. */
static void take(child_output_t *c, const char *buf, size_t n)
{
    while (n) {
        const char *nl = memchr(buf, '\n', n);
        size_t part = nl ? (size_t)(nl - buf) : n;
        /* A full line buffer is a piece only once more of its line comes:
         * a newline right after it just ends the line. The piece ends
         * between characters: the start of one it holds in part begins the
         * next piece, or both would show its bytes as '?'. */
        if (c->len == sizeof c->line && part > 0) {
            size_t piece = log_utf8_whole(c->line, c->len);
            show(c, c->line, piece);
            c->len -= piece;
            memmove(c->line, c->line + piece, c->len);
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
    loop_t *loop = c->con->loop;
    loop_del(loop, &c->w);
    close(c->w.fd);
    c->w.fd = -1;
    if (c->len)
        show(c, c->line, c->len);
    c->len = 0;
    loop_timer_stop(loop, &c->report);
    report_dropped(loop, &c->report);
    /* Freed on a timer: an event of this batch may still name c. */
    if (c->released)
        loop_timer_start(loop, &c->more, 0);
}

/* Reads until the pipe is empty or has ended (0), or until budget bytes
 * are read (1); adds what it read to *done. */
static int drain(child_output_t *c, size_t budget, size_t *done)
{
    char buf[16384];
    size_t start = *done;
    while (c->w.fd >= 0 && *done - start < budget) {
        ssize_t n = read(c->w.fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0) {
            end(c); /* every writer is gone */
            return 0;
        }
        take(c, buf, (size_t)n);
        *done += (size_t)n;
    }
    return *done - start >= budget;
}

/* A turn's worth, within the pipe's second's share; 0 when the pipe is
 * empty or has ended. Otherwise the next turn is due: at once, or when
 * the pipe's second ends if it has read its share of it. */
static int turn(child_output_t *c)
{
    loop_t *loop = c->con->loop;
    if (loop->now_ms - c->read_window_ms >= 1000) {
        c->read_window_ms = loop->now_ms;
        c->read_bytes = 0;
    }
    size_t left =
        c->read_bytes < PIPE_READ_BYTES_PER_SECOND ? PIPE_READ_BYTES_PER_SECOND - c->read_bytes : 0;
    if (left && !drain(c, left < TURN_BYTES ? left : TURN_BYTES, &c->read_bytes))
        return 0;
    uint64_t wait =
        c->read_bytes < PIPE_READ_BYTES_PER_SECOND ? 0 : c->read_window_ms + 1000 - loop->now_ms;
    loop_timer_start(loop, &c->more, wait);
    return 1;
}

static void readable(loop_t *loop, io_watch_t *w, uint32_t events)
{
    (void)loop;
    (void)events;
    child_output_t *c = (child_output_t *)((char *)w - offsetof(child_output_t, w));
    if (!loop_timer_armed(&c->more)) /* else its next turn is due already */
        turn(c);
}

static void free_output(child_output_t *c)
{
    if (c->released) {
        if (c->prev)
            c->prev->next = c->next;
        else
            c->con->released = c->next;
        if (c->next)
            c->next->prev = c->prev;
    }
    loop_timer_stop(c->con->loop, &c->more);
    loop_timer_stop(c->con->loop, &c->report);
    free(c);
}

static void next_turn(loop_t *loop, loop_timer_t *t)
{
    (void)loop;
    child_output_t *c = (child_output_t *)((char *)t - offsetof(child_output_t, more));
    if (c->w.fd >= 0)
        turn(c);
    else if (c->released)
        free_output(c);
}

child_console_t *child_console_new(loop_t *loop)
{
    child_console_t *con = calloc(1, sizeof *con);
    if (con) {
        con->loop = loop;
        con->window_ms = loop->now_ms;
    }
    return con;
}

void child_console_free(child_console_t *con)
{
    if (!con)
        return;
    while (con->released)
        child_output_close(con->released);
    free(con);
}

child_output_t *child_output_open(child_console_t *con, const char *who)
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
    c->con = con;
    c->w.fd = fds[0];
    c->w.cb = readable;
    c->more.cb = next_turn;
    c->report.cb = report_dropped;
    c->window_ms = con->loop->now_ms;
    c->read_window_ms = con->loop->now_ms;
    c->write_fd = fds[1];
    snprintf(c->who, sizeof c->who, "%s", who);
    c->prefix = strlen(c->who) + 3;
    if (loop_add(con->loop, &c->w, EPOLLIN) < 0) {
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
    if (c->write_fd >= 0)
        close(c->write_fd);
    c->write_fd = -1;
}

void child_output_release(child_output_t *c)
{
    child_console_t *con = c->con;
    child_output_close_writer(c); /* a zygote's: kept open for its restarts */
    c->released = 1;
    c->prev = NULL;
    c->next = con->released;
    if (c->next)
        c->next->prev = c;
    con->released = c;
    if (c->w.fd < 0) {
        loop_timer_start(con->loop, &c->more, 0);
        return;
    }
    /* Its pipe may end only after the master hears of its end (the
     * kernel closes the files of an exiting process in no set order): a
     * line it left unfinished is finished now, before the lines about its
     * end. Not in the middle of a flood, where it is no last word. */
    if (!turn(c) && c->w.fd >= 0 && c->len) {
        show(c, c->line, c->len);
        c->len = 0;
    }
}

void child_output_close(child_output_t *c)
{
    if (!c)
        return;
    loop_timer_stop(c->con->loop, &c->more);
    size_t read = 0;
    if (c->w.fd >= 0)
        drain(c, 4 * TURN_BYTES, &read);
    if (c->w.fd >= 0)
        end(c);
    log_flush();
    child_output_close_writer(c);
    free_output(c);
}
