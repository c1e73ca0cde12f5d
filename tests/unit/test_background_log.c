/* Background threads' request logs in the master (src/background_log.c):
 * what an untrusted instance may and may not announce. */
#include "background_log.h"
#include "unit.h"

int main(void)
{
    background_log_t bl = {0};
    background_log_ctx_t ctx = {NULL, "1.1", "default", "0", 0, "0.worker.localhost:8080"};
    const uint32_t bit = IPC_BACKGROUND_ID_BIT;

    CHECK(background_log_start(&bl, 5, 0, &ctx) < 0); /* a request id, not a background one */
    CHECK(background_log_start(&bl, bit | 1, 0, &ctx) == 0);
    CHECK(background_log_start(&bl, bit | 1, 0, &ctx) < 0); /* already running */
    const char *log_id = background_log_id(&bl, bit | 1);
    CHECK(log_id && strlen(log_id) == 24);
    CHECK(background_log_id(&bl, bit | 2) == NULL);
    CHECK(background_log_id(&bl, 0) == NULL);

    for (uint32_t i = 2; i <= IPC_BACKGROUND_MAX; i++)
        CHECK(background_log_start(&bl, bit | i, 0, &ctx) == 0);
    CHECK(bl.n == IPC_BACKGROUND_MAX);
    CHECK(background_log_start(&bl, bit | 99, 0, &ctx) < 0); /* the eleventh */

    CHECK(background_log_end(&bl, bit | 99, 0, 0, &ctx) < 0); /* never started */
    CHECK(background_log_end(&bl, bit | 3, 1, 5, &ctx) == 0);
    CHECK(background_log_end(&bl, bit | 3, 0, 5, &ctx) < 0);  /* ended twice */
    CHECK(background_log_start(&bl, bit | 99, 0, &ctx) == 0); /* the slot is free again */
    CHECK(strcmp(background_log_id(&bl, bit | 99), log_id) != 0);

    /* /_ah/stop's log: once per instance, in the same slots. */
    CHECK(background_log_end(&bl, bit | 4, 0, 0, &ctx) == 0);
    CHECK(background_log_start(&bl, bit | 50, 1, &ctx) == 0);
    CHECK(background_log_end(&bl, bit | 5, 0, 0, &ctx) == 0);
    CHECK(background_log_start(&bl, bit | 51, 1, &ctx) < 0);
    CHECK(background_log_end(&bl, bit | 50, 0, 0, &ctx) == 0);
    /* Started and ended again and again, a hostile instance would write
     * log rows without end. */
    CHECK(background_log_start(&bl, bit | 51, 1, &ctx) < 0);
    CHECK(background_log_start(&bl, bit | 51, 0, &ctx) == 0); /* a thread still may */

    background_log_end_all(&bl, &ctx);
    CHECK(bl.n == 0 && background_log_id(&bl, bit | 1) == NULL);
    UNIT_DONE();
}
