/* libFuzzer target: any bytes as backends.yaml must load or fail cleanly
 * under either tier's limits, never crash or leak (run under ASan/UBSan).
 * Links backends_config.c and what config_load_string links. */
#include <stddef.h>
#include <stdint.h>

#include "backends_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const backend_tier_t tiers[] = {TIER_FREE, TIER_PAID};
    for (size_t i = 0; i < sizeof tiers / sizeof *tiers; i++) {
        char err[512];
        backends_config_t *cfg = NULL;
        if (backends_config_load_string((const char *)data, size, "backends.yaml", tiers[i], &cfg,
                                        err, sizeof err) == 0)
            backends_config_free(cfg);
    }
    return 0;
}
