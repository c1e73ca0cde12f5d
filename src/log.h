/* The server's console log on stderr: one line per event. */
#ifndef GAELIC_LOG_H
#define GAELIC_LOG_H

#include <stddef.h>

/* LOG_CRITICAL is only for app log lines (logging.critical, App Engine's
 * fifth level); the server's own lines stop at LOG_ERROR. */
enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARNING, LOG_ERROR, LOG_CRITICAL };

extern int log_min_level;
/* While set (inside the event loop), lines are buffered until log_flush. */
extern int log_batching;

/* Makes console writes non-blocking, for the event loop: stderr that is a
 * pipe or terminal nobody reads must not stop the server. Call once at
 * start, before threads. */
void log_console_nonblocking(void);

void log_flush(void);
/* Bytes buffered and not yet written. */
size_t log_pending(void);
/* Writes one finished line (with its newline). */
void log_write(const char *line, size_t n, int urgent);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* log_msg for a line the caller has put together (no format): the
 * per-request line, where printf's cost shows. */
void log_text(int level, const char *text, size_t len);

/* For threads other than the event loop's: written at once, bypassing the
 * loop's buffer (which only the loop thread may touch). */
void log_msg_unbuffered(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* The length of the valid UTF-8 character at s (n > 0 bytes left), 0
 * when s does not start one (RFC 3629 section 4). */
size_t log_utf8_char_len(const unsigned char *s, size_t n);

/* n, less the bytes at the end of s[0..n) that begin a UTF-8 character
 * without all of it: where a text cut at n may end without splitting one. */
size_t log_utf8_whole(const char *s, size_t n);

/* 1 when the character of len bytes at s (log_utf8_char_len's) is a
 * control a terminal may act on: C0, DEL or C1 (U+0080..U+009F). */
int log_is_control(const unsigned char *s, size_t len);

/* Text from outside (an app, a client) made fit for a console line:
 * valid UTF-8 is kept, but a control character (C0, DEL, C1) becomes one
 * '?', and so does each byte of invalid UTF-8 (a stray continuation byte,
 * an overlong form, a surrogate, a character cut at the end). out holds
 * n + 1 bytes; it is NUL-terminated, and its length returned. */
size_t log_safe_text(char *out, const char *in, size_t n);

/* Text from outside shown on the console as lines of their own (a
 * traceback has many): each is "[tag] " and the line as log_safe_text
 * makes it, so that none passes for a line of the server's. About 64 KiB
 * of console at most (each line counts with its prefix); a last line says
 * how much more there was. */
void log_safe_lines(int level, const char *tag, const char *text, size_t n);

/* Parses "debug|info|warning|error|critical" (dev_appserver's --log_level
 * choices; also "warn"); -1 when unknown. */
int log_level_parse(const char *s);

#endif
