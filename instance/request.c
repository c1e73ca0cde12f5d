#include "request.h"

#include <stdlib.h>

#include "ipc.h"

gaelic_request_t *request_alloc(uint32_t id, size_t payload_len)
{
    gaelic_request_t *r = malloc(sizeof *r + payload_len);
    if (!r)
        return NULL;
    r->next = NULL;
    r->id = id;
    r->payload_len = payload_len;
    return r;
}

int request_parse(gaelic_request_t *r, const char **why)
{
    ipc_reader_t rd;
    ipc_reader_init(&rd, r->payload, r->payload_len);

    if (ipc_get_bytes(&rd, &r->script, &r->script_len) < 0) {
        *why = "truncated script";
        return -1;
    }
    if (ipc_get_u32(&rd, &r->n_env) < 0) {
        *why = "truncated environ count";
        return -1;
    }
    /* Each pair takes at least 8 bytes: reject absurd counts before walking. */
    if (r->n_env > rd.left / 8) {
        *why = "environ count larger than the payload";
        return -1;
    }
    r->env = rd.p;
    for (uint32_t i = 0; i < r->n_env; i++) {
        const char *k, *v;
        uint32_t kn, vn;
        if (ipc_get_bytes(&rd, &k, &kn) < 0 || ipc_get_bytes(&rd, &v, &vn) < 0) {
            *why = "truncated environ pair";
            return -1;
        }
        if (kn == 0) {
            *why = "empty environ key";
            return -1;
        }
    }
    r->env_len = (size_t)(rd.p - r->env);
    if (ipc_get_bytes(&rd, &r->body, &r->body_len) < 0) {
        *why = "truncated body";
        return -1;
    }
    if (rd.left != 0) {
        *why = "trailing bytes after the body";
        return -1;
    }
    return 0;
}

void request_free(gaelic_request_t *r)
{
    free(r);
}
