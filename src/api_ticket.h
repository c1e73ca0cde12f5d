/* API tickets: how a call that reaches the HTTP API server (api_http.h)
 * proves which running request makes it (API-MESSAGES.md section 1,
 * "Where the ticket comes from").
 *
 * Every request the pool forwards to an instance gets a ticket, sent as
 * X-AppEngine-Api-Ticket (environ HTTP_X_APPENGINE_API_TICKET): 128 bits
 * from getrandom(2), written as 32 lowercase hex digits. It names that
 * request only while the request runs: the pool revokes it when the
 * request ends, so a ticket that was never issued, or whose request is
 * over, finds nothing.
 *
 * Tickets are embedded in their owners (the pool's request slots) and
 * linked into the table while they live: issuing and revoking allocate
 * nothing, except when the hash table grows. Not thread-safe: the event
 * loop's thread only. */
#ifndef GAELIC_API_TICKET_H
#define GAELIC_API_TICKET_H

#include <stddef.h>
#include <stdint.h>

#include "api_service.h"

#define API_TICKET_BYTES 16
#define API_TICKET_HEX (2 * API_TICKET_BYTES)

/* What a ticket names, seen from the API server. Both callbacks run in the
 * event loop while the ticket is live. */
typedef struct {
    /* Fills *caller for a call made with the ticket; what it points to
     * stays valid until the event loop runs on (api_service.h). */
    void (*caller)(void *target, api_caller_t *caller);
    /* The master spent cpu_us of its CPU time answering such a call
     * (quota.get_request_api_cpu_usage). */
    void (*charge)(void *target, uint32_t cpu_us);
} api_ticket_ops_t;

typedef struct api_ticket api_ticket_t;

struct api_ticket {
    char hex[API_TICKET_HEX + 1]; /* the ticket as sent; "" when not live */
    void *target;
    const api_ticket_ops_t *ops;
    /* private */
    uint8_t key[API_TICKET_BYTES];
    api_ticket_t *next;
};

typedef struct api_tickets api_tickets_t;

/* NULL when memory runs out. */
api_tickets_t *api_tickets_new(void);
/* The live tickets stay their owners'; they must not be used afterwards. */
void api_tickets_free(api_tickets_t *t);

/* Makes ticket live with a new random value, naming target. 0, or -1 when
 * no randomness or no memory could be had (the ticket stays not live). */
int api_tickets_issue(api_tickets_t *t, api_ticket_t *ticket, void *target,
                      const api_ticket_ops_t *ops);
/* Ends a live ticket; nothing for one that is not live. */
void api_tickets_revoke(api_tickets_t *t, api_ticket_t *ticket);

/* The live ticket spelt hex (len bytes, not NUL-terminated), or NULL:
 * anything but 32 lowercase hex digits of a live ticket finds nothing. */
api_ticket_t *api_tickets_find(const api_tickets_t *t, const char *hex, size_t len);

/* Live tickets (for tests and checks). */
size_t api_tickets_count(const api_tickets_t *t);

#endif
