#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_min_level = LOG_INFO;

/* The server's own lines stop at LOG_ERROR, and its errors always show:
 * --log_level critical (dev_appserver's highest, for the app's lines) must
 * not hide why the server could not start or stopped. */
static int server_line_shown(int level)
{
    return level >= log_min_level || level >= LOG_ERROR;
}
int log_batching;

/* Where console lines go: fd 2, or after log_console_nonblocking a
 * non-blocking description of the same pipe or terminal. */
static int console_fd = 2;
static int console_is_socket;
/* Lines dropped because the console did not take them; the loop's count,
 * and the other threads' (atomic). */
static unsigned long dropped_lines;
static unsigned long dropped_unbuffered;

void log_console_nonblocking(void)
{
    struct stat st;
    if (fstat(2, &st) < 0)
        return;
    if (S_ISSOCK(st.st_mode)) {
        console_is_socket = 1; /* send(MSG_DONTWAIT) instead */
        return;
    }
    /* A regular file never stays full, and reopening it would lose the
     * shell's file offset. A pipe or a terminal gets its own open file
     * description, so that O_NONBLOCK touches neither the shell's nor the
     * instances' fd 2. */
    if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
        return;
    int fd = open("/proc/self/fd/2", O_WRONLY | O_APPEND | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0)
        console_fd = fd;
}

static ssize_t console_write(const char *p, size_t n)
{
    if (console_is_socket)
        return send(2, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    return write(console_fd, p, n);
}

static const char *const level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};

/* Writes a console line's time and level into line (a whole line's
 * buffer, many KB, so it always fits); returns its length. */
static size_t format_prefix(char *line, int level)
{
    /* The date and time change once a second and a line is written per
     * request: each thread keeps its last second's text. */
    static __thread time_t cached_sec = -1;
    static __thread char cached[32];
    static __thread size_t cached_len;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != cached_sec) {
        struct tm tm;
        localtime_r(&tv.tv_sec, &tm);
        cached_len = strftime(cached, sizeof cached, "%Y-%m-%d %H:%M:%S", &tm);
        cached_sec = tv.tv_sec;
    }
    int ms = (int)(tv.tv_usec / 1000);
    const char *name = level_names[level];
    size_t name_len = strlen(name);
    memcpy(line, cached, cached_len);
    size_t n = cached_len;
    line[n++] = '.';
    line[n++] = (char)('0' + ms / 100);
    line[n++] = (char)('0' + ms / 10 % 10);
    line[n++] = (char)('0' + ms % 10);
    line[n++] = ' ';
    memcpy(line + n, name, name_len);
    n += name_len;
    line[n++] = ' ';
    return n;
}

size_t log_utf8_whole(const char *s, size_t n)
{
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = (unsigned char)s[n - back];
        if ((c & 0xC0) != 0x80) {
            size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            return len > back ? n - back : n;
        }
    }
    return n;
}

/* Formats one console line (time, level, text, newline); returns its length. */
static size_t format_line(char *line, size_t size, int level, const char *fmt, va_list ap)
{
    size_t n = format_prefix(line, level);
    int m = vsnprintf(line + n, size - n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    /* A text longer than the line is cut between characters, so that the
     * console stays UTF-8. */
    n += (size_t)m < size - n - 1 ? (size_t)m : log_utf8_whole(line + n, size - n - 2);
    line[n++] = '\n';
    return n;
}

static size_t format_linef(char *line, size_t size, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t format_linef(char *line, size_t size, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = format_line(line, size, level, fmt, ap);
    va_end(ap);
    return n;
}

/* buffered: through the loop's buffer (log_write), else one write(2) at
 * once, so that lines of other threads never interleave with it. */
static void emit(int level, int buffered, const char *fmt, va_list ap)
{
    char line[16384];
    size_t n = format_line(line, sizeof line, level, fmt, ap);
    if (buffered) {
        log_write(line, n, level >= LOG_WARNING);
    } else if (console_write(line, n) != (ssize_t)n) {
        __atomic_add_fetch(&dropped_unbuffered, 1, __ATOMIC_RELAXED);
    }
}

void log_msg(int level, const char *fmt, ...)
{
    if (!server_line_shown(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, 1, fmt, ap);
    va_end(ap);
}

void log_text(int level, const char *text, size_t len)
{
    if (!server_line_shown(level))
        return;
    char line[16384];
    size_t n = format_prefix(line, level);
    if (len > sizeof line - n - 1)
        len = sizeof line - n - 1;
    memcpy(line + n, text, len);
    n += len;
    line[n++] = '\n';
    log_write(line, n, level >= LOG_WARNING);
}

void log_msg_unbuffered(int level, const char *fmt, ...)
{
    if (!server_line_shown(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, 0, fmt, ap);
    va_end(ap);
}

/* Lines wait in one buffer and leave in one write per event batch: the
 * per-request line must not cost a system call per request. Warnings and
 * errors go out at once. A console that does not take them (a full pipe,
 * a stopped terminal) never blocks the loop: what does not fit waits in
 * the buffer, lines beyond it are dropped and counted. */
static char pending[65536];
static size_t pending_len;

size_t log_pending(void)
{
    return pending_len;
}

/* Appends "N console lines dropped" once the console takes lines again. */
static void note_dropped(void)
{
    unsigned long n = dropped_lines + __atomic_exchange_n(&dropped_unbuffered, 0, __ATOMIC_RELAXED);
    dropped_lines = 0;
    if (!n)
        return;
    pending_len = format_linef(pending, sizeof pending, LOG_WARNING,
                               "%lu console lines dropped: stderr was not being read", n);
}

void log_flush(void)
{
    for (int round = 0; round < 2; round++) {
        size_t off = 0;
        while (off < pending_len) {
            ssize_t w = console_write(pending + off, pending_len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                /* Full: the rest waits for the next flush. */
                memmove(pending, pending + off, pending_len - off);
                pending_len -= off;
                return;
            }
            if (w <= 0)
                break; /* closed or failing: nothing more can be shown */
            off += (size_t)w;
        }
        pending_len = 0;
        if (round == 0)
            note_dropped();
    }
}

void log_write(const char *line, size_t n, int urgent)
{
    if (pending_len + n > sizeof pending)
        log_flush();
    if (pending_len + n > sizeof pending) {
        if (n > sizeof pending && pending_len == 0 && console_write(line, n) == (ssize_t)n)
            return;
        dropped_lines++;
        return;
    }
    memcpy(pending + pending_len, line, n);
    pending_len += n;
    if (urgent || !log_batching)
        log_flush();
}

size_t log_utf8_char_len(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        if (s[0] == 0xE0)
            lo = 0xA0; /* overlong below */
        else if (s[0] == 0xED)
            hi = 0x9F; /* UTF-16 surrogates above */
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        if (s[0] == 0xF0)
            lo = 0x90; /* overlong below */
        else if (s[0] == 0xF4)
            hi = 0x8F; /* beyond U+10FFFF above */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

int log_is_control(const unsigned char *s, size_t len)
{
    /* C1 controls, U+0080..U+009F, are 0xC2 0x80..0x9F. */
    return len == 1 ? s[0] < 0x20 || s[0] == 0x7F : len == 2 && s[0] == 0xC2 && s[1] < 0xA0;
}

size_t log_safe_text(char *out, const char *in, size_t n)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t len = log_utf8_char_len(s + i, n - i);
        if (len == 0 || log_is_control(s + i, len)) {
            out[o++] = '?';
            i += len ? len : 1;
        } else {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
        }
    }
    out[o] = '\0';
    return o;
}

/* What one text may show of itself: four full console lines' worth, each
 * line counted with its prefix, so that a long traceback shows whole
 * while a text of newlines cannot become a flood of lines. */
#define SAFE_LINES_BUDGET 65536
#define SAFE_LINE_PREFIX 64

void log_safe_lines(int level, const char *tag, const char *text, size_t n)
{
    if (level < log_min_level)
        return;
    char safe[16384];
    size_t budget = SAFE_LINES_BUDGET;
    for (;;) {
        const char *nl = memchr(text, '\n', n);
        size_t len = nl ? (size_t)(nl - text) : n;
        /* A CRLF line end is one end, not a '?'. */
        size_t shown = len > 0 && text[len - 1] == '\r' ? len - 1 : len;
        if (shown > sizeof safe - 1)
            shown = sizeof safe - 1; /* more than a console line holds */
        if (shown + SAFE_LINE_PREFIX > budget) {
            log_msg(level, "[%s] (%zu more bytes not shown)", tag, n);
            return;
        }
        budget -= shown + SAFE_LINE_PREFIX;
        log_safe_text(safe, text, shown);
        log_msg(level, "[%s] %s", tag, safe);
        if (!nl)
            return;
        text += len + 1;
        n -= len + 1;
    }
}

int log_level_parse(const char *s)
{
    for (int i = LOG_DEBUG; i <= LOG_CRITICAL; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warn") == 0)
        return LOG_WARNING;
    return -1;
}
