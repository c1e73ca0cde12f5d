#include "app_identity.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Folder names hold what app ids may not (App Engine's: lowercase
 * letters, digits and '-', not first or last, up to 100): capitals are
 * lowered, other characters become one '-', so that "My App_1" is
 * "my-app-1", and a quote or a line break never reaches APPLICATION_ID
 * or the console's lines. A name with nothing usable is "app". */
static void id_from_folder(const char *name, char *out, size_t n)
{
    size_t k = 0, most = n - 1 < 100 ? n - 1 : 100;
    int dash = 0; /* a '-' is due before the next letter or digit */
    for (const unsigned char *p = (const unsigned char *)name; *p && k < most; p++) {
        int c = tolower(*p);
        if (*p >= 0x80 || !(islower(c) || isdigit(c))) {
            dash = k > 0;
            continue;
        }
        if (dash) {
            if (k + 2 > most)
                break;
            out[k++] = '-';
            dash = 0;
        }
        out[k++] = (char)c;
    }
    out[k] = '\0';
    if (k == 0)
        snprintf(out, n, "app");
}

void app_identity_id(const app_config_t *cfg, const char *override, char *out, size_t n)
{
    const char *id = override ? override : cfg->application;
    if (id) {
        snprintf(out, n, "%s", id);
        return;
    }
    const char *base = strrchr(cfg->root, '/');
    id_from_folder(base && base[1] ? base + 1 : cfg->root, out, n);
}

int app_identity_storage(const char *app_id, const char *override, char *out, size_t n)
{
    if (override)
        return snprintf(out, n, "%s", override) < (int)n ? 0 : -1;
    /* App ids may carry "s~" prefixes or "domain:" parts; keep a name that
     * is one safe path component. */
    char safe[256];
    size_t k = 0;
    for (const char *p = app_id; *p && k + 1 < sizeof safe; p++)
        safe[k++] = (strchr("/\\:", *p) || *p < 0x20) ? '_' : *p;
    safe[k] = '\0';
    if (k == 0 || !strcmp(safe, ".") || !strcmp(safe, ".."))
        snprintf(safe, sizeof safe, "_");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int w;
    if (xdg && xdg[0] == '/')
        w = snprintf(out, n, "%s/gaelic/%s", xdg, safe);
    else if (home && home[0] == '/')
        w = snprintf(out, n, "%s/.cache/gaelic/%s", home, safe);
    else
        w = snprintf(out, n, "/tmp/gaelic-%u/%s", (unsigned)getuid(), safe);
    return w >= 0 && w < (int)n ? 0 : -1;
}
