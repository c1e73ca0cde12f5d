/* The protocol-buffer codec (src/pb.c): the remote_api bytes of
 * API-MESSAGES.md, App Engine messages encoded by hand from the wire
 * format, and its refusal of malformed input. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "pb.h"
#include "unit.h"

static int same(const buf_t *b, const void *want, size_t n)
{
    return b->len == n && memcmp(buf_ptr(b), want, n) == 0;
}

static void test_remote_api_request(void)
{
    /* system.GetSystemStats with ticket TICKET, as API-MESSAGES.md shows. */
    static const uint8_t want[] = {0x12, 6,   's',  'y', 's', 't', 'e', 'm', 0x1a, 14,  'G', 'e',
                                   't',  'S', 'y',  's', 't', 'e', 'm', 'S', 't',  'a', 't', 's',
                                   0x22, 0,   0x2a, 6,   'T', 'I', 'C', 'K', 'E',  'T'};
    buf_t b = BUF_INIT;
    CHECK(pb_put_str(&b, 2, "system") == 0);
    CHECK(pb_put_str(&b, 3, "GetSystemStats") == 0);
    CHECK(pb_put_bytes(&b, 4, "", 0) == 0);
    CHECK(pb_put_str(&b, 5, "TICKET") == 0);
    CHECK(same(&b, want, sizeof want));

    pb_reader_t r;
    pb_field_t f;
    pb_reader_init(&r, buf_ptr(&b), b.len);
    CHECK(pb_next(&r, &f) == 1 && f.num == 2 && f.wire == PB_LEN && f.len == 6 &&
          !memcmp(f.data, "system", 6));
    CHECK(pb_next(&r, &f) == 1 && f.num == 3 && f.len == 14);
    CHECK(pb_next(&r, &f) == 1 && f.num == 4 && f.len == 0);
    CHECK(pb_next(&r, &f) == 1 && f.num == 5 && f.len == 6);
    CHECK(pb_next(&r, &f) == 0);
    buf_free(&b);
}

static void test_varints(void)
{
    buf_t b = BUF_INIT;
    CHECK(pb_put_uint(&b, 1, 300) == 0);
    static const uint8_t v300[] = {0x08, 0xac, 0x02};
    CHECK(same(&b, v300, sizeof v300));
    buf_reset(&b);
    /* A negative int32 takes ten bytes, sign-extended. */
    CHECK(pb_put_int(&b, 1, -1) == 0);
    static const uint8_t minus1[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK(same(&b, minus1, sizeof minus1));
    pb_reader_t r;
    pb_field_t f;
    pb_reader_init(&r, buf_ptr(&b), b.len);
    CHECK(pb_next(&r, &f) == 1 && f.wire == PB_VARINT && (int32_t)f.u64 == -1);
    buf_reset(&b);
    CHECK(pb_put_uint(&b, PB_MAX_FIELD, UINT64_MAX) == 0);
    pb_reader_init(&r, buf_ptr(&b), b.len);
    CHECK(pb_next(&r, &f) == 1 && f.num == PB_MAX_FIELD && f.u64 == UINT64_MAX);
    buf_free(&b);
}

static void test_system_stats_response(void)
{
    /* GetSystemStatsResponse{cpu{total: 1.5}, memory{current: 2}}: tag,
     * length, then each double as a fixed64 tag and 8 little-endian bytes. */
    static const uint8_t want[] = {0x0a, 0x09, 0x11, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f,
                                   0x12, 0x09, 0x09, 0, 0, 0, 0, 0, 0, 0x00, 0x40};
    buf_t b = BUF_INIT;
    long m = pb_begin_msg(&b, 1);
    CHECK(m >= 0 && pb_put_double(&b, 2, 1.5) == 0 && pb_end_msg(&b, m) == 0);
    m = pb_begin_msg(&b, 2);
    CHECK(m >= 0 && pb_put_double(&b, 1, 2.0) == 0 && pb_end_msg(&b, m) == 0);
    CHECK(same(&b, want, sizeof want));

    pb_reader_t r, inner;
    pb_field_t f, g;
    pb_reader_init(&r, buf_ptr(&b), b.len);
    CHECK(pb_next(&r, &f) == 1 && f.num == 1 && f.wire == PB_LEN);
    pb_reader_init(&inner, f.data, f.len);
    CHECK(pb_next(&inner, &g) == 1 && g.num == 2 && g.wire == PB_FIXED64 && pb_double(&g) == 1.5);
    CHECK(pb_next(&inner, &g) == 0);
    buf_free(&b);
}

static void test_long_submessage(void)
{
    /* A sub-message over 127 bytes needs a two-byte length: the body moves. */
    buf_t b = BUF_INIT;
    char text[300];
    memset(text, 'a', sizeof text);
    CHECK(buf_append(&b, "\x08\x01", 2) == 0);
    long m = pb_begin_msg(&b, 3);
    CHECK(pb_put_bytes(&b, 2, text, sizeof text) == 0 && pb_end_msg(&b, m) == 0);
    pb_reader_t r, inner;
    pb_field_t f, g;
    pb_reader_init(&r, buf_ptr(&b), b.len);
    CHECK(pb_next(&r, &f) == 1 && f.num == 1 && f.u64 == 1);
    CHECK(pb_next(&r, &f) == 1 && f.num == 3 && f.len == 303);
    pb_reader_init(&inner, f.data, f.len);
    CHECK(pb_next(&inner, &g) == 1 && g.num == 2 && g.len == 300 && g.data[299] == 'a');
    CHECK(pb_next(&r, &f) == 0);
    buf_free(&b);
}

static int parses(const void *p, size_t n)
{
    pb_reader_t r;
    pb_field_t f;
    int rc;
    pb_reader_init(&r, p, n);
    while ((rc = pb_next(&r, &f)) > 0)
        ;
    return rc == 0;
}

static void test_malformed(void)
{
    CHECK(parses("", 0));
    CHECK(parses("\x08\x01\x11\x01\x02\x03\x04\x05\x06\x07\x08\x1d\x01\x02\x03\x04", 16));
    CHECK(!parses("\x08", 1));     /* a key without its value */
    CHECK(!parses("\x08\x80", 2)); /* truncated varint */
    CHECK(!parses("\x12\x05"
                  "abc",
                  5));                                                  /* length past the end */
    CHECK(!parses("\x11\x01\x02", 3));                                  /* truncated fixed64 */
    CHECK(!parses("\x00\x01", 2));                                      /* field number 0 */
    CHECK(!parses("\x0e\x01", 2));                                      /* wire type 6 */
    CHECK(!parses("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11)); /* over 64 bits */
    CHECK(!parses("\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11)); /* huge length */
    /* Once malformed, the reader stays failed. */
    pb_reader_t r;
    pb_field_t f;
    pb_reader_init(&r, "\x08", 1);
    CHECK(pb_next(&r, &f) == -1 && pb_next(&r, &f) == -1);
}

/* Unknown groups are skipped as protobuf skips them; their end tags must
 * match. */
static void test_groups(void)
{
    /* 10 { 1: 1, 11 { } } then 1: "x" */
    static const char msg[] = "\x53\x08\x01\x5b\x5c\x54\x0a\x01x";
    pb_reader_t r;
    pb_field_t f;
    pb_reader_init(&r, msg, sizeof msg - 1);
    CHECK(pb_next(&r, &f) == 1 && f.num == 10 && f.wire == PB_GROUP && f.len == 4 &&
          memcmp(f.data, "\x08\x01\x5b\x5c", 4) == 0);
    CHECK(pb_next(&r, &f) == 1 && f.num == 1 && f.wire == PB_LEN && f.len == 1);
    CHECK(pb_next(&r, &f) == 0);
    CHECK(parses("\x0b\x0c", 2));              /* an empty group */
    CHECK(!parses("\x0b", 1));                 /* no end tag */
    CHECK(!parses("\x0b\x14", 2));             /* closed by another field's end tag */
    CHECK(!parses("\x0c", 1));                 /* an end tag without its group */
    CHECK(!parses("\x0b\x08\x01\x0c\x0c", 5)); /* one end tag too many */
    /* Nested as deep as protobuf allows, and one more. */
    char deep[2 * (PB_MAX_DEPTH + 1)];
    for (int i = 0; i <= PB_MAX_DEPTH; i++) {
        deep[i] = 0x0b;
        deep[2 * (PB_MAX_DEPTH + 1) - 1 - i] = 0x0c;
    }
    CHECK(parses(deep + 1, 2 * PB_MAX_DEPTH));
    CHECK(!parses(deep, sizeof deep));
}

static void test_utf8(void)
{
    CHECK(pb_utf8_valid((const uint8_t *)"plain", 5));
    CHECK(pb_utf8_valid((const uint8_t *)"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
    CHECK(!pb_utf8_valid((const uint8_t *)"\xff", 1));
    CHECK(!pb_utf8_valid((const uint8_t *)"\xc3", 1));             /* truncated */
    CHECK(!pb_utf8_valid((const uint8_t *)"\xc0\xaf", 2));         /* overlong */
    CHECK(!pb_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));     /* a surrogate */
    CHECK(!pb_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
}

int main(void)
{
    test_remote_api_request();
    test_varints();
    test_system_stats_response();
    test_long_submessage();
    test_malformed();
    test_groups();
    test_utf8();
    UNIT_DONE();
}
