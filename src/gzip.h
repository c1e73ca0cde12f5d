/* gzip of whole response bodies (RT6): when a response is compressed, for
 * dynamic and static responses alike, and the compression itself. */
#ifndef GAELIC_GZIP_H
#define GAELIC_GZIP_H

#include <stddef.h>

#include "buf.h"
#include "http.h"

/* Bodies shorter than this are sent as they are. Measured on short text
 * and JSON: gzip's own frame (18 bytes) and the two headers it adds
 * (Content-Encoding, Vary: 47 bytes) cost more than deflate saves below
 * about 200-250 bytes (a 97-byte JSON object became 102 bytes, 150 bytes
 * of source 140, 300 bytes 211), and such a body shares its packet with
 * the head anyway. */
#define GZIP_MIN_BYTES 256

/* 1 when a response of this Content-Type is worth compressing. */
int gzip_type_compressible(const char *ctype, size_t len);

/* The one rule of RT6: 1 when a body of `length` bytes (uncompressed) and
 * this Content-Type goes to req's client gzip-compressed: its
 * Accept-Encoding lists gzip without refusing it (q=0), its User-Agent
 * mentions gzip (App Engine's test), the type is compressible and the body
 * at least GZIP_MIN_BYTES. The caller rules out what only it knows: a
 * range, a body the app encoded itself, a status without a body. */
int gzip_wanted(const http_request_t *req, const char *ctype, size_t ctlen, size_t length);

/* Appends the gzip stream of in to out. 0 or -1. */
int gzip_compress(const char *in, size_t n, buf_t *out);

#endif
