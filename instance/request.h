/* One IPC_REQUEST received from the master (payload layout: ipc.h).
 *
 * Ownership: the channel reader allocates a request with request_alloc and
 * fills `payload`; request_parse validates it and sets the views, which all
 * point into `payload` (no copies). The queue then owns it, a worker takes it
 * and frees it with request_free once the environ has been built. */
#ifndef GAELIC_REQUEST_H
#define GAELIC_REQUEST_H

#include <stddef.h>
#include <stdint.h>

typedef struct gaelic_request {
    struct gaelic_request *next; /* queue link */
    uint32_t id;
    const char *script;
    uint32_t script_len;
    uint32_t n_env;
    const uint8_t *env; /* n_env x (bytes key, bytes value), already validated */
    size_t env_len;
    const char *body;
    uint32_t body_len;
    size_t payload_len;
    uint8_t payload[];
} gaelic_request_t;

/* Returns NULL when memory runs out. */
gaelic_request_t *request_alloc(uint32_t id, size_t payload_len);

/* Checks that the payload is exactly script, n_env pairs and body, nothing
 * missing and nothing after it, and sets the views. Returns 0, or -1 with a
 * static reason in *why. */
int request_parse(gaelic_request_t *r, const char **why);

void request_free(gaelic_request_t *r);

#endif
