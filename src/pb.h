/* A small protocol-buffer (proto2 wire format) encoder and decoder for App
 * Engine's API messages (see ../shared/API-MESSAGES.md): varints, 64-bit
 * fixed values and length-delimited fields. The decoder also reads groups
 * (wire types 3 and 4, which none of our messages use), so that an unknown
 * one is skipped as protobuf skips it.
 *
 * Encoding appends to a buf_t; every pb_put_* returns 0, or -1 when memory
 * runs out. Decoding walks a byte range without copying: field views point
 * into the input. Input is untrusted; every length is checked. */
#ifndef GAELIC_PB_H
#define GAELIC_PB_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum pb_wire {
    PB_VARINT = 0,
    PB_FIXED64 = 1,
    PB_LEN = 2,
    PB_GROUP = 3,
    PB_GROUP_END = 4,
    PB_FIXED32 = 5
};

/* Largest field number protobuf allows. */
#define PB_MAX_FIELD 536870911u
/* How deep groups may nest, as protobuf's default recursion limit. */
#define PB_MAX_DEPTH 100

int pb_put_varint(buf_t *b, uint64_t v);
int pb_put_tag(buf_t *b, uint32_t field, enum pb_wire wire);
/* int32/int64/uint32/uint64/bool/enum fields (negative int32 values take
 * ten bytes, as in protobuf). */
int pb_put_uint(buf_t *b, uint32_t field, uint64_t v);
int pb_put_int(buf_t *b, uint32_t field, int64_t v);
int pb_put_double(buf_t *b, uint32_t field, double v);
/* string, bytes, and an already serialized sub-message. */
int pb_put_bytes(buf_t *b, uint32_t field, const void *p, size_t n);
int pb_put_str(buf_t *b, uint32_t field, const char *s);

/* A sub-message written in place: pb_begin_msg writes the tag and returns a
 * mark for pb_end_msg, which writes the length (-1: out of memory). */
long pb_begin_msg(buf_t *b, uint32_t field);
int pb_end_msg(buf_t *b, long mark);

typedef struct {
    const uint8_t *p;
    size_t left;
    int err; /* set on malformed input; every later pb_next returns -1 */
} pb_reader_t;

typedef struct {
    uint32_t num;
    enum pb_wire wire;
    uint64_t u64;        /* PB_VARINT value; the raw bits for fixed types */
    const uint8_t *data; /* PB_LEN: the bytes; PB_GROUP: its fields (into the input) */
    size_t len;
} pb_field_t;

void pb_reader_init(pb_reader_t *r, const void *p, size_t n);
/* The next field: 1, 0 at the end of the input, -1 when it is malformed
 * (truncated, overlong varint, field number 0, a group without its own end
 * tag, an end tag without its group, groups nested past PB_MAX_DEPTH, wire
 * type 6/7). */
int pb_next(pb_reader_t *r, pb_field_t *f);

/* A fixed64 field as a double. */
double pb_double(const pb_field_t *f);
/* 1 when the bytes are valid UTF-8 (a proto2 string field must be). */
int pb_utf8_valid(const uint8_t *p, size_t n);

#endif
