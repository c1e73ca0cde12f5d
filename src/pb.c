#include "pb.h"

#include <string.h>

int pb_put_varint(buf_t *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        tmp[n++] = byte | (v ? 0x80 : 0);
    } while (v);
    return buf_append(b, tmp, n);
}

int pb_put_tag(buf_t *b, uint32_t field, enum pb_wire wire)
{
    return pb_put_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

int pb_put_uint(buf_t *b, uint32_t field, uint64_t v)
{
    return pb_put_tag(b, field, PB_VARINT) < 0 ? -1 : pb_put_varint(b, v);
}

int pb_put_int(buf_t *b, uint32_t field, int64_t v)
{
    return pb_put_uint(b, field, (uint64_t)v);
}

int pb_put_double(buf_t *b, uint32_t field, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(bits >> (8 * i));
    return pb_put_tag(b, field, PB_FIXED64) < 0 ? -1 : buf_append(b, le, 8);
}

int pb_put_bytes(buf_t *b, uint32_t field, const void *p, size_t n)
{
    if (pb_put_tag(b, field, PB_LEN) < 0 || pb_put_varint(b, n) < 0)
        return -1;
    return n ? buf_append(b, p, n) : 0;
}

int pb_put_str(buf_t *b, uint32_t field, const char *s)
{
    return pb_put_bytes(b, field, s, strlen(s));
}

/* The length goes in one byte, which is enough for most sub-messages; a
 * longer one is moved up to make room for its length's varint. */
long pb_begin_msg(buf_t *b, uint32_t field)
{
    if (pb_put_tag(b, field, PB_LEN) < 0 || buf_append(b, "", 1) < 0)
        return -1;
    return (long)b->len;
}

int pb_end_msg(buf_t *b, long mark)
{
    size_t body = b->len - (size_t)mark;
    uint8_t len[10];
    size_t n = 0;
    uint64_t v = body;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        len[n++] = byte | (v ? 0x80 : 0);
    } while (v);
    if (n > 1) {
        if (buf_reserve(b, n - 1) < 0)
            return -1;
        char *start = buf_ptr(b) + mark;
        memmove(start + n - 1, start, body);
        b->len += n - 1;
    }
    memcpy(buf_ptr(b) + mark - 1, len, n);
    return 0;
}

void pb_reader_init(pb_reader_t *r, const void *p, size_t n)
{
    r->p = p;
    r->left = n;
    r->err = 0;
}

static int get_varint(pb_reader_t *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (r->left == 0)
            return -1;
        uint8_t byte = *r->p++;
        r->left--;
        /* The tenth byte may only carry the top bit of a 64-bit value. */
        if (i == 9 && byte > 1)
            return -1;
        v |= (uint64_t)(byte & 0x7f) << (7 * i);
        if (!(byte & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static int fail(pb_reader_t *r)
{
    r->err = 1;
    return -1;
}

/* One field, its key included: 0, or -1 when it is malformed. A group is
 * read to its end tag, which must carry its number; an end tag is left to
 * the caller to match. Groups nest at most PB_MAX_DEPTH deep, protobuf's
 * own recursion limit. */
static int read_field(pb_reader_t *r, pb_field_t *f, int depth)
{
    uint64_t key;
    if (get_varint(r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > PB_MAX_FIELD)
        return -1;
    f->num = (uint32_t)(key >> 3);
    f->wire = (enum pb_wire)(key & 7);
    f->u64 = 0;
    f->data = NULL;
    f->len = 0;
    switch (key & 7) {
    case PB_VARINT:
        return get_varint(r, &f->u64);
    case PB_FIXED64:
    case PB_FIXED32: {
        size_t n = (key & 7) == PB_FIXED64 ? 8 : 4;
        if (r->left < n)
            return -1;
        for (size_t i = 0; i < n; i++)
            f->u64 |= (uint64_t)r->p[i] << (8 * i);
        f->data = r->p;
        f->len = n;
        r->p += n;
        r->left -= n;
        return 0;
    }
    case PB_LEN: {
        uint64_t n;
        if (get_varint(r, &n) < 0 || n > r->left)
            return -1;
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        r->left -= (size_t)n;
        return 0;
    }
    case PB_GROUP: {
        if (depth >= PB_MAX_DEPTH)
            return -1;
        const uint8_t *start = r->p;
        for (;;) {
            const uint8_t *at = r->p;
            pb_field_t inner;
            if (read_field(r, &inner, depth + 1) < 0)
                return -1;
            if (inner.wire == PB_GROUP_END) {
                if (inner.num != f->num)
                    return -1;
                f->data = start;
                f->len = (size_t)(at - start);
                return 0;
            }
        }
    }
    case PB_GROUP_END:
        return 0;
    default:
        return -1;
    }
}

int pb_next(pb_reader_t *r, pb_field_t *f)
{
    if (r->err)
        return -1;
    if (r->left == 0)
        return 0;
    /* An end tag here closes no group. */
    if (read_field(r, f, 0) < 0 || f->wire == PB_GROUP_END)
        return fail(r);
    return 1;
}

double pb_double(const pb_field_t *f)
{
    double d;
    memcpy(&d, &f->u64, sizeof d);
    return d;
}

int pb_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            k = 1;
            cp = c & 0x1f;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2;
            cp = c & 0x0f;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k + 1;
    }
    return 1;
}
