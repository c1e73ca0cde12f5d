#include "gzip.h"

#include <string.h>
#include <strings.h>
#include <zlib.h>

int gzip_type_compressible(const char *ctype, size_t len)
{
    size_t n = 0;
    while (n < len && ctype[n] != ';' && ctype[n] != ' ')
        n++;
    if (n >= 5 && strncasecmp(ctype, "text/", 5) == 0)
        return 1;
    static const char *const types[] = {
        "application/json",
        "application/javascript",
        "application/x-javascript",
        "application/xml",
        "application/xhtml+xml",
        "application/rss+xml",
        "application/atom+xml",
        "application/ld+json",
        "application/manifest+json",
        "application/wasm",
        "image/svg+xml",
        "image/x-icon",
        "application/x-font-ttf",
        "font/ttf",
        "font/otf",
    };
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strlen(types[i]) == n && strncasecmp(ctype, types[i], n) == 0)
            return 1;
    /* Structured syntax suffixes: anything+json, anything+xml. */
    if (n > 5 && (strncasecmp(ctype + n - 5, "+json", 5) == 0))
        return 1;
    if (n > 4 && (strncasecmp(ctype + n - 4, "+xml", 4) == 0))
        return 1;
    return 0;
}

int gzip_varies(const char *ctype, size_t len)
{
    return ctype && gzip_type_compressible(ctype, len);
}

int gzip_accepted(const http_request_t *req)
{
    size_t ua_len;
    const char *ua = http_request_header(req, "user-agent", &ua_len);
    /* App Engine compressed only when both headers mention gzip; not for a
     * client that lists it to refuse it (gzip;q=0). x-gzip is gzip's old
     * name, which RFC 9110 8.4.1.3 asks to take as gzip. */
    return ua && http_contains(ua, ua_len, "gzip", 1) &&
           (http_request_accepts_coding(req, "gzip") || http_request_accepts_coding(req, "x-gzip"));
}

int gzip_wanted(const http_request_t *req, const char *ctype, size_t ctlen, size_t length)
{
    return ctype && length >= GZIP_MIN_BYTES && gzip_type_compressible(ctype, ctlen) &&
           gzip_accepted(req);
}

/* Input handed to deflate at a time: cancel is looked at in between. */
#define GZIP_SLICE_BYTES (1u << 20)

int gzip_compress_cancellable(const char *in, size_t n, buf_t *out, const atomic_int *cancel)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* windowBits 15 + 16 selects the gzip wrapper. */
    if (deflateInit2(&z, 5, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t bound = deflateBound(&z, n);
    size_t mark = out->len;
    if (buf_reserve(out, bound) < 0) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)in;
    z.next_out = (Bytef *)(buf_ptr(out) + out->len);
    z.avail_out = (uInt)bound;
    size_t left = n;
    int rc;
    do {
        size_t slice = left < GZIP_SLICE_BYTES ? left : GZIP_SLICE_BYTES;
        z.avail_in += (uInt)slice; /* with room to write (bound), deflate takes it all */
        left -= slice;
        rc = deflate(&z, left ? Z_NO_FLUSH : Z_FINISH);
    } while (rc == Z_OK && left && !(cancel && atomic_load(cancel)));
    if (rc != Z_STREAM_END) {
        deflateEnd(&z);
        out->len = mark;
        return -1;
    }
    out->len += z.total_out;
    deflateEnd(&z);
    return 0;
}

int gzip_compress(const char *in, size_t n, buf_t *out)
{
    return gzip_compress_cancellable(in, n, out, NULL);
}
