/* The master-wide bound on the memory the Logs API's Reads hold at once
 * (LG1). A Read holds one share from the moment its answer starts to be
 * built until that answer has left the master: its LogReadResponse (up to
 * LOG_READ_MAX_BYTES and one row), built on the log writer's thread and
 * kept until the event loop takes it, then the same bytes as a frame in
 * its caller's channel or connection buffer until they are written there
 * (api_service.h's api_sent_t) or dropped. Without it every Read called at
 * once (instances x API_MAX_CONCURRENT, and the HTTP API's connections)
 * held its answer at the same time: 240 concurrent Reads of 4 MB answers
 * raised the master's peak by 1.9 GB (now by about 50 MB).
 *
 * Reads beyond the shares wait their turn, first come first served,
 * holding only their parsed request; the queue is bounded by the bytes
 * its waiters hold (a waiter is taken when it fits, or when the queue is
 * empty, so that no request is too large ever to wait), and a Read that
 * finds it full is refused.
 *
 * Loop thread only. The budget calls a waiter's admit when its turn comes;
 * admit may release a share again (log_read_budget_release) at once. */
#ifndef GAELIC_LOG_READ_BUDGET_H
#define GAELIC_LOG_READ_BUDGET_H

#include <stddef.h>

/* Reads whose answers the master holds at once: the log writer builds one
 * at a time, so a few keep it busy while the loop hands others over. */
#define LOG_READ_SHARES 4
/* Bytes that Reads waiting for a share may hold (their requests). */
#define LOG_READ_MAX_WAITING_BYTES (16u << 20)

typedef struct log_read_waiter log_read_waiter_t;
struct log_read_waiter {
    void (*admit)(log_read_waiter_t *w); /* its turn: it holds a share now */
    size_t bytes;                        /* what it holds while it waits */
    log_read_waiter_t *next, *prev;      /* private */
    int queued;                          /* private */
};

typedef struct {
    int free_shares;
    size_t max_waiting_bytes, waiting_bytes;
    log_read_waiter_t *head, *tail; /* oldest first */
    int admitting;                  /* release is running the queue */
} log_read_budget_t;

void log_read_budget_init(log_read_budget_t *b, int shares, size_t max_waiting_bytes);

/* A Read asks for a share: 1 when it has one now (admit is not called), 0
 * when it waits (admit is called when its turn comes, unless it leaves
 * first), -1 when the queue is full (it holds nothing). */
int log_read_budget_enter(log_read_budget_t *b, log_read_waiter_t *w);

/* A waiting Read gives up (its caller's deadline passed, its caller went
 * away): it leaves the queue. Nothing for one that is not waiting. */
void log_read_budget_leave(log_read_budget_t *b, log_read_waiter_t *w);

/* A Read's answer has left the master (or never came): its share goes to
 * the oldest waiters, in order. */
void log_read_budget_release(log_read_budget_t *b);

/* Waiting Reads (for tests and statistics). */
size_t log_read_budget_waiting(const log_read_budget_t *b);

#endif
