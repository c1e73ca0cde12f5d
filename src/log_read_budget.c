#include "log_read_budget.h"

#include <string.h>

void log_read_budget_init(log_read_budget_t *b, int shares, size_t max_waiting_bytes)
{
    memset(b, 0, sizeof *b);
    b->free_shares = shares;
    b->max_waiting_bytes = max_waiting_bytes;
}

int log_read_budget_enter(log_read_budget_t *b, log_read_waiter_t *w)
{
    w->next = w->prev = NULL;
    w->queued = 0;
    /* Nobody overtakes a waiter, not even while a share is free: it is
     * being handed over (release runs the queue). */
    if (b->free_shares > 0 && !b->head) {
        b->free_shares--;
        return 1;
    }
    if (b->head && b->waiting_bytes + w->bytes > b->max_waiting_bytes)
        return -1;
    w->prev = b->tail;
    if (b->tail)
        b->tail->next = w;
    else
        b->head = w;
    b->tail = w;
    b->waiting_bytes += w->bytes;
    w->queued = 1;
    return 0;
}

static void unlink_waiter(log_read_budget_t *b, log_read_waiter_t *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        b->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        b->tail = w->prev;
    b->waiting_bytes -= w->bytes;
    w->next = w->prev = NULL;
    w->queued = 0;
}

void log_read_budget_leave(log_read_budget_t *b, log_read_waiter_t *w)
{
    if (w->queued)
        unlink_waiter(b, w);
}

void log_read_budget_release(log_read_budget_t *b)
{
    b->free_shares++;
    /* An admit that gives its share back at once (its Read failed to
     * start) comes back here: the loop below goes on with the next
     * waiter instead of recursing once per waiter. */
    if (b->admitting)
        return;
    b->admitting = 1;
    while (b->free_shares > 0 && b->head) {
        log_read_waiter_t *w = b->head;
        unlink_waiter(b, w);
        b->free_shares--;
        w->admit(w);
    }
    b->admitting = 0;
}

size_t log_read_budget_waiting(const log_read_budget_t *b)
{
    size_t n = 0;
    for (const log_read_waiter_t *w = b->head; w; w = w->next)
        n++;
    return n;
}
