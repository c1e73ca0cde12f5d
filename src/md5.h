/* MD5 (RFC 1321), written from the RFC. For identifiers that must match
 * another system's (dev_appserver's user ids), never for security. */
#ifndef GAELIC_MD5_H
#define GAELIC_MD5_H

#include <stddef.h>

void md5(const void *data, size_t len, unsigned char digest[16]);

#endif
