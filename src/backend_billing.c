#include "backend_billing.h"

#include <stdlib.h>

int backend_billing_init(backend_billing_t *bl, int n, int cents_per_hour)
{
    *bl = (backend_billing_t){.n = n, .cents_per_hour = cents_per_hour};
    bl->tail_until_ms = calloc((size_t)n, sizeof *bl->tail_until_ms);
    bl->billed_ms = calloc((size_t)n, sizeof *bl->billed_ms);
    return bl->tail_until_ms && bl->billed_ms ? 0 : -1;
}

void backend_billing_free(backend_billing_t *bl)
{
    free(bl->tail_until_ms);
    free(bl->billed_ms);
    bl->tail_until_ms = bl->billed_ms = NULL;
}

void backend_billing_running(backend_billing_t *bl, int k, int dynamic, int busy, uint64_t now_ms,
                             uint64_t last_active_ms)
{
    /* Dynamic: until 15 minutes after its last request has finished, so a
     * request still running keeps it billed however long it runs. */
    if (k >= 0 && k < bl->n)
        bl->tail_until_ms[k] = (dynamic && !busy ? last_active_ms : now_ms) + BILLING_TAIL_MS;
}

/* The rate for time up to t: the higher one for 15 minutes after a class
 * change. */
static int rate_at(const backend_billing_t *bl, uint64_t t)
{
    if (bl->class_changed_ms && t < bl->class_changed_ms + BILLING_TAIL_MS &&
        bl->previous_cents_per_hour > bl->cents_per_hour)
        return bl->previous_cents_per_hour;
    return bl->cents_per_hour;
}

void backend_billing_add(backend_billing_t *bl, uint64_t since_ms, uint64_t now_ms)
{
    for (int k = 0; k < bl->n; k++) {
        uint64_t end = now_ms < bl->tail_until_ms[k] ? now_ms : bl->tail_until_ms[k];
        if (end <= since_ms)
            continue;
        bl->billed_ms[k] += end - since_ms;
        bl->cents += (double)(end - since_ms) * rate_at(bl, since_ms) / 3600000.0;
    }
}

void backend_billing_class_change(backend_billing_t *bl, int cents_per_hour, uint64_t now_ms)
{
    if (cents_per_hour == bl->cents_per_hour)
        return;
    bl->previous_cents_per_hour = rate_at(bl, now_ms);
    bl->cents_per_hour = cents_per_hour;
    bl->class_changed_ms = now_ms;
}

double backend_billing_hours(const backend_billing_t *bl)
{
    uint64_t ms = 0;
    for (int k = 0; k < bl->n; k++)
        ms += bl->billed_ms[k];
    return (double)ms / 3600000.0;
}
