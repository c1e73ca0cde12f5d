/* Instance-hours and cost of one backend (BK10): each instance number is
 * billed while it runs and then until 15 minutes after its shutdown
 * (resident) or after its last request (dynamic), at its class's hourly
 * rate; after a class change the higher of the two rates applies for 15
 * minutes. Pure bookkeeping: the caller says what runs and when. */
#ifndef GAELIC_BACKEND_BILLING_H
#define GAELIC_BACKEND_BILLING_H

#include <stdint.h>

#define BILLING_TAIL_MS (15 * 60 * 1000)

typedef struct {
    int n;                   /* instance numbers */
    uint64_t *tail_until_ms; /* [n]: billed while not running until then */
    uint64_t *billed_ms;     /* [n] */
    double cents;            /* all instances so far */
    int cents_per_hour;      /* the class's rate now */
    int previous_cents_per_hour;
    uint64_t class_changed_ms; /* 0: never */
} backend_billing_t;

int backend_billing_init(backend_billing_t *bl, int n, int cents_per_hour);
void backend_billing_free(backend_billing_t *bl);

/* Instance number k is running now; busy: it has a request (or a
 * background thread) running; last_active_ms: when its last one ended. */
void backend_billing_running(backend_billing_t *bl, int k, int dynamic, int busy, uint64_t now_ms,
                             uint64_t last_active_ms);
/* Bills the time from since_ms to now_ms; call after reporting what runs. */
void backend_billing_add(backend_billing_t *bl, uint64_t since_ms, uint64_t now_ms);
void backend_billing_class_change(backend_billing_t *bl, int cents_per_hour, uint64_t now_ms);

double backend_billing_hours(const backend_billing_t *bl);

#endif
