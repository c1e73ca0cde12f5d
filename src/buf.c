#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char buf_no_data[1];

int buf_reserve(buf_t *b, size_t extra)
{
    if (b->off + b->len + extra <= b->cap)
        return 0;
    /* Reclaim consumed space before growing. */
    if (b->off > 0) {
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
        if (b->len + extra <= b->cap)
            return 0;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) {
        if (cap > ((size_t)-1) / 2)
            return -1;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_append(buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->off + b->len, p, n);
    b->len += n;
    return 0;
}

int buf_append_str(buf_t *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

size_t buf_format_uint(char out[BUF_UINT_SIZE], unsigned long long v)
{
    char digits[BUF_UINT_SIZE];
    size_t n = 0;
    do {
        digits[sizeof digits - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(out, digits + sizeof digits - n, n);
    out[n] = '\0';
    return n;
}

int buf_append_uint(buf_t *b, unsigned long long v)
{
    char digits[BUF_UINT_SIZE];
    return buf_append(b, digits, buf_format_uint(digits, v));
}

int buf_printf(buf_t *b, const char *fmt, ...)
{
    /* Most lines fit the room a small reserve leaves: format once, and
     * again only when it was too small. */
    if (buf_reserve(b, 128) < 0)
        return -1;
    size_t room = b->cap - b->off - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->off + b->len, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n >= room) {
        if (buf_reserve(b, (size_t)n + 1) < 0)
            return -1;
        va_start(ap, fmt);
        vsnprintf(b->data + b->off + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
    return 0;
}

void buf_consume(buf_t *b, size_t n)
{
    if (n >= b->len) {
        b->off = 0;
        b->len = 0;
        return;
    }
    b->off += n;
    b->len -= n;
}

void buf_reset(buf_t *b)
{
    b->off = 0;
    b->len = 0;
}

void buf_trim(buf_t *b, size_t keep)
{
    if (b->len == 0 && b->cap > keep)
        buf_free(b);
}

void buf_free(buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->off = b->cap = 0;
}
