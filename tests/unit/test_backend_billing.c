/* Instance-hours and cost of a backend (src/backend_billing.c, BK10). */
#include <math.h>

#include "backend_billing.h"
#include "unit.h"

#define MIN (60 * 1000ULL)
#define HOUR (60 * MIN)

static int near(double a, double b)
{
    return fabs(a - b) < 1e-6;
}

/* Runs instance k from t0 to t1, checking in every minute as the server
 * does every second; busy: with a request running all along, else with
 * its last one at t0. */
static void run_busy(backend_billing_t *bl, int k, int dynamic, int busy, uint64_t t0, uint64_t t1,
                     uint64_t *billed_at)
{
    for (uint64_t t = t0; t <= t1; t += MIN) {
        backend_billing_running(bl, k, dynamic, busy, t, t0);
        backend_billing_add(bl, *billed_at, t);
        *billed_at = t;
    }
}

static void run(backend_billing_t *bl, int k, int dynamic, uint64_t t0, uint64_t t1,
                uint64_t *billed_at)
{
    run_busy(bl, k, dynamic, 0, t0, t1, billed_at);
}

static void idle(backend_billing_t *bl, uint64_t until, uint64_t *billed_at)
{
    backend_billing_add(bl, *billed_at, until);
    *billed_at = until;
}

int main(void)
{
    backend_billing_t bl;
    uint64_t at = 0;

    /* Resident B1 (5 cents/h): one hour running, then 15 minutes more. */
    CHECK(backend_billing_init(&bl, 2, 5) == 0);
    run(&bl, 0, 0, 0, HOUR, &at);
    idle(&bl, 3 * HOUR, &at);
    CHECK(near(backend_billing_hours(&bl), 1.25));
    CHECK(near(bl.cents, 1.25 * 5));
    backend_billing_free(&bl);

    /* Dynamic: billed until 15 minutes after its last request (t0 here),
     * however long it stays up. */
    at = 0;
    CHECK(backend_billing_init(&bl, 1, 10) == 0);
    run(&bl, 0, 1, 0, 5 * MIN, &at);
    idle(&bl, HOUR, &at);
    CHECK(near(backend_billing_hours(&bl), 0.25));
    backend_billing_free(&bl);

    /* ...but a request that began at t0 and still runs keeps it billed:
     * one hour of it, then 15 minutes after it ends. */
    at = 0;
    CHECK(backend_billing_init(&bl, 1, 10) == 0);
    run_busy(&bl, 0, 1, 1, 0, HOUR, &at);
    idle(&bl, 3 * HOUR, &at);
    CHECK(near(backend_billing_hours(&bl), 1.25));
    backend_billing_free(&bl);

    /* Two instances bill twice. */
    at = 0;
    CHECK(backend_billing_init(&bl, 2, 5) == 0);
    for (uint64_t t = 0; t <= HOUR; t += MIN) {
        backend_billing_running(&bl, 0, 0, 0, t, 0);
        backend_billing_running(&bl, 1, 0, 0, t, 0);
        backend_billing_add(&bl, at, t);
        at = t;
    }
    idle(&bl, 2 * HOUR, &at);
    CHECK(near(backend_billing_hours(&bl), 2.5));
    backend_billing_free(&bl);

    /* A class change down (B8 40 -> B1 5) bills the higher rate for 15
     * minutes, then the new one. */
    at = 0;
    CHECK(backend_billing_init(&bl, 1, 40) == 0);
    run(&bl, 0, 0, 0, HOUR, &at);
    double before = bl.cents;
    CHECK(near(before, 40.0));
    backend_billing_class_change(&bl, 5, HOUR);
    run(&bl, 0, 0, HOUR, 2 * HOUR, &at);
    CHECK(near(bl.cents - before, 0.25 * 40 + 0.75 * 5));
    backend_billing_free(&bl);

    /* A change up bills the new, higher rate at once. */
    at = 0;
    CHECK(backend_billing_init(&bl, 1, 5) == 0);
    run(&bl, 0, 0, 0, HOUR, &at);
    backend_billing_class_change(&bl, 20, HOUR);
    before = bl.cents;
    run(&bl, 0, 0, HOUR, 2 * HOUR, &at);
    CHECK(near(bl.cents - before, 20.0));
    /* The same class again changes nothing. */
    backend_billing_class_change(&bl, 20, 2 * HOUR);
    CHECK(bl.class_changed_ms == HOUR);
    backend_billing_free(&bl);

    UNIT_DONE();
}
