/* Growable byte buffer. The buffer owns `data`; buf_free releases it. */
#ifndef GAELIC_BUF_H
#define GAELIC_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *data;
    size_t len; /* bytes in use, starting at data + off */
    size_t off; /* bytes already consumed at the front */
    size_t cap;
} buf_t;

#define BUF_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

/* All return 0 on success, -1 when memory runs out (buffer unchanged). */
int buf_reserve(buf_t *b, size_t extra);
int buf_append(buf_t *b, const void *p, size_t n);
int buf_append_str(buf_t *b, const char *s);
/* Decimal digits of v, without printf's cost on the per-request path:
 * appended, or written NUL-terminated into out (returns their count). */
#define BUF_UINT_SIZE 21
int buf_append_uint(buf_t *b, unsigned long long v);
size_t buf_format_uint(char out[BUF_UINT_SIZE], unsigned long long v);
int buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What buf_ptr gives a buffer that never held anything: a pointer to no
 * bytes, but not a null one (arithmetic on null, and memcpy from it, are
 * undefined even for 0 bytes). */
extern char buf_no_data[1];

static inline char *buf_ptr(const buf_t *b)
{
    return b->data ? b->data + b->off : buf_no_data;
}

/* Drops n bytes from the front (cheap; compacts lazily). */
void buf_consume(buf_t *b, size_t n);
void buf_reset(buf_t *b);
void buf_free(buf_t *b);
/* Frees an empty buffer whose memory passes keep bytes, so that what one
 * large message took is not held for the rest of a long-lived owner's
 * life (an idle keep-alive connection). */
void buf_trim(buf_t *b, size_t keep);

#endif
