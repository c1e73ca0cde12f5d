#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_min_level = LOG_INFO;
int log_batching;

static const char *const level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};

/* Formats one console line (time, level, text, newline); returns its length. */
static size_t format_line(char *line, size_t size, int level, const char *fmt, va_list ap)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(line, size, "%Y-%m-%d %H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, size - n, ".%03d %s ", (int)(tv.tv_usec / 1000),
                          level_names[level]);
    int m = vsnprintf(line + n, size - n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    n += (size_t)m < size - n - 1 ? (size_t)m : size - n - 2;
    line[n++] = '\n';
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
    } else {
        ssize_t w = write(2, line, n);
        (void)w;
    }
}

void log_msg(int level, const char *fmt, ...)
{
    if (level < log_min_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, 1, fmt, ap);
    va_end(ap);
}

void log_msg_unbuffered(int level, const char *fmt, ...)
{
    if (level < log_min_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, 0, fmt, ap);
    va_end(ap);
}

/* Lines wait in one buffer and leave in one write per event batch: the
 * per-request line must not cost a system call per request. Warnings and
 * errors go out at once. */
static char pending[65536];
static size_t pending_len;

size_t log_pending(void)
{
    return pending_len;
}

void log_flush(void)
{
    size_t off = 0;
    while (off < pending_len) {
        ssize_t w = write(2, pending + off, pending_len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    pending_len = 0;
}

void log_write(const char *line, size_t n, int urgent)
{
    if (pending_len + n > sizeof pending)
        log_flush();
    if (n > sizeof pending) {
        ssize_t w = write(2, line, n);
        (void)w;
        return;
    }
    memcpy(pending + pending_len, line, n);
    pending_len += n;
    if (urgent || !log_batching)
        log_flush();
}

int log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warn") == 0)
        return LOG_WARNING;
    return -1;
}
