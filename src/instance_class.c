#include "instance_class.h"

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

int instance_class_mhz(const char *name)
{
    if (!name)
        return INSTANCE_CLASS_DEFAULT_MHZ;
    for (size_t i = 0; i < sizeof FRONTEND_CLASSES / sizeof FRONTEND_CLASSES[0]; i++)
        if (!strcmp(FRONTEND_CLASSES[i].name, name))
            return FRONTEND_CLASSES[i].mhz;
    for (int c = BACKEND_B1; c <= BACKEND_B8; c++)
        if (!strcmp(backend_class_info((backend_class_t)c)->name, name))
            return backend_class_info((backend_class_t)c)->cpu_mhz;
    return -1;
}
