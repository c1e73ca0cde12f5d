/* gzip of whole response bodies (RT6). */
#ifndef GAELIC_GZIP_H
#define GAELIC_GZIP_H

#include <stddef.h>

#include "buf.h"

/* 1 when a response of this Content-Type is worth compressing. */
int gzip_type_compressible(const char *ctype, size_t len);
/* Appends the gzip stream of in to out. 0 or -1. */
int gzip_compress(const char *in, size_t n, buf_t *out);

#endif
