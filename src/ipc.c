#include "ipc.h"

#include <string.h>

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

long ipc_begin_frame(buf_t *b, uint16_t type, uint32_t id)
{
    uint8_t h[IPC_HDR_SIZE];
    put_le32(h, 0);
    h[4] = (uint8_t)type;
    h[5] = (uint8_t)(type >> 8);
    h[6] = h[7] = 0;
    put_le32(h + 8, id);
    long start = (long)b->len;
    if (buf_append(b, h, sizeof h) < 0)
        return -1;
    return start;
}

int ipc_end_frame(buf_t *b, long start)
{
    size_t payload = b->len - (size_t)start - IPC_HDR_SIZE;
    if (payload > IPC_MAX_PAYLOAD)
        return -1;
    put_le32((uint8_t *)buf_ptr(b) + start, (uint32_t)payload);
    return 0;
}

void ipc_set_flags(buf_t *b, long start, uint16_t flags)
{
    uint8_t *h = (uint8_t *)buf_ptr(b) + start;
    h[6] = (uint8_t)flags;
    h[7] = (uint8_t)(flags >> 8);
}

int ipc_put_u32(buf_t *b, uint32_t v)
{
    uint8_t p[4];
    put_le32(p, v);
    return buf_append(b, p, 4);
}

int ipc_put_u64(buf_t *b, uint64_t v)
{
    uint8_t p[8];
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
    return buf_append(b, p, 8);
}

int ipc_put_bytes(buf_t *b, const void *p, size_t n)
{
    if (n > IPC_MAX_PAYLOAD)
        return -1;
    if (ipc_put_u32(b, (uint32_t)n) < 0)
        return -1;
    return buf_append(b, p, n);
}

void ipc_parse_hdr(const uint8_t *p, ipc_hdr_t *h)
{
    h->len = get_le32(p);
    h->type = (uint16_t)(p[4] | p[5] << 8);
    h->flags = (uint16_t)(p[6] | p[7] << 8);
    h->id = get_le32(p + 8);
}

void ipc_reader_init(ipc_reader_t *r, const void *p, size_t n)
{
    r->p = p;
    r->left = n;
    r->err = 0;
}

int ipc_get_u32(ipc_reader_t *r, uint32_t *v)
{
    if (r->err || r->left < 4) {
        r->err = 1;
        return -1;
    }
    *v = get_le32(r->p);
    r->p += 4;
    r->left -= 4;
    return 0;
}

int ipc_get_u64(ipc_reader_t *r, uint64_t *v)
{
    uint32_t lo, hi;
    if (r->left < 8)
        r->err = 1; /* reads nothing of a short one */
    if (ipc_get_u32(r, &lo) < 0 || ipc_get_u32(r, &hi) < 0)
        return -1;
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

int ipc_get_bytes(ipc_reader_t *r, const char **p, uint32_t *n)
{
    uint32_t len;
    if (ipc_get_u32(r, &len) < 0)
        return -1;
    if (len > r->left) {
        r->err = 1;
        return -1;
    }
    *p = (const char *)r->p;
    *n = len;
    r->p += len;
    r->left -= len;
    return 0;
}
