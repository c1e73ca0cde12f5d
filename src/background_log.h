/* The request logs of an instance's background threads (BG3), and of its
 * internal /_ah/stop request (BK4), which the instance announces the same
 * way: each thread gets a request log of its own, written when it starts (unfinished, so
 * its app lines are visible at once) and again when it ends
 * (200, or 500 when it raised or its instance died, with the megacycles
 * the thread used). The table also tells
 * the pool that the instance is not idle. The instance is untrusted: ids
 * must carry IPC_BACKGROUND_ID_BIT, be unique, and at most
 * IPC_BACKGROUND_MAX may run. */
#ifndef GAELIC_BACKGROUND_LOG_H
#define GAELIC_BACKGROUND_LOG_H

#include <stdint.h>

#include "api_ticket.h"
#include "ipc.h"
#include "log_store.h"

typedef struct {
    uint32_t id; /* 0: free */
    char log_id[32];
    int64_t start_us;
    int stop; /* the internal /_ah/stop request, not a thread */
    /* The owner's: the thread's API ticket (not live when it has none) and
     * what its callbacks need. Must not be live when the entry ends. */
    api_ticket_t ticket;
    void *owner;
} background_entry_t;

typedef struct {
    background_entry_t e[IPC_BACKGROUND_MAX];
    int n;
    int stop_started; /* /_ah/stop's log was opened (it opens once) */
} background_log_t;

/* What every row of one instance shares. */
typedef struct {
    log_store_t *logs; /* may be NULL */
    const char *version_id;
    const char *module_id;
    const char *instance_id;
    int replica_index; /* a backend instance's number, else -1 */
    char host[420];    /* "N.backend.HOSTNAME:PORT" as its /_ah/start's; "": none */
} background_log_ctx_t;

/* 0, or -1 when the instance broke the rules. stop: /_ah/stop's log (once
 * per instance). */
int background_log_start(background_log_t *bl, uint32_t id, int stop,
                         const background_log_ctx_t *ctx);
int background_log_end(background_log_t *bl, uint32_t id, int failed, int64_t mcycles,
                       const background_log_ctx_t *ctx);
/* The instance is gone: every running thread's log ends with 500. */
void background_log_end_all(background_log_t *bl, const background_log_ctx_t *ctx);
/* The log id of running thread id, or NULL. */
const char *background_log_id(const background_log_t *bl, uint32_t id);
/* Running thread id's entry, or NULL. */
background_entry_t *background_log_find(background_log_t *bl, uint32_t id);

#endif
