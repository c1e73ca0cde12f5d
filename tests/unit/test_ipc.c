/* Channel frames (ipc.h): headers with their flags, and the bounds-checked
 * payload reader. */
#include <stdint.h>
#include <string.h>

#include "ipc.h"
#include "unit.h"

static void test_frame_header(void)
{
    buf_t b = BUF_INIT;
    buf_append(&b, "xy", 2); /* a frame need not start the buffer */
    long start = ipc_begin_frame(&b, IPC_RESPONSE, 0x01020304u);
    CHECK(start == 2);
    CHECK(ipc_put_u32(&b, 7) == 0 && ipc_put_bytes(&b, "abc", 3) == 0);
    CHECK(ipc_end_frame(&b, start) == 0);
    ipc_hdr_t h;
    ipc_parse_hdr((const uint8_t *)buf_ptr(&b) + start, &h);
    CHECK(h.len == 4 + 4 + 3);
    CHECK(h.type == IPC_RESPONSE);
    CHECK(h.flags == 0);
    CHECK(h.id == 0x01020304u);
    CHECK(b.len == 2 + IPC_HDR_SIZE + h.len);

    /* Flags change nothing else, and take both bytes. */
    ipc_set_flags(&b, start, IPC_FLAG_DEADLINE);
    ipc_parse_hdr((const uint8_t *)buf_ptr(&b) + start, &h);
    CHECK(h.flags == IPC_FLAG_DEADLINE);
    CHECK(h.type == IPC_RESPONSE && h.id == 0x01020304u && h.len == 11);
    ipc_set_flags(&b, start, 0xbeef);
    ipc_parse_hdr((const uint8_t *)buf_ptr(&b) + start, &h);
    CHECK(h.flags == 0xbeef && h.type == IPC_RESPONSE);
    CHECK(memcmp(buf_ptr(&b), "xy", 2) == 0);
    buf_free(&b);
}

static void test_empty_control_frame(void)
{
    buf_t b = BUF_INIT;
    long start = ipc_begin_frame(&b, IPC_DEADLINE, 42);
    CHECK(start == 0 && ipc_end_frame(&b, start) == 0);
    CHECK(b.len == IPC_HDR_SIZE);
    ipc_hdr_t h;
    ipc_parse_hdr((const uint8_t *)buf_ptr(&b), &h);
    CHECK(h.len == 0 && h.type == IPC_DEADLINE && h.id == 42 && h.flags == 0);
    buf_free(&b);
}

static void test_reader(void)
{
    buf_t b = BUF_INIT;
    ipc_put_u32(&b, 5);
    ipc_put_bytes(&b, "hello", 5);
    ipc_reader_t r;
    ipc_reader_init(&r, buf_ptr(&b), b.len);
    uint32_t v;
    const char *p;
    uint32_t n;
    CHECK(ipc_get_u32(&r, &v) == 0 && v == 5);
    CHECK(ipc_get_bytes(&r, &p, &n) == 0 && n == 5 && memcmp(p, "hello", 5) == 0);
    CHECK(r.left == 0 && !r.err);
    CHECK(ipc_get_u32(&r, &v) < 0 && r.err);

    /* A length beyond the payload fails, and every get after it. */
    buf_reset(&b);
    ipc_put_u32(&b, 100);
    buf_append(&b, "abc", 3);
    ipc_put_u32(&b, 1);
    ipc_reader_init(&r, buf_ptr(&b), b.len);
    CHECK(ipc_get_bytes(&r, &p, &n) < 0);
    CHECK(ipc_get_u32(&r, &v) < 0);
    buf_free(&b);
}

/* CPU times cross the channel as u64 (ipc.h): little-endian like u32, and
 * values past 2^32 keep their high half. */
static void test_u64(void)
{
    buf_t b = BUF_INIT;
    CHECK(ipc_put_u64(&b, 0x0102030405060708ull) == 0);
    CHECK(ipc_put_u64(&b, UINT64_MAX) == 0);
    CHECK(ipc_put_u64(&b, 5000000007ull) == 0);
    CHECK(b.len == 24);
    CHECK(memcmp(buf_ptr(&b), "\x08\x07\x06\x05\x04\x03\x02\x01", 8) == 0);
    ipc_reader_t r;
    ipc_reader_init(&r, buf_ptr(&b), b.len);
    uint64_t v;
    CHECK(ipc_get_u64(&r, &v) == 0 && v == 0x0102030405060708ull);
    CHECK(ipc_get_u64(&r, &v) == 0 && v == UINT64_MAX);
    CHECK(ipc_get_u64(&r, &v) == 0 && v == 5000000007ull);
    CHECK(r.left == 0 && !r.err);

    /* A u32 then a u64, as IPC_BACKGROUND_END lays them out. */
    buf_reset(&b);
    CHECK(ipc_put_u32(&b, 1) == 0 && ipc_put_u64(&b, (1ull << 32) + 3) == 0);
    CHECK(memcmp(buf_ptr(&b), "\1\0\0\0\3\0\0\0\1\0\0\0", 12) == 0);
    uint32_t w;
    ipc_reader_init(&r, buf_ptr(&b), b.len);
    CHECK(ipc_get_u32(&r, &w) == 0 && w == 1);
    CHECK(ipc_get_u64(&r, &v) == 0 && v == (1ull << 32) + 3);

    /* Fewer than 8 bytes left: fails, consumes nothing, and sticks. */
    ipc_reader_init(&r, buf_ptr(&b), 7);
    v = 42;
    CHECK(ipc_get_u64(&r, &v) < 0 && r.err && v == 42 && r.left == 7);
    CHECK(ipc_get_u32(&r, &w) < 0);
    buf_free(&b);
}

int main(void)
{
    test_frame_header();
    test_empty_control_frame();
    test_reader();
    test_u64();
    UNIT_DONE();
}
