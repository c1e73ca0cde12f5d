/* gzip of whole response bodies (RT6): when a response is compressed, for
 * dynamic and static responses alike, and the compression itself. */
#ifndef GAELIC_GZIP_H
#define GAELIC_GZIP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"

/* Bodies shorter than this are sent as they are. Measured on short text
 * and JSON: gzip's own frame (18 bytes) and its header (Content-Encoding,
 * 24 bytes) cost more than deflate saves below about 200-250 bytes (a
 * 97-byte JSON object became 102 bytes, 150 bytes of source 140, 300
 * bytes 211), and such a body shares its packet with the head anyway. */
#define GZIP_MIN_BYTES 256

/* The length to decide on for a body whose size is not known (an empty
 * HEAD answer without a Content-Length): taken to be long enough. */
#define GZIP_LENGTH_UNKNOWN SIZE_MAX

/* 1 when a response of this Content-Type is worth compressing. */
int gzip_type_compressible(const char *ctype, size_t len);

/* 1 when a response of this Content-Type (NULL: none) carries Vary:
 * Accept-Encoding, compressed or not: such a response is compressed for
 * some requests and not others (gzip_wanted), and a cache must not hand
 * one client's variant to another. The caller rules out a body the app
 * encoded itself and a status that never has one (204, 205); a 304 and a
 * 206 carry the Vary of the 200 (RFC 9110 15.4.5, 15.3.7). Whatever the
 * body's length: an empty HEAD answer and a 304 cannot know it, yet say
 * what the GET or the 200 would; on a small body it costs 23 bytes. Not
 * User-Agent, though gzip_wanted reads it: a cache keyed on
 * Accept-Encoding alone gives gzip only to a client that lists it, else
 * the plain body, which any client takes; Vary: User-Agent would split a
 * shared cache into one entry per browser build. */
int gzip_varies(const char *ctype, size_t len);

/* 1 when req's client takes gzip by RT6's rule: its Accept-Encoding lists
 * gzip without refusing it (q=0) and its User-Agent mentions gzip. */
int gzip_accepted(const http_request_t *req);

/* The one rule of RT6: 1 when a body of `length` bytes (uncompressed) and
 * this Content-Type goes to req's client gzip-compressed: the client takes
 * gzip (gzip_accepted), the type is compressible and the body at least
 * GZIP_MIN_BYTES. The caller rules out what only it knows: a
 * range, a body the app encoded itself, a status without a body. */
int gzip_wanted(const http_request_t *req, const char *ctype, size_t ctlen, size_t length);

/* Appends the gzip stream of in to out. 0 or -1. */
int gzip_compress(const char *in, size_t n, buf_t *out);
/* The same, giving up (-1, out as it was) once *cancel is set: it is
 * looked at after each megabyte of input. */
int gzip_compress_cancellable(const char *in, size_t n, buf_t *out, const atomic_int *cancel);

#endif
