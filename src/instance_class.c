#include "instance_class.h"

#include <ctype.h>
#include <string.h>

#include "backends_config.h"

static const struct {
    const char *name;
    int mhz;
} FRONTEND_CLASSES[] = {
    {"F1", INSTANCE_CLASS_DEFAULT_MHZ},
    {"F2", 1200},
    {"F4", 2400},
    {"F4_1G", 2400},
};

static int same_class(const char *table_name, const char *name)
{
    return toupper((unsigned char)name[0]) == table_name[0] && !strcmp(table_name + 1, name + 1);
}

/* The table's spelling of name and its clock; 0 when it names no class. */
static int find_class(const char *name, const char **spelt, int *mhz)
{
    if (!name[0])
        return 0;
    for (size_t i = 0; i < sizeof FRONTEND_CLASSES / sizeof FRONTEND_CLASSES[0]; i++)
        if (same_class(FRONTEND_CLASSES[i].name, name)) {
            *spelt = FRONTEND_CLASSES[i].name;
            *mhz = FRONTEND_CLASSES[i].mhz;
            return 1;
        }
    for (int c = BACKEND_B1; c <= BACKEND_B8; c++) {
        const backend_class_info_t *b = backend_class_info((backend_class_t)c);
        if (same_class(b->name, name)) {
            *spelt = b->name;
            *mhz = b->cpu_mhz;
            return 1;
        }
    }
    return 0;
}

const char *instance_class_name(const char *name)
{
    const char *spelt;
    int mhz;
    return name && find_class(name, &spelt, &mhz) ? spelt : NULL;
}

int instance_class_mhz(const char *name)
{
    const char *spelt;
    int mhz;
    if (!name)
        return INSTANCE_CLASS_DEFAULT_MHZ;
    return find_class(name, &spelt, &mhz) ? mhz : -1;
}
