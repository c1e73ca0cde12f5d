/* libFuzzer target: any bytes as app.yaml must load or fail cleanly, never
 * crash or leak (run under ASan/UBSan). Links config.c, yaml_tree.c, buf.c. */
#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    /* "/nonexistent" as the app folder: an includes: entry resolves to no
     * file (includes stay inside the app folder), so nothing else is read. */
    app_config_t *cfg = NULL;
    if (config_load_string((const char *)data, size, "fuzz.yaml", "/nonexistent", &cfg, err,
                           sizeof err) == 0) {
        /* Exercise the compiled skip_files regex too. */
        (void)config_is_skipped(cfg, "dir/file.py");
        config_free(cfg);
    }
    return 0;
}
